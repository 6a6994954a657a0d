package ai.hoody.tunnel.protocol;

/** Why a stream was reset: the {@code code} field of a RESET frame (docs/PROTOCOL.md §4.6). */
public enum ResetCode {
    /** The sender gave up on the stream (its socket closed with an error, or it is shutting down). */
    CANCEL(1),
    /** The driver could not connect to its local target (refused, unreachable, unknown host). */
    CONNECT_FAILED(2),
    /** The peer sent more DATA than the window it was granted. */
    FLOW_CONTROL_ERROR(3),
    /** A frame that makes no sense in the stream's state. */
    PROTOCOL_ERROR(4),
    /** The binding the stream belongs to is gone (unbound, or unknown to the receiver). */
    BIND_GONE(5),
    /** Another session took the binding over (see the lifecycle part of the protocol). */
    BIND_TAKEOVER(6),
    /** The session is closing. */
    SESSION_CLOSING(7),
    /** The kit stopped waiting for OPEN_OK. */
    OPEN_TIMEOUT(8),
    /** Anything else; the reason text says what. */
    INTERNAL(9);

    public final int code;

    ResetCode(int code) {
        this.code = code;
    }

    /** Unknown codes are read as INTERNAL so that a newer peer never breaks an older one. */
    public static ResetCode of(int code) {
        for (ResetCode c : values()) {
            if (c.code == code) {
                return c;
            }
        }
        return INTERNAL;
    }
}
