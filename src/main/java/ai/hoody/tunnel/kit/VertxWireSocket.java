package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.mux.Outbound;
import ai.hoody.tunnel.mux.WireSocket;
import ai.hoody.tunnel.protocol.Protocol;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledHeapByteBuf;
import io.quarkus.websockets.next.CloseReason;
import io.quarkus.websockets.next.WebSocketConnection;
import io.smallrye.mutiny.Uni;
import io.vertx.core.buffer.Buffer;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The kit's side of a driver's WebSocket, as its connection's writer sees it. Messages are handed to WebSockets Next,
 * which queues them on the socket's event loop (Vert.x flushes once for a run of such writes); each write's completion
 * (the bytes reached the operating system) is counted, and {@link #write} waits while more than
 * {@link #MAX_IN_FLIGHT_BYTES} are still in Netty's outbound buffer. That is what makes the socket's writability reach
 * the writer: a driver that stops reading stops the writer here, then the senders, instead of growing Netty's queue.
 *
 * <p>Threading: {@link #write} on one thread at a time, as the connection's {@code FrameWriter} lets it (its writer
 * thread, or a stream's pump writing its own frame); completions on the event loop.
 */
final class VertxWireSocket implements WireSocket {

    private static final Logger LOG = Logger.getLogger(VertxWireSocket.class);
    /** Bytes handed to Netty and not yet written to the socket, at most (then the writer waits). */
    static final long MAX_IN_FLIGHT_BYTES = 1 << 20;

    private final WebSocketConnection ws;
    /** The socket's gate, through which an abort really cuts the TCP connection; null when there is none (tests). */
    private final InboundGate gate;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition drained = lock.newCondition();
    private long inFlight;
    private String broken;

    VertxWireSocket(WebSocketConnection ws, InboundGate gate) {
        this.ws = ws;
        this.gate = gate;
    }

    /** Bytes of a received message's array that may lie outside the message and still be kept with it. */
    static final int MAX_WRAPPED_SLACK_BYTES = 64;

    /**
     * A received message's bytes, for the connection to keep (a DATA payload waits in its stream until the local
     * socket takes it). Vert.x has already copied each frame out of Netty's pooled buffers into an unpooled heap buffer
     * of its own, sized to the message ({@code VertxHandler.safeBuffer}), so such a buffer's array is wrapped, not
     * copied again. Anything else is copied: memory of any pool (Netty has more than one kind; a pool hands the memory
     * out again once the message is released), memory with no array, and an array much larger than the message (a
     * message Vert.x put together from fragments), which would otherwise pin more than the memory budget counts.
     */
    static ByteBuffer received(Buffer message) {
        ByteBuf b = message.getByteBuf(); // a duplicate, perhaps wrapped again: what owns the memory is underneath
        ByteBuf root = b;
        while (root.unwrap() != null) {
            root = root.unwrap();
        }
        int length = message.length(); // a Vert.x buffer's bytes are [0, length), whatever its reader index
        if (root instanceof UnpooledHeapByteBuf && b.array().length - length <= MAX_WRAPPED_SLACK_BYTES) {
            return ByteBuffer.wrap(b.array(), b.arrayOffset(), length).slice();
        }
        return ByteBuffer.wrap(message.getBytes());
    }

    @Override
    public void write(List<Outbound> batch) throws IOException {
        for (Outbound m : batch) {
            switch (m) {
                case Outbound.Text t -> track(t.size(), ws.sendText(t.json()));
                case Outbound.Binary b -> track(b.size(), ws.sendBinary(Buffer.buffer(Unpooled.wrappedBuffer(b.frame(), 0, b.length()))));
                case Outbound.Pong ignored -> {
                    // Vert.x answers WebSocket pings itself
                }
                case Outbound.Close c -> ws.close(new CloseReason(c.code(), c.reason())).subscribe().with(v -> {
                }, this::closeFailed);
            }
        }
        lock.lock();
        try {
            while (inFlight > MAX_IN_FLIGHT_BYTES && broken == null) {
                drained.awaitUninterruptibly();
            }
            if (broken != null) {
                throw new IOException(broken);
            }
        } finally {
            lock.unlock();
        }
    }

    private void track(int bytes, Uni<Void> send) {
        lock.lock();
        try {
            inFlight += bytes;
        } finally {
            lock.unlock();
        }
        send.subscribe().with(v -> written(bytes, null), t -> written(bytes, t));
    }

    private void written(int bytes, Throwable failure) {
        lock.lock();
        try {
            inFlight -= bytes;
            if (failure != null && broken == null) {
                broken = "the WebSocket write failed: " + failure.getMessage();
            }
            drained.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Close 1008 with the reason, then the TCP connection is cut even if the driver never reads the close frame, and
     * nothing more is read from it (WebSockets Next alone would wait for a closing handshake, reading on). The
     * connection on top stops using the socket at once.
     */
    @Override
    public void abort(String reason) {
        if (gate != null) {
            gate.fail(Protocol.CLOSE_POLICY, reason);
        } else if (!ws.isClosed()) {
            ws.close(new CloseReason(Protocol.CLOSE_POLICY, Protocol.closeReason(reason))).subscribe().with(v -> {
            }, this::closeFailed);
        }
        lock.lock();
        try {
            if (broken == null) {
                broken = "aborted";
            }
            drained.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void closeFailed(Throwable t) {
        LOG.tracef("closing a driver socket failed: %s", t.getMessage());
    }
}
