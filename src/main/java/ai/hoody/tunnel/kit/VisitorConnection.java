package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.mux.MuxStream;
import ai.hoody.tunnel.mux.Splice;
import ai.hoody.tunnel.mux.StreamResetException;
import ai.hoody.tunnel.protocol.BindMode;
import ai.hoody.tunnel.protocol.FrameCodec;
import ai.hoody.tunnel.protocol.ResetCode;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketException;
import java.util.Arrays;
import java.util.concurrent.TimeoutException;

/**
 * One connection accepted on a binding's port: a visitor (EXPOSE) or a container client (PULL). Threading: runs on
 * its own virtual thread from accept to close; {@link Splice} adds one more while bytes flow. Every path ends with
 * the socket closed and the descriptor permit back, within the open timeout plus the refusal drain's deadline.
 */
final class VisitorConnection implements Runnable {

    private static final Logger LOG = Logger.getLogger(VisitorConnection.class);

    private final Socket socket;
    private final PortListener listener;
    private final KitContext kit;
    private Binding binding;

    VisitorConnection(Socket socket, PortListener listener, KitContext kit) {
        this.socket = socket;
        this.listener = listener;
        this.binding = listener.binding();
        this.kit = kit;
    }

    @Override
    public void run() {
        if (!kit.fds.tryAcquire()) {
            refuse(new VisitorRefusedException(503, "the kit has no file descriptors to spare", 1));
            return;
        }
        // The permit goes back whenever this connection is finished, so that other visitors can be served.
        try {
            forward();
        } catch (VisitorRefusedException e) {
            refuse(e);
        } catch (InterruptedException e) {
            Splice.abort(socket);
        } finally {
            Splice.closeQuietly(socket);
            kit.fds.release();
        }
    }

    private void forward() throws VisitorRefusedException, InterruptedException {
        String origin = socket.getRemoteSocketAddress().toString();
        try {
            socket.setTcpNoDelay(true);
        } catch (SocketException e) {
            LOG.tracef("visitor on port %d left before its stream opened", binding.port());
        }
        MuxStream stream = open(origin);
        Splice.run(stream, socket);
    }

    /**
     * Opens the stream and waits for the driver to accept it. Nothing was written to the visitor yet, so a stream
     * reset before OPEN_OK for a reason that is not the driver's answer — the port changed hands (takeover), or the
     * session moved to a new socket (resume) — is simply tried again with whoever serves the port now.
     *
     * <p>Early data (PROTOCOL.md §4.1): when the driver takes it, the visitor's first bytes — one read of what it has
     * sent by then, at most one DATA frame — go as soon as they are there, right after OPEN, instead of after OPEN_OK: a
     * round trip sooner. They are kept until OPEN_OK, so a retry sends them again on the new stream (after its OPEN_OK
     * if the new owner's driver does not take early data). A visitor that sends nothing before OPEN_OK (a protocol
     * where the server speaks first) is served as before.
     */
    private MuxStream open(String origin) throws VisitorRefusedException, InterruptedException {
        byte[] first = NOTHING;
        long timeout = kit.config.openTimeout().toNanos();
        while (true) {
            KitSession session = binding.session();
            MuxStream stream = session.openStream(binding, origin);
            long deadline = System.nanoTime() + timeout;
            try {
                boolean early = session.earlyData();
                if (early && first.length == 0) {
                    first = firstBytesBeforeOpenOk(stream, deadline);
                }
                if (early) {
                    send(stream, first);
                }
                if (!stream.awaitOpened(deadline - System.nanoTime())) {
                    throw new TimeoutException("no OPEN_OK within " + kit.config.openTimeout().toMillis() + " ms");
                }
                if (!early) {
                    send(stream, first); // read for an earlier owner that took early data
                }
                return stream;
            } catch (TimeoutException e) {
                stream.reset(ResetCode.OPEN_TIMEOUT, e.getMessage());
                throw new VisitorRefusedException(504, "the laptop did not answer within " + kit.config.openTimeout().toMillis() + " ms", null);
            } catch (StreamResetException e) {
                Binding now = listener.binding();
                if (now != binding) {
                    binding = now; // taken over while opening: the new owner serves it
                    continue;
                }
                if (e.code() == ResetCode.SESSION_CLOSING) {
                    if (session.isOrphaned()) {
                        throw VisitorRefusedException.reconnecting();
                    }
                    if (!e.byPeer() && !session.isCurrent(stream) && !session.isEnding()) {
                        continue; // resumed on a new socket, or its v2 shard dropped, while opening
                    }
                }
                throw new VisitorRefusedException(502, e.code() == ResetCode.CONNECT_FAILED
                        ? "the laptop could not reach its local service: " + e.getMessage()
                        : "the tunnel dropped the connection: " + e.getMessage(), null);
            }
        }
    }

    /** First look after {@value #FIRST_LOOK_NANOS} ns, then twice as late each time, up to {@value #LAST_LOOK_NANOS}. */
    private static final long FIRST_LOOK_NANOS = 1_000_000;
    private static final long LAST_LOOK_NANOS = 64_000_000;

    /**
     * Waits for whichever comes first: bytes from the visitor (returned, read without blocking) or OPEN_OK (nothing
     * returned). A socket cannot be waited on together with the stream, so the wait on OPEN_OK is cut into slices
     * (1 ms, then doubling up to 64 ms) with a look at the socket between them: a silent visitor costs a few wake-ups,
     * not a thread.
     */
    private byte[] firstBytesBeforeOpenOk(MuxStream stream, long deadline) throws StreamResetException, InterruptedException {
        long slice = FIRST_LOOK_NANOS;
        while (true) {
            byte[] b = readWhatIsThere();
            if (b.length > 0) {
                return b;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0 || stream.awaitOpened(Math.min(slice, left))) {
                return NOTHING; // opened with nothing sent yet, or the open timeout is up
            }
            slice = Math.min(slice * 2, LAST_LOOK_NANOS);
        }
    }

    /** What the visitor has sent so far, read without waiting (an empty array when nothing is there yet). */
    private byte[] readWhatIsThere() {
        try {
            InputStream in = socket.getInputStream();
            int ready = Math.min(in.available(), FrameCodec.MAX_DATA_BYTES);
            if (ready <= 0) {
                return NOTHING;
            }
            byte[] b = new byte[ready];
            int n = in.read(b); // does not block: the bytes are there
            return n == ready ? b : n <= 0 ? NOTHING : Arrays.copyOf(b, n);
        } catch (IOException e) {
            return NOTHING; // the visitor is gone; the splice finds out and resets the stream
        }
    }

    private static void send(MuxStream stream, byte[] first) throws StreamResetException, InterruptedException {
        if (first.length > 0) {
            stream.write(first, 0, first.length);
        }
    }

    private static final byte[] NOTHING = new byte[0];

    private void refuse(VisitorRefusedException e) {
        kit.metrics.visitorRefused(e.status);
        LOG.debugf("port %d: refused a connection with %d: %s", binding.port(), e.status, e.getMessage());
        if (binding.mode() == BindMode.EXPOSE) {
            HttpAnswers.send(socket, e.status, reasonPhrase(e.status), e.getMessage(), e.retryAfterSeconds);
        } else {
            Splice.abort(socket); // a TCP client has no status line to read: an RST tells it at once
        }
    }

    private static String reasonPhrase(int status) {
        return switch (status) {
            case 502 -> "Bad Gateway";
            case 503 -> "Service Unavailable";
            case 504 -> "Gateway Timeout";
            default -> "Error";
        };
    }
}
