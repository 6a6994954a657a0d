package ai.hoody.tunnel.mux;

/** What an owner of a {@link Multiplexer} wants to hear about: counters and the end of streams. */
public interface MuxListener {

    MuxListener NONE = new MuxListener() {
    };

    /** The stream left the multiplexer (both sides finished, or reset); called once per stream. */
    default void streamClosed(MuxStream stream) {
    }

    default void bytesReceived(int n) {
    }

    default void bytesSent(int n) {
    }
}
