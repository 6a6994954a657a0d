package ai.hoody.tunnel.mux;

import java.io.IOException;
import java.util.List;

/**
 * The socket under a {@link Connection}: one WebSocket. The kit's is a WebSockets Next connection, the driver's its own
 * RFC 6455 client. Incoming messages are delivered to the connection by the implementation (the kit's event loop, the
 * driver's reader thread); outgoing ones come only from the connection's {@link FrameWriter}.
 */
public interface WireSocket {

    /**
     * Writes the messages in order and flushes once. Called by one thread at a time, one the {@link FrameWriter} lets
     * write (its writer thread, or a {@link Splice} pump writing its own frame), never one that may be interrupted;
     * may block while the socket cannot take more (that is the back-pressure that stops senders). After a
     * {@link Outbound.Close} nothing else is written.
     *
     * @throws IOException when the socket is broken; the writer then stops and aborts it
     */
    void write(List<Outbound> batch) throws IOException;

    /**
     * Closes at once, without waiting for a closing handshake: the peer is gone or must be cut off. {@code reason} goes
     * to the peer where the socket still can (the kit's close frame). Any thread; idempotent.
     */
    void abort(String reason);
}
