package ai.hoody.tunnel.kit.admin;

import io.quarkus.runtime.annotations.RegisterForReflection;
import org.eclipse.microprofile.openapi.annotations.media.Schema;

/** The body of every non-2xx answer of the admin API: a code for scripts and a sentence for people. */
@RegisterForReflection
@Schema(name = "tunnel_Error", description = "Every error of the admin API")
public record ErrorBody(
        @Schema(description = "A short snake_case code, e.g. session_not_found, invalid_grace_ms, not_found",
                examples = "session_not_found") String error,
        @Schema(description = "What went wrong, for people") String message) {
}
