package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.protocol.ControlMessage;
import ai.hoody.tunnel.protocol.FrameCodec;
import ai.hoody.tunnel.protocol.Protocol;
import ai.hoody.tunnel.support.RawDriver;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The data-plane handshake: subprotocol, HELLO rules, HELLO timeout, pre-auth cap (4 under the test profile). */
@QuarkusTest
class HandshakeTest {

    @TestHTTPResource("/")
    URI kit;

    private String upgrade(String protocolHeader) throws Exception {
        try (Socket s = new Socket(kit.getHost(), kit.getPort())) {
            s.setSoTimeout(5000);
            String req = "GET " + Protocol.CONNECT_PATH + " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                    + (protocolHeader == null ? "" : "Sec-WebSocket-Protocol: " + protocolHeader + "\r\n") + "\r\n";
            s.getOutputStream().write(req.getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            return ExposeEndToEndTest.readHead(in);
        }
    }

    @Test
    void upgradeWithoutSubprotocolIsRefusedWith400() throws Exception {
        assertThat(upgrade(null)).startsWith("HTTP/1.1 400");
        assertThat(upgrade("chat, superchat")).startsWith("HTTP/1.1 400");
        assertThat(upgrade(Protocol.SUBPROTOCOL_V2)).as("v2 is served (docs/PROTOCOL.md §12)").startsWith("HTTP/1.1 101")
                .containsIgnoringCase("sec-websocket-protocol: " + Protocol.SUBPROTOCOL_V2);
        assertThat(upgrade("chat, " + Protocol.SUBPROTOCOL_V1)).startsWith("HTTP/1.1 101")
                .containsIgnoringCase("sec-websocket-protocol: " + Protocol.SUBPROTOCOL_V1);
    }

    @Test
    void helloOkCarriesSessionTokenAndNegotiatedCaps() throws Exception {
        try (RawDriver d = RawDriver.connect(kit)) {
            ControlMessage.HelloOk ok = d.hello(100);
            assertThat(ok.sessionId()).startsWith("ses_");
            assertThat(Base64.getUrlDecoder().decode(ok.resumeToken())).hasSizeGreaterThanOrEqualTo(16);
            assertThat(ok.maxStreams()).isEqualTo(100);
            assertThat(ok.streamWindow()).isEqualTo(262144);
            assertThat(ok.maxDataBytes()).isEqualTo(FrameCodec.MAX_DATA_BYTES);
            assertThat(ok.heartbeatIntervalMs()).isEqualTo(500); // 20 s by default, 500 ms under the test profile
            assertThat(ok.resumed()).isFalse();
        }
        try (RawDriver d = RawDriver.connect(kit)) {
            assertThat(d.hello(0).maxStreams()).as("0 asks for the kit's cap").isEqualTo(16384);
        }
        try (RawDriver d = RawDriver.connect(kit)) {
            assertThat(d.hello(1_000_000).maxStreams()).as("the kit's cap wins").isEqualTo(16384);
        }
    }

    @Test
    void malformedHelloIsClosedWith1002AndAReason() throws Exception {
        for (String bad : List.of("not json", "{\"type\":\"HELLO\"}", "{\"type\":\"BIND\",\"kind\":\"http\",\"mode\":\"expose\",\"port\":8080}",
                "{\"type\":\"HELLO\",\"version\":\"1\"}", "[1,2,3]", "{\"version\":1}")) {
            try (RawDriver d = RawDriver.connect(kit)) {
                d.send(bad);
                RawDriver.Close c = d.awaitClose(Duration.ofSeconds(5));
                assertThat(c.code()).as(bad).isEqualTo(1002);
                assertThat(c.reason()).as(bad).isNotBlank();
            }
        }
    }

    @Test
    void helloWithAnUnsupportedVersionIsRefusedWith1002() throws Exception {
        try (RawDriver d = RawDriver.connect(kit)) {
            d.send("{\"type\":\"HELLO\",\"version\":2,\"client\":{\"name\":\"x\",\"version\":\"1\"}}");
            RawDriver.Close c = d.awaitClose(Duration.ofSeconds(5));
            assertThat(c.code()).isEqualTo(1002);
            assertThat(c.reason()).contains("version 2");
        }
    }

    @Test
    void streamFrameBeforeHelloIsAProtocolError() throws Exception {
        try (RawDriver d = RawDriver.connect(kit)) {
            d.sendFrame(FrameCodec.fin(1));
            assertThat(d.awaitClose(Duration.ofSeconds(5)).code()).isEqualTo(1002);
        }
    }

    @Test
    void aSocketThatSaysNothingIsClosedAfterTheHelloTimeout() throws Exception {
        long t0 = System.nanoTime();
        try (RawDriver d = RawDriver.connect(kit)) {
            RawDriver.Close c = d.awaitClose(Duration.ofSeconds(10));
            long millis = (System.nanoTime() - t0) / 1_000_000;
            assertThat(c.code()).isEqualTo(Protocol.CLOSE_POLICY);
            assertThat(c.reason()).contains("no HELLO");
            assertThat(millis).isBetween(1_500L, 6_000L); // hello-timeout is 2 s under the test profile
        }
    }

    @Test
    void socketsBeyondThePreAuthCapAreClosedBeforeHello() throws Exception {
        List<RawDriver> waiting = new ArrayList<>();
        try {
            for (int i = 0; i < 4; i++) {
                waiting.add(RawDriver.connect(kit));
            }
            try (RawDriver extra = RawDriver.connect(kit)) {
                RawDriver.Close c = extra.awaitClose(Duration.ofSeconds(5));
                assertThat(c.code()).isEqualTo(Protocol.CLOSE_TRY_AGAIN_LATER);
                assertThat(c.reason()).contains("waiting for HELLO");
            }
            assertThat(waiting).noneMatch(RawDriver::isClosed);
            // Completing HELLO leaves the pre-auth pool: a new socket is accepted again.
            waiting.getFirst().hello(10);
            try (RawDriver next = RawDriver.connect(kit)) {
                assertThat(next.hello(10).sessionId()).startsWith("ses_");
            }
        } finally {
            waiting.forEach(RawDriver::close);
        }
    }
}
