package ai.hoody.tunnel.kit.admin;

import io.quarkus.runtime.annotations.RegisterForReflection;
import org.eclipse.microprofile.openapi.annotations.media.Schema;

import java.util.List;

/** {@code GET /api/v1/tunnel/sessions}. */
@RegisterForReflection
@Schema(name = "tunnel_SessionsResponse", description = "Every driver session of the kit, oldest first")
public record SessionsResponse(List<SessionInfo> sessions) {
}
