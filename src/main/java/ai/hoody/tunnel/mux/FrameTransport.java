package ai.hoody.tunnel.mux;

/**
 * The socket under a session: one WebSocket in v1. The kit wraps a WebSockets Next connection, the driver a JDK
 * WebSocket. Implementations are thread-safe and keep the order of messages sent by any one thread; they may queue
 * but must not block for long, because per-stream credit already bounds what can be in flight.
 */
public interface FrameTransport {

    /** Sends one binary message holding one stream frame. */
    void sendFrame(byte[] frame);

    /** Sends one text message holding one control message. */
    void sendControl(String json);

    /** Closes the socket with a WebSocket close code and reason. */
    void close(int code, String reason);
}
