package ai.hoody.tunnel.driver;

import ai.hoody.tunnel.protocol.BindMode;
import ai.hoody.tunnel.protocol.ControlMessage;
import ai.hoody.tunnel.protocol.Frame;
import ai.hoody.tunnel.protocol.FrameCodec;
import ai.hoody.tunnel.protocol.Protocol;
import ai.hoody.tunnel.protocol.ResetCode;
import ai.hoody.tunnel.support.Blob;
import ai.hoody.tunnel.support.FakeKit;
import ai.hoody.tunnel.support.LaptopTcpServer;
import ai.hoody.tunnel.support.TestDriver;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The driver's side of early data (PROTOCOL.md §4.1), against a kit played by the test: it announces the feature, holds
 * DATA that comes before its OPEN_OK until its target is connected, writes it there first, and grants no credit for it
 * before the target has taken it; when the target cannot be reached the early bytes are dropped with the RESET.
 */
@Timeout(60)
class DriverEarlyDataTest {

    private static final int WINDOW = 262_144;
    private static final ControlMessage.HelloOk HELLO_OK = new ControlMessage.HelloOk("ses_0123456789abcdef01234567",
            "token", 16384, 20_000, WINDOW, 65_536, false, 60_000, 10_000, List.of(Protocol.FEATURE_EARLY_DATA));

    @Test
    void earlyDataReachesTheTargetFirstAndIsCreditedOnlyAfterItTookIt() throws Exception {
        CompletableFuture<byte[]> received = new CompletableFuture<>();
        int total = WINDOW + 1000;
        try (LaptopTcpServer target = new LaptopTcpServer(s -> {
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            byte[] buf = new byte[65536];
            int n;
            while (got.size() < total && (n = s.getInputStream().read(buf)) >= 0) {
                got.write(buf, 0, n);
            }
            received.complete(got.toByteArray());
        }); FakeKit kit = new FakeKit();
             TestDriver d = TestDriver.start(kit.url(), BindSpec.parseTarget(BindMode.PULL, "127.0.0.1:" + target.port(), 5000, null, false))) {
            kit.accept();
            ControlMessage.Hello hello = (ControlMessage.Hello) kit.readControl();
            assertThat(hello.features()).contains(Protocol.FEATURE_EARLY_DATA);
            kit.send(HELLO_OK);
            ControlMessage.Bind bind = (ControlMessage.Bind) kit.readControl();
            kit.send(new ControlMessage.BindOk(bind.ref(), 1, "tcp", "pull", 5000, "127.0.0.1", null));
            byte[] bytes = Blob.bytes(0, total);
            // OPEN and a whole stream window of DATA in one write, before any OPEN_OK: all of it is early.
            ByteArrayOutputStream burst = new ByteArrayOutputStream();
            burst.write(FakeKit.frame(0x2, FrameCodec.open(1, 1, "/203.0.113.7:5555")));
            for (int off = 0; off < WINDOW; off += 65536) {
                burst.write(FakeKit.frame(0x2, FrameCodec.data(1, bytes, off, 65536)));
            }
            kit.write(burst.toByteArray());
            assertThat(nextStreamFrame(kit)).as("OPEN_OK comes before any credit").isEqualTo(new Frame.OpenOk(1));
            // With it, only the driver's extra grant above the stream window (§5): nothing yet for the early bytes,
            // which are credited (at half of its 1 MiB receive window) as the target takes them.
            assertThat(nextStreamFrame(kit)).isEqualTo(new Frame.Window(1, (1 << 20) - WINDOW));
            kit.sendBinary(FrameCodec.data(1, bytes, WINDOW, total - WINDOW));
            assertThat(received.get(20, TimeUnit.SECONDS)).as("the target got the early bytes first, then the rest")
                    .isEqualTo(bytes);
        }
    }

    @Test
    void earlyDataForATargetThatCannotBeReachedIsDroppedWithTheReset() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        try (FakeKit kit = new FakeKit();
             TestDriver d = TestDriver.start(kit.url(), BindSpec.parseTarget(BindMode.PULL, "127.0.0.1:" + closed, 5000, null, false))) {
            kit.accept();
            kit.readControl();
            kit.send(HELLO_OK);
            ControlMessage.Bind bind = (ControlMessage.Bind) kit.readControl();
            kit.send(new ControlMessage.BindOk(bind.ref(), 1, "tcp", "pull", 5000, "127.0.0.1", null));
            byte[] early = Blob.bytes(0, 4096);
            kit.sendBinary(FrameCodec.open(1, 1, "/203.0.113.7:5555"));
            kit.sendBinary(FrameCodec.data(1, early, 0, early.length));
            Frame f = nextStreamFrame(kit);
            assertThat(f).isInstanceOf(Frame.Reset.class);
            assertThat(((Frame.Reset) f).code()).isEqualTo(ResetCode.CONNECT_FAILED);
        }
    }

    /** The next stream frame from the driver, skipping control messages. */
    private static Frame nextStreamFrame(FakeKit kit) throws Exception {
        while (true) {
            FakeKit.ClientFrame f = kit.read();
            if (f.opcode() == 0x2) {
                return FrameCodec.decode(ByteBuffer.wrap(f.payload()));
            }
        }
    }
}
