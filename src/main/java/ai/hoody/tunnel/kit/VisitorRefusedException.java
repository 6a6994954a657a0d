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
}
