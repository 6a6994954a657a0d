package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.mux.Splice;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.function.BooleanSupplier;

/**
 * The container-side socket of a binding. Threading: one virtual thread runs the accept loop; each accepted socket
 * gets its own virtual thread running a {@link VisitorConnection}. Closing the server socket ends the loop.
 */
final class PortListener {

    private static final Logger LOG = Logger.getLogger(PortListener.class);
    /** Pause after an accept error (EMFILE and friends) so a failing accept never spins a core. */
    private static final long ACCEPT_BACKOFF_MILLIS = 50;
    /** How long {@link #close} waits for the accept loop to end (it takes microseconds; a bound, not a delay). */
    private static final long CLOSE_WAIT_MILLIS = 1_000;

    private final ServerSocket server;
    private final KitContext kit;
    private volatile Binding binding;
    private Thread acceptLoop;

    PortListener(ServerSocket server, Binding owner, KitContext kit) {
        this.server = server;
        this.binding = owner;
        this.kit = kit;
    }

    int port() {
        return server.getLocalPort();
    }

    /** Starts accepting; until then visitors wait in the listen backlog. Call once BIND_OK is on its way. */
    void start() {
        acceptLoop = Thread.ofVirtual().name("accept-" + port()).start(this::acceptLoop);
    }

    Binding binding() {
        return binding;
    }

    /** False when the socket is still open but its accept loop has died: the port would hang visitors (liveness). */
    boolean isAccepting() {
        return server.isClosed() || acceptLoop == null || acceptLoop.isAlive();
    }

    /** The accept loop's state (WAITING while it is blocked in accept); for tests. */
    Thread.State acceptLoopState() {
        return acceptLoop == null ? Thread.State.NEW : acceptLoop.getState();
    }

    /**
     * Hands the port to {@code next} if {@code expected} still owns it; the socket stays open throughout.
     * {@code admit} runs first, inside the hand-over (one at a time per port): it records the binding and queues its
     * BIND_OK, and returns false to call the hand-over off. Visitors see the new owner only after that, so the new
     * owner's BIND_OK precedes every OPEN for it.
     *
     * @return false if {@code expected} no longer owns the port or {@code admit} refused
     */
    synchronized boolean handOver(Binding expected, Binding next, BooleanSupplier admit) {
        if (binding != expected || !admit.getAsBoolean()) {
            return false;
        }
        binding = next;
        return true;
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            Socket socket;
            try {
                socket = server.accept();
            } catch (IOException e) {
                if (server.isClosed()) {
                    return;
                }
                LOG.warnf("accept on port %d failed: %s", port(), e.getMessage());
                try {
                    Thread.sleep(ACCEPT_BACKOFF_MILLIS);
                } catch (InterruptedException ie) {
                    return;
                }
                continue;
            }
            Thread.ofVirtual().name("visitor-" + port()).start(new VisitorConnection(socket, this, kit));
        }
    }

    /**
     * Closes the listener if {@code owner} still owns it and it is open. Under the same lock as {@link #handOver}, so
     * that a session ending while one of its takeovers is being handed over either sees the port as its own (and
     * closes it) or makes the hand-over fail; the port never ends up with a session that has ended.
     *
     * @return true if this call closed it
     */
    synchronized boolean closeIfOwnedBy(Binding owner) {
        if (binding != owner || server.isClosed()) {
            return false;
        }
        close();
        return true;
    }

    /**
     * Stops accepting; streams already open are the session's to reset. Gives the listener's fd permit back. Returns
     * once the port refuses connections: the JDK closes a socket whose {@code accept} a virtual thread is blocked in
     * only when that thread next runs, so this waits (at most {@link #CLOSE_WAIT_MILLIS}) for the accept loop to end;
     * until then the port would still take connections — after the BIND_REVOKED that says it is gone.
     */
    synchronized void close() {
        if (!server.isClosed()) {
            Splice.closeQuietly(server);
            kit.fds.release();
        }
        Thread loop = acceptLoop;
        if (loop != null && loop != Thread.currentThread()) {
            loop.interrupt();
            try {
                if (!loop.join(Duration.ofMillis(CLOSE_WAIT_MILLIS))) {
                    LOG.warnf("the accept loop of port %d did not end within %d ms of its close", port(), CLOSE_WAIT_MILLIS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
