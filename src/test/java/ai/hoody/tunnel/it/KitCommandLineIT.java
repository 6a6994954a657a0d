package ai.hoody.tunnel.it;

import ai.hoody.tunnel.protocol.Protocol;
import ai.hoody.tunnel.support.KitProcess;
import ai.hoody.tunnel.support.RawWebSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The packaged artifact started as the kit with its own flags (README "The two commands"): without arguments it starts
 * the kit straight away (every other integration test starts it so); with flags they are parsed first, and each
 * becomes its config property; a bad flag ends it with exit code 2 before any port is opened.
 */
@Timeout(90)
class KitCommandLineIT {

    private static final Path JAR = Path.of("target", "quarkus-app", "quarkus-run.jar");

    private record Run(int exit, String out, String err) {
    }

    private static Run run(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dquarkus.http.port=0", "-jar", JAR.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).start();
        try {
            // help and errors are short: no need to drain while waiting
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("the command ended: %s", cmd).isTrue();
            return new Run(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8),
                    new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
        } finally {
            p.destroyForcibly(); // a kit that started instead of ending must not outlive the test
        }
    }

    @Test
    void aKitFlagWithABadValueEndsWithExit2AndNamesTheFlag() throws Exception {
        Run r = run("--max-pre-auth-connections=many");
        assertThat(r.exit()).as(r.toString()).isEqualTo(2);
        assertThat(r.err()).contains("--max-pre-auth-connections").contains("many");
        assertThat(r.out()).doesNotContain("Listening on");
    }

    @Test
    void helpListsTheKitsFlagsAndTheCommands() throws Exception {
        Run r = run("--help");
        assertThat(r.exit()).as(r.toString()).isZero();
        assertThat(r.out()).contains("--allow-privileged-pull", "--max-pre-auth-connections", "expose", "pull");
    }

    /** {@code --max-pre-auth-connections=1}: a second socket waiting for HELLO is refused, as the flag says. */
    @Test
    void aKitFlagBecomesItsConfigProperty() throws Exception {
        try (KitProcess kit = KitProcess.start(List.of(), Map.of(), List.of("--max-pre-auth-connections=1"));
             RawWebSocket first = RawWebSocket.connect(kit.base())) {
            assertThat(first.response().status()).isEqualTo(101);
            // the kit takes an upgraded socket into its pre-auth pool a moment after the 101: wait for it
            await().atMost(Duration.ofSeconds(10)).until(() -> kit.metric("hoody_tunnel_pre_auth_connections", "") == 1.0);
            try (RawWebSocket second = RawWebSocket.connect(kit.base())) {
                assertThat(second.response().status()).isEqualTo(101);
                RawWebSocket.Close refused = second.awaitClose(Duration.ofSeconds(5));
                assertThat(refused.code()).as("%s; the kit's log:%n%s", refused, kit.log()).isEqualTo(Protocol.CLOSE_TRY_AGAIN_LATER);
                assertThat(refused.reason()).contains("waiting for HELLO (1)");
            }
            assertThat(first.hello().sessionId()).isNotBlank(); // the first one was not touched
        }
    }
}
