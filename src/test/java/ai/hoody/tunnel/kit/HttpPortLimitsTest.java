package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.protocol.ControlMessage;
import ai.hoody.tunnel.support.RawDriver;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.RestAssured;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Slowloris on the kit's own HTTP port (issue #11): connections that never finish a request head, silent or dripping
 * a byte at a time, are closed after {@code hoody.tunnel.http-header-timeout}, and at most
 * {@code quarkus.http.limits.max-connections} are held at once. Real sockets against a kit with a cap of 8 and a
 * 3 s timeout; driver WebSockets, which the kit PINGs, outlive the timeout.
 */
@QuarkusTest
@TestProfile(HttpPortLimitsTest.SmallLimits.class)
class HttpPortLimitsTest {

    static final int CAP = 8;
    static final Duration HEADER_TIMEOUT = Duration.ofSeconds(3);
    /** Well before the header timeout: a connection closed this fast was refused by the cap. */
    static final Duration AT_ONCE = Duration.ofMillis(1500);

    public static class SmallLimits implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("quarkus.http.limits.max-connections", Integer.toString(CAP),
                    "hoody.tunnel.http-header-timeout", HEADER_TIMEOUT.toMillis() + "ms");
        }
    }

    @TestHTTPResource("/")
    URI kit;

    /** An attacker's connection: silent, or sending a request line one byte every 200 ms, never finishing it. */
    private CompletableFuture<Duration> slowClient(boolean drip) throws IOException {
        Socket s = new Socket(kit.getHost(), kit.getPort());
        s.setSoTimeout((int) HEADER_TIMEOUT.multipliedBy(4).toMillis());
        long t0 = System.nanoTime();
        CompletableFuture<Duration> closedAfter = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try (s; InputStream in = s.getInputStream()) {
                if (drip) {
                    Thread.ofVirtual().start(() -> drip(s));
                }
                int b = in.read(); // -1 or a reset once the kit closes; the kit never answers a head it has not got
                closedAfter.complete(b < 0 ? Duration.ofNanos(System.nanoTime() - t0) : null);
            } catch (SocketTimeoutException e) {
                closedAfter.complete(null); // still open after 4 header timeouts: the kit never closed it
            } catch (IOException e) {
                closedAfter.complete(Duration.ofNanos(System.nanoTime() - t0)); // reset by the kit: closed too
            }
        });
        return closedAfter;
    }

    private static void drip(Socket s) {
        byte[] head = "GET /api/v1/tunnel/health HTTP/1.1\r\nHost: kit\r\nX-Slow: ".getBytes(StandardCharsets.US_ASCII);
        try {
            OutputStream out = s.getOutputStream();
            for (int i = 0; ; i++) {
                out.write(i < head.length ? head[i] : 'a'); // a header value that never ends
                out.flush();
                Thread.sleep(200); // the attack's pace, not a synchronisation
            }
        } catch (IOException | InterruptedException e) {
            // the kit closed the connection: what the test waits for
        }
    }

    @Test
    void connectionsThatNeverFinishARequestHeadAreClosedAfterTheHeaderTimeout() throws Exception {
        List<CompletableFuture<Duration>> clients = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            clients.add(slowClient(i % 2 == 0));
        }
        for (CompletableFuture<Duration> c : clients) {
            Duration closedAfter = c.get(30, TimeUnit.SECONDS);
            assertThat(closedAfter).as("closed by the kit").isNotNull();
            assertThat(closedAfter).isBetween(HEADER_TIMEOUT.minusMillis(500), HEADER_TIMEOUT.plusSeconds(3));
        }
        assertThat(probe()).isEqualTo(200);
    }

    @Test
    void theConnectionCapHolds() throws Exception {
        List<CompletableFuture<Duration>> clients = new ArrayList<>();
        for (int i = 0; i < 2 * CAP; i++) {
            clients.add(slowClient(i % 2 == 0));
        }
        List<Duration> closedAfter = new ArrayList<>();
        for (CompletableFuture<Duration> c : clients) {
            closedAfter.add(c.get(30, TimeUnit.SECONDS));
        }
        assertThat(closedAfter).doesNotContainNull();
        assertThat(closedAfter.stream().filter(d -> d.compareTo(AT_ONCE) < 0).count())
                .as("connections beyond the cap, closed at once: " + closedAfter).isEqualTo(CAP);
        assertThat(closedAfter.stream().filter(d -> d.compareTo(HEADER_TIMEOUT.minusMillis(500)) >= 0).count())
                .as("connections within the cap, held until the header timeout: " + closedAfter).isEqualTo(CAP);
        // Once they are gone, the port serves again.
        await().atMost(Duration.ofSeconds(10)).until(() -> probe() == 200);
    }

    @Test
    void aDriversWebSocketOutlivesTheHeaderTimeout() throws Exception {
        try (RawDriver d = RawDriver.connect(kit)) {
            d.hello(10);
            // A binding, so that the idle-session timeout (4 s under tests) leaves the session alone.
            assertThat(d.bind("tcp", "pull", 0, null, false)).isInstanceOf(ControlMessage.BindOk.class);
            // The kit PINGs every 500 ms under tests: its socket is never silent for a header timeout.
            await().during(HEADER_TIMEOUT.multipliedBy(2)).atMost(HEADER_TIMEOUT.multipliedBy(3)).until(() -> !d.isClosed());
            assertThat(d.bind("tcp", "pull", 0, null, false)).isInstanceOf(ControlMessage.BindOk.class);
        }
    }

    /** A probe that does not keep its connection: the cap test counts every connection the kit holds. */
    private static int probe() {
        return RestAssured.given().header("Connection", "close").get("/q/health/live").statusCode();
    }
}
