package ai.hoody.tunnel.protocol;

import java.nio.ByteBuffer;

/**
 * A stream frame: the binary WebSocket messages of docs/PROTOCOL.md §4. Small immutable values; {@link FrameCodec}
 * turns them into bytes and back.
 */
public sealed interface Frame {

    /** The stream this frame belongs to (never 0). */
    int streamId();

    FrameType type();

    /** Kit → driver: a new connection arrived on binding {@code bindId}; {@code origin} is the peer, for logs. */
    record Open(int streamId, int bindId, String origin) implements Frame {
        public FrameType type() { return FrameType.OPEN; }
    }

    /** Driver → kit: the driver reached its target; both sides may now send DATA. */
    record OpenOk(int streamId) implements Frame {
        public FrameType type() { return FrameType.OPEN_OK; }
    }

    /** Stream bytes. {@code payload} is a view of the message it came from, which the receiver owns. */
    record Data(int streamId, ByteBuffer payload) implements Frame {
        public FrameType type() { return FrameType.DATA; }
    }

    /** Returns {@code increment} bytes of send credit to the peer. */
    record Window(int streamId, int increment) implements Frame {
        public FrameType type() { return FrameType.WINDOW; }
    }

    /** The sender will send no more DATA on this stream (half-close). */
    record Fin(int streamId) implements Frame {
        public FrameType type() { return FrameType.FIN; }
    }

    /** Aborts the stream in both directions. */
    record Reset(int streamId, ResetCode code, String reason) implements Frame {
        public FrameType type() { return FrameType.RESET; }
    }
}
