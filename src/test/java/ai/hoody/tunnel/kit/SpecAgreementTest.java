package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.protocol.ControlCodec;
import ai.hoody.tunnel.protocol.ControlMessage;
import ai.hoody.tunnel.protocol.Frame;
import ai.hoody.tunnel.protocol.FrameCodec;
import ai.hoody.tunnel.support.Ports;
import ai.hoody.tunnel.support.RawDriver;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Where the kit broke its own spec in an independent driver's run against it (issue #10, items 4 and 5): a visitor
 * must never take a truncated response for a complete one, and a visitor waiting for a driver that vanished is told
 * the laptop is reconnecting. Raw drivers and real visitor sockets; each case repeated so that a race shows.
 */
@QuarkusTest
class SpecAgreementTest {

    /** What the laptop's service announces; the tunnel is always cut before all of it has passed. */
    private static final int BODY_BYTES = 64 << 20;
    private static final byte[] CHUNK = new byte[FrameCodec.MAX_DATA_BYTES];
    private static final int ROUNDS = 20;

    @TestHTTPResource("/")
    URI kit;

    /** How a visitor's connection ended: a TCP reset (an exception) or a clean end of data, after how many bytes. */
    private record Ending(long bytes, String failure) {
        @Override
        public String toString() {
            return (failure == null ? "clean EOF" : failure) + " after " + bytes + " bytes";
        }
    }

    /** What the kit is told, on purpose, in the middle of a download to a slow visitor. */
    private interface Trigger {
        void pull(RawDriver driver, int streamId, long credit) throws Exception;
    }

    // ---------------------------------------------------------------- item 4: abnormal ends reset the visitor

    /**
     * §4.6/§7: the kit resets a stream with FLOW_CONTROL_ERROR while it still holds bytes for a visitor that reads
     * slowly. The visitor may get what was already delivered, then a TCP reset: never a clean end of a truncated body.
     */
    @Test
    @Timeout(300)
    void aFlowControlErrorEndsASlowVisitorWithAResetNeverACleanEnd() throws Exception {
        int port = Ports.free();
        try (RawDriver d = RawDriver.connect(kit)) {
            d.hello(100);
            assertThat(d.bind("http", "expose", port, null, false)).isInstanceOf(ControlMessage.BindOk.class);
            List<String> endings = new ArrayList<>();
            for (int round = 0; round < ROUNDS; round++) {
                endings.add("round " + round + ": " + slowDownload(d, port, round, (driver, id, credit) -> {
                    // Beyond the credit on purpose: frames until the kit says FLOW_CONTROL_ERROR.
                    for (int i = 0; i < 64 && !resetSeen(driver, id); i++) {
                        driver.sendFrame(FrameCodec.data(id, CHUNK, 0, CHUNK.length));
                    }
                }));
            }
            assertThat(endings).as("how each visitor's download ended").allMatch(e -> e.contains("Connection reset"));
        }
    }

    /** §3.5/§4.6/§7: the same, with the reset the kit sends on UNBIND (BIND_GONE). */
    @Test
    @Timeout(300)
    void anUnbindEndsASlowVisitorWithAResetNeverACleanEnd() throws Exception {
        try (RawDriver d = RawDriver.connect(kit)) {
            d.hello(100);
            List<String> endings = new ArrayList<>();
            for (int round = 0; round < ROUNDS; round++) {
                int port = Ports.free();
                ControlMessage.BindOk ok = (ControlMessage.BindOk) d.bind("http", "expose", port, null, false);
                endings.add("round " + round + ": " + slowDownload(d, port, round, (driver, id, credit) -> {
                    driver.send(ControlCodec.encode(new ControlMessage.Unbind(ok.bindId())));
                    driver.next(ControlMessage.BindRevoked.class);
                }));
            }
            assertThat(endings).as("how each visitor's download ended").allMatch(e -> e.contains("Connection reset"));
        }
    }

    /**
     * One visitor downloads {@link #BODY_BYTES} through the driver, reading slowly; the driver sends within its credit,
     * and once the visitor has read an amount that moves with {@code round} (256 KiB to 1.4 MiB, while the kit holds
     * bytes for it and is writing to it), {@code trigger} makes the kit reset the stream.
     *
     * @return how the visitor's connection ended
     */
    private Ending slowDownload(RawDriver d, int port, int round, Trigger trigger) throws Exception {
        Socket visitor = new Socket();
        visitor.setReceiveBufferSize(16 * 1024); // a small window, so that the kit holds what the visitor has not read
        visitor.connect(new InetSocketAddress("127.0.0.1", port));
        try {
            visitor.getOutputStream().write("GET /big HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            AtomicLong read = new AtomicLong();
            CompletableFuture<Ending> ending = CompletableFuture.supplyAsync(() -> readSlowly(visitor, read),
                    command -> Thread.ofVirtual().start(command));
            int id = awaitOpen(d);
            d.sendFrame(FrameCodec.openOk(id));
            byte[] head = ("HTTP/1.1 200 OK\r\nContent-Length: " + BODY_BYTES + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
            d.sendFrame(FrameCodec.data(id, head, 0, head.length));
            long credit = 262_144 - head.length;
            long cutAt = 256 * 1024 + (long) round * 64 * 1024;
            long sent = 0;
            while (read.get() < cutAt) {
                assertThat(sent).as("round %d: the visitor read %d bytes of %d sent", round, read.get(), sent)
                        .isLessThan(BODY_BYTES - CHUNK.length);
                if (credit < CHUNK.length) {
                    Frame f = d.nextFrame(Duration.ofMillis(100));
                    assertThat(ending).as("round %d: the visitor's connection ended early", round).isNotDone();
                    if (f instanceof Frame.Window w && w.streamId() == id) {
                        credit += w.increment();
                    }
                    continue;
                }
                d.sendFrame(FrameCodec.data(id, CHUNK, 0, CHUNK.length));
                credit -= CHUNK.length;
                sent += CHUNK.length;
            }
            trigger.pull(d, id, credit);
            Ending end = ending.get(30, TimeUnit.SECONDS);
            assertThat(end.bytes()).as("round %d: bytes the visitor got", round).isLessThan(head.length + sent);
            return end;
        } finally {
            visitor.close();
        }
    }

    /** Reads 8 KiB every 2 ms (at most about 4 MB/s, slower than the tunnel) until the connection ends. */
    private static Ending readSlowly(Socket visitor, AtomicLong read) {
        try {
            visitor.setSoTimeout(20_000);
            InputStream in = visitor.getInputStream();
            byte[] buf = new byte[8192];
            while (true) {
                int n = in.read(buf);
                if (n < 0) {
                    return new Ending(read.get(), null);
                }
                read.addAndGet(n);
                Thread.sleep(2);
            }
        } catch (IOException e) {
            return new Ending(read.get(), e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Ending(read.get(), e.toString());
        }
    }

    /** The next OPEN, skipping frames of earlier streams (their WINDOWs and RESETs). */
    private static int awaitOpen(RawDriver d) throws InterruptedException {
        while (true) {
            Frame f = d.nextFrame(Duration.ofSeconds(10));
            assertThat(f).as("an OPEN for the visitor").isNotNull();
            if (f instanceof Frame.Open open) {
                return open.streamId();
            }
        }
    }

    /** Whether a RESET for {@code id} has arrived; other frames that arrived meanwhile are dropped. */
    private static boolean resetSeen(RawDriver d, int id) throws InterruptedException {
        Frame f;
        while ((f = d.nextFrame(Duration.ZERO)) != null) {
            if (f instanceof Frame.Reset r && r.streamId() == id) {
                return true;
            }
        }
        return false;
    }

    // ---------------------------------------------------------------- item 5: visitors in flight when the socket drops

    /**
     * §7 #7 and §6.3: visitors whose OPEN was sent when the driver's socket drops without GOAWAY are answered as the
     * session now is, parked: 503 {@code Retry-After: 5}, every one of them, and so is the next visitor. The issue saw
     * 3 to 11 of 20 visitors get 502 instead; 200 at a time, ten times, make the race between ending the streams and
     * parking the session show here on the code that had it (8007ef9).
     */
    @Test
    @Timeout(120)
    void visitorsWaitingForOpenOkWhenTheSocketDropsAllGet503RetryAfter5() throws Exception {
        int visitors = 200;
        for (int round = 0; round < 10; round++) {
            int port = Ports.free();
            RawDriver d = RawDriver.connect(kit);
            d.hello(1000);
            assertThat(d.bind("http", "expose", port, null, false)).isInstanceOf(ControlMessage.BindOk.class);
            List<CompletableFuture<String>> answers = new ArrayList<>();
            for (int i = 0; i < visitors; i++) {
                answers.add(CompletableFuture.supplyAsync(() -> httpGet(port), command -> Thread.ofVirtual().start(command)));
            }
            for (int opened = 0; opened < visitors; ) {
                Frame f = d.nextFrame(Duration.ofSeconds(5));
                assertThat(f).as("OPEN for visitor %d", opened).isNotNull();
                if (f instanceof Frame.Open) {
                    opened++;
                }
            }
            d.close(); // the TCP connection ends without GOAWAY or close frame: the session is parked
            List<String> wrong = new ArrayList<>();
            for (int i = 0; i < answers.size(); i++) {
                String answer = answers.get(i).get(10, TimeUnit.SECONDS);
                if (!answer.startsWith("HTTP/1.1 503 ") || !answer.contains("\r\nRetry-After: 5\r\n")
                        || !answer.contains("the laptop is reconnecting")) {
                    wrong.add("visitor " + i + ": " + answer);
                }
            }
            assertThat(wrong).as("round %d: visitors not answered 503 Retry-After: 5 (of %d)", round, visitors).isEmpty();
            assertThat(httpGet(port)).as("the next visitor").startsWith("HTTP/1.1 503 ").contains("\r\nRetry-After: 5\r\n");
        }
    }

    /** One request on a fresh connection; the whole answer as text (the kit closes after its own answers). */
    private static String httpGet(int port) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            ByteArrayOutputStream answer = new ByteArrayOutputStream();
            try {
                s.getInputStream().transferTo(answer);
            } catch (IOException e) {
                answer.writeBytes(("\n[" + e + "]").getBytes(StandardCharsets.UTF_8));
            }
            return answer.toString(StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "[" + e + "]";
        }
    }
}
