package ai.hoody.tunnel.kit.admin;

import io.quarkus.runtime.annotations.RegisterForReflection;
import org.eclipse.microprofile.openapi.annotations.media.Schema;

import java.util.List;

/** {@code GET /api/v1/tunnel/tunnels}: every session with its bindings, and kit-wide totals. */
@RegisterForReflection
@Schema(name = "tunnel_TunnelOverview", description = "Every session with its bindings, and kit-wide totals")
public record TunnelOverview(
        List<SessionOverview> sessions,
        @Schema(description = "Sessions whose driver is gone but which are kept for a resume") int orphanedSessions,
        @Schema(description = "Sum of the sessions' activeStreams") int totalStreams,
        @Schema(description = "Sum of the sessions' bindings") int totalBindings,
        @Schema(description = "Descriptors the kit may still open for listeners and visitors") int fdPermitsAvailable) {
}
