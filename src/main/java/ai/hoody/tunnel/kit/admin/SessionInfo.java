package ai.hoody.tunnel.kit.admin;

import io.quarkus.runtime.annotations.RegisterForReflection;
import org.eclipse.microprofile.openapi.annotations.media.Schema;

import java.util.List;

/** A row of {@code GET /api/v1/tunnel/sessions}: one driver session and its limits. */
@RegisterForReflection
@Schema(name = "tunnel_SessionInfo", description = "A driver session, its limits and its bindings")
public record SessionInfo(
        String sessionId,
        @Schema(description = "attached: a driver's socket carries the session; orphaned: the socket dropped without "
                + "GOAWAY and the expose ports are parked for a resume or a takeover; ending: ending on purpose, "
                + "its streams finishing (PROTOCOL.md §6.1)", enumeration = {"attached", "orphaned", "ending"},
                examples = "attached") String state,
        @Schema(description = "Address and port the driver connected from") String peerAddr,
        @Schema(description = "Streams opened for visitors and container clients since the session began") long connectionsGranted,
        @Schema(description = "Streams open now") int activeStreams,
        @Schema(description = "Most streams the session may have open at once") int maxStreams,
        @Schema(description = "True for a hoody-tunnel.v2 (sharded) session") boolean isV2,
        List<BindingInfo> bindings,
        @Schema(description = "The subprotocol the session speaks", enumeration = {"hoody-tunnel.v1", "hoody-tunnel.v2"})
        String protocol,
        @Schema(description = "The session's sockets joined now, primary (index 0) first; a v1 session has one")
        List<ShardInfo> shards) {
}
