package ai.hoody.tunnel.kit.admin;

import ai.hoody.tunnel.kit.AddressRange;

import ai.hoody.tunnel.kit.admin.AdminAccess.Verdict;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.InetAddress;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The admin guard's decision for every combination of what is configured and what a request carries. Plain JUnit. */
class AdminAccessTest {

    private static final String TOKEN = "admin-token-0123456789";
    private static final String SECRET = "proxy-secret-0123456789";
    private static final InetAddress LOOPBACK = InetAddress.ofLiteral("127.0.0.1");
    private static final InetAddress PROXY = InetAddress.ofLiteral("10.1.2.3");

    private static AdminAccess access(List<String> tokens, List<String> secrets, List<String> trusted) {
        return new AdminAccess(tokens, secrets, trusted);
    }

    @Test
    void nothingConfiguredLetsNothingIn() {
        AdminAccess a = access(List.of(), List.of(), List.of());
        assertThat(a.check(LOOPBACK, null, null)).isEqualTo(Verdict.MISSING);
        assertThat(a.check(PROXY, "Bearer " + TOKEN, SECRET)).isEqualTo(Verdict.WRONG);
        assertThat(a.describe()).isNull();
    }

    @Test
    void anAdminTokenLetsInFromAnywhere() {
        AdminAccess a = access(List.of("old-token-0123456789", TOKEN), List.of(), List.of());
        assertThat(a.check(LOOPBACK, "Bearer " + TOKEN, null)).isEqualTo(Verdict.ALLOWED);
        assertThat(a.check(PROXY, "BEARER   old-token-0123456789", null)).isEqualTo(Verdict.ALLOWED);
        assertThat(a.check(LOOPBACK, "Bearer " + TOKEN + "0", null)).isEqualTo(Verdict.WRONG);
        assertThat(a.check(LOOPBACK, "Basic " + TOKEN, null)).isEqualTo(Verdict.WRONG);
        assertThat(a.check(LOOPBACK, null, TOKEN)).as("not in the proxy's header").isEqualTo(Verdict.WRONG);
        assertThat(a.check(LOOPBACK, null, null)).isEqualTo(Verdict.MISSING);
        assertThat(a.describe()).isEqualTo("2 admin token(s) (Authorization: Bearer)").doesNotContain(TOKEN);
    }

    @Test
    void aTrustedAddressAloneIsTheProxy() {
        AdminAccess a = access(List.of(), List.of(), List.of("10.0.0.0/8"));
        assertThat(a.check(PROXY, null, null)).isEqualTo(Verdict.ALLOWED);
        assertThat(a.check(LOOPBACK, null, null)).isEqualTo(Verdict.MISSING);
        assertThat(a.check(null, null, null)).as("a peer without an address").isEqualTo(Verdict.MISSING);
    }

    @Test
    void aProxySecretAloneIsTheProxy() {
        AdminAccess a = access(List.of(), List.of(SECRET), List.of());
        assertThat(a.check(LOOPBACK, null, SECRET)).isEqualTo(Verdict.ALLOWED);
        assertThat(a.check(PROXY, null, SECRET + "x")).isEqualTo(Verdict.WRONG);
        assertThat(a.check(PROXY, "Bearer " + SECRET, null)).as("not as a bearer token").isEqualTo(Verdict.WRONG);
    }

    @Test
    void addressAndSecretMustBothHoldWhenBothAreSet() {
        AdminAccess a = access(List.of(TOKEN), List.of(SECRET), List.of("10.0.0.0/8"));
        assertThat(a.check(PROXY, null, SECRET)).isEqualTo(Verdict.ALLOWED);
        assertThat(a.check(PROXY, null, null)).isEqualTo(Verdict.MISSING);
        assertThat(a.check(LOOPBACK, null, SECRET)).as("the secret from elsewhere (leaked to the container)").isEqualTo(Verdict.WRONG);
        assertThat(a.check(LOOPBACK, "Bearer " + TOKEN, null)).as("the admin token still works").isEqualTo(Verdict.ALLOWED);
        assertThat(a.describe()).isEqualTo("1 admin token(s) (Authorization: Bearer); the proxy: from [10.0.0.0/8] and with "
                + "X-Hoody-Proxy-Secret (1 secret(s))");
    }

    @Test
    void shortSecretsStopTheKitWithoutBeingShown() {
        assertThatThrownBy(() -> access(List.of("short"), List.of(), List.of()))
                .hasMessageStartingWith("hoody.tunnel.admin.token: every value must be at least 16 characters")
                .hasMessageNotContaining("short\"").hasMessageNotContaining("'short'");
        assertThatThrownBy(() -> access(List.of(), List.of(TOKEN, "  tiny   "), List.of()))
                .hasMessageStartingWith("hoody.tunnel.admin.proxy-secret:").hasMessageNotContaining("tiny");
    }

    @Test
    void aBadRangeStopsTheKitNamingTheProperty() {
        assertThatThrownBy(() -> access(List.of(), List.of(), List.of("10.0.0.0/8", "proxy.example")))
                .hasMessage("hoody.tunnel.admin.trusted-proxies: 'proxy.example' is not an IP address or a CIDR block "
                        + "(e.g. 10.0.0.0/8, fd00::/8)");
    }

    // --- AddressRange ---

    @Test
    void rangesMatchTheirAddressesOnly() {
        AddressRange ten = AddressRange.parse("10.0.0.0/8");
        assertThat(ten.contains(InetAddress.ofLiteral("10.255.1.2"))).isTrue();
        assertThat(ten.contains(InetAddress.ofLiteral("11.0.0.1"))).isFalse();
        assertThat(ten.contains(InetAddress.ofLiteral("::ffff:10.1.1.1"))).as("IPv4-mapped").isTrue();
        assertThat(ten.contains(InetAddress.ofLiteral("fd00::1"))).isFalse();
        AddressRange odd = AddressRange.parse(" 192.168.1.128/25 ");
        assertThat(odd.contains(InetAddress.ofLiteral("192.168.1.200"))).isTrue();
        assertThat(odd.contains(InetAddress.ofLiteral("192.168.1.127"))).isFalse();
        AddressRange one = AddressRange.parse("10.1.2.3");
        assertThat(one.contains(PROXY)).isTrue();
        assertThat(one.contains(InetAddress.ofLiteral("10.1.2.4"))).isFalse();
        AddressRange v6 = AddressRange.parse("fd00::/8");
        assertThat(v6.contains(InetAddress.ofLiteral("fd12:3456::1"))).isTrue();
        assertThat(v6.contains(InetAddress.ofLiteral("fe80::1"))).isFalse();
        assertThat(v6.contains(PROXY)).isFalse();
        assertThat(AddressRange.parse("0.0.0.0/0").contains(LOOPBACK)).isTrue();
        assertThat(AddressRange.parse("::1").contains(InetAddress.ofLiteral("0:0:0:0:0:0:0:1"))).isTrue();
        assertThat(AddressRange.parse("::1").contains(LOOPBACK)).isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {"10.0.0.0/33", "fd00::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8/8", "10.0.0", "localhost",
            "", "10.0.0.0/+8", "10.0.0.0/ 8"})
    void malformedRangesAreRefused(String spec) {
        assertThatThrownBy(() -> AddressRange.parse(spec)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'");
    }
}
