package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.protocol.Protocol;
import io.quarkus.websockets.next.OnBinaryMessage;
import io.quarkus.websockets.next.OnClose;
import io.quarkus.websockets.next.OnError;
import io.quarkus.websockets.next.OnOpen;
import io.quarkus.websockets.next.OnPingMessage;
import io.quarkus.websockets.next.OnPongMessage;
import io.quarkus.websockets.next.OnTextMessage;
import io.quarkus.websockets.next.WebSocket;
import io.quarkus.websockets.next.WebSocketConnection;
import io.smallrye.common.annotation.NonBlocking;
import io.vertx.core.buffer.Buffer;
import org.jboss.logging.Logger;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The data-plane endpoint. Thin on purpose: it only translates socket events into calls on the socket's
 * {@link DriverSocket}. Everything runs on the event loop and must not block.
 */
@WebSocket(path = Protocol.CONNECT_PATH)
public class TunnelEndpoint {

    private static final Logger LOG = Logger.getLogger(TunnelEndpoint.class);

    private final KitContext kit;
    private final Map<String, DriverSocket> sockets = new ConcurrentHashMap<>();

    TunnelEndpoint(KitContext kit) {
        this.kit = kit;
    }

    @OnOpen
    @NonBlocking
    void open(WebSocketConnection ws) {
        DriverSocket s = new DriverSocket(ws, kit);
        sockets.put(ws.id(), s);
        s.onOpen();
    }

    @OnTextMessage
    @NonBlocking
    void text(WebSocketConnection ws, String message) {
        DriverSocket s = sockets.get(ws.id());
        if (s != null) {
            s.onText(message);
        }
    }

    @OnBinaryMessage
    @NonBlocking
    void binary(WebSocketConnection ws, Buffer message) {
        DriverSocket s = sockets.get(ws.id());
        if (s != null) {
            s.onBinary(message);
        }
    }

    /** WebSocket-level pings count as signs of life (many client libraries keep a socket alive that way). */
    @OnPingMessage
    @NonBlocking
    void ping(WebSocketConnection ws, Buffer data) {
        DriverSocket s = sockets.get(ws.id());
        if (s != null) {
            s.onPingOrPong();
        }
    }

    @OnPongMessage
    @NonBlocking
    void pong(WebSocketConnection ws, Buffer data) {
        DriverSocket s = sockets.get(ws.id());
        if (s != null) {
            s.onPingOrPong();
        }
    }

    /**
     * A driver whose network went away is routine (laptop Wi-Fi), not an error: logged at DEBUG. The close that
     * follows is handled by {@link #close}.
     */
    @OnError
    @NonBlocking
    void error(WebSocketConnection ws, Throwable failure) {
        LOG.debugf("driver socket %s failed: %s", ws.id(), failure.toString());
    }

    @OnClose
    @NonBlocking
    void close(WebSocketConnection ws) {
        DriverSocket s = sockets.remove(ws.id());
        if (s != null) {
            s.onClose();
        }
    }
}
