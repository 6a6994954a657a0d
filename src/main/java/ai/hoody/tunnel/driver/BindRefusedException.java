package ai.hoody.tunnel.driver;

import ai.hoody.tunnel.protocol.BindErrorCode;

/** The kit refused a BIND (BIND_ERR, docs/PROTOCOL.md §3.4); {@link #code()} says why, e.g. {@code ALREADY_BOUND}. */
public final class BindRefusedException extends TunnelException {

    private final BindErrorCode code;
    private final int port;

    public BindRefusedException(BindErrorCode code, String message, int port) {
        super("bind refused: " + code + ": " + message);
        this.code = code;
        this.port = port;
    }

    public BindErrorCode code() {
        return code;
    }

    /** The container port that was asked for. */
    public int port() {
        return port;
    }
}
