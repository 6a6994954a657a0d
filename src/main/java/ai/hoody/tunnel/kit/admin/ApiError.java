package ai.hoody.tunnel.kit.admin;

/**
 * An admin API request the kit refuses, with the status and {@link ErrorBody} to answer. Thrown by the resource and
 * the service, turned into JSON by {@link ApiExceptionMappers}.
 */
public final class ApiError extends RuntimeException {

    private final int status;
    private final String error;

    public ApiError(int status, String error, String message) {
        super(message, null, false, false); // a refusal, not a bug: no stack trace to fill in
        this.status = status;
        this.error = error;
    }

    static ApiError badRequest(String error, String message) {
        return new ApiError(400, error, message);
    }

    static ApiError notFound(String error, String message) {
        return new ApiError(404, error, message);
    }

    public int status() {
        return status;
    }

    public ErrorBody body() {
        return new ErrorBody(error, getMessage());
    }
}
