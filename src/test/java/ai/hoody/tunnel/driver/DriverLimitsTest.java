package ai.hoody.tunnel.driver;

import ai.hoody.tunnel.protocol.BindMode;
import ai.hoody.tunnel.protocol.ControlMessage;
import ai.hoody.tunnel.protocol.Frame;
import ai.hoody.tunnel.protocol.FrameCodec;
import ai.hoody.tunnel.support.DriverProcess;
import ai.hoody.tunnel.support.FakeKit;
import ai.hoody.tunnel.support.LaptopTcpServer;
import ai.hoody.tunnel.support.TestDriver;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The driver decides what it buffers and how it watches the kit from its own limits, never from what a kit announces
 * or sends (issue #7): a hostile kit against the real driver.
 */
@Timeout(120)
class DriverLimitsTest {

    private static final ControlMessage.HelloOk HELLO_OK = new ControlMessage.HelloOk("ses_0123456789abcdef01234567",
            "token", 16384, 20_000, 262_144, 65_536, false, 60_000, 10_000);

    @Test
    void aStreamWindowAboveTheDriversBoundIsRefusedNotTrusted() throws Exception {
        try (FakeKit kit = new FakeKit();
             TestDriver d = TestDriver.start(kit.url(), BindSpec.parseTarget(BindMode.EXPOSE, "127.0.0.1:3000", 3000, null, false))) {
            kit.accept();
            assertThat(kit.readControl()).isInstanceOf(ControlMessage.Hello.class);
            kit.send(new ControlMessage.HelloOk(HELLO_OK.sessionId(), "token", 16384, 20_000, Integer.MAX_VALUE, 65_536, false, 60_000, 10_000));
            FakeKit.ClientFrame close;
            do {
                close = kit.read();
            } while (close.opcode() != 0x8);
            assertThat(close.closeCode()).isEqualTo(1002);
            assertThat(close.text()).contains("streamWindow");
            assertThat(d.await("error").path("message").asText()).contains("streamWindow");
            assertThat(d.exitCode()).isEqualTo(ai.hoody.tunnel.cli.DriverRunner.EXIT_DISCONNECTED);
        }
    }

    @Test
    void theDriversPingIntervalStaysWithinItsOwnBounds() {
        assertThat(DriverSession.pingMillis(1_000_000_000_000L)).isEqualTo(DriverSession.MAX_PING_MILLIS); // 10^12 ms
        assertThat(DriverSession.pingMillis(0)).isEqualTo(DriverSession.DEFAULT_PING_MILLIS);
        assertThat(DriverSession.pingMillis(1)).isEqualTo(DriverSession.MIN_PING_MILLIS);
        assertThat(DriverSession.pingMillis(20_000)).isEqualTo(20_000);
    }

    /**
     * One-byte DATA frames on four streams whose laptop service does not read: a driver with a 64 MiB heap that exits
     * on running out of memory must stay up, because what it holds costs about a byte per byte, not a buffer per frame.
     */
    @Test
    void oneByteDataFramesIntoServicesThatDoNotReadKeepTheDriverUp() throws Exception {
        CountDownLatch done = new CountDownLatch(1);
        try (LaptopTcpServer stuck = new LaptopTcpServer(s -> {
            try {
                done.await(); // accepts, never reads
            } catch (InterruptedException ignored) {
                // closing
            }
        }); FakeKit kit = new FakeKit()) {
            DriverProcess driver = DriverProcess.startWithJvmOptions(List.of("-Xmx64m", "-XX:+UseSerialGC", "-XX:+ExitOnOutOfMemoryError"),
                    "expose", "127.0.0.1:" + stuck.port(), "--port", "3000", "--kit", kit.url().toString());
            try {
                kit.accept();
                assertThat(kit.readControl()).isInstanceOf(ControlMessage.Hello.class);
                kit.send(HELLO_OK);
                ControlMessage.Bind bind = (ControlMessage.Bind) kit.readControl();
                kit.send(new ControlMessage.BindOk(bind.ref(), 1, "http", "expose", 3000, null, null));
                int[] ids = {1, 3, 5, 7};
                for (int id : ids) {
                    kit.sendBinary(FrameCodec.open(id, 1, "/203.0.113.7:5" + id));
                }
                int opened = 0;
                while (opened < ids.length) {
                    FakeKit.ClientFrame f = kit.read();
                    if (f.opcode() == 0x2 && FrameCodec.decode(ByteBuffer.wrap(f.payload())) instanceof Frame.OpenOk) {
                        opened++;
                    }
                }
                AtomicBoolean reading = new AtomicBoolean(true);
                List<String> pongs = new ArrayList<>();
                Thread reader = Thread.ofVirtual().start(() -> {
                    try {
                        while (reading.get()) {
                            FakeKit.ClientFrame f = kit.read();
                            if (f.opcode() == 0x1 && f.text().contains("\"PONG\"")) {
                                synchronized (pongs) {
                                    pongs.add(f.text());
                                    pongs.notifyAll();
                                }
                            }
                        }
                    } catch (Exception ignored) {
                        // closed at the end
                    }
                });
                // 1 MiB of one-byte frames per stream (the driver granted 1 MiB of credit each): 4 Mi frames.
                ByteArrayOutputStream block = new ByteArrayOutputStream();
                byte[] one = {42};
                for (int i = 0; i < 4096; i++) {
                    for (int id : ids) {
                        block.write(FakeKit.frame(0x2, FrameCodec.data(id, one, 0, 1)));
                    }
                }
                byte[] bytes = block.toByteArray();
                for (int i = 0; i < (1 << 20) / 4096; i++) {
                    kit.write(bytes);
                }
                // Still up, and still answering: a PING gets its PONG once the frames before it are handled.
                kit.send(new ControlMessage.Ping(4242));
                synchronized (pongs) {
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                    while (pongs.stream().noneMatch(p -> p.contains("4242")) && System.nanoTime() < deadline) {
                        pongs.wait(1000);
                    }
                }
                assertThat(driver.isAlive()).as("the driver survived the flood").isTrue();
                assertThat(pongs).anyMatch(p -> p.contains("4242"));
                reading.set(false);
                kit.close();
                reader.join(5_000);
            } finally {
                done.countDown();
                driver.close();
            }
        }
    }
}
