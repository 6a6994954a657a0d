package ai.hoody.tunnel.driver;

import ai.hoody.tunnel.cli.Version;
import ai.hoody.tunnel.mux.Multiplexer;
import ai.hoody.tunnel.mux.MuxListener;
import ai.hoody.tunnel.mux.MuxStream;
import ai.hoody.tunnel.protocol.ControlCodec;
import ai.hoody.tunnel.protocol.ControlMessage;
import ai.hoody.tunnel.protocol.GoAwayCode;
import ai.hoody.tunnel.protocol.MalformedMessageException;
import ai.hoody.tunnel.protocol.Protocol;
import ai.hoody.tunnel.protocol.ResetCode;

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
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The laptop end of a session, for as long as the user wants it: connects, says HELLO, asks for its bindings, serves
 * the kit's OPENs, and when the socket drops reconnects by itself (capped exponential backoff with jitter), resuming
 * the session when the kit still has it and re-binding when it does not.
 *
 * <p>Threading: {@link #run} blocks the calling thread for the session's life. Each socket is a {@link Link}; its
 * messages arrive on the transport's thread and are handed on without blocking; a watchdog virtual thread per link
 * sends PINGs and drops a link that has gone silent; each stream runs a {@link TargetConnection} on its own
 * virtual thread.
 */
public final class DriverSession {

    /** Exit codes of the driver commands. */
    public static final int EXIT_OK = 0;
    public static final int EXIT_DISCONNECTED = 1;
    public static final int EXIT_BIND_REFUSED = 3;

    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
    private static final int DEFAULT_MAX_STREAMS = 16384;
    /**
     * What each stream lets the kit have in flight towards the laptop (PROTOCOL.md §5: granted with a WINDOW after
     * OPEN_OK). Larger than the kit's 256 KiB default because it is the laptop's memory, not the container's, and a
     * 1 MiB window carried ~15% more through PULL in bench/lib/ab.py; at most this much is buffered per stream.
     */
    static final int RECEIVE_WINDOW = 1 << 20;
    private static final long BACKOFF_BASE_MILLIS = 200;
    private static final long BACKOFF_CAP_MILLIS = 30_000;
    /** Silence of this many heartbeat intervals means the kit or the path to it is gone. */
    private static final int SILENT_INTERVALS = 3;

    /** How one socket's life ended, and so what the driver does next. */
    private enum Outcome { STOPPED, LOST, CONNECT_FAILED, BIND_REFUSED, KILLED }

    private final URI kit;
    private final List<BindSpec> specs;
    private final DriverEvents events;
    private final Map<Integer, BindSpec> byBindId = new ConcurrentHashMap<>();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile boolean stopping;
    private volatile Link link;
    private volatile String sessionId;
    private volatile String resumeToken;

    public DriverSession(URI kit, List<BindSpec> specs, DriverEvents events) {
        this.kit = kit;
        this.specs = List.copyOf(specs);
        this.events = events;
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

    /** Drops the current socket as if the network failed (tests, and the watchdog). */
    void dropLink() {
        Link l = link;
        if (l != null && l.transport != null) {
            l.transport.abort();
        }
    }

    /** One WebSocket to the kit, from connect to close. */
    private final class Link implements WebSocketTransport.Receiver {
        private final CompletableFuture<ControlMessage.HelloOk> helloOk = new CompletableFuture<>();
        private final Map<String, CompletableFuture<ControlMessage>> bindAnswers = new ConcurrentHashMap<>();
        private final CountDownLatch closed = new CountDownLatch(1);
        private volatile WebSocketTransport transport;
        private volatile Multiplexer mux;
        private volatile long lastHeardNanos = System.nanoTime();
        private volatile String closeReason = "";
        private volatile GoAwayCode goAway;
        private boolean sessionOpened;

        Outcome run() throws InterruptedException {
            try {
                transport = WebSocketTransport.connect(kit, this, CONNECT_TIMEOUT);
            } catch (IOException e) {
                events.emit("error", "error: " + e.getMessage(), "message", e.getMessage());
                return Outcome.CONNECT_FAILED;
            }
            ControlMessage.Resume resume = sessionId == null ? null : new ControlMessage.Resume(sessionId, resumeToken);
            transport.sendControl(ControlCodec.encode(new ControlMessage.Hello(Protocol.VERSION, "hoody-tunnel-driver",
                    Version.VERSION, DEFAULT_MAX_STREAMS, resume)));
            ControlMessage.HelloOk ok;
            try {
                ok = helloOk.get(CONNECT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (ExecutionException | TimeoutException e) {
                String why = e instanceof TimeoutException ? "no HELLO_OK within " + CONNECT_TIMEOUT.toSeconds() + " s" : e.getCause().getMessage();
                events.emit("error", "error: the kit did not open a session: " + why, "message", why);
                transport.abort();
                return Outcome.CONNECT_FAILED;
            }
            sessionOpened = true;
            boolean resumed = ok.resumed() && ok.sessionId().equals(sessionId);
            sessionId = ok.sessionId();
            resumeToken = ok.resumeToken();
            if (!resumed) {
                byBindId.clear();
                Outcome refused = bindAll();
                if (refused != null) {
                    return refused;
                }
            }
            Thread watchdog = Thread.ofVirtual().name("driver-heartbeat").start(() -> watch(ok.heartbeatIntervalMs()));
            try {
                closed.await();
            } finally {
                watchdog.interrupt();
            }
            if (stopping) {
                return Outcome.STOPPED;
            }
            events.emit("disconnected", "disconnected from the kit: " + closeReason, "reason", closeReason);
            return goAway == GoAwayCode.ADMIN_KILL ? Outcome.KILLED : Outcome.LOST;
        }

        /** @return null when every BIND was granted */
        private Outcome bindAll() throws InterruptedException {
            for (int i = 0; i < specs.size(); i++) {
                ControlMessage reply;
                try {
                    reply = bind(i);
                } catch (ExecutionException | TimeoutException e) {
                    String why = e instanceof TimeoutException ? "no answer to BIND" : e.getCause().getMessage();
                    events.emit("error", "error: " + why, "message", why);
                    transport.abort();
                    return Outcome.LOST;
                }
                if (reply instanceof ControlMessage.BindErr) {
                    leave(GoAwayCode.NORMAL);
                    return Outcome.BIND_REFUSED;
                }
            }
            return null;
        }

        /** A binding lost while we were away (BIND_REVOKED PARKED): ask for it again, keep running either way. */
        private void rebind(BindSpec spec) {
            try {
                bind(specs.indexOf(spec));
            } catch (ExecutionException | TimeoutException | InterruptedException e) {
                events.log("re-binding " + spec.target() + " failed: " + e);
            }
        }

        /** Sends the BIND of {@code specs[index]} (ref = index + 1), waits for its answer and reports it. */
        private ControlMessage bind(int index) throws ExecutionException, TimeoutException, InterruptedException {
            BindSpec spec = specs.get(index);
            String ref = Integer.toString(index + 1);
            CompletableFuture<ControlMessage> answer = new CompletableFuture<>();
            bindAnswers.put(ref, answer);
            transport.sendControl(ControlCodec.encode(new ControlMessage.Bind(ref, spec.mode().kind, spec.mode().mode,
                    spec.remotePort(), spec.remoteHost(), spec.takeover())));
            ControlMessage reply = answer.get(CONNECT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            if (reply instanceof ControlMessage.BindErr err) {
                events.emit("bind_err", "bind refused: " + err.code() + ": " + err.message(),
                        "code", err.code().name(), "message", err.message(), "mode", spec.mode().mode, "port", spec.remotePort());
            } else if (reply instanceof ControlMessage.BindOk bound) {
                events.emit("bind_ok", describe(spec, bound), "mode", spec.mode().mode, "port", bound.port(),
                        "bindId", bound.bindId(), "sessionId", sessionId, "publicUrl", bound.publicUrl(),
                        "target", spec.target(), "host", bound.host());
            }
            return reply;
        }

        /** PINGs every interval; drops the socket when the kit has been silent for {@link #SILENT_INTERVALS}. */
        private void watch(long intervalMillis) {
            long interval = Math.max(50, intervalMillis);
            long silentLimit = TimeUnit.MILLISECONDS.toNanos(interval * SILENT_INTERVALS);
            try {
                while (true) {
                    Thread.sleep(interval);
                    if (System.nanoTime() - lastHeardNanos > silentLimit) {
                        closeReason = "nothing heard from the kit for " + interval * SILENT_INTERVALS + " ms";
                        transport.abort();
                        onClosed(1006, closeReason);
                        return;
                    }
                    // Sent from another thread: a write blocks while the network is stalled, and noticing a stalled
                    // network is this thread's job (aborting the socket also frees any writer blocked on it).
                    String ping = ControlCodec.encode(new ControlMessage.Ping(System.currentTimeMillis()));
                    WebSocketTransport t = transport;
                    Thread.ofVirtual().name("driver-ping").start(() -> t.sendControl(ping));
                }
            } catch (InterruptedException e) {
                // the link is over
            }
        }

        void leave(GoAwayCode code) {
            WebSocketTransport t = transport;
            if (t == null) {
                return;
            }
            String goAway = ControlCodec.encode(new ControlMessage.GoAway(code, "driver stopping"));
            Thread.ofVirtual().name("driver-leave").start(() -> { // writes may block on a stalled network: bounded below
                t.sendControl(goAway);
                t.close(Protocol.CLOSE_NORMAL, "driver stopping");
            });
            try {
                if (!closed.await(2, TimeUnit.SECONDS)) {
                    t.abort();
                    onClosed(1006, "driver stopping");
                }
            } catch (InterruptedException e) {
                t.abort();
                Thread.currentThread().interrupt();
            }
        }

        // --- WebSocketTransport.Receiver ---

        @Override
        public void onControl(String text) {
            lastHeardNanos = System.nanoTime();
            ControlMessage m;
            try {
                m = ControlCodec.decode(text);
            } catch (MalformedMessageException e) {
                events.log("the kit sent a bad control message: " + e.getMessage());
                transport.close(Protocol.CLOSE_PROTOCOL_ERROR, e.getMessage());
                return;
            }
            switch (m) {
                case ControlMessage.HelloOk ok -> {
                    mux = new Multiplexer(transport, ok.streamWindow(), Math.max(ok.streamWindow(), RECEIVE_WINDOW), this::onOpen, MuxListener.NONE);
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
                case ControlMessage.BindOk ok -> {
                    // Registered here, not in bindAll(): an OPEN may follow the BIND_OK before bindAll() wakes up.
                    BindSpec spec = specForRef(ok.ref());
                    if (spec != null) {
                        byBindId.put(ok.bindId(), spec);
                    }
                    complete(ok.ref(), ok);
                }
                case ControlMessage.BindErr err -> complete(err.ref(), err);
                case ControlMessage.Ping p -> transport.sendControl(ControlCodec.encode(new ControlMessage.Pong(p.ts())));
                case ControlMessage.Pong ignored -> {
                }
                case ControlMessage.BindRevoked r -> {
                    BindSpec spec = byBindId.remove(r.bindId());
                    events.emit("bind_revoked", "binding " + r.bindId() + " revoked by the kit: " + r.reason(),
                            "bindId", r.bindId(), "reason", r.reason(), "target", spec == null ? null : spec.target());
                    if (spec != null && "PARKED".equals(r.reason())) {
                        // Dropped while we were away (a PULL port is freed at once): ask for it again.
                        Thread.ofVirtual().name("driver-rebind").start(() -> rebind(spec));
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
                    // HELLO, BIND, UNBIND are never sent by a kit; unknown types are ignored by the protocol's rule
                }
            }
        }

        private void complete(String ref, ControlMessage answer) {
            CompletableFuture<ControlMessage> f = ref == null ? null : bindAnswers.remove(ref);
            if (f != null) {
                f.complete(answer);
            }
        }

        @Override
        public void onFrame(ByteBuffer frame) {
            lastHeardNanos = System.nanoTime();
            Multiplexer m = mux;
            if (m == null) {
                transport.close(Protocol.CLOSE_PROTOCOL_ERROR, "stream frame before HELLO_OK");
                return;
            }
            try {
                m.receive(frame);
            } catch (MalformedMessageException e) {
                events.log("protocol error from the kit: " + e.getMessage());
                transport.close(Protocol.CLOSE_PROTOCOL_ERROR, e.getMessage());
            }
        }

        @Override
        public void onClosed(int code, String reason) {
            if (closed.getCount() == 0) {
                return;
            }
            if (closeReason.isEmpty()) {
                closeReason = "closed with " + code + (reason == null || reason.isEmpty() ? "" : " " + reason);
            }
            IOException gone = new IOException("the kit closed the socket: " + code + " " + reason);
            helloOk.completeExceptionally(gone);
            bindAnswers.values().forEach(f -> f.completeExceptionally(gone));
            Multiplexer m = mux;
            if (m != null) {
                m.terminate("socket closed");
            }
            closed.countDown();
        }

        private void onOpen(MuxStream stream, int bindId, String origin) {
            BindSpec spec = byBindId.get(bindId);
            if (spec == null) {
                stream.reset(ResetCode.BIND_GONE, "this driver holds no binding " + bindId);
                return;
            }
            Thread.ofVirtual().name("target-" + stream.id()).start(new TargetConnection(stream, spec, origin, events));
        }
    }

    private BindSpec specForRef(String ref) {
        try {
            int i = Integer.parseInt(ref) - 1;
            return i >= 0 && i < specs.size() ? specs.get(i) : null;
        } catch (NumberFormatException e) {
            return null;
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
