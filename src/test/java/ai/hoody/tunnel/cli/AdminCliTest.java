package ai.hoody.tunnel.cli;

import ai.hoody.tunnel.protocol.Version;

import ai.hoody.tunnel.protocol.ControlMessage;
import ai.hoody.tunnel.protocol.GoAwayCode;
import ai.hoody.tunnel.support.Admin;
import ai.hoody.tunnel.support.Ports;
import ai.hoody.tunnel.support.RawDriver;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The admin commands run in-process through picocli, as {@code Main} runs them, against the running test kit, which
 * holds a real driver session (one expose, one pull binding) for them to show.
 */
@QuarkusTest
class AdminCliTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TestHTTPResource("/")
    URI kitUri;

    private String kit;
    private RawDriver driver;
    private String sessionId;
    private ControlMessage.BindOk expose;
    private ControlMessage.BindOk pull;

    record Run(int code, String out, String err) {
        List<String> lines() {
            return out.lines().toList();
        }
    }

    @BeforeEach
    void connectDriver() throws Exception {
        kit = "http://" + kitUri.getHost() + ":" + kitUri.getPort();
        driver = RawDriver.connect(kitUri);
        sessionId = driver.hello(64).sessionId();
        expose = (ControlMessage.BindOk) driver.bind("http", "expose", Ports.free(), null, false);
        pull = (ControlMessage.BindOk) driver.bind("tcp", "pull", Ports.free(), null, false);
    }

    @AfterEach
    void closeDriver() {
        driver.close();
    }

    @Test
    void health() throws Exception {
        Run plain = admin("health", "--kit", kit);
        assertThat(plain.code()).isZero();
        assertThat(plain.err()).isEmpty();
        List<String> lines = plain.lines();
        assertThat(lines).hasSize(6);
        assertThat(lines.get(0)).isEqualTo("status   ok");
        assertThat(lines.get(1)).isEqualTo("version  " + Version.USER_AGENT);
        assertThat(lines.get(2)).isEqualTo("pid      " + ProcessHandle.current().pid());
        assertThat(lines.get(3)).matches("started  \\d{4}-\\d\\d-\\d\\dT.*Z");
        assertThat(lines.get(4)).matches("fds      \\d+");
        assertThat(lines.get(5)).matches("rss      \\d+\\.\\d (MiB|GiB)");

        Run json = admin("health", "--kit", kit, "--json");
        assertThat(json.code()).isZero();
        JsonNode h = JSON.readTree(json.out());
        assertThat(h.get("status").asText()).isEqualTo("ok");
        assertThat(h.get("pid").asLong()).isEqualTo(ProcessHandle.current().pid());
        assertThat(h.get("userAgent").asText()).isEqualTo(Version.USER_AGENT);
        assertThat(h.get("memory").get("rss").asLong()).isPositive();
    }

    @Test
    void list() throws Exception {
        Run plain = admin("list", "--kit", kit);
        assertThat(plain.code()).isZero();
        assertThat(plain.lines().getFirst()).startsWith("SESSION").contains("PEER", "PROTOCOL", "STREAMS", "CONNECTIONS",
                "EXPOSE", "PULL");
        String row = rowOf(plain, sessionId);
        assertAligned(plain.lines().getFirst(), row, "PEER", "127.0.0.1");
        assertAligned(plain.lines().getFirst(), row, "PROTOCOL", "hoody-tunnel.v1");
        assertAligned(plain.lines().getFirst(), row, "EXPOSE", Integer.toString(expose.port()));
        assertThat(row).endsWith(" " + pull.port());
        assertThat(plain.lines().getLast()).matches("\\d+ sessions?, \\d+ orphaned, \\d+ active streams?, \\d+ bindings?, "
                + "\\d+ fd permits available");

        Run json = admin("list", "--kit", kit, "--json");
        assertThat(json.code()).isZero();
        JsonNode o = JSON.readTree(json.out());
        assertThat(o.get("orphanedSessions").asInt()).isBetween(0, o.get("sessions").size() - 1); // other tests' orphans
        assertThat(o.get("sessions").findValuesAsText("sessionId")).contains(sessionId);
    }

    @Test
    void sessionsList() throws Exception {
        Run plain = admin("sessions", "list", "--kit", kit);
        assertThat(plain.code()).isZero();
        String header = plain.lines().getFirst();
        assertThat(header).startsWith("SESSION").contains("STATE", "PEER", "STREAMS", "CONNECTIONS", "V2", "BINDINGS");
        String row = rowOf(plain, sessionId);
        assertAligned(header, row, "STATE", "attached");
        assertAligned(header, row, "STREAMS", "0/64");
        assertAligned(header, row, "V2", "no");
        assertAligned(header, row, "BINDINGS", "expose:" + expose.port() + "#" + expose.bindId()
                + " pull:" + pull.port() + "#" + pull.bindId());

        Run json = admin("sessions", "list", "--kit", kit, "--json");
        assertThat(json.code()).isZero();
        JsonNode mine = find(JSON.readTree(json.out()).get("sessions"), "sessionId", sessionId);
        assertThat(mine.get("maxStreams").asInt()).isEqualTo(64);
        assertThat(mine.get("state").asText()).isEqualTo("attached");
        assertThat(mine.get("bindings")).hasSize(2);
    }

    @Test
    void bindingsList() throws Exception {
        Run plain = admin("bindings", "list", "--kit", kit);
        assertThat(plain.code()).isZero();
        String header = plain.lines().getFirst();
        assertThat(header).startsWith("PORT").contains("KIND", "MODE", "SESSION", "BIND");
        String exposeRow = plain.lines().stream().filter(l -> l.startsWith(expose.port() + " ")).findFirst().orElseThrow();
        assertAligned(header, exposeRow, "KIND", "http");
        assertAligned(header, exposeRow, "MODE", "expose");
        assertAligned(header, exposeRow, "SESSION", sessionId);
        assertThat(exposeRow).endsWith(" " + expose.bindId());
        assertThat(plain.lines()).anySatisfy(l -> assertThat(l).startsWith(pull.port() + " ").contains("tcp", "pull", sessionId));

        Run json = admin("bindings", "list", "--kit", kit, "--json");
        assertThat(json.code()).isZero();
        JsonNode row = find(JSON.readTree(json.out()).get("bindings"), "port", Integer.toString(pull.port()));
        assertThat(row.get("sessionId").asText()).isEqualTo(sessionId);
        assertThat(row.get("mode").asText()).isEqualTo("pull");
    }

    @Test
    void metrics() {
        Run r = admin("metrics", "--kit", kit);
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("# TYPE hoody_tunnel_sessions_active gauge", "hoody_tunnel_bindings_active{mode=\"expose\"",
                "hoody_tunnel_fd_permits_available");
    }

    @Test
    void sessionsKillPlain() throws Exception {
        Run r = admin("sessions", "kill", sessionId, "--grace-ms", "0", "--kit", kit);
        assertThat(r.code()).isZero();
        assertThat(r.out()).isEqualTo("session " + sessionId + " closing\n");
        assertThat(((ControlMessage.GoAway) driver.next(ControlMessage.GoAway.class)).code()).isEqualTo(GoAwayCode.ADMIN_KILL);
        assertThat(driver.awaitClose(Duration.ofSeconds(10)).code()).isEqualTo(1000);

        Run again = awaitGone();
        assertThat(again.code()).isEqualTo(1);
        assertThat(again.out()).isEmpty();
        assertThat(again.err()).isEqualTo("hoody-tunnel: no session with id '" + sessionId + "' (session_not_found, HTTP 404)\n");
    }

    @Test
    void sessionsKillJson() throws Exception {
        Run r = admin("sessions", "kill", sessionId, "--kit", kit, "--json");
        assertThat(r.code()).isZero();
        JsonNode k = JSON.readTree(r.out());
        assertThat(k.get("sessionId").asText()).isEqualTo(sessionId);
        assertThat(k.get("status").asText()).isEqualTo("closing");
        driver.awaitClose(Duration.ofSeconds(10));

        Run unknown = admin("sessions", "kill", "ses_nobody", "--kit", kit, "--json");
        assertThat(unknown.code()).isEqualTo(1);
        JsonNode e = JSON.readTree(unknown.err());
        assertThat(e.get("error").asText()).isEqualTo("session_not_found");
        assertThat(e.get("message").asText()).contains("ses_nobody");
    }

    @Test
    void aGraceTheKitRefusesIsAnError() {
        Run r = admin("sessions", "kill", sessionId, "--grace-ms", "9999", "--kit", kit);
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("invalid_grace_ms", "HTTP 400", "0..5000");
        assertThat(driver.isClosed()).isFalse();
    }

    @Test
    void usageErrorsExitWith2() {
        assertThat(run("sessions", "kill", "--kit", kit).code()).isEqualTo(2);
        assertThat(run("sessions", "kill", sessionId, "--grace-ms", "soon", "--kit", kit).code()).isEqualTo(2);
        assertThat(run("sessions").code()).isEqualTo(2);
        assertThat(run("bindings").code()).isEqualTo(2);
        Run badUrl = run("health", "--kit", "ftp://" + kitUri.getHost());
        assertThat(badUrl.code()).isEqualTo(2);
        assertThat(badUrl.err()).contains("use http://, https://, ws:// or wss://");
        assertThat(driver.isClosed()).isFalse();
    }

    @Test
    void anUnreachableKitIsAClearError() {
        Run r = run("list", "--kit", "http://127.0.0.1:" + Ports.free());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).startsWith("hoody-tunnel: cannot reach the kit at http://127.0.0.1:").contains("connection refused");
    }

    @Test
    void theDriversWebSocketUrlWorksToo() {
        Run r = admin("health", "--kit", "ws://" + kitUri.getHost() + ":" + kitUri.getPort() + "/api/v1/tunnel/connect");
        assertThat(r.code()).isZero();
        assertThat(r.out()).startsWith("status   ok");
    }

    // --- the admin credential (issue #11) ---

    @Test
    void withoutATokenTheKitRefusesAndTheCliSaysWhatToConfigure() {
        Run r = run("sessions", "kill", sessionId, "--kit", kit);
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).isEqualTo("hoody-tunnel: not via Hoody Proxy (forbidden, HTTP 403); pass one of the kit's admin "
                + "tokens (hoody.tunnel.admin.token) with --admin-token or $HOODY_TUNNEL_ADMIN_TOKEN, or call through the "
                + "platform's proxy\n");
        assertThat(driver.isClosed()).as("a refused kill kills nothing").isFalse();

        Run json = run("list", "--kit", kit, "--json");
        assertThat(json.code()).isEqualTo(1);
        assertThat(json.err()).isEqualTo("{\"error\":\"forbidden\",\"message\":\"not via Hoody Proxy\"}\n");
    }

    @Test
    void aWrongTokenIsSaidToBeWrong() {
        Run r = run("health", "--kit", kit, "--admin-token", "not-the-kits-token-000000");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("hoody-tunnel: not via Hoody Proxy (forbidden, HTTP 403); the admin token was refused: "
                + "use one of the kit's hoody.tunnel.admin.token values\n").doesNotContain("not-the-kits-token");
    }

    @Test
    void theTokenComesFromTheEnvironment() throws Exception {
        ProcessBuilder withToken = cli("health", "--kit", kit);
        withToken.environment().put("HOODY_TUNNEL_ADMIN_TOKEN", Admin.token());
        Process ok = withToken.start();
        String out = new String(ok.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(ok.waitFor()).as(out).isZero();
        assertThat(out).startsWith("status   ok");

        ProcessBuilder without = cli("health", "--kit", kit);
        without.environment().remove("HOODY_TUNNEL_ADMIN_TOKEN");
        Process refused = without.start();
        String err = new String(refused.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(refused.waitFor()).isEqualTo(1);
        assertThat(err).contains("HTTP 403", "--admin-token or $HOODY_TUNNEL_ADMIN_TOKEN");
    }

    /** The CLI as its own process, as an operator starts it: only the environment differs between runs. */
    private static ProcessBuilder cli(String... args) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "ai.hoody.tunnel.cli.Main"));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd);
    }

    // --- helpers ---

    /** Runs an admin command with the test kit's admin token, as an operator would. */
    private static Run admin(String... args) {
        String[] withToken = Arrays.copyOf(args, args.length + 2);
        withToken[args.length] = "--admin-token";
        withToken[args.length + 1] = Admin.token();
        return run(withToken);
    }

    /** Runs a command line the way {@code Main} does, capturing what it prints. */
    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = TunnelCli.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int code = cli.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    private static String rowOf(Run r, String sessionId) {
        return r.lines().stream().filter(l -> l.startsWith(sessionId + " ")).findFirst()
                .orElseThrow(() -> new AssertionError("no row for " + sessionId + " in\n" + r.out()));
    }

    /** The value starts in the column of its heading: the table is aligned. */
    private static void assertAligned(String header, String row, String heading, String value) {
        int column = header.indexOf(heading);
        assertThat(column).as(heading).isPositive();
        assertThat(row.substring(column)).as("column " + heading + " of\n" + header + "\n" + row).startsWith(value);
    }

    private static JsonNode find(JsonNode array, String field, String value) {
        for (JsonNode n : array) {
            if (n.path(field).asText().equals(value)) {
                return n;
            }
        }
        throw new AssertionError("no " + field + "=" + value + " in " + array);
    }

    /** The session leaves the registry when its socket has closed, a moment after the driver sees the close. */
    private Run awaitGone() throws InterruptedException {
        Run r = null;
        for (int i = 0; i < 50; i++) {
            r = admin("sessions", "kill", sessionId, "--kit", kit);
            if (r.code() != 0) {
                return r;
            }
            Thread.sleep(100);
        }
        return r;
    }
}
