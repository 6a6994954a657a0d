package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.protocol.Protocol;
import io.quarkus.websockets.next.HandshakeRequest;
import io.quarkus.websockets.next.HttpUpgradeCheck;
import io.smallrye.mutiny.Uni;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.config.inject.ConfigProperty;

import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;

/**
 * Decides, before the upgrade, whether a driver WebSocket handshake goes ahead (docs/PROTOCOL.md §2), in this order:
 * <ol>
 * <li>{@code Origin}: refused with 403 unless every Origin it carries is in {@code hoody.tunnel.allowed-origins}.
 * Browsers send Origin on every WebSocket handshake and drivers send none: without this, a web page the developer
 * visits could attach to a kit the browser can reach.</li>
 * <li>Subprotocol: refused with 400 unless {@code hoody-tunnel.v1} or {@code hoody-tunnel.v2} is offered; WebSockets
 * Next would otherwise open the socket without one. When both are, the first offered wins (the handshake's choice).</li>
 * </ol>
 * Then it joins the offered subprotocols into one header line and puts a {@link WebSocketEdgeGuard} on the socket.
 */
@ApplicationScoped
public class DriverUpgradeCheck implements HttpUpgradeCheck {

    static final String ORIGIN_REFUSED = "Origin not in hoody.tunnel.allowed-origins";
    static final String SUBPROTOCOL_REQUIRED = "offer Sec-WebSocket-Protocol: " + Protocol.SUBPROTOCOL_V1 + " or "
            + Protocol.SUBPROTOCOL_V2;

    private final KitMetrics metrics;
    private final Set<String> allowedOrigins;
    private final int maxFrameBytes;
    private final int maxMessageBytes;

    DriverUpgradeCheck(KitMetrics metrics, KitConfig config,
                       @ConfigProperty(name = "quarkus.websockets-next.server.max-frame-size") OptionalInt maxFrameSize,
                       @ConfigProperty(name = "quarkus.websockets-next.server.max-message-size") OptionalInt maxMessageSize) {
        this.metrics = metrics;
        this.allowedOrigins = config.allowedOrigins().orElse(Set.of());
        this.maxFrameBytes = maxFrameSize.orElse(HttpServerOptions.DEFAULT_MAX_WEBSOCKET_FRAME_SIZE);
        this.maxMessageBytes = maxMessageSize.orElse(HttpServerOptions.DEFAULT_MAX_WEBSOCKET_MESSAGE_SIZE);
    }

    @Override
    public Uni<CheckResult> perform(HttpUpgradeContext context) {
        HttpServerRequest request = context.httpRequest();
        if (!allowedOrigins.containsAll(request.headers().getAll("Origin"))) {
            metrics.helloRejected("origin");
            return refuse(403, ORIGIN_REFUSED);
        }
        List<String> offers = request.headers().getAll(HandshakeRequest.SEC_WEBSOCKET_PROTOCOL);
        if (!offersOurs(offers)) {
            metrics.helloRejected("subprotocol");
            return refuse(400, SUBPROTOCOL_REQUIRED);
        }
        if (offers.size() > 1) {
            // Netty's handshaker selects from the first Sec-WebSocket-Protocol line only, but several lines are one
            // comma-separated list (RFC 7230 §3.2.2). The handshake, right after this check, reads these same headers.
            request.headers().set(HandshakeRequest.SEC_WEBSOCKET_PROTOCOL, String.join(", ", offers));
        }
        WebSocketEdgeGuard.install(request, maxFrameBytes, maxMessageBytes);
        return CheckResult.permitUpgrade();
    }

    private static boolean offersOurs(List<String> headerLines) {
        for (String line : headerLines) {
            for (String offered : line.split(",")) {
                if (Protocol.versionOf(offered.trim()) != 0) {
                    return true;
                }
            }
        }
        return false;
    }

    private static Uni<CheckResult> refuse(int status, String why) {
        return CheckResult.rejectUpgrade(status, Map.of("X-Hoody-Tunnel-Error", List.of(why)));
    }
}
