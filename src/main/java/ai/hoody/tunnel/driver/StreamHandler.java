package ai.hoody.tunnel.driver;

import java.io.InputStream;
import java.io.OutputStream;

/**
 * Serves one connection in the program itself, as raw bytes: what {@link Tunnel#serve} runs for every connection the
 * kit accepts on its port (and what {@link HttpHandler.Response#upgrade} runs after a 101). Runs on a virtual thread of
 * its own, so blocking reads and writes are fine.
 *
 * <p>{@code in} ends (-1) when the peer half-closes; {@code out} is unbuffered (each write is sent at once, as on a
 * socket with TCP_NODELAY: wrap it in a {@link java.io.BufferedOutputStream} for many small writes) and
 * {@code out.close()} half-closes our side. Returning closes {@code out}; what the peer still sends is read and dropped
 * until it closes too (at most 5 s, then the connection is reset). Throwing resets the connection and is reported as a
 * {@link TunnelEvent.Warning}; an {@link java.io.IOException} from {@code in} or {@code out} means the peer went away
 * or the tunnel dropped the connection.
 */
@FunctionalInterface
public interface StreamHandler {

    void handle(InputStream in, OutputStream out) throws Exception;
}
