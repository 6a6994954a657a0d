package ai.hoody.tunnel.mux;

import ai.hoody.tunnel.protocol.Frame;
import ai.hoody.tunnel.protocol.FrameCodec;
import ai.hoody.tunnel.protocol.MalformedMessageException;
import ai.hoody.tunnel.protocol.ResetCode;

import java.nio.ByteBuffer;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;

/**
 * The streams of one connection, shared by the kit and the driver: opening, the stream cap, frame dispatch. Frames go
 * out through the connection's {@link FrameWriter}. {@link #receive} is called by whatever thread reads the socket and
 * never blocks: it only hands frames to streams, whose own virtual threads do the blocking work.
 */
public final class Multiplexer {

    /** Driver side: what to do with a stream the kit opened. Must return quickly (start a thread). */
    @FunctionalInterface
    public interface OpenHandler {
        void onOpen(MuxStream stream, int bindId, String origin);
    }

    /** Largest stream id; the kit's odd ids wrap from here back to 1 (§4: never onto a live stream). */
    static final int MAX_STREAM_ID = Integer.MAX_VALUE;

    private final FrameWriter writer;
    private final Role role;
    private final int window;
    private final int receiveWindow;
    private final int maxStreams;
    private final OpenHandler openHandler;
    private final MuxListener listener;
    private final MemoryAccount memory;
    private final Map<Integer, MuxStream> streams = new ConcurrentHashMap<>();
    /** One permit per stream that may still be open: the stream cap, visible. */
    private final Semaphore streamPermits;
    /** Guards id allocation, and is signalled whenever a stream leaves (for {@link #awaitStreamsGone}). */
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition streamLeft = lock.newCondition();
    private int nextStreamId = 1;
    private volatile boolean terminated;

    /**
     * @param window        initial credit of each stream in each direction (HELLO_OK.streamWindow)
     * @param receiveWindow what each stream lets the peer have in flight towards us (≥ {@code window}); the part above
     *                      {@code window} is granted with one WINDOW right after OPEN_OK (driver side)
     * @param maxStreams    streams open at once, at most (the kit's cap answers 503 beyond it; the driver resets)
     * @param openHandler   driver side: serves the kit's OPENs; null on the kit, which refuses them
     */
    public Multiplexer(FrameWriter writer, Role role, int window, int receiveWindow, int maxStreams,
                       OpenHandler openHandler, MuxListener listener, MemoryAccount memory) {
        if (window < FrameCodec.MAX_DATA_BYTES) {
            throw new IllegalArgumentException("stream window must be at least one DATA frame (" + FrameCodec.MAX_DATA_BYTES + ")");
        }
        if (receiveWindow < window) {
            throw new IllegalArgumentException("receive window " + receiveWindow + " is below the stream window " + window);
        }
        if ((role == Role.DRIVER) != (openHandler != null)) {
            throw new IllegalArgumentException("the driver serves OPENs, the kit does not");
        }
        this.writer = writer;
        this.role = role;
        this.window = window;
        this.receiveWindow = receiveWindow;
        this.maxStreams = maxStreams;
        this.openHandler = openHandler;
        this.listener = listener;
        this.memory = memory;
        this.streamPermits = new Semaphore(maxStreams);
    }

    /**
     * Kit side: opens a stream for a new connection on {@code bindId} and sends OPEN. Wait for the driver with
     * {@link MuxStream#awaitOpened}.
     *
     * @throws StreamLimitException at the stream cap, or when the connection is gone
     */
    public MuxStream open(int bindId, String origin) throws StreamLimitException {
        if (role != Role.KIT) {
            throw new IllegalStateException("only the kit opens streams");
        }
        if (terminated) {
            throw new StreamLimitException("the connection is closed");
        }
        if (!streamPermits.tryAcquire()) {
            throw new StreamLimitException("at the cap of " + maxStreams + " streams");
        }
        MuxStream stream;
        lock.lock();
        try {
            int id = allocateId();
            stream = new MuxStream(this, id, bindId, window, receiveWindow, memory);
            streams.put(id, stream);
        } finally {
            lock.unlock();
        }
        if (terminated && streams.remove(stream.id(), stream)) {
            // terminate() ran between the check above and the put and missed this stream. (Had it seen it, the
            // stream would already be reset and removed, with its permit back.)
            streamPermits.release();
            throw new StreamLimitException("the connection is closed");
        }
        writer.sendFrame(FrameCodec.open(stream.id(), bindId, origin));
        return stream;
    }

    /** The next odd id that no live stream has; wraps after 2^31-1. The cap keeps live ids far fewer than 2^30. */
    private int allocateId() {
        while (true) {
            int id = nextStreamId;
            nextStreamId = id >= MAX_STREAM_ID - 1 ? 1 : id + 2;
            if (!streams.containsKey(id)) {
                return id;
            }
        }
    }

    /** Tests: start the kit's ids near the wrap-around. */
    void startStreamIdsAt(int oddId) {
        lock.lock();
        try {
            nextStreamId = oddId;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Handles one binary message from the peer.
     *
     * @throws MalformedMessageException when the message breaks the protocol badly enough to end the connection
     */
    public void receive(ByteBuffer message) throws MalformedMessageException {
        Frame frame = FrameCodec.decode(message);
        if (frame instanceof Frame.Open open) {
            accept(open);
            return;
        }
        MuxStream stream = streams.get(frame.streamId());
        if (stream == null) {
            return; // frames racing a reset or a finished stream are dropped, as in HTTP/2
        }
        switch (frame) {
            case Frame.OpenOk ignored -> stream.onOpenOk();
            case Frame.Data d -> {
                listener.bytesReceived(d.payload().remaining());
                stream.onData(d.payload());
            }
            case Frame.Window w -> stream.onWindow(w.increment());
            case Frame.Fin ignored -> stream.onRemoteFin();
            case Frame.Reset r -> stream.onRemoteReset(r.code(), r.reason());
            case Frame.Open ignored -> throw new AssertionError();
        }
    }

    private void accept(Frame.Open open) throws MalformedMessageException {
        if (role != Role.DRIVER) {
            throw new MalformedMessageException("OPEN is sent by the kit only");
        }
        MuxStream stream = new MuxStream(this, open.streamId(), open.bindId(), window, receiveWindow, memory);
        if (streams.putIfAbsent(open.streamId(), stream) != null) {
            throw new MalformedMessageException("OPEN for stream " + open.streamId() + ", which is already open");
        }
        if (!streamPermits.tryAcquire()) {
            streams.remove(open.streamId(), stream);
            writer.sendFrame(FrameCodec.reset(open.streamId(), ResetCode.INTERNAL,
                    "the driver is at its cap of " + maxStreams + " streams"));
            return;
        }
        if (terminated) {
            stream.reset(ResetCode.SESSION_CLOSING, "session is closing");
            return;
        }
        openHandler.onOpen(stream, open.bindId(), open.origin());
    }

    /**
     * The socket is gone: every stream is reset locally (nothing is sent), which wakes its threads and aborts its
     * local socket. Idempotent.
     */
    public void terminate(String reason) {
        terminated = true;
        for (MuxStream s : List.copyOf(streams.values())) {
            s.terminate(reason);
        }
    }

    public boolean isTerminated() {
        return terminated;
    }

    /**
     * Waits until no stream matching {@code which} is left, or until {@code deadlineNanos} (System.nanoTime).
     *
     * @return true if none is left
     */
    public boolean awaitStreamsGone(Predicate<MuxStream> which, long deadlineNanos) throws InterruptedException {
        lock.lock();
        try {
            while (true) {
                if (streams.values().stream().noneMatch(which)) {
                    return true;
                }
                long left = deadlineNanos - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                streamLeft.await(left, TimeUnit.NANOSECONDS);
            }
        } finally {
            lock.unlock();
        }
    }

    public int activeStreams() {
        return streams.size();
    }

    public Collection<MuxStream> streams() {
        return streams.values();
    }

    public int window() {
        return window;
    }

    public int maxStreams() {
        return maxStreams;
    }

    // --- called by MuxStream ---

    FrameWriter writer() {
        return writer;
    }

    void sent(int dataBytes) {
        listener.bytesSent(dataBytes);
    }

    void remove(MuxStream stream) {
        if (streams.remove(stream.id(), stream)) {
            streamPermits.release();
            listener.streamClosed(stream);
            lock.lock();
            try {
                streamLeft.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }
}
