package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.mux.MemoryBudget;
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

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
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
 *
 * <p>A {@code hoody-tunnel.v2} session has more than one socket (docs/PROTOCOL.md §12): the primary ({@link #connection},
 * shard 0) carries every control message and some streams; secondaries ({@link #shards} 1..n-1, joined with JOIN)
 * carry streams only. Losing the primary is losing the session's socket, as in v1 (orphaned, its secondaries closed);
 * losing a secondary detaches that shard only: its streams end, the session carries on. A v1 session is the same
 * object with one shard.
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
    /** v2: what a secondary shows in JOIN (HELLO_OK.joinToken); null for v1. */
    private final String joinToken;
    /** Shard sockets by index, 0 the primary; a null slot is a secondary not joined now. Written under {@code this}. */
    private final KitShard[] shards;
    /** Whose per-peer limits the session counts against (PeerLimits). */
    private final String peerKey;
    private final Instant started = Instant.now();
    private final int maxStreams;
    private final KitContext kit;
    private final AtomicLong connectionsGranted = new AtomicLong();
    private final Map<Integer, Binding> bindings = new ConcurrentHashMap<>();
    private final ExecutorService control;
    private final MemoryBudget.Account memory;
    /** BIND_REVOKED messages for bindings lost while parked, told to the driver right after HELLO_OK when it resumes. */
    private final List<ControlMessage.BindRevoked> lostWhileParked = new ArrayList<>();

    private volatile State state = State.ATTACHED;
    private volatile TunnelConnection connection;
    /** Whether the driver's streams take DATA before OPEN_OK (early-data, confirmed in the last HELLO_OK); all shards. */
    private volatile boolean earlyData;
    private volatile String peerAddr;
    private long orphanedNanos;
    private volatile long idleSinceNanos = System.nanoTime();
    /** BINDs in the current second (only the control thread touches these). */
    private int bindsThisSecond;
    private long bindSecondStartedNanos = System.nanoTime();

    private KitSession(String id, String resumeToken, String joinToken, int shardCount, String peerAddr, String peerKey,
                       int maxStreams, KitContext kit) {
        this.id = id;
        this.peerKey = peerKey;
        this.resumeToken = resumeToken;
        this.joinToken = joinToken;
        this.shards = new KitShard[shardCount];
        this.peerAddr = peerAddr;
        this.maxStreams = maxStreams;
        this.kit = kit;
        this.control = Executors.newSingleThreadExecutor(Thread.ofVirtual().name("session-control-" + id).factory());
        this.memory = kit.memory.open(this::allStreams);
    }

    /**
     * A new session on {@code socket}: its connection is made with HELLO_OK as the first message, before the session
     * is visible to anyone else.
     */
    static KitSession open(String id, String resumeToken, String peerAddr, String peerKey, int maxStreams, WireSocket socket,
                           List<String> driverFeatures, KitContext kit) {
        return open(id, resumeToken, null, 1, peerAddr, peerKey, maxStreams, socket, driverFeatures, kit);
    }

    /**
     * As above; a v2 session when {@code joinToken} is not null, with {@code shardCount} shards (the primary
     * included) granted in its HELLO_OK.
     */
    static KitSession open(String id, String resumeToken, String joinToken, int shardCount, String peerAddr, String peerKey,
                           int maxStreams, WireSocket socket, List<String> driverFeatures, KitContext kit) {
        KitSession s = new KitSession(id, resumeToken, joinToken, shardCount, peerAddr, peerKey, maxStreams, kit);
        s.connection = s.connect(socket, peerAddr, false, driverFeatures);
        return s;
    }

    /**
     * A primary connection for this session on {@code socket}, HELLO_OK already queued on it, confirming those of the
     * driver's HELLO features this kit uses on the session (its secondaries use them too); shard 0 set.
     */
    private TunnelConnection connect(WireSocket socket, String peer, boolean resumed, List<String> driverFeatures) {
        KitShard shard = new KitShard(0, peer);
        KitConfig config = kit.config;
        boolean earlyData = config.earlyData() && driverFeatures.contains(Protocol.FEATURE_EARLY_DATA);
        TunnelConnection c = TunnelConnection.kit(id, socket, this, config.streamWindow(), maxStreams, memory,
                shard.listener(kit.metrics), kit.writerLimits, earlyData);
        shard.connectedAs(c);
        c.send(new ControlMessage.HelloOk(id, resumeToken, maxStreams, config.heartbeatInterval().toMillis(),
                config.streamWindow(), FrameCodec.MAX_DATA_BYTES, resumed, config.heartbeatTimeout().toMillis(),
                config.openTimeout().toMillis(), isV2() ? shards.length : 0, joinToken,
                earlyData ? List.of(Protocol.FEATURE_EARLY_DATA) : List.of()));
        this.earlyData = earlyData;
        shards[0] = shard;
        return c;
    }

    /** Whether the driver takes a stream's first bytes before its OPEN_OK (early-data, PROTOCOL.md §4.1), on every shard. */
    boolean earlyData() {
        return earlyData;
    }

    // --- v2 shards ---

    /** Why a JOIN was refused: the close code and reason of docs/PROTOCOL.md §12.3. */
    record JoinRefusal(String metric, int code, String reason) {
    }

    /** Checks a JOIN against this session; null when it may join (then call {@link #join}). */
    JoinRefusal checkJoin(ControlMessage.Join join) {
        if (!isV2()) {
            return new JoinRefusal("join_unknown_session", Protocol.CLOSE_POLICY, "unknown session");
        }
        if (!secretMatches(join.joinToken(), joinToken)) {
            return new JoinRefusal("join_token", Protocol.CLOSE_POLICY, "join token not accepted");
        }
        if (join.shard() < 1 || join.shard() >= shards.length) {
            return new JoinRefusal("join_shard_range", Protocol.CLOSE_POLICY, "shard " + join.shard()
                    + " out of range: this session has secondaries 1.." + (shards.length - 1));
        }
        return switch (state) {
            case ATTACHED -> null;
            case ORPHANED -> new JoinRefusal("join_not_attached", Protocol.CLOSE_TRY_AGAIN_LATER,
                    "the session's primary is not attached; JOIN after its HELLO_OK");
            case ENDING, ENDED -> new JoinRefusal("join_ending", Protocol.CLOSE_POLICY, "the session is ending");
        };
    }

    /**
     * Attaches {@code socket} as secondary shard {@code index}, JOIN_OK queued on it first. A shard already joined at
     * that index is replaced: its streams end and its socket is closed (a driver re-joins when it believes the old
     * socket dead, which the kit may not have noticed yet).
     *
     * @return the shard's connection, or null when the session stopped being attached meanwhile
     */
    TunnelConnection join(int index, WireSocket socket, String peer) {
        KitShard shard = new KitShard(index, peer);
        TunnelConnection c = TunnelConnection.kit(id + "/" + index, socket, this, kit.config.streamWindow(), maxStreams,
                memory, shard.listener(kit.metrics), kit.writerLimits, earlyData);
        shard.connectedAs(c);
        c.send(new ControlMessage.JoinOk(id, index));
        KitShard replaced;
        synchronized (this) {
            if (state != State.ATTACHED) {
                return null;
            }
            replaced = shards[index];
            shards[index] = shard;
        }
        if (replaced != null) {
            detach(replaced, "replaced by a new JOIN of shard " + index);
        }
        kit.metrics.shardJoined();
        LOG.infof("session %s: shard %d joined from %s", id, index, peer);
        return c;
    }

    /** Ends a secondary's streams and closes its socket (it was already taken out of {@link #shards}). */
    private void detach(KitShard shard, String reason) {
        TunnelConnection c = shard.connection();
        c.terminateStreams(reason);
        c.close(Protocol.CLOSE_NORMAL, reason);
    }

    /** The primary and every secondary joined now. */
    private List<TunnelConnection> connections() {
        List<TunnelConnection> all = new ArrayList<>(shards.length);
        all.add(connection);
        for (int i = 1; i < shards.length; i++) {
            KitShard s = shards[i];
            if (s != null) {
                all.add(s.connection());
            }
        }
        return all;
    }

    /** Every stream of every shard (the memory budget's view of the session). */
    private Collection<MuxStream> allStreams() {
        TunnelConnection primary = connection;
        if (primary == null) {
            return null;
        }
        if (shards.length == 1) {
            return primary.mux() == null ? null : primary.mux().streams();
        }
        List<MuxStream> all = new ArrayList<>();
        for (TunnelConnection c : connections()) {
            all.addAll(c.mux().streams());
        }
        return all;
    }

    /**
     * The shard a new stream goes on (docs/PROTOCOL.md §12.4): the one with the fewest active streams among those
     * joined whose writer has room; when none has room, the one with the fewest streams; ties go to the lowest index.
     */
    private TunnelConnection pickShard() {
        if (shards.length == 1) {
            return connection;
        }
        int limit = kit.writerLimits.queuedDataBytes();
        KitShard best = null;
        boolean bestWritable = false;
        int bestLoad = Integer.MAX_VALUE;
        for (KitShard s : shards) {
            if (s == null || s.connection().isClosed()) {
                continue;
            }
            boolean writable = s.isWritable(limit);
            int load = s.connection().activeStreams();
            if (best == null || (writable && !bestWritable) || (writable == bestWritable && load < bestLoad)) {
                best = s;
                bestWritable = writable;
                bestLoad = load;
            }
        }
        return best == null ? connection : best.connection();
    }

    /** For the admin API: the shards joined now, primary first. */
    public List<KitShard> shards() {
        List<KitShard> all = new ArrayList<>(shards.length);
        for (KitShard s : shards) {
            if (s != null) {
                all.add(s);
            }
        }
        return all;
    }

    /** Secondaries joined now. */
    public int secondaryShards() {
        int n = 0;
        for (int i = 1; i < shards.length; i++) {
            if (shards[i] != null) {
                n++;
            }
        }
        return n;
    }

    /** Shards granted in HELLO_OK (1 for v1). */
    public int shardCount() {
        return shards.length;
    }

    /**
     * The supervisor's look at the secondaries (the primary is {@link #inspect}'s): a silent one is cut — the driver
     * re-joins it — and the others are PINGed when due.
     */
    void superviseShards(long now) {
        if (shards.length == 1 || state != State.ATTACHED) {
            return;
        }
        KitConfig c = kit.config;
        for (int i = 1; i < shards.length; i++) {
            KitShard s = shards[i];
            if (s == null) {
                continue;
            }
            TunnelConnection conn = s.connection();
            if (conn.nanosSinceHeard(now) >= c.heartbeatTimeout().toNanos()) {
                LOG.infof("session %s: shard %d silent for %d s, cutting it", id, i, c.heartbeatTimeout().toSeconds());
                conn.abort("nothing heard on shard " + i + " for " + c.heartbeatTimeout().toSeconds() + " s");
            } else if (conn.nanosSincePing(now) >= c.heartbeatInterval().toNanos()) {
                conn.ping();
            }
        }
    }

    TunnelConnection connection() {
        return connection;
    }

    // --- what the connection hands over (on its reader) ---

    @Override
    public void onControl(TunnelConnection from, ControlMessage message) {
        if (from != connection) {
            if (indexOf(from) > 0) {
                from.fail("control messages travel on the primary (shard 0) only");
            }
            return; // else a socket this session has left behind
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
        int index = indexOf(from);
        if (index > 0) {
            shardLost(index, from, reason);
            return;
        }
        LOG.infof("session %s: socket closed (%s)", id, reason);
        socketLost(from, reason);
    }

    /** The index of {@code c} among the shards joined now; -1 when it is none of them. */
    private int indexOf(TunnelConnection c) {
        for (int i = 0; i < shards.length; i++) {
            KitShard s = shards[i];
            if (s != null && s.connection() == c) {
                return i;
            }
        }
        return -1;
    }

    /**
     * A secondary's socket is gone: the shard is detached (its streams are ended by the connection right after this),
     * the session carries on.
     */
    private void shardLost(int index, TunnelConnection from, String reason) {
        synchronized (this) {
            KitShard s = shards[index];
            if (s == null || s.connection() != from) {
                return;
            }
            shards[index] = null;
        }
        kit.metrics.shardLost();
        LOG.infof("session %s: shard %d lost (%s); %d streams on it reset", id, index, reason, from.activeStreams());
    }

    private void bind(ControlMessage.Bind req) {
        long now = System.nanoTime();
        idleSinceNanos = now; // a session asking for a port is not idle, even while its BINDs are refused
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
        for (TunnelConnection c : connections()) {
            resetStreams(c, b.bindId(), ResetCode.BIND_GONE, "UNBOUND");
        }
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
            attached.send(revoked);
            String reason = "port " + binding.port() + " taken over";
            List<TunnelConnection> all = connections();
            for (TunnelConnection c : all) {
                for (MuxStream s : List.copyOf(c.mux().streams())) {
                    if (s.bindId() == binding.bindId()) {
                        s.resetIfNotOpened(ResetCode.BIND_TAKEOVER, reason);
                    }
                }
            }
            long deadline = System.nanoTime() + kit.config.takeoverDrain().toNanos();
            Thread.ofVirtual().name("takeover-drain-" + binding.port()).start(() -> {
                for (TunnelConnection c : all) {
                    try {
                        c.mux().awaitStreamsGone(s -> s.bindId() == binding.bindId(), deadline);
                    } catch (InterruptedException ignored) {
                        // reset what is left now
                    }
                    resetStreams(c, binding.bindId(), ResetCode.BIND_TAKEOVER, reason);
                }
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
        TunnelConnection c = pickShard();
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
        if (shards.length > 1 && activeStreams() >= maxStreams) { // each shard's own cap is maxStreams too
            throw new VisitorRefusedException(503, "the laptop's session is at its cap of " + maxStreams + " streams", 1);
        }
        MuxStream s;
        try {
            s = c.openStream(binding.bindId(), origin);
        } catch (StreamLimitException e) {
            if (c.isClosed() || c.mux().isTerminated()) {
                if (c != connection && state == State.ATTACHED) {
                    return openStream(binding, origin); // a secondary went at this very moment: pick another
                }
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

    /**
     * Whether the shard {@code stream} was opened on is still one of this session's sockets (a visitor whose stream was
     * ended with an older primary, or with a secondary that dropped, before OPEN_OK retries).
     */
    boolean isCurrent(MuxStream stream) {
        for (TunnelConnection c : connections()) {
            if (c.mux() == stream.multiplexer()) {
                return true;
            }
        }
        return false;
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
        List<KitShard> secondaries;
        synchronized (this) {
            if (state == State.ENDING || state == State.ENDED) {
                return null;
            }
            old = connection;
            secondaries = takeSecondaries();
            fresh = connect(socket, newPeer, true, driverFeatures);
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
        secondaries.forEach(s -> detach(s, "the session resumed on a new primary; JOIN again"));
        kit.metrics.resumed();
        LOG.infof("session %s resumed by %s", id, newPeer);
        return fresh;
    }

    /** Empties the secondary slots (under {@code this}); the caller detaches what it got outside the lock. */
    private List<KitShard> takeSecondaries() {
        List<KitShard> taken = new ArrayList<>();
        for (int i = 1; i < shards.length; i++) {
            if (shards[i] != null) {
                taken.add(shards[i]);
                shards[i] = null;
            }
        }
        return taken;
    }

    boolean tokenMatches(String token) {
        return secretMatches(token, resumeToken);
    }

    /** Compares a secret a driver sent (resume or join token) in constant time; null never matches. */
    private static boolean secretMatches(String given, String expected) {
        return given != null && MessageDigest.isEqual(given.getBytes(StandardCharsets.UTF_8), expected.getBytes(StandardCharsets.UTF_8));
    }

    // --- the end ---

    /**
     * The socket {@code from} is gone. Without a GOAWAY before it, the session is parked as an orphan. Called before
     * the socket's streams are ended, so a visitor that wakes up from that already sees the session parked.
     */
    void socketLost(TunnelConnection from, String reason) {
        boolean releaseNow = false;
        List<Binding> freed = new ArrayList<>();
        List<KitShard> secondaries;
        synchronized (this) {
            if (from != connection || state == State.ORPHANED || state == State.ENDED) {
                return; // an old socket of a resumed session, or already handled
            }
            // v2: losing the primary is losing the session's socket; its secondaries go with it (re-joined after a resume).
            secondaries = takeSecondaries();
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
        secondaries.forEach(s -> detach(s, "the session's primary socket was lost"));
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
        if (state != State.ATTACHED || connection.mux() == null) {
            return;
        }
        long limit = kit.config.streamIdleTimeout().toNanos();
        for (TunnelConnection c : connections()) {
            for (MuxStream s : List.copyOf(c.mux().streams())) {
                if (s.nanosSinceActive(now) >= limit) {
                    kit.metrics.streamIdleReset();
                    s.reset(ResetCode.CANCEL, "no bytes either way for " + kit.config.streamIdleTimeout().toSeconds() + " s");
                }
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
            long deadline = System.nanoTime() + grace.toNanos();
            List<TunnelConnection> all = connections();
            for (TunnelConnection each : all) {
                try {
                    each.mux().awaitStreamsGone(s -> true, deadline);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            // Secondaries first: the primary's close is what the driver reads as the end of the session.
            for (TunnelConnection each : all) {
                if (each != c) {
                    each.close(Protocol.CLOSE_NORMAL, code == null ? "session ended" : code.name());
                }
            }
            c.close(Protocol.CLOSE_NORMAL, code == null ? "session ended" : code.name());
        }
        release();
    }

    /** Releases everything. Idempotent. */
    void release() {
        TunnelConnection c;
        List<KitShard> secondaries;
        synchronized (this) {
            if (state == State.ENDED) {
                return;
            }
            state = State.ENDED;
            c = connection;
            secondaries = takeSecondaries();
        }
        releaseBindings();
        c.terminateStreams("session ended");
        secondaries.forEach(s -> detach(s, "session ended"));
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

    /** How long the session has had neither streams nor bindings nor sent a BIND (0 when it has some). */
    private long nanosIdle(long now) {
        if (activeStreams() > 0 || !bindings.isEmpty()) {
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
        return isV2() ? Protocol.SUBPROTOCOL_V2 : Protocol.SUBPROTOCOL_V1;
    }

    public Instant started() {
        return started;
    }

    public long connectionsGranted() {
        return connectionsGranted.get();
    }

    /** Streams open now, over every shard. */
    public int activeStreams() {
        if (shards.length == 1) {
            return connection.activeStreams();
        }
        int n = 0;
        for (TunnelConnection c : connections()) {
            n += c.activeStreams();
        }
        return n;
    }

    public int maxStreams() {
        return maxStreams;
    }

    public boolean isV2() {
        return joinToken != null;
    }

    /** Bytes of stream data this session holds in the kit now (its share of the memory budget). */
    public long bufferedBytes() {
        return memory.used();
    }

    public Collection<Binding> bindings() {
        return bindings.values();
    }
}
