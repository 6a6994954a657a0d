package ai.hoody.tunnel.driver;

import ai.hoody.tunnel.mux.FrameWriter;
import ai.hoody.tunnel.mux.MemoryBudget;
import ai.hoody.tunnel.mux.MuxListener;
import ai.hoody.tunnel.mux.MuxStream;
import ai.hoody.tunnel.mux.TunnelConnection;
import ai.hoody.tunnel.protocol.ControlMessage;
import ai.hoody.tunnel.protocol.GoAwayCode;
import ai.hoody.tunnel.protocol.Protocol;
import ai.hoody.tunnel.protocol.ResetCode;
import ai.hoody.tunnel.protocol.Version;

import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The laptop end of a session, for as long as the user wants it: connects, says HELLO, asks for its bindings, serves
 * the kit's OPENs, and when the socket drops reconnects by itself (capped exponential backoff with jitter), resuming
 * the session when the kit still has it. Policy only: the socket's mechanics — writer, streams, PING/PONG — are the
 * {@link TunnelConnection}'s, the same class the kit uses.
 *
 * <p>A binding counts as held only once its BIND_OK has arrived; every BIND not answered on a socket that dropped is
 * sent again after the resume (the kit answers a repeated BIND with the binding it already granted).
 *
 * <p>Threading: {@link #run} blocks the calling thread for the session's life. Each socket is a {@link Link}, whose
 * thread says HELLO and sends the BINDs; the socket's messages arrive on the client's reader thread and are handled
 * without blocking; a watchdog virtual thread per link sends PINGs and drops a link that has gone silent; each stream
 * runs a {@link TargetConnection} on its own virtual thread.
 */
public final class DriverSession {

    /** Exit codes of the driver commands. */
    public static final int EXIT_OK = 0;
    public static final int EXIT_DISCONNECTED = 1;
    public static final int EXIT_BIND_REFUSED = 3;

    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
    /**
     * Connections the driver keeps open to one laptop target at once: a flood of visitors cannot make it open
     * thousands of connections to a service. OPENs beyond get RESET CONNECT_FAILED (the visitor 502).
     */
    static final int MAX_CONNECTIONS_PER_TARGET = 256;
    /** Streams the driver serves at once, at most (HELLO.maxStreams); the kit's OPENs beyond it are reset. */
    static final int MAX_STREAMS = 16384;
    /**
     * What each stream lets the kit have in flight towards the laptop (PROTOCOL.md §5: granted with a WINDOW after
     * OPEN_OK). Larger than the kit's 256 KiB default because it is the laptop's memory, not the container's, and a
     * 1 MiB window carried ~15% more through PULL in bench/lib/ab.py.
     */
    static final int RECEIVE_WINDOW = 1 << 20;
    /**
     * The largest HELLO_OK.streamWindow this driver accepts: it is the credit the kit may use towards the laptop
     * without asking, per stream. A kit announcing more is refused (close 1002), never trusted.
     */
    static final int MAX_ACCEPTED_WINDOW = 16 << 20;
    /** PING at most this often and at least this rarely, whatever HELLO_OK.heartbeatIntervalMs says. */
    static final long MIN_PING_MILLIS = 50;
    static final long MAX_PING_MILLIS = 30_000;
    /** When HELLO_OK.heartbeatIntervalMs is 0 (the kit does not PING). */
    static final long DEFAULT_PING_MILLIS = 20_000;
    private static final long BACKOFF_BASE_MILLIS = 200;
    private static final long BACKOFF_CAP_MILLIS = 30_000;
    /** Silence of this many heartbeat intervals means the kit or the path to it is gone. */
    private static final int SILENT_INTERVALS = 3;

    /** How one socket's life ended, and so what the driver does next. */
    private enum Outcome { STOPPED, LOST, CONNECT_FAILED, BIND_REFUSED, KILLED }

    private final URI kit;
    /** The kit's attach token, sent in every HELLO; null when the kit needs none. */
    private final String token;
    private final List<BindSpec> specs;
    private final DriverEvents events;
    /** Per spec: the bindId its BIND_OK granted, or null while not held. */
    private final Integer[] held;
    /** Per spec: connections to its target still allowed ({@link #MAX_CONNECTIONS_PER_TARGET}). */
    private final java.util.concurrent.Semaphore[] targetPermits;
    private final Map<Integer, BindSpec> byBindId = new ConcurrentHashMap<>();
    /** Stream bytes the driver holds for laptop services that have not read them yet: half the heap. */
    private final MemoryBudget memory = new MemoryBudget(Runtime.getRuntime().maxMemory() / 2);
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile boolean stopping;
    private volatile Link link;
    private volatile String sessionId;
    private volatile String resumeToken;

    public DriverSession(URI kit, List<BindSpec> specs, DriverEvents events) {
        this(kit, null, specs, events);
    }

    /** @param token the kit's attach token (null: none) */
    public DriverSession(URI kit, String token, List<BindSpec> specs, DriverEvents events) {
        this.kit = kit;
        this.token = token == null || token.isBlank() ? null : token.strip();
        this.specs = List.copyOf(specs);
        this.events = events;
        this.held = new Integer[this.specs.size()];
        this.targetPermits = new java.util.concurrent.Semaphore[this.specs.size()];
        for (int i = 0; i < targetPermits.length; i++) {
            targetPermits[i] = new java.util.concurrent.Semaphore(MAX_CONNECTIONS_PER_TARGET);
        }
    }

    /** Runs until stopped, refused, killed by an operator, or unable to reach the kit the first time. */
    public int run() throws InterruptedException {
        int attempt = 0;
        boolean everConnected = false;
        while (!stopping) {
            Link l = new Link();
            link = l;
            Outcome outcome = l.run();
            if (l.sessionOpened) {
                everConnected = true;
                attempt = 0;
            }
            switch (outcome) {
                case STOPPED:
                    return EXIT_OK;
                case BIND_REFUSED:
                    return EXIT_BIND_REFUSED;
                case KILLED:
                    return EXIT_DISCONNECTED;
                case CONNECT_FAILED:
                    if (!everConnected) {
                        return EXIT_DISCONNECTED;
                    }
                    break;
                case LOST:
                    break;
            }
            if (stopping) {
                return EXIT_OK;
            }
            long delay = backoff(attempt++);
            events.emit("reconnecting", "reconnecting in " + delay + " ms (attempt " + attempt + ")",
                    "attempt", attempt, "delayMs", delay);
            if (stopped.await(delay, TimeUnit.MILLISECONDS)) {
                return EXIT_OK;
            }
        }
        return EXIT_OK;
    }

    /** Half to all of min(cap, base·2^attempt): never zero, so a reconnect loop cannot spin. */
    static long backoff(int attempt) {
        long ceiling = Math.min(BACKOFF_CAP_MILLIS, BACKOFF_BASE_MILLIS << Math.min(attempt, 20));
        return ceiling / 2 + ThreadLocalRandom.current().nextLong(ceiling / 2 + 1);
    }

    /** How often the driver PINGs, from what HELLO_OK announced, within the driver's own bounds. */
    static long pingMillis(long announced) {
        return announced == 0 ? DEFAULT_PING_MILLIS : Math.clamp(announced, MIN_PING_MILLIS, MAX_PING_MILLIS);
    }

    /** Leaves on purpose (Ctrl-C): GOAWAY, close, and wait briefly for the kit's close. */
    public void stop(GoAwayCode code) {
        stopping = true;
        stopped.countDown();
        Link l = link;
        if (l != null) {
            l.leave(code);
        }
    }

    public String sessionId() {
        return sessionId;
    }

    /** Bytes of stream data the driver holds now (tests). */
    long bufferedBytes() {
        return memory.used();
    }

    // --- what is held ---

    private synchronized boolean isHeld(int index) {
        return held[index] != null;
    }

    private synchronized void granted(int index, int bindId) {
        held[index] = bindId;
        byBindId.put(bindId, specs.get(index));
    }

    /** @return the spec's index, or -1 when no held binding has this id */
    private synchronized int revoked(int bindId) {
        byBindId.remove(bindId);
        for (int i = 0; i < held.length; i++) {
            if (held[i] != null && held[i] == bindId) {
                held[i] = null;
                return i;
            }
        }
        return -1;
    }

    /** A new session: nothing is held. */
    private synchronized void forgetBindings() {
        java.util.Arrays.fill(held, null);
        byBindId.clear();
    }

    /** A BIND to send on a link; {@code fatal}: a refusal ends the driver (exit 3) rather than being reported only. */
    private record BindRequest(int index, boolean fatal) {
    }

    /** One WebSocket to the kit, from connect to close. */
    private final class Link implements TunnelConnection.Handler, WebSocketClient.Receiver {
        private static final BindRequest CLOSED = new BindRequest(-1, false);

        private final CompletableFuture<ControlMessage.HelloOk> helloOk = new CompletableFuture<>();
        private final Map<String, CompletableFuture<ControlMessage>> bindAnswers = new ConcurrentHashMap<>();
        private final LinkedBlockingQueue<BindRequest> toBind = new LinkedBlockingQueue<>();
        private final CountDownLatch closed = new CountDownLatch(1);
        private volatile TunnelConnection connection;
        private volatile MemoryBudget.Account account;
        private volatile String closeReason = "";
        private volatile GoAwayCode goAway;
        private volatile long pingMillis;
        private boolean sessionOpened;

        Outcome run() throws InterruptedException {
            WebSocketClient socket;
            try {
                socket = WebSocketClient.connect(kit, CONNECT_TIMEOUT);
            } catch (IOException e) {
                events.emit("error", "error: " + e.getMessage(), "message", e.getMessage());
                return Outcome.CONNECT_FAILED;
            }
            account = memory.open(() -> {
                TunnelConnection c = connection;
                return c == null || c.mux() == null ? null : c.mux().streams();
            });
            try {
                connection = TunnelConnection.driver("driver", socket, this, this::onOpen, account, MuxListener.NONE,
                        FrameWriter.Limits.DEFAULT);
                socket.start(this, connection.writer());
                return serve();
            } finally {
                account.close();
            }
        }

        private Outcome serve() throws InterruptedException {
            ControlMessage.Resume resume = sessionId == null ? null : new ControlMessage.Resume(sessionId, resumeToken);
            connection.send(new ControlMessage.Hello(Protocol.VERSION, "hoody-tunnel-driver", Version.VERSION, MAX_STREAMS, resume, token));
            ControlMessage.HelloOk ok;
            try {
                ok = helloOk.get(CONNECT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (ExecutionException | TimeoutException e) {
                String why = e instanceof TimeoutException ? "no HELLO_OK within " + CONNECT_TIMEOUT.toSeconds() + " s" : e.getCause().getMessage();
                events.emit("error", "error: the kit did not open a session: " + why, "message", why);
                connection.abort(why);
                return Outcome.CONNECT_FAILED;
            }
            sessionOpened = true;
            boolean resumed = ok.resumed() && ok.sessionId().equals(sessionId);
            sessionId = ok.sessionId();
            resumeToken = ok.resumeToken();
            if (!resumed) {
                forgetBindings();
            }
            // Every binding not held — all of them for a new session; after a resume, those whose BIND_OK was lost
            // with the old socket — is asked for again, in order.
            for (int i = 0; i < specs.size(); i++) {
                if (!isHeld(i)) {
                    toBind.add(new BindRequest(i, true));
                }
            }
            Thread watchdog = Thread.ofVirtual().name("driver-heartbeat").start(this::watch);
            try {
                while (true) {
                    BindRequest r = toBind.take();
                    if (r == CLOSED) {
                        break;
                    }
                    if (isHeld(r.index())) {
                        continue;
                    }
                    Outcome refused = bind(r);
                    if (refused != null) {
                        return refused;
                    }
                }
            } finally {
                watchdog.interrupt(); // the watchdog never touches the socket itself: interrupting it is safe
            }
            if (stopping) {
                return Outcome.STOPPED;
            }
            events.emit("disconnected", "disconnected from the kit: " + closeReason, "reason", closeReason);
            return goAway == GoAwayCode.ADMIN_KILL ? Outcome.KILLED : Outcome.LOST;
        }

        /**
         * Sends the BIND of {@code specs[index]} (ref = index + 1), waits for its answer and reports it.
         *
         * @return null to go on; BIND_REFUSED for a fatal refusal; LOST when no answer came (the link is dropped)
         */
        private Outcome bind(BindRequest request) throws InterruptedException {
            BindSpec spec = specs.get(request.index());
            String ref = Integer.toString(request.index() + 1);
            CompletableFuture<ControlMessage> answer = new CompletableFuture<>();
            bindAnswers.put(ref, answer);
            connection.send(new ControlMessage.Bind(ref, spec.mode().kind, spec.mode().mode, spec.remotePort(),
                    spec.remoteHost(), spec.takeover()));
            ControlMessage reply;
            try {
                reply = answer.get(CONNECT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (ExecutionException e) {
                return null; // the socket closed: the loop ends with it
            } catch (TimeoutException e) {
                events.emit("error", "error: no answer to BIND within " + CONNECT_TIMEOUT.toSeconds() + " s",
                        "message", "no answer to BIND");
                connection.abort("no answer to BIND");
                return null;
            }
            if (reply instanceof ControlMessage.BindErr err) {
                events.emit("bind_err", "bind refused: " + err.code() + ": " + err.message(),
                        "code", err.code().name(), "message", err.message(), "mode", spec.mode().mode, "port", spec.remotePort());
                if (request.fatal()) {
                    leave(GoAwayCode.NORMAL);
                    return Outcome.BIND_REFUSED;
                }
            } else if (reply instanceof ControlMessage.BindOk bound) {
                events.emit("bind_ok", describe(spec, bound), "mode", spec.mode().mode, "port", bound.port(),
                        "bindId", bound.bindId(), "sessionId", sessionId, "publicUrl", bound.publicUrl(),
                        "target", spec.target(), "host", bound.host());
            }
            return null;
        }

        /**
         * PINGs every interval; drops the socket when the kit has been silent for {@link #SILENT_INTERVALS}. PINGs
         * only queue on the writer, so a stalled socket cannot stall this thread: noticing one is its job.
         */
        private void watch() {
            long interval = pingMillis;
            long silentLimit = TimeUnit.MILLISECONDS.toNanos(interval * SILENT_INTERVALS);
            try {
                while (true) {
                    Thread.sleep(interval);
                    TunnelConnection c = connection;
                    if (c.nanosSinceHeard(System.nanoTime()) > silentLimit) {
                        closeReason = "nothing heard from the kit for " + interval * SILENT_INTERVALS + " ms";
                        c.abort(closeReason);
                        return;
                    }
                    c.ping();
                }
            } catch (InterruptedException e) {
                // the link is over
            }
        }

        void leave(GoAwayCode code) {
            TunnelConnection c = connection;
            if (c == null) {
                return;
            }
            c.send(new ControlMessage.GoAway(code, "driver stopping"));
            c.close(Protocol.CLOSE_NORMAL, "driver stopping");
            try {
                if (!closed.await(2, TimeUnit.SECONDS)) {
                    c.abort("driver stopping");
                }
            } catch (InterruptedException e) {
                c.abort("driver stopping");
                Thread.currentThread().interrupt();
            }
        }

        // --- TunnelConnection.Handler (on the reader) ---

        @Override
        public void onControl(TunnelConnection from, ControlMessage m) {
            switch (m) {
                case ControlMessage.HelloOk ok -> helloOk(from, ok);
                case ControlMessage.BindOk ok -> {
                    // Held from here, not from bind(): an OPEN may follow the BIND_OK before bind() wakes up.
                    int index = indexOf(ok.ref());
                    if (index >= 0) {
                        granted(index, ok.bindId());
                    }
                    complete(ok.ref(), ok);
                }
                case ControlMessage.BindErr err -> complete(err.ref(), err);
                case ControlMessage.BindRevoked r -> {
                    int index = revoked(r.bindId());
                    events.emit("bind_revoked", "binding " + r.bindId() + " revoked by the kit: " + r.reason(),
                            "bindId", r.bindId(), "reason", r.reason(), "target", index < 0 ? null : specs.get(index).target());
                    if (index >= 0 && "PARKED".equals(r.reason())) {
                        // Dropped while we were away (a PULL port is freed at once): ask for it again.
                        toBind.add(new BindRequest(index, false));
                    }
                }
                case ControlMessage.GoAway g -> {
                    goAway = g.code();
                    closeReason = "GOAWAY " + g.code() + (g.message() == null ? "" : ": " + g.message());
                    events.emit("goaway", "the kit is ending the session: " + g.code() + (g.message() == null ? "" : " (" + g.message() + ")"),
                            "code", g.code().name(), "message", g.message());
                    if (g.code() != GoAwayCode.ADMIN_KILL) {
                        sessionId = null; // the kit will not keep this session: the next link starts a new one
                    }
                }
                default -> {
                    // HELLO, BIND, UNBIND are never sent by a kit
                }
            }
        }

        /** HELLO_OK: checked against the driver's own bounds, then streams are accepted from here on. */
        private void helloOk(TunnelConnection from, ControlMessage.HelloOk ok) {
            if (helloOk.isDone()) {
                from.fail("HELLO_OK sent twice");
                return;
            }
            if (ok.streamWindow() > MAX_ACCEPTED_WINDOW) {
                String why = "HELLO_OK.streamWindow " + ok.streamWindow() + " is above the " + MAX_ACCEPTED_WINDOW
                        + " bytes this driver accepts per stream";
                from.fail(why);
                helloOk.completeExceptionally(new IOException(why));
                return;
            }
            pingMillis = pingMillis(ok.heartbeatIntervalMs());
            from.establish(ok.streamWindow(), Math.max(ok.streamWindow(), RECEIVE_WINDOW), MAX_STREAMS);
            // Told here, on the reader, so that it comes before what follows HELLO_OK on the wire
            // (the BIND_REVOKED of a resume): events are in the kit's order.
            if (ok.resumed() && ok.sessionId().equals(sessionId)) {
                events.emit("resumed", "resumed session " + ok.sessionId() + "; bindings intact", "sessionId", ok.sessionId());
            } else {
                events.emit("connected", "connected to " + kit + " (session " + ok.sessionId() + ")",
                        "sessionId", ok.sessionId(), "kit", kit.toString(), "maxStreams", ok.maxStreams());
            }
            helloOk.complete(ok);
        }

        private void complete(String ref, ControlMessage answer) {
            CompletableFuture<ControlMessage> f = ref == null ? null : bindAnswers.remove(ref);
            if (f != null) {
                f.complete(answer);
            }
        }

        @Override
        public void onProtocolError(TunnelConnection from, String reason) {
            events.log("protocol error from the kit: " + reason);
        }

        @Override
        public void onClosed(TunnelConnection from, String reason) {
            if (closeReason.isEmpty()) {
                closeReason = reason;
            }
            IOException gone = new IOException("the kit closed the socket: " + reason);
            helloOk.completeExceptionally(gone);
            bindAnswers.values().forEach(f -> f.completeExceptionally(gone));
            toBind.add(CLOSED);
            closed.countDown();
        }

        private void onOpen(MuxStream stream, int bindId, String origin) {
            BindSpec spec = byBindId.get(bindId);
            if (spec == null) {
                stream.reset(ResetCode.BIND_GONE, "this driver holds no binding " + bindId);
                return;
            }
            java.util.concurrent.Semaphore permits = targetPermits[specs.indexOf(spec)];
            if (!permits.tryAcquire()) {
                stream.reset(ResetCode.CONNECT_FAILED, "the driver already has " + MAX_CONNECTIONS_PER_TARGET
                        + " connections open to " + spec.target());
                return;
            }
            Thread.ofVirtual().name("target-" + stream.id()).start(() -> {
                try {
                    new TargetConnection(stream, spec, origin, events).run();
                } finally {
                    permits.release();
                }
            });
        }

        // --- WebSocketClient.Receiver (on the reader) ---

        @Override
        public void onText(String text) {
            connection.onText(text);
        }

        @Override
        public void onBinary(ByteBuffer frame) {
            connection.onBinary(frame);
        }

        @Override
        public void onCloseFrame(int code) {
            connection.close(code == 1005 ? Protocol.CLOSE_NORMAL : code, "");
        }

        @Override
        public void onViolation(int code, String reason) {
            events.log("the kit broke the WebSocket protocol: " + reason);
            connection.close(code, reason);
        }

        @Override
        public void onClosed(int code, String reason) {
            connection.onSocketClosed("closed with " + code + (reason == null || reason.isEmpty() ? "" : " " + reason));
        }
    }

    private int indexOf(String ref) {
        try {
            int i = ref == null ? -1 : Integer.parseInt(ref) - 1;
            return i >= 0 && i < specs.size() ? i : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static String describe(BindSpec spec, ControlMessage.BindOk ok) {
        return switch (spec.mode()) {
            case EXPOSE -> "exposing " + spec.target() + " on container port " + ok.port()
                    + (ok.publicUrl() == null ? "" : " at " + ok.publicUrl()) + " (bindId " + ok.bindId() + ")";
            case PULL -> "pulling " + spec.target() + " onto the container's " + (ok.host() == null ? "127.0.0.1" : ok.host())
                    + ":" + ok.port() + " (bindId " + ok.bindId() + ")";
        };
    }
}
