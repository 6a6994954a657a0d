package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.mux.FrameTransport;
import ai.hoody.tunnel.mux.Multiplexer;
import ai.hoody.tunnel.mux.MuxListener;
import ai.hoody.tunnel.mux.MuxStream;
import ai.hoody.tunnel.mux.StreamResetException;
import ai.hoody.tunnel.protocol.BindErrorCode;
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
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A driver's session, from HELLO_OK to the end: its streams, its bindings and its counters. Knows nothing of
 * Quarkus; the socket under it is a {@link FrameTransport}.
 *
 * <p>Threading: control messages run one at a time on the session's control virtual thread (BIND opens sockets);
 * stream frames are handed to the {@link Multiplexer} by the socket's reader; visitors call {@link #openStream} from
 * their own threads.
 */
public final class KitSession {

    private static final Logger LOG = Logger.getLogger(KitSession.class);

    private final String id;
    private final String resumeToken;
    private final String peerAddr;
    private final String protocol;
    private final Instant started = Instant.now();
    private final int maxStreams;
    private final FrameTransport transport;
    private final KitContext kit;
    private final Multiplexer mux;
    /** One permit per stream the session may still open: the stream cap, visible. */
    private final Semaphore streamPermits;
    private final AtomicLong connectionsGranted = new AtomicLong();
    private final Map<Integer, Binding> bindings = new ConcurrentHashMap<>();
    private final ExecutorService control;
    private final AtomicBoolean ending = new AtomicBoolean();

    KitSession(String id, String resumeToken, String peerAddr, int maxStreams, FrameTransport transport, KitContext kit) {
        this.id = id;
        this.resumeToken = resumeToken;
        this.peerAddr = peerAddr;
        this.protocol = Protocol.SUBPROTOCOL_V1;
        this.maxStreams = maxStreams;
        this.transport = transport;
        this.kit = kit;
        this.streamPermits = new Semaphore(maxStreams);
        this.control = Executors.newSingleThreadExecutor(Thread.ofVirtual().name("session-control-" + id).factory());
        this.mux = new Multiplexer(transport, kit.config.streamWindow(), null, new MuxListener() {
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
        });
    }

    // --- what the socket hands over ---

    Multiplexer mux() {
        return mux;
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
                Thread.ofVirtual().name("session-goaway-" + id).start(() -> end(null, Duration.ofSeconds(5)));
            }
            default -> LOG.debugf("session %s: ignoring %s", id, message);
        }
    }

    private void bind(ControlMessage.Bind req) {
        ControlMessage answer = ending.get()
                ? new ControlMessage.BindErr(req.ref(), BindErrorCode.INTERNAL, "the session is ending", req.port())
                : kit.bindings.bind(this, req, kit);
        if (answer instanceof ControlMessage.BindErr err) {
            kit.metrics.bindError(err.code());
            LOG.infof("session %s: BIND %s/%s port %d refused: %s %s", id, req.kind(), req.mode(), req.port(), err.code(), err.message());
        }
        send(answer);
    }

    private void unbind(int bindId) {
        Binding b = bindings.remove(bindId);
        if (b == null) {
            send(new ControlMessage.BindRevoked(bindId, "UNKNOWN_BINDING"));
            return;
        }
        drop(b, ResetCode.BIND_GONE, "UNBOUND");
        send(new ControlMessage.BindRevoked(bindId, "UNBOUND"));
    }

    /** @return false when the session ended meanwhile: the caller must release the binding */
    boolean added(Binding binding) {
        bindings.put(binding.bindId(), binding);
        if (ending.get()) {
            bindings.remove(binding.bindId());
            return false;
        }
        return true;
    }

    /** Closes the binding's listener and resets its streams. */
    private void drop(Binding b, ResetCode code, String reason) {
        kit.bindings.release(b);
        for (MuxStream s : List.copyOf(mux.streams())) {
            if (s.bindId() == b.bindId()) {
                s.reset(code, reason);
            }
        }
    }

    /**
     * Opens a stream for a new connection on one of this session's bindings.
     *
     * @throws VisitorRefusedException 503 when the session is at its stream cap or ending
     */
    MuxStream openStream(Binding binding, String origin) throws VisitorRefusedException {
        if (ending.get()) {
            throw new VisitorRefusedException(503, "the laptop's session is ending", 1);
        }
        if (!streamPermits.tryAcquire()) {
            throw new VisitorRefusedException(503, "the laptop's session is at its cap of " + maxStreams + " streams", 1);
        }
        try {
            MuxStream s = mux.open(binding.bindId(), origin);
            connectionsGranted.incrementAndGet();
            kit.metrics.streamOpened();
            return s;
        } catch (StreamResetException e) {
            streamPermits.release();
            throw new VisitorRefusedException(503, "the laptop's session is ending", 1);
        }
    }

    void send(ControlMessage message) {
        transport.sendControl(ControlCodec.encode(message));
    }

    // --- the end ---

    /**
     * The admin kill: GOAWAY(ADMIN_KILL), bindings dropped at once, in-flight streams given up to {@code grace},
     * then the socket closed. Returns at once; the rest happens on a virtual thread.
     */
    public void kill(Duration grace) {
        Thread.ofVirtual().name("session-kill-" + id).start(() -> end(GoAwayCode.ADMIN_KILL, grace));
    }

    /** True from the moment the session starts ending (kill, GOAWAY, lost socket). */
    public boolean isEnding() {
        return ending.get();
    }

    /**
     * Ends the session on purpose: no new streams, bindings dropped, GOAWAY sent (when {@code code} is not null),
     * in-flight streams given up to {@code grace} to finish, then the socket closed. Blocks; call it on its own
     * thread.
     */
    void end(GoAwayCode code, Duration grace) {
        if (!ending.compareAndSet(false, true)) {
            return;
        }
        for (Binding b : List.copyOf(bindings.values())) {
            bindings.remove(b.bindId());
            kit.bindings.release(b);
        }
        if (code != null) {
            send(new ControlMessage.GoAway(code, code == GoAwayCode.ADMIN_KILL ? "killed by an operator" : "session ending"));
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
        terminate("session ended");
    }

    /** The socket is gone (or is being closed): release everything. Idempotent. */
    void terminate(String reason) {
        ending.set(true);
        for (Binding b : List.copyOf(bindings.values())) {
            bindings.remove(b.bindId());
            kit.bindings.release(b);
        }
        mux.terminate(reason);
        control.shutdownNow();
        kit.sessions.remove(this);
    }

    // --- what operators see ---

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
