package ai.hoody.tunnel.kit.admin;

import ai.hoody.tunnel.protocol.Version;
import ai.hoody.tunnel.protocol.ControlMessage;
import ai.hoody.tunnel.protocol.Frame;
import ai.hoody.tunnel.protocol.FrameCodec;
import ai.hoody.tunnel.support.Ports;
import ai.hoody.tunnel.support.RawDriver;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.Socket;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static ai.hoody.tunnel.support.Admin.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The admin API against a real kit: a driver WebSocket (the JDK's client, speaking the protocol's JSON) holds a
 * session with one expose and one pull binding, and real visitor sockets hold streams open, so that every field has
 * something true to report. Other test classes may hold sessions of their own at the same time: rows are found by
 * this test's session id, and totals are checked against the rows.
 */
@QuarkusTest
class AdminApiTest {

    private static final String API = "/api/v1/tunnel";
    private static final Duration WAIT = Duration.ofSeconds(10);

    @TestHTTPResource("/")
    URI kit;

    private RawDriver driver;
    private String sessionId;
    private ControlMessage.BindOk expose;
    private ControlMessage.BindOk pull;

    @BeforeEach
    void connectDriver() throws Exception {
        driver = RawDriver.connect(kit);
        sessionId = driver.hello(64).sessionId();
        expose = (ControlMessage.BindOk) driver.bind("http", "expose", Ports.free(), null, false);
        pull = (ControlMessage.BindOk) driver.bind("tcp", "pull", Ports.free(), null, false);
    }

    @AfterEach
    void closeDriver() {
        driver.close();
    }

    // --- health ---

    @Test
    void healthReportsTheProcess() {
        JsonPath h = getJson("/health");
        assertThat(h.getString("status")).isEqualTo("ok");
        assertThat(h.getLong("pid")).isEqualTo(ProcessHandle.current().pid()); // @QuarkusTest runs the kit in this JVM
        assertThat(Instant.parse(h.getString("started"))).isBefore(Instant.now());
        assertThat(h.getString("userAgent")).isEqualTo(Version.USER_AGENT).startsWith("hoody-tunnel/");
        assertThat(h.getLong("fds")).isPositive();
        assertThat(h.getLong("memory.rss")).isGreaterThan(10L * 1024 * 1024); // a JVM with Quarkus: tens of MiB at least
        assertThat(h.getMap("")).containsOnlyKeys("status", "pid", "started", "userAgent", "fds", "memory");
        assertThat(h.getMap("memory")).containsOnlyKeys("rss");
    }

    // --- tunnels ---

    @Test
    void tunnelsListsTheSessionWithBindingsSplitByMode() throws Exception {
        try (Socket visitor = openStream(expose)) {
            awaitStreams(1, 1);
            JsonPath t = getJson("/tunnels");
            assertThat(t.getMap("")).containsOnlyKeys("sessions", "orphanedSessions", "totalStreams", "totalBindings",
                    "fdPermitsAvailable");
            Map<String, Object> row = sessionRow(t, "sessions");
            assertThat(row).containsOnlyKeys("sessionId", "peerAddr", "protocol", "connectionsGranted", "activeStreams",
                    "exposeBindings", "pullBindings");
            assertThat((String) row.get("peerAddr")).contains("127.0.0.1");
            assertThat(row.get("protocol")).isEqualTo("hoody-tunnel.v1");
            assertThat(row.get("connectionsGranted")).isEqualTo(1);
            assertThat(row.get("activeStreams")).isEqualTo(1);
            assertThat(row.get("exposeBindings")).isEqualTo(List.of(bindingInfo(expose)));
            assertThat(row.get("pullBindings")).isEqualTo(List.of(bindingInfo(pull)));

            List<Map<String, Object>> rows = t.getList("sessions");
            // Other tests leave orphans behind (parked until the grace ends); LifecycleTest checks the count itself.
            assertThat(t.getInt("orphanedSessions")).isBetween(0, rows.size() - 1);
            assertThat(t.getInt("totalStreams")).isEqualTo(rows.stream().mapToInt(r -> (Integer) r.get("activeStreams")).sum())
                    .isGreaterThanOrEqualTo(1);
            assertThat(t.getInt("totalBindings")).isEqualTo(rows.stream().mapToInt(r -> ((List<?>) r.get("exposeBindings")).size()
                    + ((List<?>) r.get("pullBindings")).size()).sum()).isGreaterThanOrEqualTo(2);
            assertThat(t.getInt("fdPermitsAvailable")).isPositive();
        }
    }

    // --- sessions ---

    @Test
    void sessionsListsLimitsAndBindings() {
        JsonPath s = getJson("/sessions");
        assertThat(s.getMap("")).containsOnlyKeys("sessions");
        Map<String, Object> row = sessionRow(s, "sessions");
        assertThat(row).containsOnlyKeys("sessionId", "state", "peerAddr", "connectionsGranted", "activeStreams",
                "maxStreams", "isV2", "bindings", "protocol", "shards");
        assertThat(row.get("state")).isEqualTo("attached"); // orphaned and ending: SpecAgreementTest
        assertThat((String) row.get("peerAddr")).contains("127.0.0.1");
        assertThat(row.get("connectionsGranted")).isEqualTo(0);
        assertThat(row.get("activeStreams")).isEqualTo(0);
        assertThat(row.get("maxStreams")).isEqualTo(64); // what the HELLO asked for, under the kit's cap
        assertThat(row.get("isV2")).isEqualTo(false);
        assertThat(row.get("protocol")).isEqualTo("hoody-tunnel.v1");
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> shards = (List<Map<String, Object>>) row.get("shards");
        assertThat(shards).as("a v1 session is one primary socket").hasSize(1);
        assertThat(shards.getFirst()).containsOnlyKeys("index", "primary", "activeStreams", "bytesIn", "bytesOut", "peerAddr")
                .containsEntry("index", 0).containsEntry("primary", true).containsEntry("activeStreams", 0);
        assertThat(row.get("bindings")).isEqualTo(List.of(bindingInfo(expose), bindingInfo(pull)));
    }

    @Test
    void sessionsCountGrantedConnections() throws Exception {
        try (Socket first = openStream(expose); Socket second = openStream(pull)) {
            awaitStreams(2, 2);
        }
        // The kit half-closes each stream (FIN) as its visitor leaves; the driver's FIN back ends it.
        for (int fins = 0; fins < 2; ) {
            Frame f = driver.nextFrame(WAIT);
            assertThat(f).as("a FIN from the kit").isNotNull();
            if (f instanceof Frame.Fin fin) {
                driver.sendFrame(FrameCodec.fin(fin.streamId()));
                fins++;
            }
        }
        awaitStreams(2, 0); // active streams are gone; connections granted is a running count
    }

    // --- bindings ---

    @Test
    void bindingsListsEveryHeldPortByPort() {
        JsonPath b = getJson("/bindings");
        assertThat(b.getMap("")).containsOnlyKeys("bindings");
        List<Map<String, Object>> rows = b.getList("bindings");
        assertThat(rows).contains(bindingDetail(expose), bindingDetail(pull));
        assertThat(rows).allSatisfy(r -> assertThat(r).containsOnlyKeys("port", "kind", "mode", "sessionId", "bindId"));
        assertThat(rows.stream().map(r -> (Integer) r.get("port")).toList()).isSorted();
    }

    // --- metrics ---

    @Test
    void metricsIsPrometheusText() {
        Response r = given().get(API + "/metrics");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.contentType()).startsWith("text/plain").contains("version=0.0.4");
        String text = r.asString();
        assertThat(text).contains("# TYPE hoody_tunnel_sessions_active gauge", "hoody_tunnel_fd_permits_available");
        // simpleclient writes label sets with a trailing comma: {mode="expose",}
        assertThat(text).containsPattern("(?m)^hoody_tunnel_bindings_active\\{mode=\"expose\",?\\} [1-9]");
        assertThat(text).containsPattern("(?m)^hoody_tunnel_bindings_active\\{mode=\"pull\",?\\} [1-9]");
        assertThat(text).containsPattern("(?m)^hoody_tunnel_sessions_active(\\{\\})? [1-9]");
    }

    // --- kill ---

    @Test
    void killClosesTheDriversSocket() throws Exception {
        Response r = given().delete(API + "/sessions/" + sessionId + "?grace_ms=0");
        assertThat(r.statusCode()).isEqualTo(202);
        assertThat(r.contentType()).startsWith("application/json");
        assertThat(r.jsonPath().getMap("")).isEqualTo(Map.of("sessionId", sessionId, "status", "closing"));

        assertThat(((ControlMessage.GoAway) driver.next(ControlMessage.GoAway.class)).code().name()).isEqualTo("ADMIN_KILL");
        RawDriver.Close closed = driver.awaitClose(WAIT);
        assertThat(closed.code()).isEqualTo(1000);
        assertThat(closed.reason()).isEqualTo("ADMIN_KILL");

        await().atMost(WAIT).untilAsserted(() -> {
            assertThat(getJson("/sessions").getList("sessions.sessionId")).doesNotContain(sessionId);
            assertThat(getJson("/bindings").getList("bindings.sessionId")).doesNotContain(sessionId);
        });
        assertError(given().delete(API + "/sessions/" + sessionId), 404, "session_not_found");
    }

    @Test
    void killAcceptsTheDefaultAndBothEndsOfTheGraceRange() {
        for (String query : new String[]{"", "?grace_ms=5000", "?grace_ms=0"}) {
            // the first kill ends the session; the others find it ending or gone, which is 202 or 404, never 400
            int status = given().delete(API + "/sessions/" + sessionId + query).statusCode();
            assertThat(status).as(query).isIn(202, 404);
        }
    }

    @Test
    void killRefusesAGraceThatIsNotANumber() {
        // Digits only: a sign is not part of the grammar ("+50" was accepted, as Long.parseLong reads it).
        for (String bad : new String[]{"abc", "1.5", "", "10ms", "0x10", "+50", "+0", "-0", " 50", "50 ", "\u0665\u0660"}) {
            assertError(given().queryParam("grace_ms", bad).delete(API + "/sessions/" + sessionId), 400,
                    "invalid_grace_ms");
        }
        assertThat(driver.isClosed()).isFalse(); // a refused kill kills nothing
    }

    @Test
    void killRefusesAGraceOutOfRange() {
        for (String bad : new String[]{"-1", "5001", "99999999999999999999999"}) {
            JsonPath e = assertError(given().queryParam("grace_ms", bad).delete(API + "/sessions/" + sessionId),
                    400, "invalid_grace_ms");
            assertThat(e.getString("message")).contains("0..5000");
        }
        assertThat(driver.isClosed()).isFalse();
    }

    @Test
    void killOfAnUnknownSessionIs404() {
        JsonPath e = assertError(given().delete(API + "/sessions/ses_000000000000000000000000"), 404, "session_not_found");
        assertThat(e.getString("message")).contains("ses_000000000000000000000000");
    }

    // --- errors are JSON ---

    @Test
    void unknownPathsAreJson404() {
        for (String path : new String[]{"/nope", "/sessions/ses_x/extra", "/health/more"}) {
            JsonPath e = assertError(given().accept("text/html").get(API + path), 404, "not_found");
            assertThat(e.getString("message")).contains(API + path);
        }
    }

    @Test
    void wrongMethodsAreJson405() {
        JsonPath e = assertError(given().post(API + "/health"), 405, "method_not_allowed");
        assertThat(e.getString("message")).contains("POST");
        assertError(given().put(API + "/sessions/" + sessionId), 405, "method_not_allowed");
        assertError(given().delete(API + "/sessions"), 405, "method_not_allowed");
    }

    // --- OpenAPI and SmallRye Health ---

    @Test
    void openApiNamesTheSchemas() {
        JsonPath doc = given().queryParam("format", "json").get("/q/openapi").then().statusCode(200).extract().jsonPath();
        assertThat(doc.getMap("components.schemas")).containsKeys("tunnel_HealthResponse", "tunnel_TunnelOverview",
                "tunnel_SessionsResponse", "tunnel_BindingsResponse", "tunnel_KillResponse", "tunnel_BindingDetail",
                "tunnel_BindingInfo", "tunnel_SessionOverview", "tunnel_SessionInfo", "tunnel_Memory", "tunnel_Error");
        assertThat(doc.getMap("paths")).containsKeys(API + "/metrics");
        assertThat(doc.getList("components.schemas.tunnel_SessionInfo.properties.state.enum"))
                .containsExactly("attached", "orphaned", "ending");
        // each operation points at its named schema, so generated clients get the names too
        Map<String, String> answers = Map.of("/health", "tunnel_HealthResponse", "/tunnels", "tunnel_TunnelOverview",
                "/sessions", "tunnel_SessionsResponse", "/bindings", "tunnel_BindingsResponse");
        answers.forEach((path, schema) -> assertThat(doc.getString("paths.'" + API + path
                + "'.get.responses.'200'.content.'application/json'.schema.$ref")).as(path)
                .isEqualTo("#/components/schemas/" + schema));
        String kill = "paths.'" + API + "/sessions/{id}'.delete.responses.";
        assertThat(doc.getString(kill + "'202'.content.'application/json'.schema.$ref"))
                .isEqualTo("#/components/schemas/tunnel_KillResponse");
        assertThat(doc.getString(kill + "'404'.content.'application/json'.schema.$ref"))
                .isEqualTo("#/components/schemas/tunnel_Error");
    }

    @Test
    void livenessIsUpWithKitData() {
        JsonPath live = given().get("/q/health/live").then().statusCode(200).extract().jsonPath();
        assertThat(live.getString("status")).isEqualTo("UP");
        assertThat(live.getString("checks.find { it.name == 'tunnel-kit-live' }.status")).isEqualTo("UP");
        assertThat(live.getInt("checks.find { it.name == 'tunnel-kit-live' }.data.fdPermitsAvailable")).isPositive();
        assertThat(live.getInt("checks.find { it.name == 'tunnel-kit-live' }.data.sessions")).isPositive();
        assertThat(live.getInt("checks.find { it.name == 'tunnel-kit-live' }.data.stoppedAcceptLoops")).isZero();
        assertThat(live.getLong("checks.find { it.name == 'tunnel-kit-live' }.data.timersLastRanMsAgo")).isLessThan(5_000);
    }

    @Test
    void readinessIsUpOnceStarted() {
        JsonPath ready = given().get("/q/health/ready").then().statusCode(200).extract().jsonPath();
        assertThat(ready.getString("status")).isEqualTo("UP");
        assertThat(ready.getString("checks.find { it.name == 'tunnel-kit' }.status")).isEqualTo("UP");
        assertThat(Instant.parse(ready.getString("checks.find { it.name == 'tunnel-kit' }.data.started")))
                .isBefore(Instant.now());
    }

    // --- helpers ---

    private static JsonPath getJson(String path) {
        Response r = given().get(API + path);
        assertThat(r.statusCode()).as(path).isEqualTo(200);
        assertThat(r.contentType()).as(path).startsWith("application/json");
        return r.jsonPath();
    }

    /** Asserts an error answer is the JSON {error, message} and nothing else. */
    private static JsonPath assertError(Response r, int status, String error) {
        assertThat(r.statusCode()).isEqualTo(status);
        assertThat(r.contentType()).startsWith(ContentType.JSON.toString());
        JsonPath e = r.jsonPath();
        assertThat(e.getMap("")).containsOnlyKeys("error", "message");
        assertThat(e.getString("error")).isEqualTo(error);
        assertThat(e.getString("message")).isNotBlank();
        return e;
    }

    /** This test's session among whatever else the kit holds. */
    private Map<String, Object> sessionRow(JsonPath body, String list) {
        return body.<Map<String, Object>>getList(list).stream()
                .filter(r -> sessionId.equals(r.get("sessionId")))
                .findFirst().orElseThrow(() -> new AssertionError("no row for " + sessionId + " in " + body.prettify()));
    }

    /**
     * Connects a visitor to the binding's port and answers the kit's OPEN with OPEN_OK, so that the stream stays open
     * (until the socket closes) however long the test takes to look at it.
     */
    private Socket openStream(ControlMessage.BindOk binding) throws Exception {
        Socket visitor = new Socket("127.0.0.1", binding.port());
        Frame frame = driver.nextFrame(WAIT);
        assertThat(frame).isInstanceOf(Frame.Open.class);
        assertThat(((Frame.Open) frame).bindId()).isEqualTo(binding.bindId());
        driver.sendFrame(FrameCodec.openOk(frame.streamId()));
        return visitor;
    }

    /** Streams are counted as the kit opens them, a moment before or after the test sees OPEN: wait for it. */
    private void awaitStreams(int granted, int active) {
        await().atMost(WAIT).untilAsserted(() -> {
            Map<String, Object> row = sessionRow(getJson("/sessions"), "sessions");
            assertThat(row.get("connectionsGranted")).isEqualTo(granted);
            assertThat(row.get("activeStreams")).isEqualTo(active);
        });
    }

    private static Map<String, Object> bindingInfo(ControlMessage.BindOk b) {
        return Map.of("kind", b.kind(), "mode", b.mode(), "containerPort", b.port(), "bindId", b.bindId());
    }

    private Map<String, Object> bindingDetail(ControlMessage.BindOk b) {
        return Map.of("port", b.port(), "kind", b.kind(), "mode", b.mode(), "sessionId", sessionId, "bindId", b.bindId());
    }
}
