package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.driver.BindSpec;
import ai.hoody.tunnel.protocol.BindMode;
import ai.hoody.tunnel.protocol.ControlMessage;
import ai.hoody.tunnel.protocol.Frame;
import ai.hoody.tunnel.protocol.FrameCodec;
import ai.hoody.tunnel.protocol.ResetCode;
import ai.hoody.tunnel.support.CuttableRelay;
import ai.hoody.tunnel.support.LaptopHttpServer;
import ai.hoody.tunnel.support.LaptopTcpServer;
import ai.hoody.tunnel.support.Ports;
import ai.hoody.tunnel.support.RawDriver;
import ai.hoody.tunnel.support.TestDriver;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static ai.hoody.tunnel.support.Admin.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The connection core under the failures found on review (issue #7): what a resume may send first, a BIND whose answer
 * is lost with the socket, resets that must reach pumps blocked in socket I/O, deadlines on refused visitors, the
 * supervisor racing a resume, and a driver whose uplink is congested.
 */
@QuarkusTest
class ConnectionCoreTest {

    @TestHTTPResource("/")
    URI kit;

    @Inject
    SessionRegistry sessions;

    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();

    private HttpResponse<String> get(int port, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(15)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /**
     * Descriptor permits not held by visitor connections: the free ones plus the listeners' (one per binding), so that
     * other tests' sessions releasing their ports meanwhile do not move the figure.
     */
    private static int permitsNotHeldByVisitors() {
        var overview = given().get("/api/v1/tunnel/tunnels").then().statusCode(200).extract();
        return overview.<Integer>path("fdPermitsAvailable") + overview.<Integer>path("totalBindings");
    }

    private static int totalStreams() {
        return given().get("/api/v1/tunnel/tunnels").then().statusCode(200).extract().path("totalStreams");
    }

    /** Visitors hammering a port: each opens a connection, sends a request, waits a moment, leaves. */
    private static List<Thread> visitorLoad(int port, int threads, AtomicBoolean running) {
        List<Thread> visitors = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            visitors.add(Thread.ofVirtual().start(() -> {
                while (running.get()) {
                    try (Socket s = new Socket("127.0.0.1", port)) {
                        s.setSoTimeout(200);
                        s.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                        s.getInputStream().read();
                    } catch (Exception e) {
                        // refused, reset, timed out: the load is what matters here
                    }
                }
            }));
        }
        return visitors;
    }

    // ---------------------------------------------------------------- 1. nothing overtakes HELLO_OK

    @Test
    @Timeout(120)
    void aResumeUnderVisitorLoadAlwaysStartsWithHelloOk() throws Exception {
        int port = Ports.free();
        RawDriver current = RawDriver.connect(kit);
        ControlMessage.HelloOk hello = current.hello(10_000);
        assertThat(current.bind("http", "expose", port, null, false)).isInstanceOf(ControlMessage.BindOk.class);
        AtomicBoolean running = new AtomicBoolean(true);
        List<Thread> visitors = visitorLoad(port, 16, running);
        try {
            for (int i = 0; i < 100; i++) {
                RawDriver next = RawDriver.connect(kit);
                ControlMessage.HelloOk ok = next.resume(hello.sessionId(), hello.resumeToken());
                assertThat(ok.resumed()).as("resume %d", i).isTrue();
                // The kit sends nothing of the session (an OPEN for a visitor, say) on the new socket before HELLO_OK.
                assertThat(next.arrivals().getFirst()).as("first message on resume %d", i).isEqualTo("text:HELLO_OK");
                current.close();
                current = next;
            }
            assertThat(current.isClosed()).as("no close 1002 on the last socket").isFalse();
        } finally {
            running.set(false);
            for (Thread v : visitors) {
                v.join();
            }
            current.close();
        }
    }

    // ---------------------------------------------------------------- 2. a BIND whose BIND_OK is lost

    @Test
    void aSocketLostBeforeTheBindOkStillServesThePortAfterTheResume() throws Exception {
        try (LaptopHttpServer web = new LaptopHttpServer("web"); CuttableRelay relay = new CuttableRelay(kit.getPort())) {
            int exposed = Ports.free();
            relay.cutBeforeKitMessage("\"BIND_OK\""); // the kit grants the port; its answer never reaches the driver
            try (TestDriver d = TestDriver.start(URI.create("http://127.0.0.1:" + relay.port()),
                    BindSpec.parseTarget(BindMode.EXPOSE, "127.0.0.1:" + web.port(), exposed, null, false))) {
                String session = d.await("connected").path("sessionId").asText();
                assertThat(relay.awaitCut(10)).isTrue();
                assertThat(d.await("resumed").path("sessionId").asText()).isEqualTo(session);
                // The driver asks again for what it never saw granted; the kit answers with the binding it holds.
                assertThat(d.await("bind_ok").path("port").asInt()).isEqualTo(exposed);
                assertThat(get(exposed, "/whoami").body()).isEqualTo("web");
            }
        }
    }

    @Test
    void aPullBindingLostBeforeItsBindOkIsBoundAgainAfterTheResume() throws Exception {
        try (LaptopHttpServer web = new LaptopHttpServer("web"); CuttableRelay relay = new CuttableRelay(kit.getPort())) {
            int pulled = Ports.free();
            relay.cutBeforeKitMessage("\"BIND_OK\"");
            try (TestDriver d = TestDriver.start(URI.create("http://127.0.0.1:" + relay.port()),
                    BindSpec.parseTarget(BindMode.PULL, "127.0.0.1:" + web.port(), pulled, null, false))) {
                assertThat(relay.awaitCut(10)).isTrue();
                d.await("resumed");
                assertThat(d.await("bind_ok").path("port").asInt()).isEqualTo(pulled);
                assertThat(get(pulled, "/whoami").body()).isEqualTo("web");
            }
        }
    }

    // ---------------------------------------------------------------- 3. every stream ends

    /**
     * A visitor that neither reads nor writes, with the kit's pump to it blocked in a socket write (its buffers full),
     * and the pump from it blocked in a read: a RESET must still close the socket and give the permit back.
     */
    @Test
    void aResetClosesAVisitorWhosePumpsAreBlockedInSocketIo() throws Exception {
        assertStuckVisitorIsFreed(d -> d.stream().sendFrame(FrameCodec.reset(d.streamId(), ResetCode.CANCEL, "driver gave up")));
    }

    @Test
    void theEndOfTheSessionClosesAVisitorWhosePumpsAreBlockedInSocketIo() throws Exception {
        assertStuckVisitorIsFreed(d -> d.stream().close());
    }

    private record StuckStream(RawDriver stream, int streamId) {
    }

    private interface Ending {
        void end(StuckStream s) throws Exception;
    }

    private void assertStuckVisitorIsFreed(Ending ending) throws Exception {
        int port = Ports.free();
        RawDriver d = RawDriver.connect(kit);
        d.hello(10);
        assertThat(d.bind("http", "expose", port, null, false)).isInstanceOf(ControlMessage.BindOk.class);
        await().atMost(Duration.ofSeconds(5)).until(() -> totalStreams() == 0);
        int permitsBefore = permitsNotHeldByVisitors();
        Socket visitor = new Socket();
        visitor.setReceiveBufferSize(4096);
        visitor.connect(new InetSocketAddress("127.0.0.1", port));
        try {
            Frame.Open open = (Frame.Open) d.nextFrame(Duration.ofSeconds(5));
            int id = open.streamId();
            d.sendFrame(FrameCodec.openOk(id));
            // Fill every buffer between the kit and the visitor: send while credit comes back, then stop.
            byte[] chunk = new byte[FrameCodec.MAX_DATA_BYTES];
            long credit = 262_144;
            long sent = 0;
            while (true) {
                while (credit >= chunk.length) {
                    d.sendFrame(FrameCodec.data(id, chunk, 0, chunk.length));
                    credit -= chunk.length;
                    sent += chunk.length;
                }
                Frame f = d.nextFrame(Duration.ofMillis(700));
                if (f == null) {
                    break; // no credit for 700 ms: the pump is stuck in its write
                }
                if (f instanceof Frame.Window w) {
                    credit += w.increment();
                }
            }
            assertThat(sent).as("bytes sent before the pump stalled").isGreaterThan(262_144);
            ending.end(new StuckStream(d, id));
            await().atMost(Duration.ofSeconds(3)).until(() -> permitsNotHeldByVisitors() == permitsBefore && totalStreams() == 0);
        } finally {
            visitor.close();
            d.close();
        }
    }

    @Test
    void aRefusedVisitorThatTricklesBytesIsClosedByTheDrainDeadline() throws Exception {
        int port = Ports.free();
        RawDriver d = RawDriver.connect(kit);
        d.hello(10);
        assertThat(d.bind("http", "expose", port, null, false)).isInstanceOf(ControlMessage.BindOk.class);
        d.close(); // parked: visitors get 503
        await().atMost(Duration.ofSeconds(2)).until(() -> get(port, "/").statusCode() == 503);
        try (Socket visitor = new Socket("127.0.0.1", port)) {
            OutputStream out = visitor.getOutputStream();
            InputStream in = visitor.getInputStream();
            out.write("GET / HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.US_ASCII));
            visitor.setSoTimeout(5_000);
            assertThat(new String(in.readNBytes(12), StandardCharsets.US_ASCII)).isEqualTo("HTTP/1.1 503");
            long answered = System.nanoTime();
            boolean closedByKit = false;
            // The kit half-closed after its answer and drains what the visitor still sends; once it closes for good,
            // the next byte we send is answered with a reset.
            while (System.nanoTime() - answered < 8_000_000_000L) {
                try {
                    out.write('x'); // one byte every 300 ms: each read of the kit's drain gets something
                    out.flush();
                } catch (Exception e) {
                    closedByKit = true;
                    break;
                }
                Thread.sleep(300);
            }
            long heldMillis = (System.nanoTime() - answered) / 1_000_000;
            assertThat(closedByKit).as("the kit closed the refused socket").isTrue();
            assertThat(heldMillis).as("how long the kit kept the refused socket, ms").isLessThan(2_500);
        }
    }

    // ---------------------------------------------------------------- 4. the supervisor's decision and its action

    @Test
    void aResumeAfterTheReapersVerdictIsRefusedAndOneBeforeItIsKept() throws Exception {
        // Verdict first: the orphan is past its grace when the supervisor looks; a resume arriving after that finds
        // the session ending and gets a new one, instead of being resumed and then killed by the late action.
        RawDriver first = RawDriver.connect(kit);
        ControlMessage.HelloOk hello = first.hello(10);
        first.close();
        KitSession s = sessions.find(hello.sessionId()).orElseThrow();
        await().atMost(Duration.ofSeconds(2)).until(s::isOrphaned);
        long pastGrace = System.nanoTime() + Duration.ofSeconds(4).toNanos();
        assertThat(s.inspect(pastGrace)).isEqualTo(KitSession.Verdict.ORPHAN_REAPED);
        try (RawDriver late = RawDriver.connect(kit)) {
            ControlMessage.HelloOk refused = late.resume(hello.sessionId(), hello.resumeToken());
            assertThat(refused.resumed()).isFalse();
            assertThat(refused.sessionId()).isNotEqualTo(hello.sessionId());
        }
        s.finishEnding(null, Duration.ZERO, true);
        assertThat(sessions.find(hello.sessionId())).isEmpty();

        // Resume first: the supervisor then looks at an attached, lively session and leaves it alone.
        RawDriver second = RawDriver.connect(kit);
        ControlMessage.HelloOk hello2 = second.hello(10);
        second.close();
        KitSession s2 = sessions.find(hello2.sessionId()).orElseThrow();
        await().atMost(Duration.ofSeconds(2)).until(s2::isOrphaned);
        try (RawDriver back = RawDriver.connect(kit)) {
            assertThat(back.resume(hello2.sessionId(), hello2.resumeToken()).resumed()).isTrue();
            assertThat(s2.inspect(System.nanoTime())).isIn(KitSession.Verdict.NOTHING, KitSession.Verdict.PING);
            assertThat(s2.state()).isEqualTo(KitSession.State.ATTACHED);
        }
    }

    // ---------------------------------------------------------------- 5. a stalled uplink

    /**
     * While the driver's uplink is stalled — its writer blocked in a socket write under a download — its reader must
     * go on reading: a PING from the kit is answered through the writer's queue, not by writing on the reader. So an
     * upload the laptop already has credit for keeps arriving at the laptop's service.
     */
    @Test
    @Timeout(60)
    void aStalledUplinkDoesNotStopTheDriverReading() throws Exception {
        AtomicLong sunk = new AtomicLong();
        try (LaptopHttpServer web = new LaptopHttpServer("web");
             LaptopTcpServer sink = new LaptopTcpServer(s -> {
                 byte[] buf = new byte[1 << 16];
                 int n;
                 while ((n = s.getInputStream().read(buf)) >= 0) {
                     sunk.addAndGet(n);
                 }
             });
             CuttableRelay relay = new CuttableRelay(kit.getPort())) {
            int downloads = Ports.free();
            int uploads = Ports.free();
            try (TestDriver d = TestDriver.start(URI.create("http://127.0.0.1:" + relay.port()),
                    BindSpec.parseTarget(BindMode.EXPOSE, "127.0.0.1:" + web.port(), downloads, null, false),
                    BindSpec.parseTarget(BindMode.EXPOSE, "127.0.0.1:" + sink.port(), uploads, null, false))) {
                d.await("bind_ok");
                d.await("bind_ok");
                List<Socket> visitors = new ArrayList<>();
                try (Socket upload = new Socket("127.0.0.1", uploads)) {
                upload.getOutputStream().write(new byte[1024]);
                await().atMost(Duration.ofSeconds(5)).until(() -> sunk.get() == 1024); // the upload stream is open
                // 64 downloads nobody reads: 64 x 256 KiB of credit, more than the socket buffers on the way hold, so
                // once the uplink stalls the driver's writer blocks in a socket write.
                for (int i = 0; i < 64; i++) {
                    Socket v = new Socket("127.0.0.1", downloads);
                    visitors.add(v);
                    v.getOutputStream().write("GET /blob?size=100000000 HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                }
                Thread.sleep(500);
                relay.stallUplink();
                try {
                    // The kit PINGs every 500 ms under tests: by now the driver has had a PING to answer while its
                    // writer is blocked (the kit's heartbeat timeout, 3 s, bounds how long the stall may last).
                    Thread.sleep(800);
                    // 900 KiB: within the credit the driver granted after OPEN_OK (its 1 MiB receive window).
                    upload.getOutputStream().write(new byte[900 * 1024]);
                    await().atMost(Duration.ofMillis(1_500)).until(() -> sunk.get() == 1024 + 900 * 1024);
                } finally {
                    relay.heal();
                    for (Socket v : visitors) {
                        v.close();
                    }
                }
                }
                assertThat(get(downloads, "/whoami").body()).isEqualTo("web");
            }
        }
    }
}
