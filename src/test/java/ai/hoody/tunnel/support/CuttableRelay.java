package ai.hoody.tunnel.support;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A TCP relay between a driver and the kit that a test can break like a network does: {@link #cut()} aborts every
 * connection (a dropped Wi-Fi), {@link #blackhole()} keeps connections open but stops moving bytes (a path that
 * swallows frames), {@link #heal()} moves bytes again, {@link #throttleUplink} paces the driver-to-kit direction (a
 * congested uplink), {@link #stallUplink} stops it, and {@link #cutBeforeKitMessage} drops the connection instead of delivering a chosen message
 * from the kit (a socket lost at the worst moment).
 */
public final class CuttableRelay implements AutoCloseable {

    private final ServerSocket server;
    private final int target;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private volatile boolean blackhole;
    private volatile boolean uplinkStalled;
    private volatile long uplinkBytesPerSecond;
    private volatile String cutNeedle;
    private final CountDownLatch cutDone = new CountDownLatch(1);

    public CuttableRelay(int targetPort) throws IOException {
        this.target = targetPort;
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().name("relay-accept").start(this::accept);
    }

    public int port() {
        return server.getLocalPort();
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket in = server.accept();
                Socket out = new Socket();
                out.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), target));
                sockets.add(in);
                sockets.add(out);
                Thread.ofVirtual().start(() -> pump(in, out, true));
                Thread.ofVirtual().start(() -> pump(out, in, false));
            } catch (IOException e) {
                return;
            }
        }
    }

    /** @param uplink true for driver → kit */
    private void pump(Socket from, Socket to, boolean uplink) {
        byte[] buf = new byte[1 << 16];
        KitMessages scanner = uplink ? null : new KitMessages();
        try {
            InputStream in = from.getInputStream();
            OutputStream out = to.getOutputStream();
            int n;
            while ((n = in.read(buf, 0, uplink && uplinkBytesPerSecond > 0 ? 4096 : buf.length)) >= 0) {
                while ((blackhole || (uplink && uplinkStalled)) && !from.isClosed()) {
                    Thread.sleep(10); // bytes read while black-holed are held back, as a stalled path would
                }
                int forwardBeforeCut = scanner == null ? -1 : scanner.feed(buf, n, cutNeedle);
                if (forwardBeforeCut >= 0) {
                    cutNeedle = null; // once
                    out.write(buf, 0, forwardBeforeCut);
                    out.flush();
                    abort(from);
                    abort(to);
                    cutDone.countDown();
                    return;
                }
                out.write(buf, 0, n);
                long rate = uplinkBytesPerSecond;
                if (uplink && rate > 0) {
                    Thread.sleep(Math.max(1, n * 1000L / rate));
                }
            }
            to.shutdownOutput();
        } catch (IOException | InterruptedException e) {
            abort(from);
            abort(to);
        }
    }

    /** Aborts every connection through the relay with RST; new connections are still relayed. */
    public void cut() {
        for (Socket s : sockets) {
            abort(s);
        }
        sockets.clear();
    }

    public void blackhole() {
        blackhole = true;
    }

    public void heal() {
        blackhole = false;
        uplinkStalled = false;
    }

    /** Stops moving driver → kit bytes only (a stalled uplink; the downlink still flows) until {@link #heal}. */
    public void stallUplink() {
        uplinkStalled = true;
    }

    /** Paces driver → kit bytes to about {@code bytesPerSecond} (0: no limit), in 4 KiB steps. */
    public void throttleUplink(long bytesPerSecond) {
        uplinkBytesPerSecond = bytesPerSecond;
    }

    /**
     * The next WebSocket message from the kit whose payload contains {@code needle} is not delivered: the connection
     * is cut (both sides get a reset) just before it. Only once; later connections pass untouched.
     */
    public void cutBeforeKitMessage(String needle) {
        cutNeedle = needle;
    }

    /** Waits for the cut asked for with {@link #cutBeforeKitMessage}. */
    public boolean awaitCut(long seconds) throws InterruptedException {
        return cutDone.await(seconds, TimeUnit.SECONDS);
    }

    private static void abort(Socket s) {
        try {
            s.setSoLinger(true, 0);
            s.close();
        } catch (IOException ignored) {
            // already closed
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        cut();
    }

    /**
     * Follows the kit → driver byte stream: the HTTP upgrade answer, then unmasked WebSocket frames, so that a cut
     * can land exactly before one message.
     */
    private static final class KitMessages {
        private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
        private boolean headDone;

        /**
         * @return -1, or — when the bytes just read complete a message containing {@code needle} — how many of them
         * come before that message (what may still be forwarded)
         */
        int feed(byte[] b, int n, String needle) {
            int carried = pending.size();
            pending.write(b, 0, n);
            byte[] all = pending.toByteArray();
            int at = 0;
            if (!headDone) {
                int end = indexOf(all, "\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                if (end < 0) {
                    return -1;
                }
                headDone = true;
                at = end + 4;
            }
            while (all.length - at >= 2) {
                int len = all[at + 1] & 0x7F;
                int header = 2;
                if (len == 126) {
                    if (all.length - at < 4) {
                        break;
                    }
                    len = (all[at + 2] & 0xFF) << 8 | (all[at + 3] & 0xFF);
                    header = 4;
                } else if (len == 127) {
                    if (all.length - at < 10) {
                        break;
                    }
                    len = (int) ((all[at + 6] & 0xFFL) << 24 | (all[at + 7] & 0xFFL) << 16 | (all[at + 8] & 0xFFL) << 8 | (all[at + 9] & 0xFFL));
                    header = 10;
                }
                if (all.length - at < header + len) {
                    break;
                }
                if (needle != null && new String(all, at + header, len, StandardCharsets.ISO_8859_1).contains(needle)) {
                    return Math.max(0, at - carried);
                }
                at += header + len;
            }
            pending.reset();
            pending.write(all, at, all.length - at);
            return -1;
        }

        private static int indexOf(byte[] hay, byte[] needle) {
            outer:
            for (int i = 0; i + needle.length <= hay.length; i++) {
                for (int j = 0; j < needle.length; j++) {
                    if (hay[i + j] != needle[j]) {
                        continue outer;
                    }
                }
                return i;
            }
            return -1;
        }
    }
}
