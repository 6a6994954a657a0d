package ai.hoody.tunnel.mux;

/** No stream can be opened: the connection holds as many as it may, or it is closed. */
public final class StreamLimitException extends Exception {

    public StreamLimitException(String message) {
        super(message, null, false, false);
    }
}
