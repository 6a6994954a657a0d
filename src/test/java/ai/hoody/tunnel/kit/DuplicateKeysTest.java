package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.protocol.Protocol;
import ai.hoody.tunnel.support.Ports;
import ai.hoody.tunnel.support.RawDriver;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

import java.net.ConnectException;
import java.net.Socket;
import java.net.URI;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A control message with a key twice is malformed (docs/PROTOCOL.md §3): the kit closes with 1002 and runs nothing.
 * Found by an outside attack run: {@code {"type":"PING","type":"BIND",...}} was run as a BIND (Jackson's last wins).
 */
@QuarkusTest
class DuplicateKeysTest {

    @TestHTTPResource("/")
    URI kit;

    @Test
    void aPingThatIsAlsoABindIsAProtocolErrorAndBindsNothing() throws Exception {
        int port = Ports.free();
        try (RawDriver d = RawDriver.connect(kit)) {
            d.hello(10);
            d.send("{\"type\":\"PING\",\"ts\":1,\"type\":\"BIND\",\"ref\":\"x\",\"kind\":\"tcp\",\"mode\":\"pull\",\"port\":" + port + "}");
            RawDriver.Close c = d.awaitClose(Duration.ofSeconds(5));
            assertThat(c.code()).isEqualTo(Protocol.CLOSE_PROTOCOL_ERROR);
            assertThat(c.reason()).contains("Duplicate field 'type'");
        }
        assertThatThrownBy(() -> new Socket("127.0.0.1", port).close()).isInstanceOf(ConnectException.class);
    }

    @Test
    void aHelloWithAKeyTwiceIsRefused() throws Exception {
        try (RawDriver d = RawDriver.connect(kit)) {
            d.send("{\"type\":\"HELLO\",\"version\":1,\"version\":1,\"client\":{\"name\":\"x\",\"version\":\"1\"}}");
            RawDriver.Close c = d.awaitClose(Duration.ofSeconds(5));
            assertThat(c.code()).isEqualTo(Protocol.CLOSE_PROTOCOL_ERROR);
            assertThat(c.reason()).contains("Duplicate field 'version'");
        }
    }
}
