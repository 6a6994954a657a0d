package ai.hoody.tunnel.kit.admin;

import io.quarkus.runtime.annotations.RegisterForReflection;
import org.eclipse.microprofile.openapi.annotations.media.Schema;

import java.time.Instant;

/** {@code GET /api/v1/tunnel/health}: the kit process at a glance. */
@RegisterForReflection
@Schema(name = "tunnel_HealthResponse", description = "The kit process at a glance")
public record HealthResponse(
        @Schema(description = "Always \"ok\" when the kit answers", examples = "ok") String status,
        @Schema(description = "Process id of the kit") long pid,
        @Schema(description = "When the kit finished starting (ISO-8601); null while it is still starting", nullable = true)
        Instant started,
        @Schema(description = "The kit's product token, e.g. hoody-tunnel/0.1.0", examples = "hoody-tunnel/0.1.0") String userAgent,
        @Schema(description = "File descriptors open in the process now; -1 where the platform does not say") long fds,
        Memory memory) {
}
