package ai.hoody.tunnel.kit.admin;

import ai.hoody.tunnel.support.Admin;
import ai.hoody.tunnel.support.RawDriver;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import io.restassured.response.Response;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Who may administer (issue #11). The test kit trusts two admin tokens and one proxy secret (application.properties,
 * {@code %test}); these tests call it from the loopback, like a program in the container would (the SSRF case), with
 * and without them. {@link TrustedProxyTest} covers a trusted address.
 */
@QuarkusTest
class AdminGuardTest {

    private static final String FORBIDDEN = "{\"error\":\"forbidden\",\"message\":\"not via Hoody Proxy\"}";
    private static final String API = "/api/v1/tunnel";
    /** Every admin path, and paths nobody serves: the guard answers before the router looks. */
    private static final List<String> GUARDED_GETS = List.of(API + "/health", API + "/tunnels", API + "/sessions",
            API + "/bindings", API + "/metrics", "/q/metrics", "/q/openapi", API + "/nope", API + "/", "/", "/nope",
            "/q/nope", "/API/v1/tunnel/sessions");

    @TestHTTPResource("/")
    URI kit;

    private static void assertForbidden(Response r, String what) {
        assertThat(r.statusCode()).as(what).isEqualTo(403);
        assertThat(r.contentType()).as(what).startsWith("application/json");
        assertThat(r.asString()).as(what).isEqualTo(FORBIDDEN);
    }

    @Test
    void aLoopbackCallWithoutCredentialIsForbidden() {
        for (String path : GUARDED_GETS) {
            assertForbidden(RestAssured.given().get(path), "GET " + path);
        }
        assertForbidden(RestAssured.given().post(API + "/health"), "POST health");
    }

    @Test
    void aKillWithoutCredentialKillsNothing() throws Exception {
        try (RawDriver driver = RawDriver.connect(kit)) { // the WebSocket is not an admin path: no credential needed
            String id = driver.hello(10).sessionId();
            assertForbidden(RestAssured.given().delete(API + "/sessions/" + id + "?grace_ms=0"), "DELETE");
            assertForbidden(RestAssured.given().header("Authorization", "Bearer nope-nope-nope-nope-nope")
                    .delete(API + "/sessions/" + id), "DELETE with a wrong token");
            assertThat(Admin.given().get(API + "/sessions").jsonPath().getList("sessions.sessionId")).contains(id);
            assertThat(driver.isClosed()).as("the session survives").isFalse();
        }
    }

    @Test
    void wrongCredentialsAreForbidden() {
        String token = Admin.token();
        for (String authorization : List.of("Bearer wrong-token-0000000000000", "Bearer " + token.toUpperCase(),
                "Bearer " + token + "x", "Bearer " + token.substring(1), "Basic " + token, token, "Bearer", "Bearer ")) {
            assertForbidden(RestAssured.given().header("Authorization", authorization).get(API + "/sessions"), authorization);
        }
        // The admin token is not a proxy secret, nor the other way round.
        assertForbidden(RestAssured.given().header("X-Hoody-Proxy-Secret", token).get(API + "/sessions"), "token as secret");
        assertForbidden(RestAssured.given().header("Authorization", "Bearer test-proxy-secret-00000001").get(API + "/sessions"),
                "secret as token");
        assertForbidden(RestAssured.given().header("X-Hoody-Proxy-Secret", "test-proxy-secret-00000002").get(API + "/sessions"),
                "wrong secret");
        // A forwarded-for header is the client's word, not the peer's address.
        assertForbidden(RestAssured.given().header("X-Forwarded-For", "10.0.0.1").header("Forwarded", "for=10.0.0.1")
                .get(API + "/sessions"), "forwarded");
    }

    @Test
    void theAdminTokenLetsIn() {
        assertThat(Admin.given().get(API + "/sessions").statusCode()).isEqualTo(200);
        assertThat(Admin.given().get("/q/metrics").statusCode()).isEqualTo(200);
        assertThat(Admin.given().queryParam("format", "json").get("/q/openapi").statusCode()).isEqualTo(200);
        // Both tokens of a rotation, and the scheme in any case (RFC 9110).
        assertThat(RestAssured.given().header("Authorization", "Bearer test-admin-token-0000000002").get(API + "/health")
                .statusCode()).isEqualTo(200);
        assertThat(RestAssured.given().header("Authorization", "bearer " + Admin.token()).get(API + "/health")
                .statusCode()).isEqualTo(200);
        // Past the guard, the API's own answers: an unknown path is a JSON 404 again.
        assertThat(Admin.given().get(API + "/nope").statusCode()).isEqualTo(404);
    }

    @Test
    void theProxySecretLetsIn() {
        Response r = RestAssured.given().header("X-Hoody-Proxy-Secret", "test-proxy-secret-00000001").get(API + "/tunnels");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.jsonPath().getMap("")).containsKey("sessions");
    }

    @Test
    void healthProbesStayOpen() {
        for (String path : List.of("/q/health", "/q/health/live", "/q/health/ready", "/q/health/started")) {
            assertThat(RestAssured.given().get(path).statusCode()).as(path).isEqualTo(200);
        }
    }

    /** Dot segments are resolved before the guard looks, as before the router matches: no way around it through a probe path. */
    @Test
    void aPathThroughTheProbesIsStillGuarded() throws Exception {
        for (String path : List.of("/q/health/../../api/v1/tunnel/sessions", "/q/health/%2e%2e/%2e%2e/api/v1/tunnel/sessions",
                "/api/v1/tunnel/connect/../sessions", "/q/health/..%2F..%2Fapi/v1/tunnel/sessions", "//api/v1/tunnel/sessions")) {
            String answer = rawGet(path);
            assertThat(answer).as(path).doesNotStartWith("HTTP/1.1 200");
            if (!answer.startsWith("HTTP/1.1 404")) {
                assertThat(answer).as(path).startsWith("HTTP/1.1 403").endsWith(FORBIDDEN);
            }
        }
    }

    @Test
    void refusalsAreCounted() {
        RestAssured.given().get(API + "/bindings");
        RestAssured.given().header("Authorization", "Bearer wrong-token-0000000000000").get(API + "/bindings");
        String metrics = Admin.given().get(API + "/metrics").asString();
        assertThat(metrics).containsPattern("(?m)^hoody_tunnel_admin_refusals_total\\{reason=\"missing\",?\\} [1-9]");
        assertThat(metrics).containsPattern("(?m)^hoody_tunnel_admin_refusals_total\\{reason=\"wrong\",?\\} [1-9]");
    }

    /** A request exactly as written, without a client library normalizing its path first. */
    private String rawGet(String path) throws Exception {
        try (Socket s = new Socket(kit.getHost(), kit.getPort())) {
            s.setSoTimeout(5000);
            s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            in.transferTo(all);
            return all.toString(StandardCharsets.UTF_8);
        }
    }
}
