package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.protocol.Protocol;
import io.quarkus.websockets.next.OnBinaryMessage;
import io.quarkus.websockets.next.OnClose;
import io.quarkus.websockets.next.OnError;
import io.quarkus.websockets.next.OnOpen;
import io.quarkus.websockets.next.OnTextMessage;
import io.quarkus.websockets.next.WebSocket;
import io.quarkus.websockets.next.WebSocketConnection;
import io.smallrye.common.annotation.NonBlocking;
import io.vertx.core.buffer.Buffer;
import org.jboss.logging.Logger;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The data-plane endpoint. Thin on purpose: it only translates socket events into calls on the connection's
 * {@link DriverConnection}. Everything runs on the event loop and must not block.
 */
@WebSocket(path = Protocol.CONNECT_PATH)
public class TunnelEndpoint {

    private static final Logger LOG = Logger.getLogger(TunnelEndpoint.class);

    private final KitContext kit;
    private final Map<String, DriverConnection> connections = new ConcurrentHashMap<>();

    TunnelEndpoint(KitContext kit) {
        this.kit = kit;
    }

    @OnOpen
    @NonBlocking
    void open(WebSocketConnection ws) {
        DriverConnection c = new DriverConnection(ws, kit);
        connections.put(ws.id(), c);
        c.onOpen();
    }

    @OnTextMessage
    @NonBlocking
    void text(WebSocketConnection ws, String message) {
        DriverConnection c = connections.get(ws.id());
        if (c != null) {
            c.onText(message);
        }
    }

    @OnBinaryMessage
    @NonBlocking
    void binary(WebSocketConnection ws, Buffer message) {
        DriverConnection c = connections.get(ws.id());
        if (c != null) {
            c.onBinary(message);
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
        DriverConnection c = connections.remove(ws.id());
        if (c != null) {
            c.onClose();
        }
    }
}
