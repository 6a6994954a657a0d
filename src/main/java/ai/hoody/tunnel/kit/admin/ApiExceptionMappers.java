package ai.hoody.tunnel.kit.admin;

import io.vertx.core.http.HttpServerRequest;
import jakarta.ws.rs.NotAllowedException;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

import java.util.Locale;

/**
 * Turns every failure of the REST layer into {@link ErrorBody} JSON, so that scripts and the admin CLI never have to
 * read an HTML or empty error page: our own {@link ApiError}s, the framework's 404 (unknown path), 405, 406 and
 * 415, and anything unexpected (500).
 */
public class ApiExceptionMappers {

    private static final Logger LOG = Logger.getLogger(ApiExceptionMappers.class);

    @ServerExceptionMapper
    public Response apiError(ApiError e) {
        return json(Response.status(e.status()), e.body());
    }

    @ServerExceptionMapper
    public Response notFound(NotFoundException e, HttpServerRequest request) {
        return json(Response.fromResponse(e.getResponse()), new ErrorBody("not_found",
                "no endpoint " + request.method() + " " + request.path()));
    }

    @ServerExceptionMapper
    public Response notAllowed(NotAllowedException e, HttpServerRequest request) {
        return json(Response.fromResponse(e.getResponse()), new ErrorBody("method_not_allowed",
                request.path() + " does not answer " + request.method()));
    }

    /** Any other status the framework raises (400, 406, 415, ...): keep its status and headers, explain in JSON. */
    @ServerExceptionMapper
    public Response webApplication(WebApplicationException e) {
        Response r = e.getResponse();
        Response.StatusType status = r.getStatusInfo();
        return json(Response.fromResponse(r), new ErrorBody(code(status), e.getMessage() == null
                ? status.getReasonPhrase() : e.getMessage()));
    }

    @ServerExceptionMapper
    public Response unexpected(Exception e) {
        LOG.error("admin API request failed", e);
        return json(Response.serverError(), new ErrorBody("internal_error", "the kit failed to answer: " + e));
    }

    private static Response json(Response.ResponseBuilder builder, ErrorBody body) {
        return builder.entity(body).type(MediaType.APPLICATION_JSON_TYPE).build();
    }

    /** e.g. 415 Unsupported Media Type → {@code unsupported_media_type}. */
    private static String code(Response.StatusType status) {
        String reason = status.getReasonPhrase();
        return reason == null || reason.isBlank()
                ? "http_" + status.getStatusCode()
                : reason.strip().toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "_");
    }
}
