package ai.hoody.tunnel.kit.admin;

import io.quarkus.runtime.annotations.RegisterForReflection;
import org.eclipse.microprofile.openapi.annotations.media.Schema;

/** A binding as listed inside its session (the session is the row around it). */
@RegisterForReflection
@Schema(name = "tunnel_BindingInfo", description = "A binding held by the session it is listed in")
public record BindingInfo(
        @Schema(description = "\"http\" for expose, \"tcp\" for pull", examples = "http") String kind,
        @Schema(description = "\"expose\" or \"pull\"", examples = "expose") String mode,
        @Schema(description = "The port the kit listens on in the container") int containerPort,
        @Schema(description = "The id BIND_OK gave the binding") int bindId) {
}
