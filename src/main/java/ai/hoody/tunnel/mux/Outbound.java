package ai.hoody.tunnel.mux;

/**
 * One message for the socket, as the connection's {@link FrameWriter} hands it to its {@link WireSocket}: a control
 * message (text), a stream frame (binary), or the closing handshake. Small immutable values.
 */
public sealed interface Outbound {

    /** Bytes of memory the message holds while queued. */
    int size();

    /** A control message (docs/PROTOCOL.md §3): one JSON object. */
    record Text(String json) implements Outbound {
        public int size() {
            return json.length();
        }
    }

    /**
     * A stream frame (§4): the message is {@code frame[0, length)} (a DATA frame read straight from a socket may
     * leave the rest of its array unused). {@code data} marks DATA frames, which the writer paces (senders wait while
     * too many are queued) and counts against the memory budget.
     */
    record Binary(byte[] frame, int length, boolean data) implements Outbound {
        public Binary(byte[] frame, boolean data) {
            this(frame, frame.length, data);
        }

        public int size() {
            return length;
        }
    }

    /**
     * A WebSocket pong answering a WebSocket ping (RFC 6455 §5.5.3), not a protocol PONG: the driver's socket reader
     * hands it to the writer rather than writing it itself. The kit's WebSocket layer answers pings on its own.
     */
    record Pong(byte[] payload) implements Outbound {
        public int size() {
            return payload.length;
        }
    }

    /** The closing handshake: nothing is written after it. */
    record Close(int code, String reason) implements Outbound {
        public int size() {
            return 0;
        }
    }
}
