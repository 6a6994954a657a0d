package ai.hoody.tunnel.cli;

import ai.hoody.tunnel.protocol.Version;
import ai.hoody.tunnel.kit.admin.ErrorBody;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * The admin CLI's view of a kit's admin API ({@code /api/v1/tunnel/*}) over plain HTTP. Answers are returned as the
 * text the kit sent, so that {@code --json} can print them unchanged; {@link #read} turns one into the kit's own
 * response record.
 */
final class AdminClient {

    static final String API = "/api/v1/tunnel";
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
    static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(15);
    /** Tolerates fields a newer kit adds. */
    private static final ObjectMapper JSON = JsonMapper.builder()
            .addModule(new JavaTimeModule())
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    /** Where the CLI finds the admin token when {@code --admin-token} is not given. */
    static final String TOKEN_ENV = "HOODY_TUNNEL_ADMIN_TOKEN";

    private final URI kit;
    private final String token;
    private final HttpClient http;

    /**
     * @param kit   the base URL, as {@link ai.hoody.tunnel.driver.KitUrl#base} returns it
     * @param token an admin token to send as {@code Authorization: Bearer}, or null to send none
     */
    AdminClient(URI kit, String token) {
        this.kit = kit;
        this.token = token == null || token.isBlank() ? null : token.strip();
        // HTTP/1.1: the kit speaks it, and the JDK's h2c upgrade attempt would only add a round of negotiation.
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(CONNECT_TIMEOUT).build();
    }

    /** @param path below {@code /api/v1/tunnel}, e.g. {@code /sessions} */
    String get(String path, String accept) throws KitErrorException, KitUnreachableException {
        return send(request(path).header("Accept", accept).GET().build());
    }

    String getJson(String path) throws KitErrorException, KitUnreachableException {
        return get(path, "application/json");
    }

    String delete(String path) throws KitErrorException, KitUnreachableException {
        return send(request(path).header("Accept", "application/json").DELETE().build());
    }

    static <T> T read(String body, Class<T> type) throws KitErrorException {
        try {
            return JSON.readValue(body, type);
        } catch (JsonProcessingException e) {
            throw KitErrorException.unreadable(e.getOriginalMessage(), body);
        }
    }

    private HttpRequest.Builder request(String path) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(kit + API + path))
                .timeout(REQUEST_TIMEOUT)
                .header("User-Agent", Version.USER_AGENT);
        return token == null ? b : b.header("Authorization", "Bearer " + token);
    }

    private String send(HttpRequest request) throws KitErrorException, KitUnreachableException {
        HttpResponse<String> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new KitUnreachableException(kit, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KitUnreachableException(kit, e);
        }
        if (response.statusCode() == 403) {
            throw KitErrorException.forbidden(error(403, response.body()), token != null);
        }
        if (response.statusCode() / 100 != 2) {
            throw error(response.statusCode(), response.body());
        }
        return response.body();
    }

    /** Reads the kit's {@code {error, message}}; a proxy in between may have answered with something else. */
    private static KitErrorException error(int status, String body) {
        try {
            ErrorBody e = JSON.readValue(body, ErrorBody.class);
            if (e != null && e.error() != null) {
                return KitErrorException.status(status, e.error(), e.message(), body);
            }
        } catch (JsonProcessingException notJson) {
            // fall through: show the start of whatever came back
        }
        String text = body == null ? "" : body.strip();
        return KitErrorException.status(status, null, text.length() > 200 ? text.substring(0, 200) + "..." : text, body);
    }
}
