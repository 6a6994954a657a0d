package ai.hoody.tunnel.kit.admin;

import io.quarkus.runtime.annotations.RegisterForReflection;
import org.eclipse.microprofile.openapi.annotations.media.Schema;

import java.util.List;

/** A row of {@code GET /api/v1/tunnel/sessions}: one driver session and its limits. */
@RegisterForReflection
@Schema(name = "tunnel_SessionInfo", description = "A driver session, its limits and its bindings")
public record SessionInfo(
        String sessionId,
        @Schema(description = "Address and port the driver connected from") String peerAddr,
        @Schema(description = "Streams opened for visitors and container clients since the session began") long connectionsGranted,
        @Schema(description = "Streams open now") int activeStreams,
        @Schema(description = "Most streams the session may have open at once") int maxStreams,
        @Schema(description = "True for a hoody-tunnel.v2 (sharded) session") boolean isV2,
        List<BindingInfo> bindings) {
}
