package ai.hoody.tunnel.driver;

import ai.hoody.tunnel.protocol.BindMode;
import ai.hoody.tunnel.protocol.GoAwayCode;

import java.net.URI;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A driver session with a kit, from code: the library's entry point. {@link #open} connects (HELLO) and returns once
 * the kit opened a session; then each call asks for one container port and returns its {@link Binding} once the kit
 * granted it —
 * <ul>
 *   <li>{@link #expose}: visitors of a container port reach a laptop service ({@code localhost:3000});</li>
 *   <li>{@link #pull}: programs in the container reach a laptop service on the container's loopback;</li>
 *   <li>{@link #serveHttp}: visitors' HTTP requests are answered by an {@link HttpHandler} in this program, no local
 *       port (needs {@code io.netty:netty-codec-http} on the class path);</li>
 *   <li>{@link #serve}: each connection's raw bytes go to a {@link StreamHandler} in this program.</li>
 * </ul>
 * (The platform's SDK calls these {@code tunnelExpose}, {@code tunnelPull} and {@code tunnelServe}.)
 *
 * <pre>{@code
 * try (Tunnel tunnel = Tunnel.open("http://127.0.0.1:9771")) {
 *     Binding web = tunnel.serveHttp(8080, request -> Response.text(200, "hello from Java\n"));
 *     Binding db = tunnel.pull("localhost:5432", 15432);
 *     ...
 * } // GOAWAY: the kit frees every port at once
 * }</pre>
 *
 * <p>The tunnel keeps itself up: when its socket drops it reconnects as its {@link ReconnectPolicy} says, resumes the
 * session (same ports), or starts a new one and binds everything again; listeners ({@link #addListener},
 * {@link Binding#addListener}, {@link TunnelOptions#listener}) hear it happen. It ends on {@link #close()}, when an
 * operator kills the session, or when the policy gives up ({@link #awaitClosed()}).
 *
 * <p>Thread-safe; the calls block (they are meant for virtual threads, though any thread will do). Each connection is
 * served on a virtual thread of its own. No thread of the tunnel keeps the JVM alive.
 */
public final class Tunnel implements AutoCloseable {

    private final TunnelOptions options;
    private final DriverSession session;
    private final List<TunnelListener> listeners = new CopyOnWriteArrayList<>();
    private final List<Binding> bindings = new CopyOnWriteArrayList<>();
    private final CompletableFuture<TunnelEvent.Closed> closed = new CompletableFuture<>();
    private final AtomicInteger refs = new AtomicInteger();
    private final Thread runner;

    private Tunnel(TunnelOptions options) {
        this.options = options;
        this.listeners.addAll(options.listeners());
        this.session = new DriverSession(options.kitUrl().connectUri(), options.settings(), this::dispatch);
        this.runner = Thread.ofVirtual().name("hoody-tunnel").unstarted(() -> closed.complete(session.run()));
    }

    /** Opens a tunnel to the kit at {@code kitUrl} with the default options; see {@link #open(TunnelOptions)}. */
    public static Tunnel open(String kitUrl) throws TunnelException, InterruptedException {
        return open(TunnelOptions.kit(kitUrl));
    }

    /**
     * Connects to the kit and opens a session; returns once the kit answered HELLO.
     *
     * @throws TunnelException when the kit cannot be reached or does not open a session (the message says why; the
     *                         first attempt is not retried)
     * @throws IllegalArgumentException when a proxy variable of the environment is not an http:// proxy URL
     */
    public static Tunnel open(TunnelOptions options) throws TunnelException, InterruptedException {
        Tunnel t = new Tunnel(options);
        t.runner.start();
        try {
            t.session.firstSession().get();
            return t;
        } catch (ExecutionException e) {
            throw new TunnelException(e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            t.close();
            throw e;
        }
    }

    /** Exposes {@code localhost:port} on the same container port. */
    public Binding expose(int port, BindOption... options) throws TunnelException, InterruptedException {
        return expose(Integer.toString(port), port, options);
    }

    /**
     * Exposes a laptop service on a container port: visitors of {@code containerPort} reach {@code target}.
     *
     * @param target {@code PORT} (on localhost) or {@code HOST:PORT} ({@code [::1]:PORT} for IPv6)
     * @param options {@link BindOption#takeover()}
     * @throws BindRefusedException when the kit refuses the port (e.g. {@code ALREADY_BOUND}, {@code PRIVILEGED_PORT})
     * @throws TunnelException when no answer comes within {@link TunnelOptions#bindTimeout}, or the tunnel is closed
     */
    public Binding expose(String target, int containerPort, BindOption... options) throws TunnelException, InterruptedException {
        return bind(BindMode.EXPOSE, target, containerPort, options);
    }

    /** Pulls {@code localhost:port} onto the same port of the container's loopback. */
    public Binding pull(int port, BindOption... options) throws TunnelException, InterruptedException {
        return pull(Integer.toString(port), port, options);
    }

    /**
     * Makes a laptop service reachable on the container's loopback: programs in the container that connect to
     * {@code containerPort} (0: any free port, see {@link Binding#port()}) reach {@code target}.
     *
     * @param options {@link BindOption#loopback(String)} for {@code ::1} or {@code localhost}
     */
    public Binding pull(String target, int containerPort, BindOption... options) throws TunnelException, InterruptedException {
        return bind(BindMode.PULL, target, containerPort, options);
    }

    /**
     * Serves HTTP on a container port from this program: every request of every visitor goes to {@code handler}
     * (see {@link HttpHandler}). Needs {@code io.netty:netty-codec-http} 4.1 on the class path.
     *
     * @param options {@link BindOption#loopback()} to serve on the container's loopback only (a pull binding);
     *                {@link BindOption#takeover()}
     * @throws IllegalStateException when Netty's HTTP codec is not on the class path
     */
    public Binding serveHttp(int containerPort, HttpHandler handler, BindOption... options) throws TunnelException, InterruptedException {
        StreamTarget target;
        try {
            target = new HttpTarget(handler);
        } catch (NoClassDefFoundError e) {
            throw new IllegalStateException("serveHttp needs Netty's HTTP codec on the class path: add the dependency "
                    + "io.netty:netty-codec-http (4.1.x); serve() and the other calls work without it", e);
        }
        return bind(served(options), target, containerPort, options);
    }

    /**
     * Serves raw TCP connections on a container port from this program: each connection's bytes go to
     * {@code handler} (see {@link StreamHandler}).
     *
     * @param options {@link BindOption#loopback()} to serve on the container's loopback only (a pull binding);
     *                {@link BindOption#takeover()}
     */
    public Binding serve(int containerPort, StreamHandler handler, BindOption... options) throws TunnelException, InterruptedException {
        return bind(served(options), new HandlerTarget(handler), containerPort, options);
    }

    /** Asks for a binding described the CLI's way (what {@code expose}/{@code pull} and {@code --also-*} parse to). */
    public Binding bind(BindSpec spec) throws TunnelException, InterruptedException {
        return await(newBinding(spec.mode(), spec.remotePort(), spec.remoteHost(), spec.takeover(), TargetConnection.of(spec)));
    }

    private Binding bind(BindMode mode, String target, int containerPort, BindOption... options) throws TunnelException, InterruptedException {
        String host = loopbackHost(options);
        boolean takeover = takeover(options);
        if (mode == BindMode.EXPOSE && served(options) == BindMode.PULL) {
            throw new IllegalArgumentException("expose is public by definition; use pull for the container's loopback");
        }
        BindSpec spec = BindSpec.parseTarget(mode, target, containerPort, host, takeover);
        return bind(spec);
    }

    private Binding bind(BindMode mode, StreamTarget target, int containerPort, BindOption... options) throws TunnelException, InterruptedException {
        if (containerPort < 0 || containerPort > 65535) {
            throw new IllegalArgumentException("the container port must be in 0..65535, was " + containerPort);
        }
        return await(newBinding(mode, containerPort, loopbackHost(options), takeover(options), target));
    }

    private static BindMode served(BindOption... options) {
        for (BindOption o : options) {
            if (o instanceof BindOption.Loopback) {
                return BindMode.PULL;
            }
        }
        return BindMode.EXPOSE;
    }

    private static String loopbackHost(BindOption... options) {
        for (BindOption o : options) {
            if (o instanceof BindOption.Loopback l) {
                return l.host();
            }
        }
        return null;
    }

    private static boolean takeover(BindOption... options) {
        for (BindOption o : options) {
            if (o instanceof BindOption.Takeover) {
                return true;
            }
        }
        return false;
    }

    private Binding newBinding(BindMode mode, int port, String host, boolean takeover, StreamTarget target) {
        if (takeover && mode == BindMode.PULL) {
            throw new IllegalArgumentException("a pull binding cannot be taken over; takeover is for expose");
        }
        return new Binding(this, Integer.toString(refs.incrementAndGet()), mode, port, host, takeover, target,
                options.maxTargetConnections());
    }

    /** Asks for the binding and waits for the kit's first answer; on a refusal or a timeout it is dropped. */
    private Binding await(Binding b) throws TunnelException, InterruptedException {
        if (closed.isDone()) {
            throw new TunnelException("the tunnel is closed: " + closed.join().detail());
        }
        bindings.add(b);
        session.add(b);
        try {
            return b.awaitAnswer(options.bindTimeout().toMillis());
        } catch (TunnelException | InterruptedException e) {
            unbind(b);
            throw e;
        }
    }

    void unbind(Binding b) {
        bindings.remove(b);
        try {
            session.unbind(b);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The bindings asked for and not closed or refused. */
    public List<Binding> bindings() {
        return bindings.stream().filter(b -> b.state() != Binding.State.CLOSED && b.state() != Binding.State.REFUSED).toList();
    }

    /** Adds a listener of every event; see {@link TunnelListener}. */
    public void addListener(TunnelListener listener) {
        listeners.add(listener);
    }

    public void removeListener(TunnelListener listener) {
        listeners.remove(listener);
    }

    /** The session id the kit gave (it stays across resumes; a new session has a new one). */
    public String sessionId() {
        return session.sessionId();
    }

    /** The WebSocket URL the tunnel dials. */
    public URI kit() {
        return options.kitUrl().connectUri();
    }

    public boolean isOpen() {
        return !closed.isDone();
    }

    /** Blocks until the tunnel ends, and says why. */
    public TunnelEvent.Closed awaitClosed() throws InterruptedException {
        try {
            return closed.get();
        } catch (ExecutionException e) {
            throw new IllegalStateException("the session loop failed", e.getCause());
        }
    }

    /** As {@link #awaitClosed()}, at most {@code millis}; null if the tunnel is still open then. */
    public TunnelEvent.Closed awaitClosed(long millis) throws InterruptedException {
        try {
            return closed.get(millis, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            return null;
        } catch (ExecutionException e) {
            throw new IllegalStateException("the session loop failed", e.getCause());
        }
    }

    /**
     * Ends the tunnel: GOAWAY, so that the kit frees every port at once, then closes the WebSocket (waiting up to 2 s
     * for the kit's close) and stops reconnecting. Connections in progress are ended. Idempotent; may be called from a
     * listener.
     */
    @Override
    public void close() {
        session.stop(GoAwayCode.NORMAL);
        if (Thread.currentThread() != runner) {
            try {
                closed.get(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException | TimeoutException e) {
                dispatch(new TunnelEvent.Warning("the tunnel's session loop did not end within 5 s of close()", e));
            }
        }
    }

    /** Every event goes to the tunnel's listeners, then to the bindings' (their own, or all for a tunnel event). */
    private void dispatch(TunnelEvent event) {
        for (TunnelListener l : listeners) {
            tell(l, event);
        }
        Binding concerned = event.binding();
        if (concerned != null) {
            concerned.listeners().forEach(l -> tell(l, event));
        } else if (!(event instanceof TunnelEvent.Revoked) && !(event instanceof TunnelEvent.Warning)) {
            for (Binding b : bindings) {
                b.listeners().forEach(l -> tell(l, event));
            }
        }
    }

    private static void tell(TunnelListener l, TunnelEvent event) {
        try {
            l.onEvent(event);
        } catch (RuntimeException e) {
            System.getLogger(Tunnel.class.getName()).log(System.Logger.Level.WARNING,
                    "a tunnel listener failed on " + event.name(), e);
        }
    }

    @Override
    public String toString() {
        return "Tunnel[" + kit() + ", session " + sessionId() + (isOpen() ? "" : ", closed") + "]";
    }
}
