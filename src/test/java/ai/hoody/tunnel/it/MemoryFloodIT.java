package ai.hoody.tunnel.it;

import ai.hoody.tunnel.driver.BindSpec;
import ai.hoody.tunnel.protocol.BindMode;
import ai.hoody.tunnel.protocol.ControlCodec;
import ai.hoody.tunnel.protocol.ControlMessage;
import ai.hoody.tunnel.protocol.FrameCodec;
import ai.hoody.tunnel.support.DriverProcess;
import ai.hoody.tunnel.support.KitProcess;
import ai.hoody.tunnel.support.LaptopHttpServer;
import ai.hoody.tunnel.support.LaptopTcpServer;
import ai.hoody.tunnel.support.Ports;
import ai.hoody.tunnel.support.RawWebSocket;
import ai.hoody.tunnel.support.TestDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
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
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Floods that made a kit with the image's memory settings (192 MiB heap, exit on out-of-memory) run out of memory and
 * drop every session (issue #7). Each runs against the packaged kit as its own process: the kit must stay up, a
 * bystander session must keep serving, and what the kit buffers must stay within its budget.
 */
@Timeout(180)
class MemoryFloodIT {

    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    private final List<AutoCloseable> resources = new ArrayList<>();
    private KitProcess kit;

    private <T extends AutoCloseable> T closeLater(T resource) {
        resources.add(resource);
        return resource;
    }

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : resources.reversed()) {
            try {
                c.close();
            } catch (Exception ignored) {
                // best effort: the next test starts its own kit
            }
        }
        if (kit != null) {
            kit.close();
        }
    }

    private KitProcess startKit(Map<String, String> config) throws Exception {
        kit = KitProcess.start(KitProcess.IMAGE_JVM, config);
        return kit;
    }

    /** Another laptop on the same kit, to show the flood hurts nobody else. */
    private int bystander() throws Exception {
        LaptopHttpServer web = closeLater(new LaptopHttpServer("bystander"));
        int port = Ports.free();
        TestDriver d = closeLater(TestDriver.start(kit.base(), BindSpec.parseTarget(BindMode.EXPOSE,
                "127.0.0.1:" + web.port(), port, null, false)));
        d.await("bind_ok");
        return port;
    }

    private static HttpResponse<String> get(int port, String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(15)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private void assertKitServes(int bystanderPort) throws Exception {
        assertThat(kit.isAlive()).as("the kit is still running\n%s", kit.log()).isTrue();
        HttpResponse<String> answer;
        try {
            answer = get(bystanderPort, "/whoami");
        } catch (Exception e) {
            throw new AssertionError("the bystander's port " + bystanderPort + " did not answer: " + e + "\n" + kit.log(), e);
        }
        assertThat(answer.body()).as("the bystander's answer\n%s", kit.log()).isEqualTo("bystander");
        assertThat(kit.get("/q/health/live").statusCode()).isEqualTo(200);
    }

    private static byte[] text(ControlMessage m) {
        return ControlCodec.encode(m).getBytes(StandardCharsets.UTF_8);
    }

    // ---------------------------------------------------------------- a driver that PINGs and never reads

    @Test
    void aDriverThatPingsButNeverReadsIsCutOffAndTheKitStaysUp() throws Exception {
        startKit(Map.of());
        int bystander = bystander();
        RawWebSocket flooder = closeLater(RawWebSocket.connect(kit.base(),
                List.of("Sec-WebSocket-Protocol: hoody-tunnel.v1"), 4096));
        flooder.hello();
        ByteArrayOutputStream chunk = new ByteArrayOutputStream();
        byte[] ping = RawWebSocket.maskedFrame(RawWebSocket.TEXT, text(new ControlMessage.Ping(1732630000000L)));
        while (chunk.size() < 1 << 20) {
            chunk.write(ping);
        }
        byte[] mib = chunk.toByteArray();
        long sent = 0;
        long t0 = System.nanoTime();
        boolean cutOff = false;
        try {
            while (System.nanoTime() - t0 < 60_000_000_000L) { // until the kit gives up on it
                flooder.writeRaw(mib);
                sent += mib.length;
            }
        } catch (Exception e) {
            cutOff = true; // the kit closed the socket
        }
        assertThat(sent).as("PINGs written before the kit gave up on this driver").isGreaterThan(1L << 20);
        assertThat(cutOff).as("the kit cut off a driver that does not read (after %d bytes of PINGs)", sent).isTrue();
        assertKitServes(bystander);
    }

    // ---------------------------------------------------------------- a frozen driver under 800 uploads

    @Test
    void aFrozenDriverUnder800UploadsLeavesTheKitUp() throws Exception {
        startKit(Map.of("hoody.tunnel.heartbeat-timeout", "60s"));
        int bystander = bystander();
        AtomicLong sunk = new AtomicLong();
        LaptopTcpServer sink = closeLater(new LaptopTcpServer(s -> {
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = s.getInputStream().read(buf)) >= 0) {
                sunk.addAndGet(n);
            }
        }));
        // Four bindings of 200 visitors each: the driver opens at most 256 connections to one target.
        int[] ports = {Ports.free(), Ports.free(), Ports.free(), Ports.free()};
        List<String> args = new ArrayList<>(List.of("expose", "127.0.0.1:" + sink.port(), "--port", Integer.toString(ports[0]),
                "--kit", kit.base().toString()));
        for (int i = 1; i < ports.length; i++) {
            args.addAll(List.of("--also-expose", "127.0.0.1:" + sink.port() + "=" + ports[i]));
        }
        DriverProcess driver = closeLater(DriverProcess.start(args.toArray(String[]::new)));
        for (int i = 0; i < ports.length; i++) {
            driver.await("bind_ok");
        }
        int visitors = 800;
        List<Socket> sockets = new ArrayList<>();
        for (int i = 0; i < visitors; i++) {
            Socket s = closeLater(new Socket("127.0.0.1", ports[i % ports.length]));
            s.getOutputStream().write(1);
            sockets.add(s);
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> sunk.get() == visitors); // every stream is open end to end
        new ProcessBuilder("kill", "-STOP", Long.toString(driver.pid())).start().waitFor();
        try {
            byte[] upload = new byte[256 * 1024];
            List<Thread> writers = new ArrayList<>();
            for (Socket s : sockets) {
                writers.add(Thread.ofVirtual().start(() -> {
                    try {
                        s.getOutputStream().write(upload);
                    } catch (Exception ignored) {
                        // closed at the end
                    }
                }));
            }
            Thread.sleep(5_000); // the kit reads what it may and queues it for a driver that does not read
            assertKitServes(bystander);
            double budget = kit.metric("hoody_tunnel_memory_budget_bytes", "");
            assertThat(kit.metric("hoody_tunnel_memory_buffered_bytes", "")).isLessThanOrEqualTo(budget);
        } finally {
            new ProcessBuilder("kill", "-CONT", Long.toString(driver.pid())).start().waitFor();
        }
        driver.kill();
        for (Socket s : sockets) {
            s.close();
        }
        assertKitServes(bystander);
    }

    // ---------------------------------------------------------------- one-byte DATA into streams nobody reads

    @Test
    void oneByteDataFramesIntoStreamsNobodyReadsCostAboutAByteEach() throws Exception {
        startKit(Map.of());
        int bystander = bystander();
        RawWebSocket driver = closeLater(RawWebSocket.connect(kit.base()));
        ControlMessage.HelloOk hello = driver.hello(100);
        int port = Ports.free();
        driver.sendText(ControlCodec.encode(new ControlMessage.Bind("1", "http", "expose", port, null, false)));
        assertThat(driver.nextControl()).isInstanceOf(ControlMessage.BindOk.class);
        int streams = 40;
        List<Integer> ids = new ArrayList<>();
        for (int i = 0; i < streams; i++) {
            Socket v = new Socket();
            v.setReceiveBufferSize(4096);
            v.connect(new InetSocketAddress("127.0.0.1", port));
            closeLater(v);
            while (true) {
                RawWebSocket.Frame f = driver.readFrame();
                if (f.opcode() == RawWebSocket.BINARY && f.payload()[0] == 0x01) { // OPEN
                    int id = ((f.payload()[1] & 0xFF) << 24) | ((f.payload()[2] & 0xFF) << 16) | ((f.payload()[3] & 0xFF) << 8) | (f.payload()[4] & 0xFF);
                    ids.add(id);
                    driver.writeRaw(RawWebSocket.maskedFrame(RawWebSocket.BINARY, FrameCodec.openOk(id)));
                    break;
                }
            }
        }
        // Read (and drop) what the kit sends from now on, as a healthy driver would.
        AtomicBoolean reading = new AtomicBoolean(true);
        Thread reader = Thread.ofVirtual().start(() -> {
            try {
                InputStream in = driver.socket().getInputStream();
                byte[] sink = new byte[1 << 16];
                while (reading.get() && in.read(sink) >= 0) {
                    // dropped
                }
            } catch (Exception ignored) {
                // closed at the end
            }
        });
        // 64 Ki one-byte frames per stream (within its 256 KiB of credit): 2.6 M frames, ~31 MB on the wire.
        int perStream = 64 * 1024;
        byte[] one = {42};
        ByteArrayOutputStream round = new ByteArrayOutputStream();
        for (int id : ids) {
            round.write(RawWebSocket.maskedFrame(RawWebSocket.BINARY, FrameCodec.data(id, one, 0, 1)));
        }
        byte[] batch = round.toByteArray();
        ByteArrayOutputStream many = new ByteArrayOutputStream();
        for (int i = 0; i < 256; i++) {
            many.write(batch);
        }
        byte[] block = many.toByteArray(); // 256 frames per stream
        for (int i = 0; i < perStream / 256; i++) {
            driver.writeRaw(block);
        }
        assertThat(hello.streamWindow()).isGreaterThanOrEqualTo(perStream);
        await().atMost(Duration.ofSeconds(60)).until(() -> kit.metric("hoody_tunnel_bytes_total", "direction=\"from_driver\"")
                >= (double) streams * perStream);
        assertKitServes(bystander);
        // What the kit holds for these 40 visitors is about a byte per byte, not ~90 bytes per frame.
        assertThat(kit.metric("hoody_tunnel_memory_buffered_bytes", "")).isLessThan(streams * (perStream + 64.0 * 1024));
        reading.set(false);
    }

    // ---------------------------------------------------------------- hundreds of visitors that never read

    @Test
    void hundredsOfVisitorsThatNeverReadStayWithinTheBudgetAndOtherSessionsKeepTheirSpeed() throws Exception {
        long budget = 32L << 20;
        startKit(Map.of("hoody.tunnel.stream-memory-budget", Long.toString(budget)));
        int bystander = bystander();
        LaptopHttpServer web = closeLater(new LaptopHttpServer("victim"));
        int port = Ports.free();
        TestDriver victim = closeLater(TestDriver.start(kit.base(), BindSpec.parseTarget(BindMode.EXPOSE,
                "127.0.0.1:" + web.port(), port, null, false)));
        victim.await("bind_ok");
        long size = 64L << 20;
        long solo = downloadMillis(bystander, size);

        int visitors = 300; // 300 x 256 KiB of credit: more than twice the budget
        List<Throwable> samplerErrors = new CopyOnWriteArrayList<>();
        AtomicLong maxBuffered = new AtomicLong();
        AtomicBoolean sampling = new AtomicBoolean(true);
        Thread sampler = Thread.ofVirtual().start(() -> {
            while (sampling.get()) {
                try {
                    maxBuffered.accumulateAndGet((long) kit.metric("hoody_tunnel_memory_buffered_bytes", ""), Math::max);
                    Thread.sleep(50);
                } catch (Exception e) {
                    samplerErrors.add(e);
                    return;
                }
            }
        });
        for (int i = 0; i < visitors; i++) {
            Socket v = new Socket();
            v.setReceiveBufferSize(4096);
            v.connect(new InetSocketAddress("127.0.0.1", port));
            closeLater(v);
            v.getOutputStream().write(("GET /blob?size=" + (1L << 30) + " HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        }
        // The attack has bitten once the kit holds half its budget: from there it shrinks new windows, and sheds the
        // largest stalled stream only if the budget is still exceeded (which shrinking alone may avoid, so a shed is
        // not required here; the bound below is what must hold).
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
            double shed = kit.metric("hoody_tunnel_memory_streams_shed_total", "");
            assertThat(maxBuffered.get() >= budget / 2 || shed > 0)
                    .as("the kit held at most %d stream bytes so far (budget %d), shed %s streams, %s streams open of %s opened",
                            maxBuffered.get(), budget, shed, kit.metric("hoody_tunnel_streams_active", ""), kit.metric("hoody_tunnel_streams_opened_total", ""))
                    .isTrue();
        });
        long underAttack = downloadMillis(bystander, size);
        sampling.set(false);
        sampler.join();
        assertThat(samplerErrors).isEmpty();
        assertKitServes(bystander);
        // Charges land just before a shed takes the excess back: allow a couple of frames of slack.
        assertThat(maxBuffered.get()).as("most stream bytes the kit held").isLessThanOrEqualTo(budget + (1 << 20));
        assertThat(underAttack).as("a bystander's 64 MiB download under attack vs alone (%d ms), ms", solo)
                .isLessThanOrEqualTo(4 * solo + 2_000);
    }

    private static long downloadMillis(int port, long size) throws Exception {
        long t0 = System.nanoTime();
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.getOutputStream().write(("GET /blob?size=" + size + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            long n = s.getInputStream().transferTo(OutputStream.nullOutputStream());
            assertThat(n).isGreaterThan(size);
        }
        return (System.nanoTime() - t0) / 1_000_000;
    }
}
