package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.protocol.BindErrorCode;
import ai.hoody.tunnel.protocol.ControlMessage;
import ai.hoody.tunnel.support.Ports;
import ai.hoody.tunnel.support.RawDriver;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

/** Every BIND_ERR code, each with its message, from a real session. INTERNAL is in {@link FdBudgetTest}. */
@QuarkusTest
class BindErrorsTest {

    @TestHTTPResource("/")
    URI kit;

    private static BindErrorCode code(ControlMessage m) {
        assertThat(m).isInstanceOf(ControlMessage.BindErr.class);
        ControlMessage.BindErr err = (ControlMessage.BindErr) m;
        assertThat(err.message()).isNotBlank();
        return err.code();
    }

    @Test
    void aPortHeldByAnotherSessionIsAlreadyBound() throws Exception {
        int port = Ports.free();
        try (RawDriver a = RawDriver.connect(kit); RawDriver b = RawDriver.connect(kit)) {
            a.hello(10);
            b.hello(10);
            ControlMessage.BindOk first = (ControlMessage.BindOk) a.bind("http", "expose", port, null, false);
            assertThat(code(b.bind("http", "expose", port, null, false))).isEqualTo(BindErrorCode.ALREADY_BOUND);
            assertThat(code(b.bind("tcp", "pull", port, null, false))).isEqualTo(BindErrorCode.ALREADY_BOUND);
            // The same BIND again from the same session is answered with the binding it holds (its BIND_OK may have
            // been lost with a socket); another kind on that port is not.
            ControlMessage.BindOk again = (ControlMessage.BindOk) a.bind("http", "expose", port, null, false);
            assertThat(again.bindId()).as("same session twice").isEqualTo(first.bindId());
            assertThat(again.port()).isEqualTo(port);
            assertThat(code(a.bind("tcp", "pull", port, null, false))).isEqualTo(BindErrorCode.ALREADY_BOUND);
        }
    }

    @Test
    void aPortTheSystemRefusesIsPortInUse() throws Exception {
        try (ServerSocket squatter = new ServerSocket(0); RawDriver d = RawDriver.connect(kit)) {
            d.hello(10);
            assertThat(code(d.bind("http", "expose", squatter.getLocalPort(), null, false))).isEqualTo(BindErrorCode.PORT_IN_USE);
        }
    }

    @Test
    void theKitsOwnPortIsReserved() throws Exception {
        try (RawDriver d = RawDriver.connect(kit)) {
            d.hello(10);
            assertThat(code(d.bind("http", "expose", kit.getPort(), null, false))).isEqualTo(BindErrorCode.RESERVED_PORT);
        }
    }

    @Test
    void portsBelow1024ArePrivileged() throws Exception {
        try (RawDriver d = RawDriver.connect(kit)) {
            d.hello(10);
            assertThat(code(d.bind("http", "expose", 79, null, false))).isEqualTo(BindErrorCode.PRIVILEGED_PORT);
            assertThat(code(d.bind("http", "expose", 22, null, false))).isEqualTo(BindErrorCode.PRIVILEGED_PORT);
            assertThat(code(d.bind("http", "expose", 443, null, false))).isEqualTo(BindErrorCode.PRIVILEGED_PORT);
            assertThat(code(d.bind("tcp", "pull", 80, null, false))).isEqualTo(BindErrorCode.PRIVILEGED_PORT);
        }
    }

    @Test
    void onlyHttpExposeAndTcpPullAreValidKinds() throws Exception {
        try (RawDriver d = RawDriver.connect(kit)) {
            d.hello(10);
            int port = Ports.free();
            assertThat(code(d.bind("tcp", "expose", port, null, false))).isEqualTo(BindErrorCode.INVALID_KIND);
            assertThat(code(d.bind("http", "pull", port, null, false))).isEqualTo(BindErrorCode.INVALID_KIND);
            assertThat(code(d.bind("udp", "expose", port, null, false))).isEqualTo(BindErrorCode.INVALID_KIND);
            assertThat(code(d.bind("tcp", "pull", port, null, true))).as("takeover on a pull").isEqualTo(BindErrorCode.INVALID_KIND);
        }
    }

    @Test
    void pullListensOnLoopbackOnly() throws Exception {
        try (RawDriver d = RawDriver.connect(kit)) {
            d.hello(10);
            assertThat(code(d.bind("tcp", "pull", Ports.free(), "0.0.0.0", false))).isEqualTo(BindErrorCode.INVALID_HOST);
            assertThat(code(d.bind("tcp", "pull", Ports.free(), "example.com", false))).isEqualTo(BindErrorCode.INVALID_HOST);
        }
    }

    @Test
    void theSixteenthBindingIsTheLastOne() throws Exception {
        try (RawDriver d = RawDriver.connect(kit)) {
            d.hello(10);
            for (int i = 0; i < 16; i++) {
                assertThat(d.bind("tcp", "pull", 0, null, false)).isInstanceOf(ControlMessage.BindOk.class);
            }
            assertThat(code(d.bind("tcp", "pull", 0, null, false))).isEqualTo(BindErrorCode.BIND_CAP_EXCEEDED);
        }
    }

    @Test
    void aRefusedBindLeavesTheSessionUsableAndAnUnbindFreesThePort() throws Exception {
        int port = Ports.free();
        try (RawDriver d = RawDriver.connect(kit)) {
            d.hello(10);
            assertThat(code(d.bind("http", "expose", 79, null, false))).isEqualTo(BindErrorCode.PRIVILEGED_PORT);
            ControlMessage.BindOk ok = (ControlMessage.BindOk) d.bind("http", "expose", port, null, false);
            assertThat(ok.port()).isEqualTo(port);
            assertThatCode(() -> new Socket(InetAddress.getLoopbackAddress(), port).close()).doesNotThrowAnyException();
            d.send("{\"type\":\"UNBIND\",\"bindId\":" + ok.bindId() + "}");
            ControlMessage.BindRevoked revoked = (ControlMessage.BindRevoked) d.next(ControlMessage.BindRevoked.class);
            assertThat(revoked.bindId()).isEqualTo(ok.bindId());
            assertThat(revoked.reason()).isEqualTo("UNBOUND");
            assertThat(d.bind("http", "expose", port, null, false)).isInstanceOf(ControlMessage.BindOk.class);
        }
    }

    @Test
    void aSessionsPortsAreFreedWhenItsSocketDrops() throws Exception {
        int port = Ports.free();
        RawDriver d = RawDriver.connect(kit);
        d.hello(10);
        assertThat(d.bind("http", "expose", port, null, false)).isInstanceOf(ControlMessage.BindOk.class);
        d.close();
        try (RawDriver e = RawDriver.connect(kit)) {
            e.hello(10);
            long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            ControlMessage m;
            do {
                m = e.bind("http", "expose", port, null, false);
            } while (m instanceof ControlMessage.BindErr && System.nanoTime() < deadline);
            assertThat(m).isInstanceOf(ControlMessage.BindOk.class);
        }
    }
}
