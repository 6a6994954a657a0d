package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.driver.BindSpec;
import ai.hoody.tunnel.protocol.BindErrorCode;
import ai.hoody.tunnel.protocol.BindMode;
import ai.hoody.tunnel.protocol.ControlMessage;
import ai.hoody.tunnel.protocol.Frame;
import ai.hoody.tunnel.protocol.GoAwayCode;
import ai.hoody.tunnel.support.Blob;
import ai.hoody.tunnel.support.CuttableRelay;
import ai.hoody.tunnel.support.DriverProcess;
import ai.hoody.tunnel.support.LaptopHttpServer;
import ai.hoody.tunnel.support.LaptopTcpServer;
import ai.hoody.tunnel.support.Ports;
import ai.hoody.tunnel.support.RawDriver;
import ai.hoody.tunnel.support.TestDriver;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.InputStream;
import java.net.ConnectException;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static ai.hoody.tunnel.support.Admin.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Session lifecycle with real drivers, real processes and a relay that breaks like a network. Timers under the test
 * profile: heartbeat 500 ms, heartbeat timeout 3 s, takeover grace 3 s, takeover drain 1 s.
 */
@QuarkusTest
class LifecycleTest {

    @TestHTTPResource("/")
    URI kit;

    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();

    private HttpResponse<String> get(int port, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(15)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static BindSpec expose(int laptopPort, int containerPort, boolean takeover) {
        return BindSpec.parseTarget(BindMode.EXPOSE, "127.0.0.1:" + laptopPort, containerPort, null, takeover);
    }

    private static boolean listening(int port) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    private int orphans() {
        return given().get("/api/v1/tunnel/tunnels").then().statusCode(200).extract().path("orphanedSessions");
    }

    @Test
    void aDroppedSocketParksExposeAnswers503FreesPullAndIsReapedAfterTheGrace() throws Exception {
        int exposed = Ports.free();
        int pulled = Ports.free();
        RawDriver d = RawDriver.connect(kit);
        String id = d.hello(10).sessionId();
        assertThat(d.bind("http", "expose", exposed, null, false)).isInstanceOf(ControlMessage.BindOk.class);
        assertThat(d.bind("tcp", "pull", pulled, null, false)).isInstanceOf(ControlMessage.BindOk.class);
        d.close(); // no GOAWAY: the laptop just vanished

        await().atMost(Duration.ofSeconds(2)).until(() -> !listening(pulled)); // PULL: dropped at once
        HttpResponse<String> parked = get(exposed, "/");
        assertThat(parked.statusCode()).isEqualTo(503);
        assertThat(parked.headers().firstValue("Retry-After")).hasValue("5");
        assertThat(orphans()).isGreaterThanOrEqualTo(1);
        given().get("/api/v1/tunnel/sessions").then().body("sessions.sessionId", org.hamcrest.Matchers.hasItem(id));

        await().atMost(Duration.ofSeconds(8)).until(() -> !listening(exposed)); // grace 3 s, then reaped
        given().get("/api/v1/tunnel/sessions").then().body("sessions.sessionId", org.hamcrest.Matchers.not(org.hamcrest.Matchers.hasItem(id)));
        given().get("/api/v1/tunnel/metrics").then().body(org.hamcrest.Matchers.containsString("hoody_tunnel_orphans_reaped_total"));
    }

    @Test
    void resumeWithTheTokenReattachesTheSameSessionAndItsBindings() throws Exception {
        int exposed = Ports.free();
        RawDriver first = RawDriver.connect(kit);
        ControlMessage.HelloOk hello = first.hello(10);
        ControlMessage.BindOk bound = (ControlMessage.BindOk) first.bind("http", "expose", exposed, null, false);
        first.close();
        await().atMost(Duration.ofSeconds(2)).until(() -> get(exposed, "/").statusCode() == 503);

        try (RawDriver wrong = RawDriver.connect(kit)) {
            ControlMessage.HelloOk refused = wrong.resume(hello.sessionId(), "not-the-token");
            assertThat(refused.resumed()).isFalse();
            assertThat(refused.sessionId()).isNotEqualTo(hello.sessionId());
            ControlMessage.BindErr err = (ControlMessage.BindErr) wrong.bind("http", "expose", exposed, null, false);
            assertThat(err.code()).isEqualTo(BindErrorCode.ALREADY_BOUND); // the orphan still holds it
        }
        try (RawDriver back = RawDriver.connect(kit)) {
            ControlMessage.HelloOk resumed = back.resume(hello.sessionId(), hello.resumeToken());
            assertThat(resumed.resumed()).isTrue();
            assertThat(resumed.sessionId()).isEqualTo(hello.sessionId());
            try (Socket visitor = new Socket("127.0.0.1", exposed)) {
                Frame open = back.nextFrame(Duration.ofSeconds(5));
                assertThat(open).isInstanceOf(Frame.Open.class);
                assertThat(((Frame.Open) open).bindId()).isEqualTo(bound.bindId()); // the same binding, never closed
            }
        }
    }

    @Test
    void takeoversUnderSteadyTrafficLoseNoRequest() throws Exception {
        int exposed = Ports.free();
        int visitorThreads = 4;
        try (LaptopHttpServer a = new LaptopHttpServer("A"); LaptopHttpServer b = new LaptopHttpServer("B");
             LaptopHttpServer c = new LaptopHttpServer("C");
             TestDriver first = TestDriver.start(kit, expose(a.port(), exposed, false))) {
            first.await("bind_ok");
            List<List<String>> answers = new ArrayList<>();
            List<String> failures = new CopyOnWriteArrayList<>();
            AtomicInteger served = new AtomicInteger();
            AtomicBoolean running = new AtomicBoolean(true);
            List<Thread> visitors = new ArrayList<>();
            for (int t = 0; t < visitorThreads; t++) {
                List<String> mine = new CopyOnWriteArrayList<>();
                answers.add(mine);
                visitors.add(Thread.ofVirtual().start(() -> {
                    while (running.get()) {
                        // A new connection each time, so every request meets the listener at a different moment.
                        try (Socket s = new Socket("127.0.0.1", exposed)) {
                            s.setSoTimeout(10_000);
                            s.getOutputStream().write("GET /whoami HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                                    .getBytes(StandardCharsets.US_ASCII));
                            String response = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
                            String body = response.substring(response.indexOf("\r\n\r\n") + 4);
                            mine.add(response.startsWith("HTTP/1.1 200") ? body : response.lines().findFirst().orElse("empty"));
                            served.incrementAndGet();
                        } catch (Exception e) {
                            failures.add(e.toString());
                        }
                    }
                }));
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> served.get() > 40);
            try (TestDriver second = TestDriver.start(kit, expose(b.port(), exposed, true))) {
                assertThat(second.await("bind_ok").path("port").asInt()).isEqualTo(exposed);
                assertThat(first.await("bind_revoked").path("reason").asText()).isEqualTo("TAKEOVER");
                int at = served.get();
                await().atMost(Duration.ofSeconds(10)).until(() -> served.get() > at + 40);
                // ...and straight back to a third owner while B's requests are in flight.
                try (TestDriver third = TestDriver.start(kit, expose(c.port(), exposed, true))) {
                    assertThat(third.await("bind_ok").path("port").asInt()).isEqualTo(exposed);
                    assertThat(second.await("bind_revoked").path("reason").asText()).isEqualTo("TAKEOVER");
                    int at2 = served.get();
                    await().atMost(Duration.ofSeconds(10)).until(() -> served.get() > at2 + 40);
                    running.set(false);
                    for (Thread v : visitors) {
                        v.join();
                    }
                }
            }
            assertThat(failures).isEmpty();
            for (List<String> mine : answers) {
                // Each visitor's requests are sequential, so each sees the owners in order: A..., B..., C...
                assertThat(mine).allMatch(x -> x.equals("A") || x.equals("B") || x.equals("C"));
                assertThat(mine).isSortedAccordingTo(String::compareTo);
                assertThat(mine.getFirst()).isEqualTo("A");
                assertThat(mine.getLast()).isEqualTo("C");
            }
            given().get("/api/v1/tunnel/metrics").then().body(org.hamcrest.Matchers.containsString("hoody_tunnel_takeovers_total"));
        }
    }

    @Test
    void aDriverThatStopsAnsweringIsToldIdleTimeoutAndClosed() throws Exception {
        try (RawDriver d = RawDriver.connect(kit)) {
            d.hello(10);
            d.goSilent();
            long t0 = System.nanoTime();
            ControlMessage.GoAway g = (ControlMessage.GoAway) d.next(ControlMessage.GoAway.class);
            assertThat(g.code()).isEqualTo(GoAwayCode.IDLE_TIMEOUT);
            assertThat(d.awaitClose(Duration.ofSeconds(5)).code()).isEqualTo(1000);
            assertThat((System.nanoTime() - t0) / 1_000_000).isBetween(2_000L, 6_000L);
        }
    }

    @Test
    void theDriverResumesAfterItsSocketIsCutDuringATransferAndWhenIdle() throws Exception {
        try (LaptopHttpServer web = new LaptopHttpServer("web"); CuttableRelay relay = new CuttableRelay(kit.getPort())) {
            int exposed = Ports.free();
            try (TestDriver d = TestDriver.start(URI.create("http://127.0.0.1:" + relay.port()), expose(web.port(), exposed, false))) {
                String session = d.await("bind_ok").path("sessionId").asText();

                // During a large transfer: the transfer breaks (its bytes were on the dead socket), the service does not.
                Thread cutter = Thread.ofVirtual().start(() -> {
                    try {
                        Thread.sleep(300);
                    } catch (InterruptedException ignored) {
                        return;
                    }
                    relay.cut();
                });
                try {
                    get(exposed, "/blob?size=" + (2L << 30));
                } catch (Exception expected) {
                    // cut mid-body
                }
                cutter.join();
                assertThat(d.await("resumed").path("sessionId").asText()).isEqualTo(session);
                await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(() -> get(exposed, "/whoami").body().equals("web"));

                // While idle.
                relay.cut();
                assertThat(d.await("resumed").path("sessionId").asText()).isEqualTo(session);
                await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(() -> get(exposed, "/whoami").body().equals("web"));
            }
        }
    }

    @Test
    void aPullBindingDroppedWhileParkedIsBoundAgainAfterTheResume() throws Exception {
        try (LaptopTcpServer banner = new LaptopTcpServer(LaptopTcpServer.BANNER_THEN_ECHO);
             CuttableRelay relay = new CuttableRelay(kit.getPort())) {
            int pulled = Ports.free();
            try (TestDriver d = TestDriver.start(URI.create("http://127.0.0.1:" + relay.port()),
                    BindSpec.parseTarget(BindMode.PULL, "127.0.0.1:" + banner.port(), pulled, null, false))) {
                String session = d.await("bind_ok").path("sessionId").asText();
                relay.cut();
                assertThat(d.await("resumed").path("sessionId").asText()).isEqualTo(session);
                assertThat(d.await("bind_revoked").path("reason").asText()).isEqualTo("PARKED");
                assertThat(d.await("bind_ok").path("port").asInt()).isEqualTo(pulled);
                try (Socket s = new Socket("127.0.0.1", pulled)) {
                    s.setSoTimeout(10_000);
                    assertThat(new String(s.getInputStream().readNBytes(4), StandardCharsets.US_ASCII)).isEqualTo("220 ");
                }
            }
        }
    }

    @Test
    @Timeout(60) // a wedged driver hangs rather than fails: it would not even stop
    void aPathThatStallsWhileTheDriverIsSendingIsStillDetected() throws Exception {
        // Writes to the stalled socket block once the buffers on the way are full; the watchdog must not be one of them.
        try (LaptopHttpServer web = new LaptopHttpServer("web"); CuttableRelay relay = new CuttableRelay(kit.getPort())) {
            int exposed = Ports.free();
            try (TestDriver d = TestDriver.start(URI.create("http://127.0.0.1:" + relay.port()), expose(web.port(), exposed, false))) {
                String session = d.await("bind_ok").path("sessionId").asText();
                List<Socket> downloads = new ArrayList<>();
                try {
                    for (int i = 0; i < 128; i++) { // 128 streams x 256 KiB of credit: more than the socket buffers hold
                        Socket s = new Socket("127.0.0.1", exposed);
                        s.getOutputStream().write("GET /blob?size=100000000 HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                        downloads.add(s);
                    }
                    Thread.sleep(300);
                    relay.blackhole();
                    long t0 = System.nanoTime();
                    var gone = d.await("disconnected");
                    assertThat(gone.path("reason").asText()).contains("nothing heard");
                    assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(5_000);
                } finally {
                    for (Socket s : downloads) {
                        s.close();
                    }
                }
                relay.heal();
                assertThat(d.await("resumed").path("sessionId").asText()).isEqualTo(session);
                await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(() -> get(exposed, "/whoami").body().equals("web"));
            }
        }
    }

    @Test
    void aPathThatSwallowsFramesIsDetectedByTheDriverWhichReconnects() throws Exception {
        try (LaptopHttpServer web = new LaptopHttpServer("web"); CuttableRelay relay = new CuttableRelay(kit.getPort())) {
            int exposed = Ports.free();
            try (TestDriver d = TestDriver.start(URI.create("http://127.0.0.1:" + relay.port()), expose(web.port(), exposed, false))) {
                String session = d.await("bind_ok").path("sessionId").asText();
                relay.blackhole();
                long t0 = System.nanoTime();
                var gone = d.await("disconnected");
                assertThat(gone.path("reason").asText()).contains("nothing heard");
                assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(5_000); // 3 heartbeats of 500 ms, not minutes
                relay.heal();
                assertThat(d.await("resumed").path("sessionId").asText()).isEqualTo(session);
                await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(() -> get(exposed, "/whoami").body().equals("web"));
            }
        }
    }

    @Test
    void aKilledDriverProcessIsParkedThenTakenOverByANewOne() throws Exception {
        try (LaptopHttpServer a = new LaptopHttpServer("A"); LaptopHttpServer b = new LaptopHttpServer("B")) {
            int exposed = Ports.free();
            String kitUrl = "http://127.0.0.1:" + kit.getPort();
            DriverProcess first = DriverProcess.start("expose", "127.0.0.1:" + a.port(), "--port", Integer.toString(exposed), "--kit", kitUrl);
            first.await("bind_ok");
            assertThat(get(exposed, "/whoami").body()).isEqualTo("A");
            first.kill(); // SIGKILL
            await().atMost(Duration.ofSeconds(2)).until(() -> get(exposed, "/whoami").statusCode() == 503);
            assertThat(get(exposed, "/whoami").headers().firstValue("Retry-After")).hasValue("5");

            try (DriverProcess second = DriverProcess.start("expose", "127.0.0.1:" + b.port(), "--port", Integer.toString(exposed),
                    "--kit", kitUrl, "--takeover")) {
                second.await("bind_ok");
                assertThat(get(exposed, "/whoami").body()).isEqualTo("B");
            }
        }
    }

    @Test
    void aStoppedDriverLeavesAtOnceAndAKilledOneIsReapedAfterTheGrace() throws Exception {
        try (LaptopTcpServer echo = new LaptopTcpServer(LaptopTcpServer.ECHO)) {
            String kitUrl = "http://127.0.0.1:" + kit.getPort();
            int exposed = Ports.free();
            DriverProcess polite = DriverProcess.start("expose", Integer.toString(echo.port()), "--port", Integer.toString(exposed), "--kit", kitUrl);
            polite.await("bind_ok");
            polite.terminate(); // SIGTERM: GOAWAY, so no parking
            await().atMost(Duration.ofSeconds(2)).until(() -> !listening(exposed));

            DriverProcess rude = DriverProcess.start("expose", Integer.toString(echo.port()), "--port", Integer.toString(exposed), "--kit", kitUrl);
            rude.await("bind_ok");
            rude.kill();
            Thread.sleep(1000);
            assertThat(listening(exposed)).as("parked during the grace").isTrue();
            await().atMost(Duration.ofSeconds(8)).until(() -> !listening(exposed));
            assertThatThrownBy(() -> new Socket("127.0.0.1", exposed).close()).isInstanceOf(ConnectException.class);
        }
    }

    /**
     * The download is held by the laptop's server, not paced by the reader, so the test does not depend on how fast
     * this machine moves bytes: the visitor reads the head and the first 64 KiB, then the kill. With a grace, the rest
     * of the body is sent after the kit's GOAWAY and arrives; HTTP keep-alive holds the stream open, so the visitor
     * is reset when the grace is over, not before. Without one, the rest is still held and nothing else can end the
     * stream: the visitor's next read is a reset (before Content-Length), at once.
     */
    @Test
    void anAdminKillLetsADownloadFinishWithinItsGraceAndNotWithout() throws Exception {
        long size = 1L << 20;
        int beforeKill = 64 * 1024;
        for (int grace : new int[]{3000, 0}) {
            int exposed = Ports.free();
            try (LaptopHttpServer web = new LaptopHttpServer("web");
                 TestDriver d = TestDriver.start(kit, expose(web.port(), exposed, false))) {
                String id = d.await("bind_ok").path("sessionId").asText();
                try (Socket visitor = new Socket("127.0.0.1", exposed)) {
                    visitor.setSoTimeout(15_000);
                    visitor.getOutputStream().write(("GET /blob?size=" + size + "&holdAt=" + beforeKill + " HTTP/1.1\r\nHost: x\r\n\r\n")
                            .getBytes(StandardCharsets.US_ASCII));
                    InputStream in = visitor.getInputStream();
                    assertThat(ExposeEndToEndTest.readHead(in)).startsWith("HTTP/1.1 200").contains("Content-Length: " + size);
                    byte[] first = in.readNBytes(beforeKill);
                    assertThat(first.length).isEqualTo(beforeKill);
                    assertThat(Blob.mismatch(first, 0)).as("first byte that differs").isEqualTo(-1);

                    long killed = System.nanoTime();
                    given().delete("/api/v1/tunnel/sessions/" + id + "?grace_ms=" + grace).then().statusCode(202);
                    if (grace > 0) {
                        assertThat(d.await("goaway").path("code").asText()).isEqualTo("ADMIN_KILL");
                        web.releaseHeldBlobs();
                        int rest = (int) (size - beforeKill);
                        byte[] after = in.readNBytes(rest); // sent after the kill
                        assertThat(after.length).isEqualTo(rest);
                        assertThat(Blob.mismatch(after, beforeKill)).as("first byte that differs").isEqualTo(-1);
                        assertThatThrownBy(in::read).isExactlyInstanceOf(SocketException.class).hasMessage("Connection reset");
                        assertThat(millisSince(killed)).as("ms from the kill to the reset").isGreaterThanOrEqualTo(grace);
                    } else {
                        assertThatThrownBy(in::read).as("the visitor's read after a kill without grace")
                                .isExactlyInstanceOf(SocketException.class).hasMessage("Connection reset");
                        // At once: the kill's own work is a GOAWAY and a close; a second is generous for that.
                        assertThat(millisSince(killed)).as("ms from the kill to the reset").isLessThan(1000);
                        web.releaseHeldBlobs();
                    }
                }
                assertThat(d.exitCode()).isEqualTo(1); // killed by an operator: the driver does not come back
            }
        }
    }

    private static long millisSince(long nanos) {
        return (System.nanoTime() - nanos) / 1_000_000;
    }

    @Test
    void killingAnOrphanDropsItAtOnce() throws Exception {
        int exposed = Ports.free();
        RawDriver d = RawDriver.connect(kit);
        String id = d.hello(10).sessionId();
        assertThat(d.bind("http", "expose", exposed, null, false)).isInstanceOf(ControlMessage.BindOk.class);
        d.close();
        await().atMost(Duration.ofSeconds(2)).until(() -> get(exposed, "/").statusCode() == 503); // parked
        given().delete("/api/v1/tunnel/sessions/" + id + "?grace_ms=5000").then().statusCode(202);
        await().atMost(Duration.ofMillis(1500)).until(() -> !listening(exposed)); // not after the 3 s grace, nor 5 s
        given().get("/api/v1/tunnel/sessions/").then().statusCode(200)
                .body("sessions.sessionId", org.hamcrest.Matchers.not(org.hamcrest.Matchers.hasItem(id)));
    }

    @Test
    void aSessionWithNothingToDoIsReapedAfterTheIdleTimeout() throws Exception {
        try (RawDriver idle = RawDriver.connect(kit); RawDriver busy = RawDriver.connect(kit)) {
            idle.hello(10);
            busy.hello(10);
            assertThat(busy.bind("tcp", "pull", 0, null, false)).isInstanceOf(ControlMessage.BindOk.class);
            long t0 = System.nanoTime();
            ControlMessage.GoAway g = (ControlMessage.GoAway) idle.next(ControlMessage.GoAway.class);
            assertThat(g.code()).isEqualTo(GoAwayCode.IDLE_TIMEOUT);
            assertThat(idle.awaitClose(Duration.ofSeconds(5)).code()).isEqualTo(1000);
            assertThat((System.nanoTime() - t0) / 1_000_000).isBetween(3_000L, 8_000L); // idle-session-timeout is 4 s in tests
            assertThat(busy.isClosed()).as("a session holding a binding is not idle").isFalse();
        }
    }

    @Test
    void aThousandConnectDisconnectCyclesLeaveNoDescriptorOrHeapBehind() throws Exception {
        cycles(100); // warm up: classes, pools, JIT
        awaitNoSessions(); // half the cycles drop the socket without GOAWAY: those sessions are orphans until reaped
        long fdsBefore = FdBudget.openDescriptors();
        long heapBefore = usedHeapAfterGc();
        cycles(1000);
        awaitNoSessions();
        // The count is this JVM's: it includes the JDK HttpClient of each RawDriver (a selector, an epoll and an
        // eventfd each), which only go once collected, so collect them rather than count on a GC to happen.
        await().atMost(Duration.ofSeconds(15)).until(() -> {
            System.gc();
            return FdBudget.openDescriptors() <= fdsBefore + 16;
        });
        long heapAfter = usedHeapAfterGc();
        assertThat(heapAfter - heapBefore).as("heap growth after 1,000 cycles, bytes").isLessThan(16L << 20);
    }

    private void cycles(int n) throws Exception {
        for (int i = 0; i < n; i++) {
            try (RawDriver d = RawDriver.connect(kit)) {
                d.hello(10);
                assertThat(d.bind("tcp", "pull", 0, null, false)).isInstanceOf(ControlMessage.BindOk.class);
                if (i % 2 == 0) {
                    d.send("{\"type\":\"GOAWAY\",\"code\":\"NORMAL\",\"message\":\"bye\"}");
                    d.awaitClose(Duration.ofSeconds(10));
                }
            }
        }
    }

    /** Orphans are reaped after the takeover grace (3 s under tests), idle sessions after 4 s. */
    private static void awaitNoSessions() {
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200))
                .until(() -> given().get("/api/v1/tunnel/sessions").then().extract().path("sessions.size()").equals(0));
    }

    private static long usedHeapAfterGc() throws InterruptedException {
        Runtime rt = Runtime.getRuntime();
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100);
            used = Math.min(used, rt.totalMemory() - rt.freeMemory());
        }
        return used;
    }
}
