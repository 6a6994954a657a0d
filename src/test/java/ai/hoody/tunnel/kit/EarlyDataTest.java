package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.driver.BindSpec;
import ai.hoody.tunnel.protocol.BindMode;
import ai.hoody.tunnel.protocol.ControlMessage;
import ai.hoody.tunnel.protocol.Frame;
import ai.hoody.tunnel.protocol.FrameCodec;
import ai.hoody.tunnel.protocol.Protocol;
import ai.hoody.tunnel.protocol.ResetCode;
import ai.hoody.tunnel.support.Blob;
import ai.hoody.tunnel.support.LaptopTcpServer;
import ai.hoody.tunnel.support.Ports;
import ai.hoody.tunnel.support.RawDriver;
import ai.hoody.tunnel.support.TestDriver;
import ai.hoody.tunnel.support.VisitorSockets;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Early data (PROTOCOL.md §3.1, §4.1): a visitor's first bytes go to a driver that announced {@code early-data} right
 * after OPEN, before its OPEN_OK; a driver that did not announce it never sees DATA before its OPEN_OK.
 */
@QuarkusTest
class EarlyDataTest {

    private static final List<String> EARLY = List.of(Protocol.FEATURE_EARLY_DATA);

    @TestHTTPResource("/")
    URI kit;

    @Test
    void aDriverAnnouncingEarlyDataGetsTheVisitorsFirstBytesBeforeItsOpenOkAndTheRestAfterInOrder() throws Exception {
        int port = Ports.free();
        try (RawDriver d = RawDriver.connect(kit)) {
            ControlMessage.HelloOk ok = d.hello(10, List.of("some-future-feature", Protocol.FEATURE_EARLY_DATA));
            assertThat(ok.features()).as("the kit confirms what it will use, and only that").containsExactly(Protocol.FEATURE_EARLY_DATA);
            assertThat(d.bind("tcp", "pull", port, null, false)).isInstanceOf(ControlMessage.BindOk.class);
            try (Socket visitor = new Socket("127.0.0.1", port)) {
                visitor.setSoTimeout(5000);
                OutputStream out = visitor.getOutputStream();
                out.write(bytes("first"));
                int id = d.awaitOpen();
                // OPEN_OK not sent: the first bytes come anyway
                assertThat(nextData(d, id)).isEqualTo("first");
                d.sendFrame(FrameCodec.openOk(id));
                out.write(bytes("second"));
                assertThat(nextData(d, id)).isEqualTo("second");
                byte[] answer = bytes("answer");
                d.sendFrame(FrameCodec.data(id, answer, 0, answer.length));
                d.sendFrame(FrameCodec.fin(id));
                assertThat(visitor.getInputStream().readAllBytes()).isEqualTo(answer);
            }
        }
    }

    @Test
    void aDriverWithoutTheFeatureSeesNoDataBeforeItsOpenOk() throws Exception {
        int port = Ports.free();
        try (RawDriver d = RawDriver.connect(kit)) {
            assertThat(d.hello(10).features()).isEmpty();
            assertThat(d.bind("tcp", "pull", port, null, false)).isInstanceOf(ControlMessage.BindOk.class);
            for (int round = 0; round < 20; round++) {
                try (Socket visitor = new Socket("127.0.0.1", port)) {
                    visitor.getOutputStream().write(bytes("request " + round));
                    int id = d.awaitOpen();
                    // An absence: 100 ms in which the kit, with the visitor's bytes in hand, sends nothing.
                    Frame f = d.nextFrame(Duration.ofMillis(100));
                    assertThat(f).as("round %d: nothing before OPEN_OK", round).isNull();
                    d.sendFrame(FrameCodec.openOk(id));
                    assertThat(nextData(d, id)).isEqualTo("request " + round);
                    d.sendFrame(FrameCodec.reset(id, ResetCode.CANCEL, "done"));
                }
            }
        }
    }

    @Test
    void earlyBytesOfAVisitorWhoseDriverCannotConnectAreDroppedAndTheVisitorGets502() throws Exception {
        int port = Ports.free();
        try (RawDriver d = RawDriver.connect(kit)) {
            d.hello(10, EARLY);
            assertThat(d.bind("http", "expose", port, null, false)).isInstanceOf(ControlMessage.BindOk.class);
            CompletableFuture<String> visitor = CompletableFuture.supplyAsync(() -> VisitorSockets.httpGet(port),
                    command -> Thread.ofVirtual().start(command));
            int id = d.awaitOpen();
            assertThat(nextData(d, id)).startsWith("GET / HTTP/1.1\r\n");
            d.sendFrame(FrameCodec.reset(id, ResetCode.CONNECT_FAILED, "connection refused"));
            assertThat(visitor.get(10, TimeUnit.SECONDS)).startsWith("HTTP/1.1 502 ")
                    .contains("the laptop could not reach its local service").contains("connection refused");
        }
    }

    /** §3.4: a takeover while the visitor waits for OPEN_OK sends the bytes it had already sent to the new owner. */
    @Test
    void aTakeoverBeforeOpenOkSendsTheEarlyBytesAgainToTheNewOwner() throws Exception {
        int port = Ports.free();
        try (RawDriver old = RawDriver.connect(kit); RawDriver fresh = RawDriver.connect(kit)) {
            old.hello(10, EARLY);
            fresh.hello(10, EARLY);
            assertThat(old.bind("http", "expose", port, null, false)).isInstanceOf(ControlMessage.BindOk.class);
            CompletableFuture<String> visitor = CompletableFuture.supplyAsync(() -> VisitorSockets.httpGet(port),
                    command -> Thread.ofVirtual().start(command));
            int id = old.awaitOpen();
            String request = nextData(old, id);
            assertThat(request).startsWith("GET / HTTP/1.1\r\n");
            assertThat(fresh.bind("http", "expose", port, null, true)).isInstanceOf(ControlMessage.BindOk.class);
            int moved = fresh.awaitOpen();
            assertThat(nextData(fresh, moved)).isEqualTo(request);
            fresh.sendFrame(FrameCodec.openOk(moved));
            byte[] answer = bytes("HTTP/1.1 204 No Content\r\n\r\n");
            fresh.sendFrame(FrameCodec.data(moved, answer, 0, answer.length));
            fresh.sendFrame(FrameCodec.fin(moved));
            assertThat(visitor.get(10, TimeUnit.SECONDS)).startsWith("HTTP/1.1 204 ");
        }
    }

    /**
     * The real driver takes early data: 400 new connections, 50 at a time, each sending 100 KiB (more than the early
     * frame) and half-closing, all echoed back intact, through a driver that holds the early bytes until its target
     * has connected.
     */
    @Test
    @Timeout(120)
    void manyParallelNewConnectionsCarryTheirBytesIntact() throws Exception {
        try (LaptopTcpServer echo = new LaptopTcpServer(LaptopTcpServer.ECHO);
             TestDriver d = TestDriver.start(kit, BindSpec.parseTarget(BindMode.PULL, "127.0.0.1:" + echo.port(), 0, null, false))) {
            int port = d.await("bind_ok").path("port").asInt();
            int connections = 400;
            Semaphore parallel = new Semaphore(50);
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                List<Future<String>> results = new ArrayList<>();
                for (int i = 0; i < connections; i++) {
                    long offset = i * 7919L;
                    parallel.acquire();
                    results.add(pool.submit(() -> {
                        try {
                            return echoThrough(port, offset, 100 * 1024);
                        } finally {
                            parallel.release();
                        }
                    }));
                }
                for (int i = 0; i < connections; i++) {
                    assertThat(results.get(i).get(60, TimeUnit.SECONDS)).as("connection %d", i).isEqualTo("intact");
                }
            }
        }
    }

    /** The real driver, its target refusing: a visitor who sent its request at once still gets 502. */
    @Test
    void theRealDriverAnswersConnectFailedAndTheVisitorGets502() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        try (TestDriver d = TestDriver.start(kit, BindSpec.parseTarget(BindMode.EXPOSE, "127.0.0.1:" + closed, Ports.free(), null, false))) {
            int port = d.await("bind_ok").path("port").asInt();
            for (int i = 0; i < 10; i++) {
                assertThat(VisitorSockets.httpGet(port)).as("visitor %d", i).startsWith("HTTP/1.1 502 ");
            }
        }
    }

    private static String echoThrough(int port, long offset, int n) throws Exception {
        byte[] sent = Blob.bytes(offset, n);
        byte[] got = VisitorSockets.roundTrip(port, sent, 30_000);
        if (got.length != n) {
            return "got " + got.length + " of " + n + " bytes";
        }
        String want = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(sent));
        String have = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(got));
        return want.equals(have) ? "intact" : "checksum differs at byte " + Blob.mismatch(got, offset);
    }

    /** The next DATA of stream {@code id}, as text; WINDOWs are skipped, anything else fails. */
    private static String nextData(RawDriver d, int id) throws InterruptedException {
        while (true) {
            Frame f = d.nextFrame(Duration.ofSeconds(10));
            assertThat(f).as("DATA on stream " + id).isNotNull();
            if (f instanceof Frame.Window) {
                continue;
            }
            assertThat(f).isInstanceOf(Frame.Data.class);
            Frame.Data data = (Frame.Data) f;
            assertThat(data.streamId()).isEqualTo(id);
            ByteBuffer p = data.payload();
            byte[] b = new byte[p.remaining()];
            p.get(b);
            return new String(b, StandardCharsets.ISO_8859_1);
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }
}
