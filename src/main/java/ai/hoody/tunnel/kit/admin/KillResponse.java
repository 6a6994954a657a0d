package ai.hoody.tunnel.kit.admin;

import io.quarkus.runtime.annotations.RegisterForReflection;
import org.eclipse.microprofile.openapi.annotations.media.Schema;

/** {@code DELETE /api/v1/tunnel/sessions/{id}}: the kill was accepted and runs in the background. */
@RegisterForReflection
@Schema(name = "tunnel_KillResponse", description = "The session is being closed")
public record KillResponse(
        String sessionId,
        @Schema(description = "Always \"closing\": the session ends once its grace period is over", examples = "closing")
        String status) {
}
