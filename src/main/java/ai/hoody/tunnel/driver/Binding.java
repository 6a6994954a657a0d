package ai.hoody.tunnel.driver;

import ai.hoody.tunnel.protocol.BindMode;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One container port a {@link Tunnel} holds: what {@link Tunnel#expose}, {@link Tunnel#pull}, {@link Tunnel#serve}
 * and {@link Tunnel#serveHttp} return. Its {@link #port()}, {@link #bindId()} and {@link #publicUrl()} are those of
 * the kit's last BIND_OK; they stay the same across a resume, and the bindId changes when the tunnel had to start a
 * new session and bind again. {@link #close()} gives the port back (UNBIND) while the tunnel stays open.
 *
 * <p>Thread-safe. Listeners added here hear this binding's events ({@code bind_ok}, {@code bind_err},
 * {@code bind_revoked}) and the tunnel's own (connected, disconnected, reconnecting, resumed, goaway, closed), not
 * other bindings'.
 */
public final class Binding implements AutoCloseable {

    /** Where a binding is in its life. */
    public enum State {
        /** Asked for, not answered yet (at first, or again after a new session or a PARKED revocation). */
        REQUESTED,
        /** The kit listens on the port for this tunnel. */
        BOUND,
        /** Taken over by another session; asked for again when the tunnel starts a new session. */
        REVOKED,
        /** The kit refused it; final. */
        REFUSED,
        /** Closed by {@link #close()} or with the tunnel; final. */
        CLOSED
    }

    private final Tunnel tunnel;
    private final String ref;
    private final BindMode mode;
    private final int requestedPort;
    private final String requestedHost;
    private final boolean takeover;
    private final StreamTarget target;
    /** Connections to the target allowed at once (TunnelOptions.maxTargetConnections), and those still free. */
    private final int maxTargetConnections;
    private final java.util.concurrent.Semaphore targetPermits;
    private final List<TunnelListener> listeners = new CopyOnWriteArrayList<>();
    /** The first answer: BIND_OK, or BIND_ERR / the end of the tunnel as an exception. */
    private final CompletableFuture<Binding> firstAnswer = new CompletableFuture<>();
    private final CompletableFuture<Void> released = new CompletableFuture<>();

    // guarded by this
    private State state = State.REQUESTED;
    private int bindId;
    private int port;
    private String host;
    private String publicUrl;

    Binding(Tunnel tunnel, String ref, BindMode mode, int requestedPort, String requestedHost, boolean takeover, StreamTarget target,
            int maxTargetConnections) {
        this.tunnel = tunnel;
        this.maxTargetConnections = maxTargetConnections;
        this.targetPermits = new java.util.concurrent.Semaphore(maxTargetConnections);
        this.ref = ref;
        this.mode = mode;
        this.requestedPort = requestedPort;
        this.requestedHost = requestedHost;
        this.takeover = takeover;
        this.target = target;
        this.port = requestedPort;
    }

    /** The container port: the one the kit granted, or the one asked for while not bound yet. */
    public synchronized int port() {
        return port;
    }

    /** The kit's id for the binding (BIND_OK.bindId); 0 while not bound. */
    public synchronized int bindId() {
        return bindId;
    }

    /** Where visitors reach an exposed port, when the kit knows it (its {@code public-url-pattern}); else null. */
    public synchronized String publicUrl() {
        return publicUrl;
    }

    /** For a pull, the container loopback address it listens on; null for an expose. */
    public synchronized String host() {
        return host;
    }

    public BindMode mode() {
        return mode;
    }

    /** Where the streams go on the laptop: {@code localhost:3000}, {@code an in-process HTTP handler}, … */
    public String target() {
        return target.describe();
    }

    public synchronized State state() {
        return state;
    }

    public synchronized boolean isBound() {
        return state == State.BOUND;
    }

    /** Adds a listener of this binding's events and the tunnel's (see the class comment). */
    public void addListener(TunnelListener listener) {
        listeners.add(listener);
    }

    public void removeListener(TunnelListener listener) {
        listeners.remove(listener);
    }

    /**
     * Gives the port back: UNBIND, and returns once the kit has closed its listener (BIND_REVOKED {@code UNBOUND}) —
     * within 10 s, or at once when the tunnel is not connected (the kit then frees it with the session). Streams in
     * progress on it are reset by the kit. Idempotent.
     */
    @Override
    public void close() {
        tunnel.unbind(this);
    }

    @Override
    public synchronized String toString() {
        return mode.mode + " " + target.describe() + " on container port " + port + " (" + state
                + (bindId == 0 ? "" : ", bindId " + bindId) + ")";
    }

    // --- the engine's side ---

    String ref() {
        return ref;
    }

    int requestedPort() {
        return requestedPort;
    }

    String requestedHost() {
        return requestedHost;
    }

    boolean takeover() {
        return takeover;
    }

    int maxTargetConnections() {
        return maxTargetConnections;
    }

    java.util.concurrent.Semaphore targetPermits() {
        return targetPermits;
    }

    StreamTarget streamTarget() {
        return target;
    }

    List<TunnelListener> listeners() {
        return listeners;
    }

    /** BIND_OK. @return false when the binding was closed meanwhile (the caller then unbinds it) */
    synchronized boolean granted(int bindId, int port, String host, String publicUrl) {
        this.bindId = bindId;
        this.port = port;
        this.host = host;
        this.publicUrl = publicUrl;
        if (state == State.CLOSED) {
            return false;
        }
        state = State.BOUND;
        return true;
    }

    /** Reported to the asker once the BIND_OK event is out. */
    void answered() {
        firstAnswer.complete(this);
    }

    synchronized void refused(BindRefusedException e) {
        if (state != State.CLOSED) {
            state = State.REFUSED;
        }
        bindId = 0;
        firstAnswer.completeExceptionally(e);
    }

    /** BIND_REVOKED: {@code again} when it is asked for again at once (PARKED). */
    synchronized void revoked(String reason) {
        bindId = 0;
        if (state == State.CLOSED || state == State.REFUSED) {
            return;
        }
        state = "PARKED".equals(reason) ? State.REQUESTED : State.REVOKED;
    }

    /** A new session: nothing is held; asked for again unless final. @return whether to ask for it */
    synchronized boolean forgotten() {
        bindId = 0;
        if (state == State.BOUND || state == State.REVOKED) {
            state = State.REQUESTED;
        }
        return state == State.REQUESTED;
    }

    synchronized boolean wanted() {
        return state == State.REQUESTED;
    }

    /** Marks it closed. @return the bindId it held (0: none), which the caller unbinds */
    synchronized int markClosed() {
        int held = state == State.BOUND ? bindId : 0;
        state = State.CLOSED;
        return held;
    }

    synchronized boolean isClosed() {
        return state == State.CLOSED;
    }

    /** The kit freed the port (BIND_REVOKED UNBOUND), or there is nothing more to wait for. */
    void released() {
        released.complete(null);
        firstAnswer.completeExceptionally(new TunnelException("the binding was closed before the kit answered"));
    }

    void tunnelEnded(String why) {
        synchronized (this) {
            state = State.CLOSED;
        }
        firstAnswer.completeExceptionally(new TunnelException("the tunnel is closed: " + why));
        released.complete(null);
    }

    /** Waits for the first answer. */
    Binding awaitAnswer(long millis) throws TunnelException, InterruptedException {
        try {
            return firstAnswer.get(millis, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof TunnelException t) {
                throw t;
            }
            throw new TunnelException(String.valueOf(e.getCause().getMessage()), e.getCause());
        } catch (TimeoutException e) {
            throw new TunnelException("no answer to BIND of port " + requestedPort + " within " + millis + " ms");
        }
    }

    /** @return false when the kit did not answer within {@code millis} */
    boolean awaitReleased(long millis) throws InterruptedException {
        try {
            released.get(millis, TimeUnit.MILLISECONDS);
            return true;
        } catch (ExecutionException e) {
            throw new IllegalStateException("released is only ever completed normally", e);
        } catch (TimeoutException e) {
            return false;
        }
    }
}
