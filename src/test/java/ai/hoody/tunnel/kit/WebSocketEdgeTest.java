package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.protocol.ControlCodec;
import ai.hoody.tunnel.protocol.ControlMessage;
import ai.hoody.tunnel.protocol.Protocol;
import ai.hoody.tunnel.support.RawDriver;
import ai.hoody.tunnel.support.RawWebSocket;
import ai.hoody.tunnel.support.RawWebSocket.Close;
import ai.hoody.tunnel.support.TestDriver;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.SocketException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

import static ai.hoody.tunnel.support.RawWebSocket.BINARY;
import static ai.hoody.tunnel.support.RawWebSocket.CONTINUATION;
import static ai.hoody.tunnel.support.RawWebSocket.PING;
import static ai.hoody.tunnel.support.RawWebSocket.TEXT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The kit's WebSocket edge as docs/PROTOCOL.md §2 describes it, seen on the wire by a hand-made RFC 6455 client:
 * subprotocol offered on several header lines, the 131072-byte message and frame limit (1009), invalid UTF-8 (1007),
 * framing errors (1002), the Origin rule (403). After every refusal the kit must still serve a driver, and the
 * refused socket must have left the pre-auth pool.
 */
@QuarkusTest
class WebSocketEdgeTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(5);
    private static final int LIMIT = 131072;
    private static final String V1 = "Sec-WebSocket-Protocol: " + Protocol.SUBPROTOCOL_V1;

    @TestHTTPResource("/")
    URI kit;

    @Inject
    KitMetrics metrics;

    @Inject
    MeterRegistry registry;

    @AfterEach
    void theKitStillServesADriver() throws Exception {
        await().atMost(TIMEOUT).untilAsserted(() -> assertThat(metrics.preAuthGauge().get()).as("sockets waiting for HELLO").isZero());
        try (RawDriver d = RawDriver.connect(kit)) {
            assertThat(d.hello(10).sessionId()).startsWith("ses_");
        }
    }

    // --- Sec-WebSocket-Protocol ---

    @Test
    void v1OfferedOnASecondHeaderLineIsSelected() throws Exception {
        assertSelectsV1(List.of("Sec-WebSocket-Protocol: chat", V1));
        assertSelectsV1(List.of("Sec-WebSocket-Protocol: chat", "Sec-WebSocket-Protocol: superchat, " + Protocol.SUBPROTOCOL_V1));
        assertSelectsV1(List.of(V1, "Sec-WebSocket-Protocol: chat"));
        assertSelectsV1(List.of("Sec-WebSocket-Protocol: chat, " + Protocol.SUBPROTOCOL_V1));
    }

    private void assertSelectsV1(List<String> offer) throws Exception {
        try (RawWebSocket ws = RawWebSocket.connect(kit, offer)) {
            assertThat(ws.response().status()).as("%s", offer).isEqualTo(101);
            assertThat(ws.response().all("Sec-WebSocket-Protocol")).as("%s", offer).containsExactly(Protocol.SUBPROTOCOL_V1);
            assertThat(ws.hello().sessionId()).startsWith("ses_");
        }
    }

    @Test
    void severalHeaderLinesWithoutOursAreRefusedWith400() throws Exception {
        try (RawWebSocket ws = RawWebSocket.connect(kit, List.of("Sec-WebSocket-Protocol: chat", "Sec-WebSocket-Protocol: superchat"))) {
            assertThat(ws.response().status()).isEqualTo(400);
            assertThat(ws.response().first("X-Hoody-Tunnel-Error")).isEqualTo("offer Sec-WebSocket-Protocol: "
                    + Protocol.SUBPROTOCOL_V1 + " or " + Protocol.SUBPROTOCOL_V2);
        }
    }

    @Test
    void v2OnALaterHeaderLineIsSelected() throws Exception {
        try (RawWebSocket ws = RawWebSocket.connect(kit, List.of("Sec-WebSocket-Protocol: chat", "Sec-WebSocket-Protocol: " + Protocol.SUBPROTOCOL_V2))) {
            assertThat(ws.response().status()).isEqualTo(101);
            assertThat(ws.response().all("Sec-WebSocket-Protocol")).containsExactly(Protocol.SUBPROTOCOL_V2);
        }
    }

    // --- message and frame size ---

    @ParameterizedTest
    @ValueSource(ints = {TEXT, BINARY})
    void aFrameOverTheLimitIsClosedWith1009(int opcode) throws Exception {
        try (RawWebSocket ws = RawWebSocket.connect(kit)) {
            ws.hello();
            try {
                ws.send(true, opcode, filled(LIMIT + 1));
            } catch (SocketException e) {
                // the kit may fail the connection on the frame's header, before our last bytes are written
            }
            assertThat(ws.awaitClose(TIMEOUT)).isEqualTo(new Close(1009, "WebSocket frame over 131072 bytes"));
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {TEXT, BINARY})
    void aFragmentedMessageOverTheLimitIsClosedWith1009(int opcode) throws Exception {
        try (RawWebSocket ws = RawWebSocket.connect(kit)) {
            ws.hello();
            ws.send(false, opcode, filled(70_000));
            ws.send(true, CONTINUATION, filled(70_000));
            assertThat(ws.awaitClose(TIMEOUT)).isEqualTo(new Close(1009, "WebSocket message over 131072 bytes"));
        }
    }

    @Test
    void aFragmentedMessageOverTheLimitIsClosedBeforeHelloToo() throws Exception {
        try (RawWebSocket ws = RawWebSocket.connect(kit)) {
            ws.send(false, TEXT, filled(65_536));
            ws.send(false, CONTINUATION, filled(65_536));
            ws.send(true, CONTINUATION, filled(1));
            assertThat(ws.awaitClose(TIMEOUT)).isEqualTo(new Close(1009, "WebSocket message over 131072 bytes"));
        }
    }

    /** The limit is inclusive: a message of exactly 131072 bytes reaches the codec, which refuses it as a message. */
    @Test
    void aMessageOfExactlyTheLimitReachesTheProtocolLayer() throws Exception {
        try (RawWebSocket ws = RawWebSocket.connect(kit)) {
            ws.hello();
            ws.send(false, TEXT, filled(LIMIT / 2));
            ws.send(true, CONTINUATION, filled(LIMIT / 2));
            Close close = ws.awaitClose(TIMEOUT);
            assertThat(close.code()).isEqualTo(1002);
            assertThat(close.reason()).startsWith("bad control message: ");
        }
    }

    @Test
    void aFragmentedHelloWithAPingBetweenItsFragmentsIsReassembled() throws Exception {
        byte[] hello = ControlCodec.encode(new ControlMessage.Hello(Protocol.VERSION, "fragments", "1", 10, null))
                .getBytes(StandardCharsets.UTF_8);
        try (RawWebSocket ws = RawWebSocket.connect(kit)) {
            ws.send(false, TEXT, Arrays.copyOfRange(hello, 0, 10));
            ws.send(true, PING, "are you there".getBytes(StandardCharsets.UTF_8));
            ws.send(false, CONTINUATION, Arrays.copyOfRange(hello, 10, 20));
            ws.send(true, CONTINUATION, Arrays.copyOfRange(hello, 20, hello.length));
            RawWebSocket.Frame pong = ws.readFrame();
            assertThat(pong.opcode()).isEqualTo(RawWebSocket.PONG);
            assertThat(pong.text()).isEqualTo("are you there");
            assertThat(ws.nextControl()).isInstanceOf(ControlMessage.HelloOk.class);
        }
    }

    // --- UTF-8 ---

    @Test
    void invalidUtf8BeforeHelloIsClosedWith1007() throws Exception {
        try (RawWebSocket ws = RawWebSocket.connect(kit)) {
            ws.send(true, TEXT, new byte[] {'{', (byte) 0xFF, '}'});
            assertThat(ws.awaitClose(TIMEOUT)).isEqualTo(new Close(1007, "text message is not valid UTF-8"));
        }
    }

    /** Invalid bytes inside a JSON string would otherwise be read as U+FFFD and the message accepted. */
    @Test
    void invalidUtf8InsideAWellFormedControlMessageIsClosedWith1007() throws Exception {
        try (RawWebSocket ws = RawWebSocket.connect(kit)) {
            ws.hello();
            byte[] ping = "{\"type\":\"PING\",\"ts\":1,\"note\":\"?\"}".getBytes(StandardCharsets.US_ASCII);
            ping[ping.length - 3] = (byte) 0xC0; // an overlong encoding's lead byte: never valid
            ws.send(true, TEXT, ping);
            assertThat(ws.awaitClose(TIMEOUT)).isEqualTo(new Close(1007, "text message is not valid UTF-8"));
        }
    }

    @Test
    void aCharacterCutBetweenFragmentsIsValidAndATruncatedOneIsNot() throws Exception {
        byte[] ping = "{\"type\":\"PING\",\"ts\":1,\"note\":\"é\"}".getBytes(StandardCharsets.UTF_8);
        int cut = ping.length - 3; // between the two bytes of "é"
        try (RawWebSocket ws = RawWebSocket.connect(kit)) {
            ws.hello();
            ws.send(false, TEXT, Arrays.copyOfRange(ping, 0, cut));
            ws.send(true, CONTINUATION, Arrays.copyOfRange(ping, cut, ping.length));
            assertThat(ws.nextControl()).isEqualTo(new ControlMessage.Pong(1));

            ws.send(false, TEXT, Arrays.copyOfRange(ping, 0, cut));
            ws.send(true, CONTINUATION, "\"}".getBytes(StandardCharsets.US_ASCII));
            assertThat(ws.awaitClose(TIMEOUT)).isEqualTo(new Close(1007, "text message is not valid UTF-8"));
        }
    }

    // --- framing errors ---

    @Test
    void anUnmaskedClientFrameIsClosedWith1002() throws Exception {
        try (RawWebSocket ws = RawWebSocket.connect(kit)) {
            ws.hello();
            ws.send(true, TEXT, "{\"type\":\"PING\",\"ts\":1}".getBytes(StandardCharsets.US_ASCII), false);
            assertThat(ws.awaitClose(TIMEOUT)).isEqualTo(new Close(1002, "received a frame that is not masked as expected"));
        }
    }

    @Test
    void aCloseFrameWhoseReasonIsNotUtf8IsAnsweredWith1007() throws Exception {
        try (RawWebSocket ws = RawWebSocket.connect(kit)) {
            ws.send(true, RawWebSocket.CLOSE, new byte[] {0x03, (byte) 0xE8, 'o', (byte) 0xFF});
            assertThat(ws.awaitClose(TIMEOUT)).isEqualTo(new Close(1007, "bytes are not UTF-8"));
        }
    }

    /**
     * No compression extension is negotiated: a 131072-byte compressed frame could otherwise inflate to about 1000
     * times that before any limit is checked. A compressed frame is then a framing error.
     */
    @ParameterizedTest
    @ValueSource(strings = {"permessage-deflate; client_max_window_bits", "x-webkit-deflate-frame", "deflate-frame"})
    void compressionIsNotNegotiatedAndACompressedFrameIsAFramingError(String extension) throws Exception {
        try (RawWebSocket ws = RawWebSocket.connect(kit, List.of(V1, "Sec-WebSocket-Extensions: " + extension))) {
            assertThat(ws.response().status()).isEqualTo(101);
            assertThat(ws.response().all("Sec-WebSocket-Extensions")).isEmpty();
            ws.hello();
            ws.send(true, BINARY | RawWebSocket.RSV1, new byte[] {0x02, 0x00});
            assertThat(ws.awaitClose(TIMEOUT)).isEqualTo(new Close(1002, "RSV != 0 and no extension negotiated, RSV:4"));
        }
    }

    // --- Origin ---

    @Test
    void anUpgradeFromAForeignOriginIsRefusedWith403() throws Exception {
        double before = originRejections();
        try (RawWebSocket ws = RawWebSocket.connect(kit, List.of(V1, "Origin: https://evil.example"))) {
            assertThat(ws.response().status()).isEqualTo(403);
            assertThat(ws.response().first("X-Hoody-Tunnel-Error")).isEqualTo("Origin not in hoody.tunnel.allowed-origins");
            assertThat(ws.response().first("Upgrade")).isNull();
        }
        assertThat(originRejections()).isEqualTo(before + 1);
        try (RawWebSocket ws = RawWebSocket.connect(kit, List.of("Origin: null"))) {
            assertThat(ws.response().status()).as("the origin is checked first").isEqualTo(403);
        }
    }

    @Test
    void anUpgradeFromAnAllowedOriginIsServed() throws Exception {
        // %test.hoody.tunnel.allowed-origins=https://app.example.dev
        try (RawWebSocket ws = RawWebSocket.connect(kit, List.of(V1, "Origin: https://app.example.dev"))) {
            assertThat(ws.response().status()).isEqualTo(101);
            assertThat(ws.hello().sessionId()).startsWith("ses_");
        }
    }

    @Test
    void theDriverSendsNoOriginAndConnects() throws Exception {
        try (TestDriver driver = TestDriver.start(kit)) {
            assertThat(driver.await("connected").path("sessionId").asText()).startsWith("ses_");
        }
    }

    private double originRejections() {
        Counter c = registry.find("hoody.tunnel.hello.rejections").tag("reason", "origin").counter();
        return c == null ? 0 : c.count();
    }

    private static byte[] filled(int n) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) 'a');
        return b;
    }
}
