package ai.hoody.tunnel.kit.admin;

import ai.hoody.tunnel.driver.BindSpec;
import ai.hoody.tunnel.protocol.BindMode;
import ai.hoody.tunnel.support.Blob;
import ai.hoody.tunnel.support.LaptopHttpServer;
import ai.hoody.tunnel.support.Ports;
import ai.hoody.tunnel.support.TestDriver;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static ai.hoody.tunnel.support.Admin.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Both metrics endpoints pass Prometheus' own linter ({@code promtool check metrics}) while traffic flows: every
 * meter has help text, counters end in {@code _total}, units are base units and appear in the name. promtool comes
 * with Debian's {@code prometheus} package ({@code .ci/run} installs it).
 */
@QuarkusTest
class MetricsLintTest {

    private static final Duration PROMTOOL_DEADLINE = Duration.ofSeconds(30);

    @TestHTTPResource("/")
    URI kit;

    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();

    @Test
    void bothEndpointsPassPromtoolWithTrafficFlowing() throws Exception {
        Path promtool = promtool();
        assumeTrue(promtool != null, "promtool is not installed (apt-get install -y prometheus): the lint cannot run");

        int exposed = Ports.free();
        int unreachable = Ports.free();
        int refusing = Ports.free();
        try (LaptopHttpServer laptop = new LaptopHttpServer("lint");
             TestDriver driver = TestDriver.start(kit,
                     BindSpec.parseTarget(BindMode.EXPOSE, "127.0.0.1:" + laptop.port(), exposed, null, false),
                     BindSpec.parseTarget(BindMode.EXPOSE, "127.0.0.1:" + unreachable, refusing, null, false))) {
            driver.await("bind_ok");
            driver.await("bind_ok");
            for (int i = 0; i < 5; i++) {
                assertThat(get(exposed, "/whoami").body()).isEqualTo("lint");
            }
            assertThat(get(refusing, "/").statusCode()).isEqualTo(502); // a refusal: its counter appears too

            // Scrape while a download is in flight: the laptop holds its second half until both scrapes are taken.
            long size = 8L << 20;
            int half = (int) (size / 2);
            HttpResponse<InputStream> download = http.send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + exposed + "/blob?size=" + size + "&holdAt=" + half))
                            .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofInputStream());
            String tunnelScrape;
            String quarkusScrape;
            try (InputStream body = download.body()) {
                byte[] first = body.readNBytes(half);
                assertThat(first.length).isEqualTo(half);
                assertThat(Blob.mismatch(first, 0)).as("first byte that differs").isEqualTo(-1);
                tunnelScrape = scrape("/api/v1/tunnel/metrics");
                quarkusScrape = scrape("/q/metrics");
                laptop.releaseHeldBlobs();
                byte[] second = body.readAllBytes();
                assertThat(second.length).isEqualTo(half);
                assertThat(Blob.mismatch(second, half)).as("first byte that differs").isEqualTo(-1);
            }

            // The scrapes saw traffic, and the platform's meters were mended, not dropped (kit.PlatformMeters).
            for (String scrape : new String[]{tunnelScrape, quarkusScrape}) {
                assertThat(scrape).containsPattern("(?m)^hoody_tunnel_streams_active [1-9]")
                        .contains("hoody_tunnel_visitor_refusals_total{status=\"502\"")
                        .containsPattern("(?m)^netty_allocator_memory_used_bytes\\{.*memory_type=\"direct\".*\\} [1-9]")
                        .containsPattern("(?m)^process_cpu_seconds_total [1-9]")
                        .containsPattern("(?m)^system_cpus [1-9]");
            }
            assertThat(lint(promtool, tunnelScrape)).as("promtool check metrics on /api/v1/tunnel/metrics").isEmpty();
            assertThat(lint(promtool, quarkusScrape)).as("promtool check metrics on /q/metrics").isEmpty();
        }
    }

    /**
     * One place for how the test reads a metrics endpoint (the admin credential, when it comes, goes here). Asks for
     * the Prometheus text format 0.0.4, the one promtool parses: without that Accept header /q/metrics answers in
     * OpenMetrics, whose escaping promtool's parser rejects.
     */
    private static String scrape(String path) {
        Response r = given().accept("text/plain; version=0.0.4").get(path);
        assertThat(r.statusCode()).as("GET " + path).isEqualTo(200);
        return r.asString();
    }

    private HttpResponse<String> get(int port, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(15)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** @return what promtool reports (empty when the exposition is clean); fails if promtool fails without a report */
    private static String lint(Path promtool, String exposition) throws Exception {
        Path in = Files.createTempFile("scrape", ".prom");
        Path out = Files.createTempFile("promtool", ".txt");
        try {
            Files.writeString(in, exposition);
            Process p = new ProcessBuilder(promtool.toString(), "check", "metrics")
                    .redirectInput(in.toFile()).redirectOutput(out.toFile()).redirectErrorStream(true).start();
            if (!p.waitFor(PROMTOOL_DEADLINE.toSeconds(), TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("promtool did not finish within " + PROMTOOL_DEADLINE.toSeconds() + " s");
            }
            String report = Files.readString(out).strip();
            // promtool exits 3 for lint problems, 1 for an exposition it cannot parse: both come with a report.
            assertThat(p.exitValue() == 0 || !report.isEmpty()).as("promtool exited " + p.exitValue() + " without a report").isTrue();
            return report;
        } finally {
            Files.deleteIfExists(in);
            Files.deleteIfExists(out);
        }
    }

    /** promtool on the PATH, or null. */
    private static Path promtool() {
        return Stream.of(System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator))
                .map(dir -> Path.of(dir, "promtool"))
                .filter(Files::isExecutable)
                .findFirst().orElse(null);
    }
}
