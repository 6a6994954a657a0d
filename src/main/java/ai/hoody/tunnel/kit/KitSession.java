package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.mux.FrameTransport;
import ai.hoody.tunnel.mux.Multiplexer;
import ai.hoody.tunnel.mux.MuxListener;
import ai.hoody.tunnel.mux.MuxStream;
import ai.hoody.tunnel.mux.StreamResetException;
import ai.hoody.tunnel.protocol.BindErrorCode;
import ai.hoody.tunnel.protocol.BindMode;
import ai.hoody.tunnel.protocol.ControlCodec;
import ai.hoody.tunnel.protocol.ControlMessage;
import ai.hoody.tunnel.protocol.GoAwayCode;
import ai.hoody.tunnel.protocol.Protocol;
import ai.hoody.tunnel.protocol.ResetCode;
import org.jboss.logging.Logger;

import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A driver's session, from HELLO_OK to the end: its streams, its bindings, its counters and its lifecycle
 * (docs/PROTOCOL.md §6.1). Knows nothing of Quarkus; the socket under it is a {@link FrameTransport}, which a resume
 * replaces.
 *
 * <p>Threading: control messages run one at a time on the session's control virtual thread (BIND opens sockets);
 * stream frames are handed to the {@link Multiplexer} by the socket's reader; visitors call {@link #openStream} from
 * their own threads; the {@link SessionSupervisor} reads the timestamps. State changes take {@code this} lock.
 */
public final class KitSession {

    private static final Logger LOG = Logger.getLogger(KitSession.class);

    /** Where a session is in its life. */
    public enum State {
        /** A driver's socket is attached. */
        ATTACHED,
        /** The socket dropped without GOAWAY: EXPOSE bindings are parked until resume, takeover or the grace ends. */
        ORPHANED,
        /** Ending on purpose (GOAWAY either way, admin kill, shutdown): no new streams or bindings. */
        ENDING,
        /** Everything released. */
        ENDED
    }

    private final String id;
    private final String resumeToken;
    private final String protocol;
    private final Instant started = Instant.now();
    private final int maxStreams;
    private final KitContext kit;
    /** One permit per stream the session may still open: the stream cap, visible. */
    private final Semaphore streamPermits;
    private final AtomicLong connectionsGranted = new AtomicLong();
    private final Map<Integer, Binding> bindings = new ConcurrentHashMap<>();
    private final ExecutorService control;
    private final MuxListener muxListener;

    private volatile State state = State.ATTACHED;
    /** BIND_REVOKED messages for bindings lost while parked, told to the driver when it resumes. */
    private final List<ControlMessage.BindRevoked> lostWhileParked = new java.util.concurrent.CopyOnWriteArrayList<>();
    private volatile FrameTransport transport;
    private volatile Multiplexer mux;
    private volatile String peerAddr;
    private volatile long lastHeardNanos = System.nanoTime();
    private volatile long lastPingNanos = System.nanoTime();
    private volatile long orphanedNanos;
    private volatile long idleSinceNanos = System.nanoTime();

    KitSession(String id, String resumeToken, String peerAddr, int maxStreams, FrameTransport transport, KitContext kit) {
        this.id = id;
        this.resumeToken = resumeToken;
        this.peerAddr = peerAddr;
        this.protocol = Protocol.SUBPROTOCOL_V1;
        this.maxStreams = maxStreams;
        this.kit = kit;
        this.streamPermits = new Semaphore(maxStreams);
        this.control = Executors.newSingleThreadExecutor(Thread.ofVirtual().name("session-control-" + id).factory());
        this.muxListener = new MuxListener() {
            @Override
            public void streamClosed(MuxStream stream) {
                streamPermits.release();
            }

            @Override
            public void bytesReceived(int n) {
                kit.metrics.bytesFromDriver(n);
            }

            @Override
            public void bytesSent(int n) {
                kit.metrics.bytesToDriver(n);
            }
        };
        this.transport = transport;
        this.mux = new Multiplexer(transport, kit.config.streamWindow(), null, muxListener);
    }

    // --- what the socket hands over ---

    Multiplexer mux() {
        return mux;
    }

    FrameTransport transport() {
        return transport;
    }

    /** Any message from the driver proves it is alive. */
    void heard() {
        lastHeardNanos = System.nanoTime();
    }

    /** A control message after HELLO; BIND and UNBIND are queued for the control thread. */
    void onControl(ControlMessage message) {
        switch (message) {
            case ControlMessage.Ping p -> send(new ControlMessage.Pong(p.ts()));
            case ControlMessage.Pong ignored -> {
            }
            case ControlMessage.Bind b -> control.execute(() -> bind(b));
            case ControlMessage.Unbind u -> control.execute(() -> unbind(u.bindId()));
            case ControlMessage.GoAway g -> {
                LOG.infof("session %s: driver said GOAWAY %s (%s)", id, g.code(), g.message());
                kit.metrics.goAway("driver", g.code());
                // ENDING now, on the reader: the close that follows the GOAWAY must not park the session.
                if (beginEnding() == State.ATTACHED) {
                    Thread.ofVirtual().name("session-goaway-" + id).start(() -> finishEnding(null, kit.config.shutdownDrain(), false));
                }
            }
            default -> LOG.debugf("session %s: ignoring %s", id, message);
        }
    }

    private void bind(ControlMessage.Bind req) {
        ControlMessage answer = state != State.ATTACHED
                ? new ControlMessage.BindErr(req.ref(), BindErrorCode.INTERNAL, "the session is ending", req.port())
                : kit.bindings.bind(this, req, kit);
        if (answer instanceof ControlMessage.BindErr err) {
            kit.metrics.bindError(err.code());
            LOG.infof("session %s: BIND %s/%s port %d refused: %s %s", id, req.kind(), req.mode(), req.port(), err.code(), err.message());
            send(answer);
        } // a BIND_OK was sent by the table as the binding went live
    }

    private void unbind(int bindId) {
        Binding b = bindings.remove(bindId);
        if (b == null) {
            send(new ControlMessage.BindRevoked(bindId, "UNKNOWN_BINDING"));
            return;
        }
        kit.bindings.release(b);
        resetStreams(b.bindId(), ResetCode.BIND_GONE, "UNBOUND");
        send(new ControlMessage.BindRevoked(bindId, "UNBOUND"));
    }

    /** @return false when the session stopped taking bindings meanwhile: the caller must release the binding */
    boolean added(Binding binding) {
        bindings.put(binding.bindId(), binding);
        if (state != State.ATTACHED) { // ending, or parked while this BIND ran: its answer could not be delivered
            bindings.remove(binding.bindId());
            return false;
        }
        return true;
    }

    /**
     * Another session took one of ours over. Streams still waiting for OPEN_OK are reset at once (their visitors are
     * handed to the new owner, nothing of theirs was sent yet); established ones may finish for up to the takeover
     * drain, then are reset too.
     */
    void revokedByTakeover(Binding binding) {
        if (bindings.remove(binding.bindId()) == null) {
            return;
        }
        LOG.infof("session %s: binding %d on port %d taken over", id, binding.bindId(), binding.port());
        if (state == State.ATTACHED) {
            send(new ControlMessage.BindRevoked(binding.bindId(), "TAKEOVER"));
        } else {
            lostWhileParked.add(new ControlMessage.BindRevoked(binding.bindId(), "TAKEOVER"));
        }
        Multiplexer m = mux;
        for (MuxStream s : List.copyOf(m.streams())) {
            if (s.bindId() == binding.bindId()) {
                s.resetIfNotOpened(ResetCode.BIND_TAKEOVER, "port " + binding.port() + " taken over");
            }
        }
        long drain = kit.config.takeoverDrain().toMillis();
        Thread.ofVirtual().name("takeover-drain-" + binding.port()).start(() -> {
            long deadline = System.currentTimeMillis() + drain;
            try {
                while (hasStreams(m, binding.bindId()) && System.currentTimeMillis() < deadline) {
                    Thread.sleep(20);
                }
            } catch (InterruptedException ignored) {
                // reset what is left now
            }
            for (MuxStream s : List.copyOf(m.streams())) {
                if (s.bindId() == binding.bindId()) {
                    s.reset(ResetCode.BIND_TAKEOVER, "port " + binding.port() + " taken over");
                }
            }
        });
    }

    private static boolean hasStreams(Multiplexer m, int bindId) {
        for (MuxStream s : m.streams()) {
            if (s.bindId() == bindId) {
                return true;
            }
        }
        return false;
    }

    private void resetStreams(int bindId, ResetCode code, String reason) {
        for (MuxStream s : List.copyOf(mux.streams())) {
            if (s.bindId() == bindId) {
                s.reset(code, reason);
            }
        }
    }

    /**
     * Opens a stream for a new connection on one of this session's bindings.
     *
     * @throws VisitorRefusedException 503 when the session is parked, ending or at its stream cap
     */
    MuxStream openStream(Binding binding, String origin) throws VisitorRefusedException {
        switch (state) {
            case ORPHANED -> throw new VisitorRefusedException(503, "the laptop is reconnecting", 5);
            case ENDING, ENDED -> throw new VisitorRefusedException(503, "the laptop's session is ending", 1);
            case ATTACHED -> {
            }
        }
        if (!streamPermits.tryAcquire()) {
            throw new VisitorRefusedException(503, "the laptop's session is at its cap of " + maxStreams + " streams", 1);
        }
        try {
            MuxStream s = mux.open(binding.bindId(), origin);
            connectionsGranted.incrementAndGet();
            kit.metrics.streamOpened();
            // Checked after the stream is registered: a takeover that removed the binding before this line is seen
            // here, one after it finds the stream in revokedByTakeover(); either way the visitor is handed over.
            if (bindings.get(binding.bindId()) != binding) {
                s.resetIfNotOpened(ResetCode.BIND_GONE, "binding " + binding.bindId() + " is no longer this session's");
            }
            return s;
        } catch (StreamResetException e) {
            streamPermits.release();
            throw new VisitorRefusedException(503, "the laptop is reconnecting", 5);
        }
    }

    void send(ControlMessage message) {
        transport.sendControl(ControlCodec.encode(message));
    }

    void ping() {
        lastPingNanos = System.nanoTime();
        send(new ControlMessage.Ping(System.currentTimeMillis()));
    }

    // --- resume ---

    /**
     * A resume: the driver came back on a new socket. Streams of the old socket are gone (their bytes were in
     * flight on it); bindings and counters carry on.
     *
     * @return false when the session can no longer be resumed
     */
    synchronized boolean attach(FrameTransport newTransport, String newPeer) {
        if (state == State.ENDING || state == State.ENDED) {
            return false;
        }
        FrameTransport old = transport;
        Multiplexer oldMux = mux;
        transport = newTransport;
        mux = new Multiplexer(newTransport, kit.config.streamWindow(), null, muxListener);
        peerAddr = newPeer;
        lastHeardNanos = System.nanoTime();
        state = State.ATTACHED;
        oldMux.terminate("resumed on another socket");
        if (old != newTransport) {
            old.close(Protocol.CLOSE_NORMAL, "resumed on another socket");
        }
        kit.metrics.resumed();
        LOG.infof("session %s resumed by %s", id, newPeer);
        return true;
    }

    /** After HELLO_OK(resumed): tells the driver which bindings it lost while parked, so it can bind them again. */
    void afterResume() {
        for (ControlMessage.BindRevoked r : lostWhileParked) {
            send(r);
        }
        lostWhileParked.clear();
    }

    boolean tokenMatches(String token) {
        return token != null && java.security.MessageDigest.isEqual(
                token.getBytes(java.nio.charset.StandardCharsets.UTF_8), resumeToken.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    // --- the end ---

    /** The socket {@code from} is gone. Without a GOAWAY before it, the session is parked as an orphan. */
    synchronized void socketLost(FrameTransport from, String reason) {
        if (from != transport || state == State.ORPHANED || state == State.ENDED) {
            return; // an old socket of a resumed session, or already handled
        }
        mux.terminate(reason);
        if (state == State.ENDING) {
            release();
            return;
        }
        state = State.ORPHANED;
        orphanedNanos = System.nanoTime();
        for (Binding b : List.copyOf(bindings.values())) {
            if (b.mode() == BindMode.PULL) { // a PULL client gets nothing from a parked port: free it now
                bindings.remove(b.bindId());
                kit.bindings.release(b);
                lostWhileParked.add(new ControlMessage.BindRevoked(b.bindId(), "PARKED"));
            }
        }
        kit.metrics.orphaned();
        LOG.infof("session %s orphaned (%s): %d expose bindings parked for %d s", id, reason, bindings.size(),
                kit.config.takeoverGrace().toSeconds());
    }

    /**
     * The admin kill: GOAWAY(ADMIN_KILL), bindings dropped at once (no parking), in-flight streams given up to
     * {@code grace}, then the socket closed. An orphan is dropped at once. Returns at once.
     */
    public void kill(Duration grace) {
        LOG.infof("session %s: killed by an operator (grace %d ms)", id, grace.toMillis());
        kit.metrics.killed();
        Thread.ofVirtual().name("session-kill-" + id).start(() -> end(GoAwayCode.ADMIN_KILL, grace));
    }

    /**
     * Ends the session on purpose: no new streams, bindings dropped, GOAWAY sent (when {@code code} is not null),
     * in-flight streams given up to {@code grace} to finish, then the socket closed. Blocks.
     */
    void end(GoAwayCode code, Duration grace) {
        State was = beginEnding();
        if (was == State.ATTACHED || was == State.ORPHANED) {
            finishEnding(code, grace, was == State.ORPHANED);
        }
    }

    /** @return the state before; the session is ENDING (or already ENDED) afterwards */
    private synchronized State beginEnding() {
        State was = state;
        if (was == State.ATTACHED || was == State.ORPHANED) {
            state = State.ENDING;
        }
        return was;
    }

    private void finishEnding(GoAwayCode code, Duration grace, boolean orphan) {
        releaseBindings();
        if (!orphan) {
            if (code != null) {
                kit.metrics.goAway("kit", code);
                send(new ControlMessage.GoAway(code, switch (code) {
                    case ADMIN_KILL -> "killed by an operator";
                    case SHUTDOWN -> "the kit is shutting down";
                    case IDLE_TIMEOUT -> "idle";
                    default -> "session ending";
                }));
            }
            long deadline = System.nanoTime() + grace.toNanos();
            try {
                while (mux.activeStreams() > 0 && System.nanoTime() < deadline) {
                    Thread.sleep(10);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            transport.close(Protocol.CLOSE_NORMAL, code == null ? "session ended" : code.name());
        }
        release();
    }

    /** Releases everything. Idempotent. */
    synchronized void release() {
        if (state == State.ENDED) {
            return;
        }
        state = State.ENDED;
        releaseBindings();
        mux.terminate("session ended");
        control.shutdownNow();
        kit.sessions.remove(this);
        LOG.infof("session %s ended", id);
    }

    /** Closes every listener of this session and frees its ports (no BIND_REVOKED: the session is ending). */
    private void releaseBindings() {
        for (Binding b : List.copyOf(bindings.values())) {
            bindings.remove(b.bindId());
            kit.bindings.release(b);
        }
    }

    // --- what the supervisor reads ---

    long nanosSinceHeard(long now) {
        return now - lastHeardNanos;
    }

    long nanosSincePing(long now) {
        return now - lastPingNanos;
    }

    long nanosOrphaned(long now) {
        return now - orphanedNanos;
    }

    /** How long the session has had neither streams nor bindings (0 when it has some). */
    long nanosIdle(long now) {
        if (mux.activeStreams() > 0 || !bindings.isEmpty()) {
            idleSinceNanos = now;
            return 0;
        }
        return now - idleSinceNanos;
    }

    // --- what operators see ---

    public State state() {
        return state;
    }

    public boolean isOrphaned() {
        return state == State.ORPHANED;
    }

    public boolean isEnding() {
        return state == State.ENDING || state == State.ENDED;
    }

    public String id() {
        return id;
    }

    String resumeToken() {
        return resumeToken;
    }

    public String peerAddr() {
        return peerAddr;
    }

    public String protocol() {
        return protocol;
    }

    public Instant started() {
        return started;
    }

    public long connectionsGranted() {
        return connectionsGranted.get();
    }

    public int activeStreams() {
        return mux.activeStreams();
    }

    public int maxStreams() {
        return maxStreams;
    }

    public boolean isV2() {
        return false;
    }

    public Collection<Binding> bindings() {
        return bindings.values();
    }
}
