package ai.hoody.tunnel.cli;

import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpTimeoutException;
import java.nio.channels.UnresolvedAddressException;

/** No HTTP answer came from the kit: refused, timed out, unknown host, TLS failure. */
final class KitUnreachableException extends Exception {

    KitUnreachableException(URI kit, Exception cause) {
        super("cannot reach the kit at " + kit + ": " + describe(cause), cause, false, false);
    }

    /** The JDK's HTTP client often says nothing useful itself (a refused connection has no message at all). */
    private static String describe(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof UnresolvedAddressException) {
                return "unknown host";
            }
        }
        if (t instanceof HttpConnectTimeoutException) {
            return "no connection within " + AdminClient.CONNECT_TIMEOUT.toSeconds() + " s";
        }
        if (t instanceof HttpTimeoutException) {
            return "no answer within " + AdminClient.REQUEST_TIMEOUT.toSeconds() + " s";
        }
        if (t instanceof ConnectException) {
            return "connection refused (is the kit running, and on this port?)";
        }
        if (t instanceof InterruptedException) {
            return "interrupted";
        }
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c.getMessage() != null && !c.getMessage().isBlank()) {
                return c.getMessage();
            }
        }
        return t.getClass().getSimpleName();
    }
}
