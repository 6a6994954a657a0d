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

    /**
     * The kit's admin guard (or a proxy) refused the call: says what to configure, since "not via Hoody Proxy" alone
     * does not tell an operator at a shell what to do.
     */
    static KitErrorException forbidden(KitErrorException answer, boolean tokenSent) {
        return new KitErrorException(answer.getMessage() + (tokenSent
                ? "; the admin token was refused: use one of the kit's hoody.tunnel.admin.token values"
                : "; pass one of the kit's admin tokens (hoody.tunnel.admin.token) with --admin-token or $"
                + AdminClient.TOKEN_ENV + ", or call through the platform's proxy"), answer.body);
    }

    static KitErrorException unreadable(String why, String body) {
        return new KitErrorException("the kit's answer is not what this CLI expects: " + why, body);
    }
}
