package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.mux.MemoryBudget;
import ai.hoody.tunnel.mux.MuxListener;
import ai.hoody.tunnel.mux.MuxStream;
import ai.hoody.tunnel.mux.StreamLimitException;
import ai.hoody.tunnel.mux.TunnelConnection;
import ai.hoody.tunnel.mux.WireSocket;
import ai.hoody.tunnel.protocol.BindErrorCode;
import ai.hoody.tunnel.protocol.BindMode;
import ai.hoody.tunnel.protocol.ControlMessage;
import ai.hoody.tunnel.protocol.FrameCodec;
import ai.hoody.tunnel.protocol.GoAwayCode;
import ai.hoody.tunnel.protocol.Protocol;
import ai.hoody.tunnel.protocol.ResetCode;
import org.jboss.logging.Logger;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A driver's session, from HELLO_OK to the end: its bindings and its lifecycle (docs/PROTOCOL.md §6.1). Policy only:
 * the socket, its streams, the writer and the heartbeat clock are the current {@link TunnelConnection}'s, which a
 * resume replaces. Knows nothing of Quarkus.
 *
 * <p>Threading: control messages arrive on the connection's reader; BIND and UNBIND then run one at a time on the
 * session's control virtual thread (binding a port blocks). Visitors call {@link #openStream} from their own threads.
 * Every change of {@link #state} — and every decision that depends on it, like the supervisor's — is made under
 * {@code this} lock, which is never held across I/O.
 */
public final class KitSession implements TunnelConnection.Handler {

    private static final Logger LOG = Logger.getLogger(KitSession.class);

    /** Where a session is in its life. */
    public enum State {
        /** A driver's socket is attached. */
        ATTACHED,
        /** The socket dropped without GOAWAY: EXPOSE bindings are parked until resume, takeover or the grace ends. */
        ORPHANED,
        /** Ending on purpose (GOAWAY either way, admin kill, shutdown, a timer): no new streams or bindings. */
        ENDING,
        /** Everything released. */
        ENDED
    }

    /** What the supervisor found to do with a session, decided and (for the ends) begun atomically. */
    enum Verdict { NOTHING, PING, HEARTBEAT_TIMEOUT, IDLE, ORPHAN_REAPED }

    private final String id;
    private final String resumeToken;
    /** Whose per-peer limits the session counts against (PeerLimits). */
    private final String peerKey;
    private final Instant started = Instant.now();
    private final int maxStreams;
    private final KitContext kit;
    private final AtomicLong connectionsGranted = new AtomicLong();
    private final Map<Integer, Binding> bindings = new ConcurrentHashMap<>();
    private final ExecutorService control;
    private final MuxListener muxListener;
    private final MemoryBudget.Account memory;
    /** BIND_REVOKED messages for bindings lost while parked, told to the driver right after HELLO_OK when it resumes. */
    private final List<ControlMessage.BindRevoked> lostWhileParked = new ArrayList<>();

    private volatile State state = State.ATTACHED;
    private volatile TunnelConnection connection;
    private volatile String peerAddr;
    private long orphanedNanos;
    private volatile long idleSinceNanos = System.nanoTime();
    /** BINDs in the current second (only the control thread touches these). */
    private int bindsThisSecond;
    private long bindSecondStartedNanos = System.nanoTime();

    private KitSession(String id, String resumeToken, String peerAddr, String peerKey, int maxStreams, KitContext kit) {
        this.id = id;
        this.peerKey = peerKey;
        this.resumeToken = resumeToken;
        this.peerAddr = peerAddr;
        this.maxStreams = maxStreams;
        this.kit = kit;
        this.control = Executors.newSingleThreadExecutor(Thread.ofVirtual().name("session-control-" + id).factory());
        this.memory = kit.memory.open(() -> {
            TunnelConnection c = connection;
            return c == null || c.mux() == null ? null : c.mux().streams();
        });
        this.muxListener = new MuxListener() {
            @Override
            public void bytesReceived(int n) {
                kit.metrics.bytesFromDriver(n);
            }

            @Override
            public void bytesSent(int n) {
                kit.metrics.bytesToDriver(n);
            }
        };
    }

    /**
     * A new session on {@code socket}: its connection is made with HELLO_OK as the first message, before the session
     * is visible to anyone else.
     */
    static KitSession open(String id, String resumeToken, String peerAddr, String peerKey, int maxStreams, WireSocket socket,
                           List<String> driverFeatures, KitContext kit) {
        KitSession s = new KitSession(id, resumeToken, peerAddr, peerKey, maxStreams, kit);
        s.connection = s.connect(socket, false, driverFeatures);
        return s;
    }

    /**
     * A connection for this session on {@code socket}, HELLO_OK already queued on it, confirming those of the
     * driver's HELLO features this kit uses on it.
     */
    private TunnelConnection connect(WireSocket socket, boolean resumed, List<String> driverFeatures) {
        KitConfig config = kit.config;
        boolean earlyData = config.earlyData() && driverFeatures.contains(Protocol.FEATURE_EARLY_DATA);
        TunnelConnection c = TunnelConnection.kit(id, socket, this, config.streamWindow(), maxStreams, memory,
                muxListener, kit.writerLimits, earlyData);
        c.send(new ControlMessage.HelloOk(id, resumeToken, maxStreams, config.heartbeatInterval().toMillis(),
                config.streamWindow(), FrameCodec.MAX_DATA_BYTES, resumed, config.heartbeatTimeout().toMillis(),
                config.openTimeout().toMillis(), earlyData ? List.of(Protocol.FEATURE_EARLY_DATA) : List.of()));
        return c;
    }

    TunnelConnection connection() {
        return connection;
    }

    // --- what the connection hands over (on its reader) ---

    @Override
    public void onControl(TunnelConnection from, ControlMessage message) {
        if (from != connection) {
            return; // a socket this session has left behind
        }
        switch (message) {
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
            case ControlMessage.Hello ignored -> from.fail("HELLO sent twice");
            default -> LOG.debugf("session %s: ignoring %s", id, message);
        }
    }

    @Override
    public void onProtocolError(TunnelConnection from, String reason) {
        LOG.warnf("session %s: protocol error: %s", id, reason);
    }

    @Override
    public void onClosed(TunnelConnection from, String reason) {
        LOG.infof("session %s: socket closed (%s)", id, reason);
        socketLost(from, reason);
    }

    private void bind(ControlMessage.Bind req) {
        long now = System.nanoTime();
        if (now - bindSecondStartedNanos >= 1_000_000_000L) {
            bindSecondStartedNanos = now;
            bindsThisSecond = 0;
        }
        ControlMessage answer = state != State.ATTACHED
                ? new ControlMessage.BindErr(req.ref(), BindErrorCode.INTERNAL, "the session is ending", req.port())
                : ++bindsThisSecond > kit.config.maxBindsPerSecond()
                ? new ControlMessage.BindErr(req.ref(), BindErrorCode.BIND_CAP_EXCEEDED, "more than "
                        + kit.config.maxBindsPerSecond() + " BINDs in a second; try again", req.port())
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
        // RESETs go out before the BIND_REVOKED: both are queued in order on the same writer.
        resetStreams(connection, b.bindId(), ResetCode.BIND_GONE, "UNBOUND");
        send(new ControlMessage.BindRevoked(bindId, "UNBOUND"));
    }

    /** The binding the session already holds on {@code port}, if any (an idempotent BIND answers with it). */
    Binding bindingOn(int port) {
        for (Binding b : bindings.values()) {
            if (b.port() == port) {
                return b;
            }
        }
        return null;
    }

    /** @return false when the session stopped taking bindings meanwhile: the caller must release the binding */
    synchronized boolean added(Binding binding) {
        if (state != State.ATTACHED) { // ending, or parked while this BIND ran: its answer could not be delivered
            return false;
        }
        bindings.put(binding.bindId(), binding);
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
        ControlMessage.BindRevoked revoked = new ControlMessage.BindRevoked(binding.bindId(), "TAKEOVER");
        TunnelConnection attached;
        synchronized (this) {
            attached = state == State.ATTACHED ? connection : null;
            if (attached == null) {
                lostWhileParked.add(revoked);
            }
        }
        if (attached != null) {
            TunnelConnection c = attached;
            c.send(revoked);
            String reason = "port " + binding.port() + " taken over";
            for (MuxStream s : List.copyOf(c.mux().streams())) {
                if (s.bindId() == binding.bindId()) {
                    s.resetIfNotOpened(ResetCode.BIND_TAKEOVER, reason);
                }
            }
            long deadline = System.nanoTime() + kit.config.takeoverDrain().toNanos();
            Thread.ofVirtual().name("takeover-drain-" + binding.port()).start(() -> {
                try {
                    c.mux().awaitStreamsGone(s -> s.bindId() == binding.bindId(), deadline);
                } catch (InterruptedException ignored) {
                    // reset what is left now
                }
                resetStreams(c, binding.bindId(), ResetCode.BIND_TAKEOVER, reason);
            });
        }
    }

    private static void resetStreams(TunnelConnection c, int bindId, ResetCode code, String reason) {
        for (MuxStream s : List.copyOf(c.mux().streams())) {
            if (s.bindId() == bindId) {
                s.reset(code, reason);
            }
        }
    }

    /**
     * Opens a stream for a new connection on one of this session's bindings.
     *
     * @throws VisitorRefusedException 503 when the session is parked, ending, at its stream cap, or holds more than its
     *                                 share of the kit's memory while memory is short
     */
    MuxStream openStream(Binding binding, String origin) throws VisitorRefusedException {
        TunnelConnection c = connection;
        switch (state) {
            case ORPHANED -> throw VisitorRefusedException.reconnecting();
            case ENDING, ENDED -> throw new VisitorRefusedException(503, "the laptop's session is ending", 1);
            case ATTACHED -> {
            }
        }
        if (!kit.memory.admits(memory)) {
            kit.metrics.memoryRefusal();
            throw new VisitorRefusedException(503, "the kit is short of memory for this session's streams", 1);
        }
        MuxStream s;
        try {
            s = c.openStream(binding.bindId(), origin);
        } catch (StreamLimitException e) {
            if (c.isClosed() || c.mux().isTerminated()) {
                throw VisitorRefusedException.reconnecting(); // the socket went at this very moment
            }
            throw new VisitorRefusedException(503, "the laptop's session is at its cap of " + maxStreams + " streams", 1);
        }
        connectionsGranted.incrementAndGet();
        kit.metrics.streamOpened();
        // Checked after the stream is registered: a takeover that removed the binding before this line is seen
        // here, one after it finds the stream in revokedByTakeover(); either way the visitor is handed over.
        if (bindings.get(binding.bindId()) != binding) {
            s.resetIfNotOpened(ResetCode.BIND_GONE, "binding " + binding.bindId() + " is no longer this session's");
        }
        return s;
    }

    /** Whether {@code c} is still this session's socket (a visitor whose stream was reset on an older one retries). */
    boolean isCurrent(TunnelConnection c) {
        return c == connection;
    }

    void send(ControlMessage message) {
        connection.send(message);
    }

    // --- resume ---

    /**
     * A resume: the driver came back on {@code socket}. In one step under the session's lock the new connection is
     * made with HELLO_OK and the BIND_REVOKEDs of what was lost while parked queued first, then published: nothing of
     * the session (an OPEN for a visitor, say) can reach the new socket before HELLO_OK. Streams of the old socket end
     * (their bytes were in flight on it); bindings and counters carry on.
     *
     * @return the new connection, or null when the session can no longer be resumed
     */
    TunnelConnection attach(WireSocket socket, String newPeer, List<String> driverFeatures) {
        TunnelConnection old;
        TunnelConnection fresh;
        synchronized (this) {
            if (state == State.ENDING || state == State.ENDED) {
                return null;
            }
            old = connection;
            fresh = connect(socket, true, driverFeatures);
            for (ControlMessage.BindRevoked r : lostWhileParked) {
                fresh.send(r);
            }
            lostWhileParked.clear();
            connection = fresh;
            peerAddr = newPeer;
            state = State.ATTACHED;
        }
        old.terminateStreams("resumed on another socket");
        old.close(Protocol.CLOSE_NORMAL, "resumed on another socket");
        kit.metrics.resumed();
        LOG.infof("session %s resumed by %s", id, newPeer);
        return fresh;
    }

    boolean tokenMatches(String token) {
        return token != null && java.security.MessageDigest.isEqual(
                token.getBytes(java.nio.charset.StandardCharsets.UTF_8), resumeToken.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    // --- the end ---

    /**
     * The socket {@code from} is gone. Without a GOAWAY before it, the session is parked as an orphan. Called before
     * the socket's streams are ended, so a visitor that wakes up from that already sees the session parked.
     */
    void socketLost(TunnelConnection from, String reason) {
        boolean releaseNow = false;
        List<Binding> freed = new ArrayList<>();
        synchronized (this) {
            if (from != connection || state == State.ORPHANED || state == State.ENDED) {
                return; // an old socket of a resumed session, or already handled
            }
            if (state == State.ENDING) {
                releaseNow = true;
            } else {
                state = State.ORPHANED;
                orphanedNanos = System.nanoTime();
                for (Binding b : List.copyOf(bindings.values())) {
                    if (b.mode() == BindMode.PULL) { // a PULL client gets nothing from a parked port: free it now
                        bindings.remove(b.bindId());
                        freed.add(b);
                        lostWhileParked.add(new ControlMessage.BindRevoked(b.bindId(), "PARKED"));
                    }
                }
            }
        }
        if (releaseNow) {
            release();
            return;
        }
        freed.forEach(kit.bindings::release);
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

    /**
     * The supervisor's look at this session: decides what is due and, for an end, begins it (ENDING) in the same
     * step under the session's lock — so a resume or a BIND that lands between the decision and the action is seen by
     * one or the other, never lost. The caller finishes an end with {@link #finishEnding} off the event loop.
     */
    synchronized Verdict inspect(long now) {
        KitConfig c = kit.config;
        switch (state) {
            case ATTACHED -> {
                if (connection.nanosSinceHeard(now) >= c.heartbeatTimeout().toNanos()) {
                    state = State.ENDING;
                    return Verdict.HEARTBEAT_TIMEOUT;
                }
                if (nanosIdle(now) >= c.idleSessionTimeout().toNanos()) {
                    state = State.ENDING;
                    return Verdict.IDLE;
                }
                return connection.nanosSincePing(now) >= c.heartbeatInterval().toNanos() ? Verdict.PING : Verdict.NOTHING;
            }
            case ORPHANED -> {
                if (now - orphanedNanos >= c.takeoverGrace().toNanos()) {
                    state = State.ENDING;
                    return Verdict.ORPHAN_REAPED;
                }
                return Verdict.NOTHING;
            }
            default -> {
                return Verdict.NOTHING;
            }
        }
    }

    void ping() {
        connection.ping();
    }

    /** Resets the streams that carried no byte either way for {@code stream-idle-timeout} (their sockets too). */
    void resetIdleStreams(long now) {
        TunnelConnection c = connection;
        if (state != State.ATTACHED || c.mux() == null) {
            return;
        }
        long limit = kit.config.streamIdleTimeout().toNanos();
        for (MuxStream s : List.copyOf(c.mux().streams())) {
            if (s.nanosSinceActive(now) >= limit) {
                kit.metrics.streamIdleReset();
                s.reset(ResetCode.CANCEL, "no bytes either way for " + kit.config.streamIdleTimeout().toSeconds() + " s");
            }
        }
    }

    /**
     * After {@link #beginEnding} (or a verdict) made the session ENDING: bindings released, GOAWAY, streams given up
     * to {@code grace}, the socket closed, everything released.
     */
    void finishEnding(GoAwayCode code, Duration grace, boolean orphan) {
        releaseBindings();
        if (!orphan) {
            TunnelConnection c = connection;
            if (code != null) {
                kit.metrics.goAway("kit", code);
                c.send(new ControlMessage.GoAway(code, switch (code) {
                    case ADMIN_KILL -> "killed by an operator";
                    case SHUTDOWN -> "the kit is shutting down";
                    case IDLE_TIMEOUT -> "idle";
                    default -> "session ending";
                }));
            }
            try {
                c.mux().awaitStreamsGone(s -> true, System.nanoTime() + grace.toNanos());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            c.close(Protocol.CLOSE_NORMAL, code == null ? "session ended" : code.name());
        }
        release();
    }

    /** Releases everything. Idempotent. */
    void release() {
        TunnelConnection c;
        synchronized (this) {
            if (state == State.ENDED) {
                return;
            }
            state = State.ENDED;
            c = connection;
        }
        releaseBindings();
        c.terminateStreams("session ended");
        control.shutdownNow();
        memory.close();
        kit.sessions.remove(this);
        kit.peers.removeSession(peerKey);
        LOG.infof("session %s ended", id);
    }

    /** Closes every listener of this session and frees its ports (no BIND_REVOKED: the session is ending). */
    private void releaseBindings() {
        for (Binding b : List.copyOf(bindings.values())) {
            bindings.remove(b.bindId());
            kit.bindings.release(b);
        }
    }

    /** How long the session has had neither streams nor bindings (0 when it has some). */
    private long nanosIdle(long now) {
        if (connection.activeStreams() > 0 || !bindings.isEmpty()) {
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
        return Protocol.SUBPROTOCOL_V1;
    }

    public Instant started() {
        return started;
    }

    public long connectionsGranted() {
        return connectionsGranted.get();
    }

    public int activeStreams() {
        return connection.activeStreams();
    }

    public int maxStreams() {
        return maxStreams;
    }

    public boolean isV2() {
        return false;
    }

    /** Bytes of stream data this session holds in the kit now (its share of the memory budget). */
    public long bufferedBytes() {
        return memory.used();
    }

    public Collection<Binding> bindings() {
        return bindings.values();
    }
}
