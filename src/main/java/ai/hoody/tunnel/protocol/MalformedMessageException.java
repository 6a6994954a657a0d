package ai.hoody.tunnel.protocol;

/**
 * A message that does not follow docs/PROTOCOL.md: a malformed binary frame or control message. The receiver of one
 * closes the WebSocket with 1002 and this exception's message as the reason.
 */
public final class MalformedMessageException extends Exception {
    public MalformedMessageException(String message) {
        super(message, null, false, false);
    }
}
