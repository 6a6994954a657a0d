package example;

import ai.hoody.tunnel.driver.Binding;
import ai.hoody.tunnel.driver.HttpHandler.Response;
import ai.hoody.tunnel.driver.Tunnel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What README "Use it from Java" shows, run for real: a kit (the repository's jar, as a child process on a free port),
 * a handler in this JVM serving HTTP through it, a real HTTP client calling it.
 */
class TunnelExampleTest {

    static Process kit;
    static String kitUrl;

    @BeforeAll
    static void startKit() throws Exception {
        Path jar = Path.of(System.getProperty("hoody.tunnel.kit.jar", "../../target/quarkus-app/quarkus-run.jar"));
        assertTrue(Files.isRegularFile(jar), jar + " is missing: run ./mvnw package at the repository root first");
        int port = freePort();
        kitUrl = "http://127.0.0.1:" + port;
        kit = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dquarkus.http.port=" + port, "-jar", jar.toString())
                .redirectErrorStream(true).redirectOutput(Path.of("target", "kit.log").toFile()).start();
        HttpClient http = HttpClient.newHttpClient();
        Instant deadline = Instant.now().plusSeconds(60);
        while (true) {
            try {
                if (http.send(HttpRequest.newBuilder(URI.create(kitUrl + "/q/health/ready")).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // the kit is still starting
            }
            assertTrue(kit.isAlive(), "the kit exited; see target/kit.log");
            assertTrue(Instant.now().isBefore(deadline), "the kit was not ready within 60 s; see target/kit.log");
            Thread.sleep(100);
        }
    }

    @AfterAll
    static void stopKit() throws Exception {
        if (kit != null) {
            kit.destroy();
            kit.waitFor();
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    void servesAnInProcessHttpHandlerThroughTheKit() throws Exception {
        int containerPort = freePort();

        // --- README "Use it from Java" ---
        try (Tunnel tunnel = Tunnel.open(kitUrl)) {
            Binding web = tunnel.serveHttp(containerPort,
                    request -> Response.text(200, "hello " + request.query() + " from Java\n"));

            // ... a visitor of the container port:
            HttpClient client = HttpClient.newHttpClient();
            HttpResponse<String> answer = client.send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + web.port() + "/greet?world"))
                            .timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.ofString());

            assertEquals(200, answer.statusCode());
            assertEquals("hello world from Java\n", answer.body());
            assertTrue(web.bindId() > 0);
        }
        // --- end of the snippet ---

        // close() said GOAWAY: the kit freed the port at once.
        assertThrows(IOException.class, () -> new java.net.Socket("127.0.0.1", containerPort).close());
    }

    @Test
    void quarkusIsNotOnTheClassPath() {
        assertThrows(ClassNotFoundException.class, () -> Class.forName("io.quarkus.runtime.Quarkus"));
        assertThrows(ClassNotFoundException.class, () -> Class.forName("io.vertx.core.Vertx"));
    }
}
