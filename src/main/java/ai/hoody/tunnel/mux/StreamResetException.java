package ai.hoody.tunnel.mux;

import ai.hoody.tunnel.protocol.ResetCode;

import java.io.IOException;

/** The stream was reset, by the peer or locally; {@code code} says why. */
public final class StreamResetException extends IOException {

    private final ResetCode code;
    private final boolean byPeer;

    public StreamResetException(ResetCode code, String reason, boolean byPeer) {
        super((byPeer ? "reset by peer: " : "reset: ") + code + (reason == null || reason.isEmpty() ? "" : " (" + reason + ")"),
                null);
        this.code = code;
        this.byPeer = byPeer;
    }

    public ResetCode code() {
        return code;
    }

    public boolean byPeer() {
        return byPeer;
    }

    @Override
    public synchronized Throwable fillInStackTrace() {
        return this; // an expected outcome, not a bug: no stack trace needed
    }
}
