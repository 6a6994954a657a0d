package ai.hoody.tunnel.support;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A TCP relay between a driver and the kit that a test can break like a network does: {@link #cut()} aborts every
 * connection (a dropped Wi-Fi), {@link #blackhole()} keeps connections open but stops moving bytes (a path that
 * swallows frames), {@link #heal()} moves bytes again.
 */
public final class CuttableRelay implements AutoCloseable {

    private final ServerSocket server;
    private final int target;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private volatile boolean blackhole;

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
                Thread.ofVirtual().start(() -> pump(in, out));
                Thread.ofVirtual().start(() -> pump(out, in));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void pump(Socket from, Socket to) {
        byte[] buf = new byte[1 << 16];
        try {
            InputStream in = from.getInputStream();
            OutputStream out = to.getOutputStream();
            int n;
            while ((n = in.read(buf)) >= 0) {
                while (blackhole && !from.isClosed()) {
                    Thread.sleep(10); // bytes read while black-holed are held back, as a stalled path would
                }
                out.write(buf, 0, n);
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
}
