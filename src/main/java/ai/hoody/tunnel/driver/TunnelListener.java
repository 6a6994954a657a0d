package ai.hoody.tunnel.driver;

/**
 * Hears a tunnel's {@link TunnelEvent}s. Called on the tunnel's own threads (the socket's reader, the session's
 * thread), one event at a time and in order: it must return quickly and must not wait for the tunnel (calling
 * {@link Tunnel#close()} is allowed). An exception it throws is logged and does not stop the tunnel.
 */
@FunctionalInterface
public interface TunnelListener {

    void onEvent(TunnelEvent event);
}
