package ai.hoody.tunnel.driver;

import org.junit.jupiter.api.Test;

import java.net.URI;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Which proxy a kit URL gets, from {@code --proxy} or the environment, as curl reads them; proxy URLs. */
class ProxySettingsTest {

    static final URI WS = URI.create("ws://kit.example.dev:9771/api/v1/tunnel/connect");
    static final URI WSS = URI.create("wss://kit.example.dev/api/v1/tunnel/connect");

    @Test
    void aProxyUrlIsReadAsCurlReadsIt() {
        assertThat(HttpProxy.parse("http://proxy.corp:3128", "t")).isEqualTo(new HttpProxy("proxy.corp", 3128, null, null));
        assertThat(HttpProxy.parse("proxy.corp:3128", "t")).isEqualTo(new HttpProxy("proxy.corp", 3128, null, null));
        assertThat(HttpProxy.parse("proxy.corp", "t").port()).isEqualTo(1080); // curl's default proxy port
        assertThat(HttpProxy.parse("http://[::1]:8080/", "t")).isEqualTo(new HttpProxy("::1", 8080, null, null));
        assertThat(HttpProxy.parse("http://al%40ice:p%3Ass%20w@proxy:3128", "t"))
                .isEqualTo(new HttpProxy("proxy", 3128, "al@ice", "p:ss w"));
        assertThat(HttpProxy.parse("http://user@proxy:3128", "t").password()).isEmpty();
    }

    @Test
    void theProxyIsNamedWithoutItsPassword() {
        assertThat(HttpProxy.parse("http://alice:s3cret@proxy:3128", "t")).hasToString("http://alice@proxy:3128");
        assertThat(ProxySettings.explicit("http://alice:s3cret@proxy:3128", Map.of()).toString()).doesNotContain("s3cret");
    }

    @Test
    void onlyHttpProxiesAreAccepted() {
        assertThatThrownBy(() -> HttpProxy.parse("socks5://proxy:1080", "ALL_PROXY"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ALL_PROXY").hasMessageContaining("only http://");
        assertThatThrownBy(() -> HttpProxy.parse("https://proxy:443", "--proxy")).hasMessageContaining("only http://");
        assertThatThrownBy(() -> HttpProxy.parse("http://", "--proxy")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theSchemeOfTheKitPicksTheVariableAndLowerCaseComesFirst() {
        ProxySettings s = ProxySettings.fromEnvironment(Map.of("HTTP_PROXY", "http://plain:1", "https_proxy", "http://secure:2",
                "HTTPS_PROXY", "http://shadowed:3"));
        assertThat(s.proxyFor(WS).host()).isEqualTo("plain");
        assertThat(s.proxyFor(WSS).host()).isEqualTo("secure");
        assertThat(ProxySettings.fromEnvironment(Map.of("https_proxy", "http://secure:2")).proxyFor(WS)).isNull();
        assertThat(ProxySettings.fromEnvironment(Map.of("http_proxy", "", "HTTP_PROXY", "http://upper:1")).proxyFor(WS).host())
                .isEqualTo("upper"); // an empty variable counts as unset
        assertThat(ProxySettings.fromEnvironment(Map.of()).proxyFor(WSS)).isNull();
    }

    @Test
    void anExplicitProxyServesBothSchemesAndAnEmptyOneMeansNone() {
        ProxySettings s = ProxySettings.explicit("http://corp:3128", Map.of("HTTPS_PROXY", "http://ignored:1"));
        assertThat(s.proxyFor(WS).host()).isEqualTo("corp");
        assertThat(s.proxyFor(WSS).host()).isEqualTo("corp");
        assertThat(ProxySettings.explicit("", Map.of("HTTPS_PROXY", "http://ignored:1")).proxyFor(WSS)).isNull();
    }

    @Test
    void noProxyMatchesHostsDomainsAddressesAndRanges() {
        ProxySettings s = ProxySettings.fromEnvironment(Map.of("HTTPS_PROXY", "http://corp:3128",
                "NO_PROXY", "localhost, .internal.corp,example.org,10.0.0.0/8,192.168.1.7,::1,fd00::/8"));
        assertThat(s.bypasses("localhost")).isTrue();
        assertThat(s.bypasses("LOCALHOST")).isTrue();
        assertThat(s.bypasses("127.0.0.1")).isFalse(); // names are not resolved
        assertThat(s.bypasses("kit.internal.corp")).isTrue();
        assertThat(s.bypasses("internal.corp")).isTrue();
        assertThat(s.bypasses("example.org")).isTrue();
        assertThat(s.bypasses("kit.example.org")).isTrue();
        assertThat(s.bypasses("badexample.org")).isFalse(); // a suffix must start at a dot
        assertThat(s.bypasses("10.20.30.40")).isTrue();
        assertThat(s.bypasses("11.0.0.1")).isFalse();
        assertThat(s.bypasses("192.168.1.7")).isTrue();
        assertThat(s.bypasses("192.168.1.8")).isFalse();
        assertThat(s.bypasses("[::1]")).isTrue();
        assertThat(s.bypasses("fd12::5")).isTrue();
        assertThat(s.bypasses("fe80::1")).isFalse();
        assertThat(s.proxyFor(URI.create("wss://kit.internal.corp/x"))).isNull();
        assertThat(s.proxyFor(URI.create("wss://kit.example.dev/x")).host()).isEqualTo("corp");
    }

    @Test
    void aStarAloneBypassesEverythingAndNoProxyAppliesToAnExplicitProxy() {
        assertThat(ProxySettings.fromEnvironment(Map.of("HTTPS_PROXY", "http://corp:3128", "no_proxy", "*")).proxyFor(WSS)).isNull();
        assertThat(ProxySettings.explicit("http://corp:3128", Map.of("NO_PROXY", "kit.example.dev")).proxyFor(WSS)).isNull();
        assertThat(ProxySettings.explicit("http://corp:3128", Map.of("NO_PROXY", "other.dev")).proxyFor(WSS)).isNotNull();
    }

    @Test
    void aBadProxyVariableNamesItself() {
        assertThatThrownBy(() -> ProxySettings.fromEnvironment(Map.of("https_proxy", "socks5h://p:1080")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("https_proxy: ");
    }
}
