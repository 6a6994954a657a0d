package ai.hoody.tunnel.cli;

/**
 * The kit answered, but not with what was asked: a non-2xx status (its body is normally the kit's
 * {@code {error, message}}), or a 2xx body this CLI cannot read.
 */
final class KitErrorException extends Exception {

    /** The answer as the kit sent it, for {@code --json}. */
    final String body;

    private KitErrorException(String message, String body) {
        super(message, null, false, false);
        this.body = body;
    }

    /** @param error the kit's {@code error} code, null when the body was not the kit's error JSON */
    static KitErrorException status(int status, String error, String message, String body) {
        return new KitErrorException(error == null
                ? "the kit answered HTTP " + status + (message == null || message.isBlank() ? "" : ": " + message)
                : message + " (" + error + ", HTTP " + status + ")", body);
    }

    static KitErrorException unreadable(String why, String body) {
        return new KitErrorException("the kit's answer is not what this CLI expects: " + why, body);
    }
}
