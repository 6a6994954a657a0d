package ai.hoody.tunnel.driver;

/**
 * How a binding is asked for, besides its container port: {@link #takeover()} and {@link #loopback()} /
 * {@link #loopback(String)}. Passed to {@link Tunnel#expose}, {@link Tunnel#pull}, {@link Tunnel#serve} and
 * {@link Tunnel#serveHttp}; an option that does not fit the call is an {@link IllegalArgumentException}.
 */
public sealed interface BindOption {

    /**
     * Expose only: if another session holds the port with an expose binding, take it over at once (its listener never
     * closes; the old holder hears {@code bind_revoked} with reason {@code TAKEOVER}). Without it such a port is
     * refused with {@code ALREADY_BOUND}.
     */
    static BindOption takeover() {
        return Takeover.INSTANCE;
    }

    /**
     * On the container's loopback ({@code 127.0.0.1}) instead of publicly: a pull binding, reachable only by programs in
     * the container. The default for {@link Tunnel#pull}; for {@link Tunnel#serve} and {@link Tunnel#serveHttp} it
     * turns the binding from an expose into a pull.
     */
    static BindOption loopback() {
        return new Loopback(null);
    }

    /** As {@link #loopback()}, on {@code host}: {@code 127.0.0.1}, {@code ::1} or {@code localhost} (the kit checks). */
    static BindOption loopback(String host) {
        if (host == null || host.isBlank()) {
            throw new IllegalArgumentException("the loopback host must be 127.0.0.1, ::1 or localhost, was '" + host + "'");
        }
        return new Loopback(host);
    }

    /** See {@link BindOption#takeover()}. */
    enum Takeover implements BindOption {
        INSTANCE
    }

    /** See {@link BindOption#loopback(String)}; {@code host} null means the kit's default, 127.0.0.1. */
    record Loopback(String host) implements BindOption {
    }
}
