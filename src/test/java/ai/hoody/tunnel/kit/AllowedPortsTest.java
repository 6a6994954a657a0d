package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.protocol.BindErrorCode;
import ai.hoody.tunnel.protocol.ControlMessage;
import ai.hoody.tunnel.support.Ports;
import ai.hoody.tunnel.support.RawDriver;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A kit whose operator allows EXPOSE on one range and PULL on one port (docs/PROTOCOL.md §3.4, check 5a): a BIND
 * outside the mode's list is RESERVED_PORT, port 0 too, and the privileged rules still apply inside a list.
 */
@QuarkusTest
@TestProfile(AllowedPortsTest.AllowLists.class)
class AllowedPortsTest {

    /** Free ports picked once, when the profile is built, before the kit starts. */
    static final int EXPOSE_FIRST = Ports.free();
    static final int PULL_ONLY = Ports.free();

    public static class AllowLists implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("hoody.tunnel.expose-allowed-ports", EXPOSE_FIRST + "-" + (EXPOSE_FIRST + 2) + ",80",
                    "hoody.tunnel.pull-allowed-ports", Integer.toString(PULL_ONLY));
        }
    }

    @TestHTTPResource("/")
    URI kit;

    private static ControlMessage.BindErr refused(ControlMessage m) {
        assertThat(m).isInstanceOf(ControlMessage.BindErr.class);
        return (ControlMessage.BindErr) m;
    }

    @Test
    void portsOnTheListAreGranted() throws Exception {
        try (RawDriver d = RawDriver.connect(kit)) {
            d.hello(10);
            assertThat(d.bind("http", "expose", EXPOSE_FIRST, null, false)).isInstanceOf(ControlMessage.BindOk.class);
            assertThat(d.bind("tcp", "pull", PULL_ONLY, null, false)).isInstanceOf(ControlMessage.BindOk.class);
        }
    }

    @Test
    void portsOffTheModesListAreReserved() throws Exception {
        int outside = EXPOSE_FIRST + 3;
        try (RawDriver d = RawDriver.connect(kit)) {
            d.hello(10);
            ControlMessage.BindErr expose = refused(d.bind("http", "expose", outside, null, false));
            assertThat(expose.code()).isEqualTo(BindErrorCode.RESERVED_PORT);
            assertThat(expose.message()).isEqualTo("port " + outside + " is not allowed: this kit allows expose only on ports "
                    + EXPOSE_FIRST + "-" + (EXPOSE_FIRST + 2) + ",80 (hoody.tunnel.expose-allowed-ports)");
            // Each mode has its own list: the pull port is not an expose port, nor the other way round.
            assertThat(refused(d.bind("http", "expose", PULL_ONLY, null, false)).code()).isEqualTo(BindErrorCode.RESERVED_PORT);
            ControlMessage.BindErr pull = refused(d.bind("tcp", "pull", EXPOSE_FIRST + 1, null, false));
            assertThat(pull.code()).isEqualTo(BindErrorCode.RESERVED_PORT);
            assertThat(pull.message()).contains("pull only on ports " + PULL_ONLY, "hoody.tunnel.pull-allowed-ports");
        }
    }

    @Test
    void anyFreePortIsRefusedUnderAList() throws Exception {
        try (RawDriver d = RawDriver.connect(kit)) {
            d.hello(10);
            ControlMessage.BindErr err = refused(d.bind("tcp", "pull", 0, null, false));
            assertThat(err.code()).isEqualTo(BindErrorCode.RESERVED_PORT);
            assertThat(err.message()).startsWith("port 0 (any free port) is not served: this kit allows pull only on ports "
                    + PULL_ONLY);
        }
    }

    @Test
    void aListDoesNotOverrideThePrivilegedRule() throws Exception {
        try (RawDriver d = RawDriver.connect(kit)) {
            d.hello(10);
            assertThat(refused(d.bind("http", "expose", 80, null, false)).code()).isEqualTo(BindErrorCode.PRIVILEGED_PORT);
        }
    }
}
