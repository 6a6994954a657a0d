package ai.hoody.tunnel.kit.admin;

import io.micrometer.prometheus.PrometheusMeterRegistry;
import io.smallrye.common.annotation.RunOnVirtualThread;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.UriInfo;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.enums.ParameterIn;
import org.eclipse.microprofile.openapi.annotations.enums.SchemaType;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.parameters.Parameter;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;
import org.jboss.resteasy.reactive.ResponseStatus;

/**
 * The kit's admin API. Thin: every answer comes from {@link TunnelAdminService}; errors, including unknown paths and
 * wrong methods, are written as JSON by {@link ApiExceptionMappers}. Runs on virtual threads: answers read
 * {@code /proc} and walk every session, which an event loop should not wait for.
 */
@Path("/api/v1/tunnel")
@Produces(MediaType.APPLICATION_JSON)
@RunOnVirtualThread
@Tag(name = "tunnel", description = "Sessions, bindings and health of the tunnel kit")
public class TunnelAdminResource {

    /** Prometheus text format 0.0.4, what {@link PrometheusMeterRegistry#scrape()} writes. */
    static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

    private final TunnelAdminService service;
    private final PrometheusMeterRegistry prometheus;

    TunnelAdminResource(TunnelAdminService service, PrometheusMeterRegistry prometheus) {
        this.service = service;
        this.prometheus = prometheus;
    }

    @GET
    @Path("health")
    @Operation(summary = "The kit process: pid, start time, version, descriptors, memory")
    public HealthResponse health() {
        return service.health();
    }

    @GET
    @Path("tunnels")
    @Operation(summary = "Every session with its expose and pull bindings, and kit-wide totals")
    public TunnelOverview tunnels() {
        return service.overview();
    }

    @GET
    @Path("sessions")
    @Operation(summary = "Every driver session with its limits and bindings")
    public SessionsResponse sessions() {
        return service.sessions();
    }

    @GET
    @Path("bindings")
    @Operation(summary = "Every port the kit holds, by port")
    public BindingsResponse bindings() {
        return service.bindings();
    }

    @GET
    @Path("metrics")
    @Produces(PROMETHEUS_TEXT)
    @Operation(summary = "The kit's meters in the Prometheus text format (also served at /q/metrics)")
    @APIResponse(responseCode = "200", description = "Prometheus text exposition",
            content = @Content(mediaType = PROMETHEUS_TEXT, schema = @Schema(type = SchemaType.STRING)))
    public String metrics() {
        return prometheus.scrape();
    }

    @DELETE
    @Path("sessions/{id}")
    @ResponseStatus(202)
    @Operation(summary = "Kill a session: GOAWAY(ADMIN_KILL), bindings dropped, in-flight streams given grace_ms to finish")
    @APIResponse(responseCode = "202", description = "The session is closing",
            content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = KillResponse.class)))
    @APIResponse(responseCode = "400", description = "grace_ms is not an integer in 0..5000",
            content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = ErrorBody.class)))
    @APIResponse(responseCode = "404", description = "No session has this id",
            content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = ErrorBody.class)))
    @Parameter(name = "grace_ms", in = ParameterIn.QUERY, description = "Milliseconds in-flight streams may take to finish",
            schema = @Schema(type = SchemaType.INTEGER, minimum = "0", maximum = "5000", defaultValue = "50"))
    public KillResponse kill(@PathParam("id") String id, @Context UriInfo uri) {
        // Read from the raw query: @QueryParam would turn "grace_ms=" into "absent" (the default) instead of a 400.
        return service.kill(id, GraceMillis.parse(uri.getQueryParameters().getFirst("grace_ms")));
    }
}
