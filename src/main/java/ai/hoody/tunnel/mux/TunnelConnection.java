package ai.hoody.tunnel.mux;

import ai.hoody.tunnel.protocol.ControlCodec;
import ai.hoody.tunnel.protocol.ControlMessage;
import ai.hoody.tunnel.protocol.MalformedMessageException;
import ai.hoody.tunnel.protocol.Protocol;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One WebSocket between a kit and a driver, the same class at both ends (as OkHttp's {@code Http2Connection} serves
 * client and server): the {@link FrameWriter} that owns what goes out, the {@link Multiplexer} with its streams and
 * stream cap, PING/PONG and the heartbeat clock, GOAWAY, and the end of everything when the socket goes. What differs
 * by {@link Role} is small: the kit opens streams and is ready at once; the driver serves OPENs and is ready once
 * HELLO_OK gave it the stream window ({@link #establish}). What a control message means for a session — BIND, HELLO,
 * GOAWAY's consequences — is the {@link Handler}'s business: kit and driver sessions hold policy only.
 *
 * <p>Threading: {@link #onText}, {@link #onBinary} run on the socket's reader (the kit's event loop, the driver's
 * reader thread), one at a time, and never block. Sends may come from any thread; DATA senders may wait for room
 * (back-pressure), nothing else does. {@link #onSocketClosed} runs once, on whichever thread learns of the end.
 */
public final class TunnelConnection {

    /** What the session on top of a connection is told. */
    public interface Handler {
        /**
         * A control message other than PING and PONG, which the connection answers itself. A GOAWAY has been noted
         * ({@link #goAwayReceived}) before this is called. Runs on the reader: must not block.
         */
        void onControl(TunnelConnection connection, ControlMessage message);

        /** The peer broke the protocol; the connection is closing with 1002 and {@code reason}. */
        default void onProtocolError(TunnelConnection connection, String reason) {
        }

        /** The socket is gone and every stream has been ended. Called once. */
        void onClosed(TunnelConnection connection, String reason);
    }

    /** How long a close handshake may take before the socket is cut. */
    static final Duration CLOSE_DEADLINE = Duration.ofSeconds(5);

    private final String name;
    private final Role role;
    private final WireSocket socket;
    private final Handler handler;
    private final FrameWriter writer;
    private final MemoryAccount memory;
    private final MuxListener listener;
    private final Multiplexer.OpenHandler openHandler;
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Set by the first {@link #close}: one closing handshake and one deadline, however often close is asked for. */
    private final AtomicBoolean closing = new AtomicBoolean();
    private volatile Multiplexer mux;
    private volatile long lastHeardNanos = System.nanoTime();
    private volatile long lastPingNanos = System.nanoTime();
    private volatile boolean goAwayReceived;
    private volatile boolean goAwaySent;
    private volatile String closeReason;
    /** Kit side: the driver announced, and the kit confirmed, the {@code early-data} feature on this socket. */
    private final boolean earlyData;

    private TunnelConnection(String name, Role role, WireSocket socket, Handler handler, MemoryAccount memory,
                             MuxListener listener, Multiplexer.OpenHandler openHandler, FrameWriter.Limits limits,
                             boolean earlyData) {
        this.name = name;
        this.earlyData = earlyData;
        this.role = role;
        this.socket = socket;
        this.handler = handler;
        this.memory = memory;
        this.listener = listener;
        this.openHandler = openHandler;
        this.writer = new FrameWriter(name, socket, limits, memory, this::writerFailed);
    }

    /**
     * The kit's end: ready at once; HELLO_OK must be the first thing sent on it.
     *
     * @param earlyData whether the driver takes DATA and FIN before its OPEN_OK on this socket (PROTOCOL.md §4.1)
     */
    public static TunnelConnection kit(String name, WireSocket socket, Handler handler, int streamWindow, int maxStreams,
                                       MemoryAccount memory, MuxListener listener, FrameWriter.Limits limits,
                                       boolean earlyData) {
        TunnelConnection c = new TunnelConnection(name, Role.KIT, socket, handler, memory, listener, null, limits, earlyData);
        c.mux = new Multiplexer(c.writer, Role.KIT, streamWindow, streamWindow, maxStreams, null, listener, memory);
        return c;
    }

    /** The driver's end: send HELLO, then {@link #establish} when HELLO_OK arrives. */
    public static TunnelConnection driver(String name, WireSocket socket, Handler handler, Multiplexer.OpenHandler openHandler,
                                          MemoryAccount memory, MuxListener listener, FrameWriter.Limits limits) {
        return new TunnelConnection(name, Role.DRIVER, socket, handler, memory, listener, openHandler, limits, false);
    }

    /** Kit side: a stream's first bytes may be sent before its OPEN_OK (the {@code early-data} feature). */
    public boolean earlyData() {
        return earlyData;
    }

    /**
     * Driver side, on HELLO_OK: from now on stream frames are accepted.
     *
     * @param receiveWindow what each stream lets the kit have in flight, the driver's own choice (≥ streamWindow)
     */
    public void establish(int streamWindow, int receiveWindow, int maxStreams) {
        if (mux != null) {
            throw new IllegalStateException("already established");
        }
        mux = new Multiplexer(writer, role, streamWindow, receiveWindow, maxStreams, openHandler, listener, memory);
    }

    public boolean isEstablished() {
        return mux != null;
    }

    // --- receiving ---

    /** A text message from the peer: a control message. */
    public void onText(String text) {
        if (closed.get()) {
            return;
        }
        heard();
        ControlMessage message;
        try {
            message = ControlCodec.decode(text);
        } catch (MalformedMessageException e) {
            fail("bad control message: " + e.getMessage());
            return;
        }
        switch (message) {
            case ControlMessage.Ping p -> writer.sendUrgentControl(ControlCodec.encode(new ControlMessage.Pong(p.ts())));
            case ControlMessage.Pong ignored -> {
            }
            case ControlMessage.Unknown ignored -> {
                // unknown types are ignored (§3.9)
            }
            case ControlMessage.GoAway g -> {
                goAwayReceived = true;
                handler.onControl(this, g);
            }
            default -> handler.onControl(this, message);
        }
    }

    /** A binary message from the peer: a stream frame. */
    public void onBinary(ByteBuffer message) {
        if (closed.get()) {
            return;
        }
        heard();
        Multiplexer m = mux;
        if (m == null) {
            fail("stream frame before HELLO_OK");
            return;
        }
        try {
            m.receive(message);
        } catch (MalformedMessageException e) {
            fail(e.getMessage());
        }
    }

    /** Any sign of life from the peer (a message, a WebSocket ping or pong). */
    public void heard() {
        lastHeardNanos = System.nanoTime();
    }

    // --- sending ---

    /** Sends a control message in order with everything else. Never blocks. */
    public void send(ControlMessage message) {
        if (message instanceof ControlMessage.GoAway) {
            goAwaySent = true;
        }
        writer.sendControl(ControlCodec.encode(message));
    }

    /** Sends a PING ahead of queued DATA. */
    public void ping() {
        lastPingNanos = System.nanoTime();
        writer.sendUrgentControl(ControlCodec.encode(new ControlMessage.Ping(System.currentTimeMillis())));
    }

    /**
     * Kit side: opens a stream and sends OPEN.
     *
     * @throws StreamLimitException at the stream cap, or when the connection is gone
     */
    public MuxStream openStream(int bindId, String origin) throws StreamLimitException {
        if (closed.get()) {
            throw new StreamLimitException("the connection is closed");
        }
        return mux.open(bindId, origin);
    }

    // --- the end ---

    /**
     * Closes after everything queued so far (a GOAWAY, say) is written: the closing handshake with {@code code}. If
     * the socket is not closed {@link #CLOSE_DEADLINE} later, it is cut.
     */
    public void close(int code, String reason) {
        if (closed.get() || !closing.compareAndSet(false, true)) {
            return;
        }
        if (closeReason == null) {
            closeReason = code + " " + reason;
        }
        writer.close(code, Protocol.closeReason(reason));
        Thread.ofVirtual().name("close-deadline-" + name).start(() -> {
            try {
                Thread.sleep(CLOSE_DEADLINE);
            } catch (InterruptedException e) {
                return;
            }
            if (!closed.get()) {
                abort("no close handshake within " + CLOSE_DEADLINE.toSeconds() + " s");
            }
        });
    }

    /**
     * The peer started the closing handshake with {@code code} and {@code reason}: answer it (after what is queued).
     * The peer's code and reason are what this connection's end is reported with.
     */
    public void closedByPeer(int code, String reason) {
        if (closed.get()) {
            return;
        }
        if (closeReason == null) {
            closeReason = code + (reason == null || reason.isEmpty() ? "" : " " + reason);
        }
        close(code == 1005 ? Protocol.CLOSE_NORMAL : code, "");
    }

    /** Cuts the socket at once (no closing handshake) and ends the connection. */
    public void abort(String reason) {
        socket.abort(reason);
        onSocketClosed(reason);
    }

    /**
     * The socket is gone (told by the socket's owner, or after {@link #abort}): stops the writer, tells the handler,
     * then ends every stream locally (their local sockets are aborted). The handler hears first so that what a
     * stream's owner sees when it wakes — a parked session, say — is already decided. Idempotent.
     */
    public void onSocketClosed(String reason) {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        writer.stop();
        try {
            handler.onClosed(this, closeReason != null ? closeReason : reason);
        } finally {
            terminateStreams(reason);
        }
    }

    /** Ends every stream locally (nothing sent; their local sockets are aborted); no new stream can open. */
    public void terminateStreams(String reason) {
        Multiplexer m = mux;
        if (m != null) {
            m.terminate(reason);
        }
    }

    /** The peer broke the protocol: close with 1002 and the reason. */
    public void fail(String reason) {
        if (closed.get()) {
            return;
        }
        handler.onProtocolError(this, reason);
        close(Protocol.CLOSE_PROTOCOL_ERROR, reason);
    }

    private void writerFailed(String reason) {
        abort(reason);
    }

    // --- what owners read ---

    public String name() {
        return name;
    }

    public Role role() {
        return role;
    }

    /** The streams; null on a driver connection before HELLO_OK. */
    public Multiplexer mux() {
        return mux;
    }

    public FrameWriter writer() {
        return writer;
    }

    public int activeStreams() {
        Multiplexer m = mux;
        return m == null ? 0 : m.activeStreams();
    }

    public boolean isClosed() {
        return closed.get();
    }

    public boolean goAwayReceived() {
        return goAwayReceived;
    }

    public boolean goAwaySent() {
        return goAwaySent;
    }

    public long nanosSinceHeard(long now) {
        return now - lastHeardNanos;
    }

    public long nanosSincePing(long now) {
        return now - lastPingNanos;
    }

    @Override
    public String toString() {
        return name;
    }
}
