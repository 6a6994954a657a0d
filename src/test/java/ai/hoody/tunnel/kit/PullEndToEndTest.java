package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.driver.BindSpec;
import ai.hoody.tunnel.protocol.BindMode;
import ai.hoody.tunnel.support.Blob;
import ai.hoody.tunnel.support.Digests;
import ai.hoody.tunnel.support.LaptopHttpServer;
import ai.hoody.tunnel.support.LaptopTcpServer;
import ai.hoody.tunnel.support.Ports;
import ai.hoody.tunnel.support.TestDriver;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** PULL end to end: container-side clients on the loopback reach a real laptop TCP server through the real driver. */
@QuarkusTest
class PullEndToEndTest {

    @TestHTTPResource("/")
    URI kit;

    private static BindSpec pull(int laptopPort, int containerPort) {
        return BindSpec.parseTarget(BindMode.PULL, "127.0.0.1:" + laptopPort, containerPort, null, false);
    }

    @Test
    void oneGigabyteEchoesByteExact() throws Exception {
        try (LaptopTcpServer echo = new LaptopTcpServer(LaptopTcpServer.ECHO);
             TestDriver d = TestDriver.start(kit, pull(echo.port(), 0))) {
            int port = d.await("bind_ok").path("port").asInt();
            long size = 1L << 30;
            try (Socket s = new Socket("127.0.0.1", port)) {
                CompletableFuture<String> sent = CompletableFuture.supplyAsync(() -> {
                    try {
                        OutputStream out = s.getOutputStream();
                        MessageDigest md = Digests.sha256();
                        byte[] chunk = Blob.bytes(0, 1 << 20);
                        for (long off = 0; off < size; off += chunk.length) {
                            chunk[0] = (byte) (off >>> 20); // vary each MiB so a reordered chunk would show
                            out.write(chunk);
                            md.update(chunk);
                        }
                        s.shutdownOutput();
                        return HexFormat.of().formatHex(md.digest());
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                }, r -> Thread.ofVirtual().start(r));
                MessageDigest md = Digests.sha256();
                InputStream in = s.getInputStream();
                byte[] buf = new byte[1 << 16];
                long received = 0;
                int n;
                while ((n = in.read(buf)) >= 0) {
                    md.update(buf, 0, n);
                    received += n;
                }
                assertThat(received).isEqualTo(size);
                assertThat(HexFormat.of().formatHex(md.digest())).isEqualTo(sent.get(60, TimeUnit.SECONDS));
            }
        }
    }

    @Test
    void twoHundredConcurrentConnectionsKeepTheirOwnBytes() throws Exception {
        try (LaptopTcpServer echo = new LaptopTcpServer(LaptopTcpServer.ECHO);
             TestDriver d = TestDriver.start(kit, pull(echo.port(), 0))) {
            int port = d.await("bind_ok").path("port").asInt();
            List<CompletableFuture<Boolean>> clients = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                int id = i;
                clients.add(CompletableFuture.supplyAsync(() -> {
                    byte[] payload = Blob.bytes(id * 1_000_003L, 50_000 + id * 97);
                    try (Socket s = new Socket("127.0.0.1", port)) {
                        CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                            try {
                                s.getOutputStream().write(payload);
                                s.shutdownOutput();
                            } catch (Exception e) {
                                throw new RuntimeException(e);
                            }
                        }, r -> Thread.ofVirtual().start(r));
                        byte[] back = s.getInputStream().readAllBytes();
                        writer.join();
                        return Arrays.equals(back, payload);
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                }, r -> Thread.ofVirtual().start(r)));
            }
            for (CompletableFuture<Boolean> c : clients) {
                assertThat(c.get(60, TimeUnit.SECONDS)).isTrue();
            }
        }
    }

    @Test
    void halfCloseTravelsEachWayIndependently() throws Exception {
        try (LaptopTcpServer counter = new LaptopTcpServer(LaptopTcpServer.COUNT_THEN_ANSWER);
             TestDriver d = TestDriver.start(kit, pull(counter.port(), 0))) {
            int port = d.await("bind_ok").path("port").asInt();
            try (Socket s = new Socket("127.0.0.1", port)) {
                s.setSoTimeout(10_000);
                s.getOutputStream().write(Blob.bytes(0, 123_456));
                s.shutdownOutput(); // the server answers only after it sees our EOF
                assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("got 123456 bytes\n");
            }
        }
    }

    @Test
    void aServerThatSpeaksFirstIsHeardWithoutTheClientSendingAnything() throws Exception {
        try (LaptopTcpServer banner = new LaptopTcpServer(LaptopTcpServer.BANNER_THEN_ECHO);
             TestDriver d = TestDriver.start(kit, pull(banner.port(), 0))) {
            int port = d.await("bind_ok").path("port").asInt();
            try (Socket s = new Socket("127.0.0.1", port)) {
                s.setSoTimeout(10_000);
                byte[] greeting = s.getInputStream().readNBytes("220 laptop ready\r\n".length());
                assertThat(new String(greeting, StandardCharsets.US_ASCII)).isEqualTo("220 laptop ready\r\n");
            }
        }
    }

    @Test
    void portZeroPicksAFreeLoopbackPortAndIpv6LoopbackWorks() throws Exception {
        try (LaptopTcpServer banner = new LaptopTcpServer(LaptopTcpServer.BANNER_THEN_ECHO);
             TestDriver d = TestDriver.start(kit, pull(banner.port(), 0),
                     BindSpec.parseTarget(BindMode.PULL, "127.0.0.1:" + banner.port(), 0, "::1", false))) {
            var v4 = d.await("bind_ok");
            var v6 = d.await("bind_ok");
            assertThat(v4.path("port").asInt()).isPositive();
            assertThat(v4.path("host").asText()).isEqualTo("127.0.0.1");
            assertThat(v6.path("host").asText()).isEqualTo("::1");
            for (var ok : List.of(v4, v6)) {
                InetAddress addr = InetAddress.getByName(ok.path("host").asText());
                try (Socket s = new Socket(addr, ok.path("port").asInt())) {
                    s.setSoTimeout(10_000);
                    assertThat(new String(s.getInputStream().readNBytes(4), StandardCharsets.US_ASCII)).isEqualTo("220 ");
                }
            }
            // Loopback only: the pull port is not reachable on another address of this machine.
            assertThat(InetAddress.getByName("::1")).isInstanceOf(Inet6Address.class);
        }
    }

    @Test
    void oneDriverHoldsAPullAndAnExposeAtOnce() throws Exception {
        try (LaptopTcpServer echo = new LaptopTcpServer(LaptopTcpServer.ECHO);
             LaptopHttpServer web = new LaptopHttpServer()) {
            int exposed = Ports.free();
            try (TestDriver d = TestDriver.start(kit, pull(echo.port(), 0),
                    BindSpec.parseTarget(BindMode.EXPOSE, "127.0.0.1:" + web.port(), exposed, null, false))) {
                var pullOk = d.await("bind_ok");
                var exposeOk = d.await("bind_ok");
                assertThat(pullOk.path("mode").asText()).isEqualTo("pull");
                assertThat(exposeOk.path("mode").asText()).isEqualTo("expose");
                assertThat(pullOk.path("sessionId").asText()).isEqualTo(exposeOk.path("sessionId").asText());
                try (Socket s = new Socket("127.0.0.1", pullOk.path("port").asInt())) {
                    s.getOutputStream().write("hi".getBytes(StandardCharsets.US_ASCII));
                    s.shutdownOutput();
                    assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("hi");
                }
                HttpResponse<String> r = HttpClient.newHttpClient().send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + exposed + "/hello")).build(), HttpResponse.BodyHandlers.ofString());
                assertThat(r.body()).isEqualTo("hello from the laptop\n");
            }
        }
    }
}
