package ai.hoody.tunnel.kit.admin;

import io.quarkus.runtime.annotations.RegisterForReflection;
import org.eclipse.microprofile.openapi.annotations.media.Schema;

import java.util.List;

/** A session row of {@link TunnelOverview}: its bindings split by mode, the way an operator reads them. */
@RegisterForReflection
@Schema(name = "tunnel_SessionOverview", description = "A session and its bindings, split by mode")
public record SessionOverview(
        String sessionId,
        @Schema(description = "Address and port the driver connected from") String peerAddr,
        @Schema(description = "The WebSocket subprotocol of the session", examples = "hoody-tunnel.v1") String protocol,
        @Schema(description = "Streams opened for visitors and container clients since the session began") long connectionsGranted,
        @Schema(description = "Streams open now") int activeStreams,
        List<BindingInfo> exposeBindings,
        List<BindingInfo> pullBindings) {
}
