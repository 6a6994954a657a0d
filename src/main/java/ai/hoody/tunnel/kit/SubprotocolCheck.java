package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.protocol.Protocol;
import io.quarkus.websockets.next.HttpUpgradeCheck;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;

import java.util.List;
import java.util.Map;

/**
 * Refuses, with HTTP 400 before the upgrade, a WebSocket handshake that offers no subprotocol this kit speaks:
 * WebSockets Next would otherwise open the socket without one.
 */
@ApplicationScoped
public class SubprotocolCheck implements HttpUpgradeCheck {

    private final KitMetrics metrics;

    SubprotocolCheck(KitMetrics metrics) {
        this.metrics = metrics;
    }

    @Override
    public Uni<CheckResult> perform(HttpUpgradeContext context) {
        for (String header : context.httpRequest().headers().getAll("Sec-WebSocket-Protocol")) {
            for (String offered : header.split(",")) {
                if (Protocol.SUBPROTOCOL_V1.equals(offered.trim())) {
                    return CheckResult.permitUpgrade();
                }
            }
        }
        metrics.helloRejected("subprotocol");
        return CheckResult.rejectUpgrade(400, Map.of("X-Hoody-Tunnel-Error",
                List.of("offer Sec-WebSocket-Protocol: " + Protocol.SUBPROTOCOL_V1)));
    }
}
