package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.mux.MuxStream;
import ai.hoody.tunnel.mux.Splice;
import ai.hoody.tunnel.mux.StreamResetException;
import ai.hoody.tunnel.protocol.BindMode;
import ai.hoody.tunnel.protocol.ResetCode;
import org.jboss.logging.Logger;

import java.net.Socket;
import java.net.SocketException;
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
        MuxStream stream = open(origin);
        try {
            socket.setTcpNoDelay(true);
        } catch (SocketException e) {
            LOG.tracef("visitor on port %d left before its stream opened", binding.port());
        }
        Splice.run(stream, socket);
    }

    /**
     * Opens the stream and waits for the driver to accept it. Nothing was read from the visitor yet, so a stream reset
     * before OPEN_OK for a reason that is not the driver's answer — the port changed hands (takeover), or the session
     * moved to a new socket (resume) — is simply tried again with whoever serves the port now.
     */
    private MuxStream open(String origin) throws VisitorRefusedException, InterruptedException {
        while (true) {
            KitSession session = binding.session();
            MuxStream stream = session.openStream(binding, origin);
            try {
                stream.awaitOpened(kit.config.openTimeout());
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
