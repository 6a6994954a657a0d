package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.driver.BindSpec;
import ai.hoody.tunnel.protocol.BindMode;
import ai.hoody.tunnel.protocol.ControlMessage;
import ai.hoody.tunnel.protocol.Protocol;
import ai.hoody.tunnel.support.Digests;
import ai.hoody.tunnel.support.LaptopTcpServer;
import ai.hoody.tunnel.support.Ports;
import ai.hoody.tunnel.support.RawDriver;
import ai.hoody.tunnel.support.TestDriver;
import ai.hoody.tunnel.support.VisitorSockets;
import com.fasterxml.jackson.databind.JsonNode;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.URI;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static ai.hoody.tunnel.support.Admin.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code hoody-tunnel.v2} (docs/PROTOCOL.md §12, issue #12): one session over a pool of WebSocket shards, with the
 * real kit, the real driver ({@code --shards}) and real sockets. Timers under the test profile: heartbeat 500 ms,
 * heartbeat timeout 3 s, takeover grace 3 s.
 */
@QuarkusTest
class V2ShardsTest {

    @TestHTTPResource("/")
    URI kit;

    @Inject
    SessionRegistry sessions;

    private static BindSpec expose(int laptopPort, int containerPort) {
        return BindSpec.parseTarget(BindMode.EXPOSE, "127.0.0.1:" + laptopPort, containerPort, null, false);
    }

    /** A started v2 driver with its binding granted and its {@code secondaries} shards joined. */
    private static TestDriver sharded(URI kit, int shards, BindSpec spec) throws InterruptedException {
        TestDriver d = TestDriver.startSharded(kit, shards, spec);
        // The secondaries may join before or after the BIND is answered.
        java.util.List<String> expected = new java.util.ArrayList<>(java.util.List.of("bind_ok"));
        for (int i = 1; i < shards; i++) {
            expected.add("shard_joined");
        }
        d.awaitAll(expected.toArray(String[]::new));
        return d;
    }

    private KitSession session(TestDriver d) {
        return sessions.find(d.sessionId()).orElseThrow();
    }

    private static KitShard shard(KitSession s, int index) {
        return s.shards().stream().filter(h -> h.index() == index).findFirst()
                .orElseThrow(() -> new AssertionError("shard " + index + " not joined: " + s.shards()));
    }

    private static Map<String, Object> sessionRow(String id) {
        JsonPath json = given().get("/api/v1/tunnel/sessions").then().statusCode(200).extract().jsonPath();
        List<Map<String, Object>> rows = json.getList("sessions");
        return rows.stream().filter(r -> id.equals(r.get("sessionId"))).findFirst()
                .orElseThrow(() -> new AssertionError("no session " + id + " in GET /sessions"));
    }

    /** Sends {@code payload} through the tunnel to the echo server and checks the SHA-256 of what comes back. */
    private static boolean echoes(int port, byte[] payload) throws IOException {
        try {
            byte[] back = VisitorSockets.roundTrip(port, payload, 20_000);
            return MessageDigest.isEqual(Digests.sha256().digest(back), Digests.sha256().digest(payload));
        } catch (InterruptedException e) {
            throw new IOException(e);
        }
    }

    private static byte[] random(int n) {
        byte[] b = new byte[n];
        ThreadLocalRandom.current().nextBytes(b);
        return b;
    }

    // ---------------------------------------------------------------- streams over shards

    @Test
    @Timeout(120)
    void fourShardsCarry200ParallelStreamsIntact() throws Exception {
        int port = Ports.free();
        try (LaptopTcpServer echo = new LaptopTcpServer(LaptopTcpServer.ECHO);
             TestDriver d = sharded(kit, 4, expose(echo.port(), port))) {
            KitSession s = session(d);
            assertThat(s.isV2()).isTrue();
            assertThat(s.shards()).hasSize(4);

            List<Future<Boolean>> results = new ArrayList<>();
            try (var pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
                for (int i = 0; i < 200; i++) {
                    byte[] payload = random(64 * 1024 + i);
                    results.add(pool.submit(() -> echoes(port, payload)));
                }
            }
            int intact = 0;
            for (Future<Boolean> f : results) {
                intact += f.get() ? 1 : 0;
            }
            assertThat(intact).as("streams whose echo had the right SHA-256").isEqualTo(200);

            Map<String, Object> row = sessionRow(d.sessionId());
            assertThat(row).containsEntry("isV2", true).containsEntry("protocol", Protocol.SUBPROTOCOL_V2);
            assertThat(((Number) row.get("connectionsGranted")).intValue()).isEqualTo(200);
            @SuppressWarnings("unchecked")
            List<Map<String, Object>> shards = (List<Map<String, Object>>) row.get("shards");
            assertThat(shards).extracting(m -> m.get("index")).containsExactly(0, 1, 2, 3);
            assertThat(shards).extracting(m -> m.get("primary")).containsExactly(true, false, false, false);
            assertThat(shards).as("every shard carried streams (least active streams first)")
                    .allSatisfy(m -> assertThat(((Number) m.get("bytesIn")).longValue()).isGreaterThan(64 * 1024));
            given().get("/api/v1/tunnel/metrics").then().body(org.hamcrest.Matchers.containsString("hoody_tunnel_shards_active"));
        }
    }

    /**
     * Visitors that each send a first chunk, read its echo, wait for {@code go}, then send the rest: every stream is
     * open (and pinned to its shard) while the test breaks something.
     */
    private record HeldVisitors(List<Future<Boolean>> results, CountDownLatch ready, CountDownLatch go) {
        static HeldVisitors start(java.util.concurrent.ExecutorService pool, int port, int n) {
            CountDownLatch ready = new CountDownLatch(n);
            CountDownLatch go = new CountDownLatch(1);
            List<Future<Boolean>> results = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                results.add(pool.submit(() -> {
                    byte[] first = random(16 * 1024);
                    byte[] rest = random(200 * 1024);
                    try (Socket v = new Socket("127.0.0.1", port)) {
                        v.setSoTimeout(20_000);
                        InputStream in = v.getInputStream();
                        v.getOutputStream().write(first);
                        byte[] echoed = in.readNBytes(first.length);
                        ready.countDown();
                        go.await();
                        if (!Arrays.equals(echoed, first)) {
                            return false;
                        }
                        Thread writer = Thread.ofVirtual().start(() -> {
                            try {
                                v.getOutputStream().write(rest);
                                v.shutdownOutput();
                            } catch (IOException ignored) {
                                // the read reports it
                            }
                        });
                        byte[] back = in.readAllBytes();
                        writer.join();
                        return MessageDigest.isEqual(Digests.sha256().digest(back), Digests.sha256().digest(rest));
                    } catch (IOException e) {
                        ready.countDown(); // a stream that failed before the cut still lets the test go on
                        return false;
                    }
                }));
            }
            return new HeldVisitors(results, ready, go);
        }

        int intact() throws Exception {
            int n = 0;
            for (Future<Boolean> f : results) {
                n += f.get(60, TimeUnit.SECONDS) ? 1 : 0;
            }
            return n;
        }
    }

    @Test
    @Timeout(120)
    void losingASecondaryFailsOnlyItsStreamsAndTheShardRejoins() throws Exception {
        int port = Ports.free();
        try (LaptopTcpServer echo = new LaptopTcpServer(LaptopTcpServer.ECHO);
             TestDriver d = sharded(kit, 4, expose(echo.port(), port));
             var pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            KitSession s = session(d);
            HeldVisitors visitors = HeldVisitors.start(pool, port, 40);
            assertThat(visitors.ready().await(30, TimeUnit.SECONDS)).isTrue();
            KitShard victim = shard(s, 2);
            int onVictim = victim.activeStreams();
            assertThat(onVictim).as("streams pinned to shard 2").isBetween(1, 39);

            victim.connection().abort("test: shard 2's socket dropped");
            assertThat(s.state()).isEqualTo(KitSession.State.ATTACHED);
            assertThat(s.shards()).extracting(KitShard::index).containsExactly(0, 1, 3);
            visitors.go().countDown();

            assertThat(visitors.intact()).as("streams of the other shards finish intact; shard 2's %d fail", onVictim)
                    .isEqualTo(40 - onVictim);
            JsonNode lost = d.await("shard_lost");
            assertThat(lost.path("shard").asInt()).isEqualTo(2);
            JsonNode back = d.await("shard_rejoined");
            assertThat(back.path("shard").asInt()).isEqualTo(2);
            await().atMost(Duration.ofSeconds(10)).until(() -> s.shards().size() == 4);
            assertThat(sessions.find(d.sessionId())).containsSame(s);

            // New streams use shard 2 again: with none open, the fewest-streams rule spreads 8 over all four.
            HeldVisitors again = HeldVisitors.start(pool, port, 8);
            assertThat(again.ready().await(30, TimeUnit.SECONDS)).isTrue();
            assertThat(shard(s, 2).activeStreams()).isGreaterThan(0);
            again.go().countDown();
            assertThat(again.intact()).isEqualTo(8);
        }
    }

    @Test
    @Timeout(120)
    void losingThePrimaryOrphansTheSessionWhichResumesAndItsShardsRejoin() throws Exception {
        int port = Ports.free();
        try (LaptopTcpServer echo = new LaptopTcpServer(LaptopTcpServer.ECHO);
             TestDriver d = sharded(kit, 4, expose(echo.port(), port))) {
            KitSession s = session(d);
            String id = d.sessionId();
            KitShard primary = shard(s, 0);
            List<KitShard> secondaries = List.copyOf(s.shards().subList(1, 4));
            primary.connection().abort("test: the primary's socket dropped");
            // The kit closes the secondaries with the primary: "dropping the primary closes the whole session".
            assertThat(secondaries).allSatisfy(h -> assertThat(h.activeStreams()).isZero());
            await().atMost(Duration.ofSeconds(6)).until(() -> secondaries.stream().allMatch(h -> h.connection().isClosed()));

            d.await("disconnected");
            JsonNode resumed = d.await("resumed");
            assertThat(resumed.path("sessionId").asText()).isEqualTo(id);
            for (int i = 0; i < 3; i++) {
                assertThat(d.await("shard_rejoined").path("sessionId").asText()).isEqualTo(id);
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> s.shards().size() == 4);
            assertThat(shard(s, 0)).isNotSameAs(primary);
            assertThat(echoes(port, random(300_000))).isTrue();
            assertThat(sessionRow(id)).containsEntry("state", "attached").containsEntry("isV2", true);
        }
    }

    @Test
    @Timeout(60)
    void aV1AndAV2DriverShareOneKit() throws Exception {
        int v1Port = Ports.free();
        int v2Port = Ports.free();
        try (LaptopTcpServer echo = new LaptopTcpServer(LaptopTcpServer.ECHO);
             TestDriver v1 = TestDriver.start(kit, expose(echo.port(), v1Port));
             TestDriver v2 = sharded(kit, 3, expose(echo.port(), v2Port))) {
            v1.await("bind_ok");
            assertThat(echoes(v1Port, random(500_000))).isTrue();
            assertThat(echoes(v2Port, random(500_000))).isTrue();
            assertThat(sessionRow(v1.sessionId())).containsEntry("isV2", false).containsEntry("protocol", Protocol.SUBPROTOCOL_V1);
            assertThat(sessionRow(v2.sessionId())).containsEntry("isV2", true).containsEntry("protocol", Protocol.SUBPROTOCOL_V2);
            assertThat((List<?>) sessionRow(v2.sessionId()).get("shards")).hasSize(3);
        }
    }

    // ---------------------------------------------------------------- the handshake, raw

    @Test
    @Timeout(60)
    void helloOkGrantsShardsUpToTheCapAndASecretJoinToken() throws Exception {
        try (RawDriver primary = RawDriver.connect(kit, Protocol.SUBPROTOCOL_V2)) {
            ControlMessage.HelloOk ok = primary.helloV2(10, null);
            assertThat(ok.shards()).as("hoody.tunnel.v2-max-shards, 4 by default").isEqualTo(4);
            assertThat(Base64.getUrlDecoder().decode(ok.joinToken())).hasSizeGreaterThanOrEqualTo(16);
            assertThat(ok.joinToken()).isNotEqualTo(ok.resumeToken()).doesNotContain(ok.sessionId());
        }
        try (RawDriver v1 = RawDriver.connect(kit)) {
            ControlMessage.HelloOk ok = v1.hello(10);
            assertThat(ok.shards()).as("a v1 HELLO_OK has no shards field").isZero();
            assertThat(ok.joinToken()).isNull();
        }
    }

    @Test
    @Timeout(60)
    void joinsAreRefusedAsDocumented() throws Exception {
        try (RawDriver primary = RawDriver.connect(kit, Protocol.SUBPROTOCOL_V2)) {
            ControlMessage.HelloOk ok = primary.helloV2(4, null);
            String id = ok.sessionId();

            assertRefused(id, "A" + ok.joinToken().substring(1), 1, 1008, "join token not accepted");
            assertRefused("ses_no_such_session", ok.joinToken(), 1, 1008, "unknown session");
            assertRefused(id, ok.joinToken(), 4, 1008, "shard 4 out of range: this session has secondaries 1..3");
            assertRefused(id, ok.joinToken(), 0, 1008, "shard 0 out of range: this session has secondaries 1..3");

            try (RawDriver onV1 = RawDriver.connect(kit)) { // JOIN needs a v2 socket
                onV1.send("{\"type\":\"JOIN\",\"sessionId\":\"" + id + "\",\"joinToken\":\"" + ok.joinToken() + "\",\"shard\":1}");
                RawDriver.Close c = onV1.awaitClose(Duration.ofSeconds(5));
                assertThat(c.code()).isEqualTo(1002);
                assertThat(c.reason()).isEqualTo("the first message must be HELLO");
            }

            try (RawDriver first = RawDriver.connect(kit, Protocol.SUBPROTOCOL_V2)) {
                assertThat(first.join(id, ok.joinToken(), 1)).isEqualTo(new ControlMessage.JoinOk(id, 1));
                assertThat(first.arrivals().getFirst()).isEqualTo("text:JOIN_OK");
                // Control messages travel on the primary only.
                try (RawDriver second = RawDriver.connect(kit, Protocol.SUBPROTOCOL_V2)) {
                    second.join(id, ok.joinToken(), 2);
                    second.send("{\"type\":\"BIND\",\"ref\":\"x\",\"kind\":\"tcp\",\"mode\":\"pull\",\"port\":0}");
                    RawDriver.Close c = second.awaitClose(Duration.ofSeconds(5));
                    assertThat(c.code()).isEqualTo(1002);
                    assertThat(c.reason()).isEqualTo("control messages travel on the primary (shard 0) only");
                }
                // A second JOIN of a joined index replaces the first socket.
                try (RawDriver replacement = RawDriver.connect(kit, Protocol.SUBPROTOCOL_V2)) {
                    replacement.join(id, ok.joinToken(), 1);
                    RawDriver.Close c = first.awaitClose(Duration.ofSeconds(5));
                    assertThat(c.code()).isEqualTo(1000);
                    assertThat(c.reason()).isEqualTo("replaced by a new JOIN of shard 1");
                    assertThat(replacement.isClosed()).isFalse();
                }
            }
        }
    }

    @Test
    @Timeout(60)
    void aJoinBeforeThePrimarysHelloOkIsRefusedAndAV2SessionResumes() throws Exception {
        RawDriver primary = RawDriver.connect(kit, Protocol.SUBPROTOCOL_V2);
        ControlMessage.HelloOk ok = primary.helloV2(4, null);
        try (RawDriver secondary = RawDriver.connect(kit, Protocol.SUBPROTOCOL_V2)) {
            secondary.join(ok.sessionId(), ok.joinToken(), 3);
            primary.close(); // no GOAWAY: the session is orphaned and its secondaries closed
            RawDriver.Close c = secondary.awaitClose(Duration.ofSeconds(5));
            assertThat(c.code()).isEqualTo(1000);
            assertThat(c.reason()).isEqualTo("the session's primary socket was lost");
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> sessions.find(ok.sessionId()).orElseThrow().isOrphaned());
        // The driver knows the join token, but the session has no primary until a resume's HELLO_OK.
        assertRefused(ok.sessionId(), ok.joinToken(), 1, 1013, "the session's primary is not attached; JOIN after its HELLO_OK");

        // A v1 HELLO cannot resume a v2 session: it gets a new session.
        try (RawDriver v1 = RawDriver.connect(kit)) {
            ControlMessage.HelloOk other = v1.resume(ok.sessionId(), ok.resumeToken());
            assertThat(other.resumed()).isFalse();
            assertThat(other.sessionId()).isNotEqualTo(ok.sessionId());
        }
        try (RawDriver back = RawDriver.connect(kit, Protocol.SUBPROTOCOL_V2);
             RawDriver shard = RawDriver.connect(kit, Protocol.SUBPROTOCOL_V2)) {
            ControlMessage.HelloOk resumed = back.helloV2(4, new ControlMessage.Resume(ok.sessionId(), ok.resumeToken()));
            assertThat(resumed.resumed()).isTrue();
            assertThat(resumed.sessionId()).isEqualTo(ok.sessionId());
            assertThat(resumed.shards()).isEqualTo(4);
            assertThat(resumed.joinToken()).as("the join token outlives a resume").isEqualTo(ok.joinToken());
            assertThat(shard.join(ok.sessionId(), ok.joinToken(), 1).shard()).isEqualTo(1);
            assertThat(sessionRow(ok.sessionId())).containsEntry("state", "attached");
        }
    }

    /**
     * Heartbeats are per shard: a secondary that falls silent (answers no PING) is cut after the heartbeat timeout
     * (3 s in tests) while its primary, which answers, keeps the session attached.
     */
    @Test
    void aSilentSecondaryIsCutAndTheSessionGoesOn() throws Exception {
        try (RawDriver primary = RawDriver.connect(kit, Protocol.SUBPROTOCOL_V2);
             RawDriver secondary = RawDriver.connect(kit, Protocol.SUBPROTOCOL_V2)) {
            ControlMessage.HelloOk ok = primary.helloV2(2, null);
            assertThat(secondary.join(ok.sessionId(), ok.joinToken(), 1).shard()).isEqualTo(1);
            KitSession s = sessions.find(ok.sessionId()).orElseThrow();
            assertThat(s.shards()).hasSize(2);
            secondary.goSilent();
            RawDriver.Close c = secondary.awaitClose(Duration.ofSeconds(10));
            assertThat(c.code()).isEqualTo(1008);
            assertThat(c.reason()).startsWith("nothing heard on shard 1 for");
            assertThat(s.state()).isEqualTo(KitSession.State.ATTACHED);
            assertThat(s.shards()).extracting(KitShard::index).containsExactly(0);
            assertThat(primary.isClosed()).isFalse();
        }
    }

    /** A JOIN on a fresh v2 socket is closed with {@code code} and exactly {@code reason}. */
    private void assertRefused(String sessionId, String token, int shard, int code, String reason) throws Exception {
        try (RawDriver d = RawDriver.connect(kit, Protocol.SUBPROTOCOL_V2)) {
            d.send("{\"type\":\"JOIN\",\"sessionId\":\"" + sessionId + "\",\"joinToken\":\"" + token + "\",\"shard\":" + shard + "}");
            RawDriver.Close c = d.awaitClose(Duration.ofSeconds(5));
            assertThat(c.code()).as(reason).isEqualTo(code);
            assertThat(c.reason()).isEqualTo(reason);
        }
    }

    /** A stream frame on a shard before its JOIN_OK is as much a protocol error as before HELLO. */
    @Test
    void aStreamFrameBeforeJoinIsAProtocolError() throws Exception {
        try (RawDriver d = RawDriver.connect(kit, Protocol.SUBPROTOCOL_V2)) {
            d.sendFrame(ai.hoody.tunnel.protocol.FrameCodec.fin(1));
            assertThat(d.awaitClose(Duration.ofSeconds(5)).code()).isEqualTo(1002);
        }
    }
}
