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
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The streams of one session, shared by the kit and the driver. {@link #receive} is called by whatever thread
 * reads the socket (the kit's event loop, the driver's WebSocket listener) and never blocks: it only hands frames
 * to streams, whose own virtual threads do the blocking work.
 */
public final class Multiplexer {

    /** Driver side: what to do with a stream the kit opened. Must return quickly (start a thread). */
    @FunctionalInterface
    public interface OpenHandler {
        void onOpen(MuxStream stream, int bindId, String origin);
    }

    private final FrameTransport transport;
    private final int window;
    private final int receiveWindow;
    private final OpenHandler openHandler;
    private final MuxListener listener;
    private final Map<Integer, MuxStream> streams = new ConcurrentHashMap<>();
    /** The kit opens odd ids; even ids are reserved for driver-opened streams in a later version. */
    private final AtomicInteger nextStreamId = new AtomicInteger(1);
    private volatile boolean terminated;

    /**
     * @param window      initial credit of each stream in each direction (HELLO_OK.streamWindow)
     * @param openHandler null on the kit, which refuses OPEN from the driver
     */
    public Multiplexer(FrameTransport transport, int window, OpenHandler openHandler, MuxListener listener) {
        this(transport, window, window, openHandler, listener);
    }

    /**
     * @param receiveWindow what each stream lets the peer have in flight towards us (≥ {@code window}); the part
     *                      above {@code window} is granted with one WINDOW right after OPEN_OK (driver side)
     */
    public Multiplexer(FrameTransport transport, int window, int receiveWindow, OpenHandler openHandler, MuxListener listener) {
        if (window < FrameCodec.MAX_DATA_BYTES) {
            throw new IllegalArgumentException("stream window must be at least one DATA frame (" + FrameCodec.MAX_DATA_BYTES + ")");
        }
        if (receiveWindow < window) {
            throw new IllegalArgumentException("receive window " + receiveWindow + " is below the stream window " + window);
        }
        this.transport = transport;
        this.window = window;
        this.receiveWindow = receiveWindow;
        this.openHandler = openHandler;
        this.listener = listener;
    }

    /** Kit side: opens a stream for a new connection on {@code bindId}. Wait for the driver with {@link MuxStream#awaitOpened}. */
    public MuxStream open(int bindId, String origin) throws StreamResetException {
        if (terminated) {
            throw new StreamResetException(ResetCode.SESSION_CLOSING, "session is closed", false);
        }
        int id = nextStreamId.getAndAdd(2);
        MuxStream stream = new MuxStream(this, id, bindId, window, receiveWindow);
        streams.put(id, stream);
        if (terminated && streams.remove(id, stream)) {
            // terminate() ran between the check above and the put and missed this stream. (Had it seen it, the
            // stream would already be reset and removed, with its listener told: then it is returned, reset.)
            throw new StreamResetException(ResetCode.SESSION_CLOSING, "session is closed", false);
        }
        transport.sendFrame(FrameCodec.open(id, bindId, origin));
        return stream;
    }

    /**
     * Handles one binary message from the peer.
     *
     * @throws MalformedMessageException when the message breaks the protocol badly enough to end the session
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
        if (openHandler == null) {
            throw new MalformedMessageException("OPEN is sent by the kit only");
        }
        MuxStream stream = new MuxStream(this, open.streamId(), open.bindId(), window, receiveWindow);
        if (streams.putIfAbsent(open.streamId(), stream) != null) {
            throw new MalformedMessageException("OPEN for stream " + open.streamId() + ", which is already open");
        }
        if (terminated) {
            stream.reset(ResetCode.SESSION_CLOSING, "session is closing");
            return;
        }
        openHandler.onOpen(stream, open.bindId(), open.origin());
    }

    /**
     * The socket is gone: every stream is reset locally (nothing is sent) so that its threads wake up and close
     * their sockets. Idempotent.
     */
    public void terminate(String reason) {
        terminated = true;
        for (MuxStream s : List.copyOf(streams.values())) {
            s.terminate(reason);
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

    // --- called by MuxStream ---

    void send(byte[] frame) {
        transport.sendFrame(frame);
    }

    void sent(int dataBytes) {
        listener.bytesSent(dataBytes);
    }

    void remove(MuxStream stream) {
        if (streams.remove(stream.id(), stream)) {
            listener.streamClosed(stream);
        }
    }
}
