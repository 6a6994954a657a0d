package ai.hoody.tunnel.protocol;

/** The {@code code} of a BIND_ERR (docs/PROTOCOL.md §3.4). */
public enum BindErrorCode {
    /** Another session holds the port. */
    ALREADY_BOUND,
    /** The operating system refused to listen on the port. */
    PORT_IN_USE,
    /** The port is one of the kit's own. */
    RESERVED_PORT,
    /** Below 80 always; 80..1023 unless the kit allows privileged ports for the mode. */
    PRIVILEGED_PORT,
    /** A (kind, mode) pair other than http/expose and tcp/pull, or takeover on a pull. */
    INVALID_KIND,
    /** A pull host other than 127.0.0.1, ::1 or localhost. */
    INVALID_HOST,
    /** The session holds as many bindings as the kit allows. */
    BIND_CAP_EXCEEDED,
    /** Anything else; the message says what. */
    INTERNAL
}
