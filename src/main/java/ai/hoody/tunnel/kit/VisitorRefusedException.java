package ai.hoody.tunnel.kit;

/** The kit cannot forward a connection; {@code status} is the HTTP status an EXPOSE visitor gets. */
final class VisitorRefusedException extends Exception {

    final int status;
    final Integer retryAfterSeconds;

    VisitorRefusedException(int status, String message, Integer retryAfterSeconds) {
        super(message, null, false, false);
        this.status = status;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    /** The session is parked: its driver is expected back (PROTOCOL.md §7, 503 with Retry-After: 5). */
    static VisitorRefusedException reconnecting() {
        return new VisitorRefusedException(503, "the laptop is reconnecting", 5);
    }
}
