package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.driver.BindSpec;
import ai.hoody.tunnel.protocol.BindErrorCode;
import ai.hoody.tunnel.protocol.BindMode;
import ai.hoody.tunnel.protocol.ControlCodec;
import ai.hoody.tunnel.protocol.ControlMessage;
import ai.hoody.tunnel.protocol.Frame;
import ai.hoody.tunnel.protocol.FrameCodec;
import ai.hoody.tunnel.protocol.Protocol;
import ai.hoody.tunnel.protocol.ResetCode;
import ai.hoody.tunnel.support.DriverProcess;
import ai.hoody.tunnel.support.LaptopHttpServer;
import ai.hoody.tunnel.support.LaptopTcpServer;
import ai.hoody.tunnel.support.Ports;
import ai.hoody.tunnel.support.RawDriver;
import ai.hoody.tunnel.support.RawWebSocket;
import ai.hoody.tunnel.support.TestDriver;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import static ai.hoody.tunnel.support.Admin.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Who may attach and what one party can take from the others (issue #11): the attach token, per-peer shares of the
 * pre-auth slots and of sessions, the kit-wide binding cap, BIND and control-message rates, the idle timeout of
 * streams. Every test connects from 127.0.0.1: one peer. (The driver's cap per target: DriverTargetCapTest.)
 */
@QuarkusTest
@TestProfile(AttachAndCapsTest.Caps.class)
class AttachAndCapsTest {

    static final String TOKEN = "attach-secret-0000000001";
    static final String NEXT_TOKEN = "attach-secret-0000000002";

    public static class Caps implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.ofEntries(
                    Map.entry("hoody.tunnel.token", TOKEN + "," + NEXT_TOKEN),
                    Map.entry("hoody.tunnel.max-pre-auth-connections", "100"),
                    Map.entry("hoody.tunnel.max-pre-auth-connections-per-peer", "2"),
                    Map.entry("hoody.tunnel.max-sessions-per-peer", "3"),
                    Map.entry("hoody.tunnel.max-bindings", "4"),
                    Map.entry("hoody.tunnel.max-binds-per-second", "5"),
                    Map.entry("hoody.tunnel.max-control-messages-per-second", "50"),
                    Map.entry("hoody.tunnel.stream-idle-timeout", "1s"),
                    Map.entry("hoody.tunnel.idle-session-timeout", "60s"));
        }
    }

    @TestHTTPResource("/")
    URI kit;

    private static String hello(String token) {
        return ControlCodec.encode(new ControlMessage.Hello(Protocol.VERSION, "caps-test", "1", 100, null, token));
    }

    @Test
    void aHelloWithoutTheTokenOrWithAWrongOneIsRefusedAndEitherRotatedTokenAttaches() throws Exception {
        try (RawDriver none = RawDriver.connect(kit)) {
            none.send(hello(null));
            RawDriver.Close c = none.awaitClose(Duration.ofSeconds(5));
            assertThat(c.code()).isEqualTo(1008);
            assertThat(c.reason()).isEqualTo("attach token required");
        }
        try (RawDriver wrong = RawDriver.connect(kit)) {
            wrong.send(hello("attach-secret-0000000009"));
            RawDriver.Close c = wrong.awaitClose(Duration.ofSeconds(5));
            assertThat(c.code()).isEqualTo(1008);
            assertThat(c.reason()).isEqualTo("attach token not accepted");
        }
        for (String token : List.of(TOKEN, NEXT_TOKEN)) {
            try (RawDriver ok = RawDriver.connect(kit)) {
                assertThat(ok.hello(10, token).sessionId()).startsWith("ses_");
            }
        }
        given().get("/api/v1/tunnel/metrics").then().statusCode(200)
                .body(org.hamcrest.Matchers.containsString("hoody_tunnel_hello_rejections_total{reason=\"token\""));
    }

    @Test
    void theRealDriverSendsItsTokenAndFailsClearlyWithoutIt() throws Exception {
        try (LaptopHttpServer web = new LaptopHttpServer("web")) {
            int port = Ports.free();
            String kitUrl = "http://127.0.0.1:" + kit.getPort();
            try (DriverProcess without = DriverProcess.start("expose", "127.0.0.1:" + web.port(), "--port", Integer.toString(port),
                    "--kit", kitUrl)) {
                assertThat(without.await("error").path("message").asText()).contains("attach token required");
                assertThat(without.awaitExit()).isEqualTo(1);
            }
            try (TestDriver with = TestDriver.startWithToken(kit, TOKEN, BindSpec.parseTarget(BindMode.EXPOSE,
                    "127.0.0.1:" + web.port(), port, null, false))) {
                assertThat(with.await("bind_ok").path("port").asInt()).isEqualTo(port);
            }
        }
    }

    @Test
    void onePeerHoldsAtMostItsShareOfThePreAuthSlots() throws Exception {
        List<RawDriver> silent = new ArrayList<>();
        try {
            silent.add(RawDriver.connect(kit));
            silent.add(RawDriver.connect(kit));
            try (RawDriver third = RawDriver.connect(kit)) {
                RawDriver.Close c = third.awaitClose(Duration.ofSeconds(5));
                assertThat(c.code()).isEqualTo(1013);
                assertThat(c.reason()).contains("from this address waiting for HELLO (2)");
            }
        } finally {
            silent.forEach(RawDriver::close);
        }
        // Their slots come back as they go: a new socket may say HELLO again.
        await().atMost(Duration.ofSeconds(5)).ignoreExceptions().until(() -> {
            try (RawDriver d = RawDriver.connect(kit)) {
                return d.hello(10, TOKEN).sessionId() != null;
            }
        });
    }

    /** Other tests' orphans count against this peer until reaped (3 s under tests): start from none. */
    private static void awaitNoSessionsAndBindings() {
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            var overview = given().get("/api/v1/tunnel/tunnels").then().statusCode(200).extract();
            return overview.<Integer>path("totalBindings") == 0 && overview.<List<?>>path("sessions").isEmpty();
        });
    }

    @Test
    void onePeerHoldsAtMostItsShareOfSessions() throws Exception {
        awaitNoSessionsAndBindings();
        List<RawDriver> held = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                RawDriver d = RawDriver.connect(kit);
                held.add(d);
                d.hello(10, TOKEN);
            }
            try (RawDriver fourth = RawDriver.connect(kit)) {
                fourth.send(hello(TOKEN));
                RawDriver.Close c = fourth.awaitClose(Duration.ofSeconds(5));
                assertThat(c.code()).isEqualTo(1013);
                assertThat(c.reason()).isEqualTo("this address holds its cap of 3 sessions");
            }
        } finally {
            for (RawDriver d : held) {
                d.send("{\"type\":\"GOAWAY\",\"code\":\"NORMAL\",\"message\":\"bye\"}");
                d.awaitClose(Duration.ofSeconds(5));
            }
        }
    }

    @Test
    void theKitHoldsAtMostItsCapOfBindingsAndASessionItsRateOfBinds() throws Exception {
        awaitNoSessionsAndBindings();
        try (RawDriver a = RawDriver.connect(kit)) {
            a.hello(10, TOKEN);
            List<ControlMessage> answers = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                answers.add(a.bind("tcp", "pull", 0, null, false));
            }
            // The kit-wide cap (4) and the session's rate (5 a second) both stop it; whichever comes first says so.
            assertThat(answers.subList(0, 4)).allMatch(m -> m instanceof ControlMessage.BindOk);
            ControlMessage.BindErr fifth = (ControlMessage.BindErr) answers.get(4);
            assertThat(fifth.code()).isEqualTo(BindErrorCode.BIND_CAP_EXCEEDED);
            assertThat(fifth.message()).contains("the kit holds its cap of 4 bindings");
            ControlMessage.BindErr sixth = (ControlMessage.BindErr) answers.get(5);
            assertThat(sixth.code()).isEqualTo(BindErrorCode.BIND_CAP_EXCEEDED);
            assertThat(sixth.message()).contains("more than 5 BINDs in a second");
            a.send("{\"type\":\"GOAWAY\",\"code\":\"NORMAL\",\"message\":\"bye\"}");
            a.awaitClose(Duration.ofSeconds(5));
        }
    }

    @Test
    void aSessionSendingMoreControlMessagesThanItsRateIsClosed() throws Exception {
        try (RawDriver d = RawDriver.connect(kit)) {
            d.hello(10, TOKEN);
            try {
                for (int i = 0; i < 60 && !d.isClosed(); i++) {
                    d.send("{\"type\":\"PONG\",\"ts\":" + i + "}");
                }
            } catch (Exception closedMeanwhile) {
                // the kit closed it while we were still sending: what we test
            }
            RawDriver.Close c = d.awaitClose(Duration.ofSeconds(5));
            assertThat(c.code()).isEqualTo(1008);
            assertThat(c.reason()).isEqualTo("more than 50 control messages in a second");
        }
    }

    /**
     * A driver over the control rate that keeps sending and never reads (a PING flood): the kit stops reading it and
     * cuts the socket at once, instead of handling every further message as one more reason to close while a close
     * handshake that cannot happen times out (seen: 180 MB of PINGs read in 7.7 s after the limit, a close attempt and a
     * sleeping thread per message).
     */
    @Test
    void aDriverFloodingPastTheControlRateWithoutReadingIsCutOffAtOnce() throws Exception {
        try (RawWebSocket flooder = RawWebSocket.connect(kit, List.of("Sec-WebSocket-Protocol: " + Protocol.SUBPROTOCOL_V1), 4096)) {
            flooder.sendText(hello(TOKEN));
            assertThat(flooder.nextControl()).isInstanceOf(ControlMessage.HelloOk.class);
            byte[] ping = RawWebSocket.maskedFrame(RawWebSocket.TEXT,
                    ControlCodec.encode(new ControlMessage.Ping(1732630000000L)).getBytes(StandardCharsets.UTF_8));
            java.io.ByteArrayOutputStream chunk = new java.io.ByteArrayOutputStream();
            while (chunk.size() < 64 * 1024) {
                chunk.write(ping);
            }
            byte[] bytes = chunk.toByteArray();
            long t0 = System.nanoTime();
            long sent = 0;
            IOException cut = null;
            while (System.nanoTime() - t0 < 20_000_000_000L) {
                try {
                    flooder.writeRaw(bytes);
                    sent += bytes.length;
                } catch (IOException e) {
                    cut = e;
                    break;
                }
            }
            long millis = (System.nanoTime() - t0) / 1_000_000;
            assertThat(cut).as("the kit cut the flooding socket (%d bytes of PINGs sent in %d ms)", sent, millis).isNotNull();
            // Once it stops reading, what a flooder can still write is what the socket buffers take (tcp_rmem and
            // tcp_wmem allow a few MiB each); it was 180 MB when the kit read on. The cut waits at most for the close
            // frame (2 s when the flooder does not read, WebSocketEdgeGuard); it took over 7 s.
            assertThat(sent).as("bytes of PINGs written until the kit cut the driver (%d ms)", millis).isLessThan(16L << 20);
            assertThat(millis).as("ms until the kit cut a driver over its control rate (%d bytes sent)", sent).isLessThan(4_000L);
        }
    }

    @Test
    void aStreamThatCarriesNothingIsResetAfterTheIdleTimeout() throws Exception {
        int port = Ports.free();
        try (RawDriver d = RawDriver.connect(kit)) {
            d.hello(10, TOKEN);
            assertThat(d.bind("http", "expose", port, null, false)).isInstanceOf(ControlMessage.BindOk.class);
            try (Socket visitor = new Socket("127.0.0.1", port)) {
                Frame.Open open = (Frame.Open) d.nextFrame(Duration.ofSeconds(5));
                d.sendFrame(FrameCodec.openOk(open.streamId()));
                long t0 = System.nanoTime();
                Frame reset = d.nextFrame(Duration.ofSeconds(10));
                assertThat(reset).isInstanceOf(Frame.Reset.class);
                assertThat(((Frame.Reset) reset).code()).isEqualTo(ResetCode.CANCEL);
                assertThat(((Frame.Reset) reset).reason()).startsWith("no bytes either way for 1 s");
                assertThat((System.nanoTime() - t0) / 1_000_000).isBetween(500L, 4_000L);
                visitor.setSoTimeout(5_000);
                InputStream in = visitor.getInputStream();
                assertThatThrownBy(in::read).hasMessageContaining("Connection reset");
            }
            d.send("{\"type\":\"GOAWAY\",\"code\":\"NORMAL\",\"message\":\"bye\"}");
            d.awaitClose(Duration.ofSeconds(5));
        }
    }

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
