package ai.hoody.tunnel.driver;

import java.io.IOException;

/** A tunnel could not do what was asked: reach the kit, open a session, get a binding answered, or it is closed. */
public class TunnelException extends IOException {

    public TunnelException(String message) {
        super(message);
    }

    public TunnelException(String message, Throwable cause) {
        super(message, cause);
    }
}
