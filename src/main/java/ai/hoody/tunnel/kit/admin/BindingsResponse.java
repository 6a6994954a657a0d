package ai.hoody.tunnel.kit.admin;

import io.quarkus.runtime.annotations.RegisterForReflection;
import org.eclipse.microprofile.openapi.annotations.media.Schema;

import java.util.List;

/** {@code GET /api/v1/tunnel/bindings}: every held port, kit-wide, by port. */
@RegisterForReflection
@Schema(name = "tunnel_BindingsResponse", description = "Every port the kit holds for a session, by port")
public record BindingsResponse(List<BindingDetail> bindings) {
}
