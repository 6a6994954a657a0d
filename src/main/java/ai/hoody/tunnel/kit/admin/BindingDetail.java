package ai.hoody.tunnel.kit.admin;

import io.quarkus.runtime.annotations.RegisterForReflection;
import org.eclipse.microprofile.openapi.annotations.media.Schema;

/** A row of {@code GET /api/v1/tunnel/bindings}: a held port and the session holding it. */
@RegisterForReflection
@Schema(name = "tunnel_BindingDetail", description = "A port the kit listens on and the session holding it")
public record BindingDetail(
        @Schema(description = "The port the kit listens on in the container") int port,
        @Schema(description = "\"http\" for expose, \"tcp\" for pull", examples = "http") String kind,
        @Schema(description = "\"expose\" or \"pull\"", examples = "expose") String mode,
        @Schema(description = "The session holding the port") String sessionId,
        @Schema(description = "The id BIND_OK gave the binding") int bindId) {
}
