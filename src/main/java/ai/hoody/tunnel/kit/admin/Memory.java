package ai.hoody.tunnel.kit.admin;

import io.quarkus.runtime.annotations.RegisterForReflection;
import org.eclipse.microprofile.openapi.annotations.media.Schema;

/** Memory of the kit process, part of {@link HealthResponse}. */
@RegisterForReflection
@Schema(name = "tunnel_Memory", description = "Memory of the kit process")
public record Memory(
        @Schema(description = "Resident set size in bytes (VmRSS); -1 where the platform does not say") long rss) {
}
