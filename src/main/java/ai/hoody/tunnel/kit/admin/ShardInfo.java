package ai.hoody.tunnel.kit.admin;

import io.quarkus.runtime.annotations.RegisterForReflection;
import org.eclipse.microprofile.openapi.annotations.media.Schema;

/** One socket of a session in {@code GET /api/v1/tunnel/sessions} (docs/PROTOCOL.md §11). */
@RegisterForReflection
@Schema(name = "tunnel_ShardInfo", description = "One socket of a session: the primary or a hoody-tunnel.v2 secondary shard")
public record ShardInfo(
        @Schema(description = "0 for the primary, 1.. for v2 secondaries") int index,
        @Schema(description = "True for the socket that said HELLO and carries control messages") boolean primary,
        @Schema(description = "Streams open on this socket now") int activeStreams,
        @Schema(description = "Stream bytes received from the driver on this socket") long bytesIn,
        @Schema(description = "Stream bytes sent to the driver on this socket") long bytesOut,
        @Schema(description = "Address and port this socket came from") String peerAddr) {
}
