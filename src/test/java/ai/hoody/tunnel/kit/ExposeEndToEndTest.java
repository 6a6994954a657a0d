package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.driver.BindSpec;
import ai.hoody.tunnel.protocol.BindMode;
import ai.hoody.tunnel.support.Blob;
import ai.hoody.tunnel.support.Digests;
import ai.hoody.tunnel.support.LaptopHttpServer;
import ai.hoody.tunnel.support.Ports;
import ai.hoody.tunnel.support.TestDriver;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * EXPOSE end to end: a real laptop HTTP server behind the real driver, visitors on the exposed port with real
 * HTTP and WebSocket clients.
 */
@QuarkusTest
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ExposeEndToEndTest {

    @TestHTTPResource("/")
    URI kit;

    LaptopHttpServer laptop;
    TestDriver driver;
    int exposed;
    HttpClient http;

    @BeforeAll
    void start() throws Exception {
        laptop = new LaptopHttpServer();
        exposed = Ports.free();
        driver = TestDriver.start(kit, BindSpec.parseTarget(BindMode.EXPOSE, "127.0.0.1:" + laptop.port(), exposed, null, false));
        var ok = driver.await("bind_ok");
        assertThat(ok.path("port").asInt()).isEqualTo(exposed);
        assertThat(ok.path("mode").asText()).isEqualTo("expose");
        assertThat(ok.path("sessionId").asText()).startsWith("ses_");
        assertThat(ok.has("publicUrl")).isTrue();
        assertThat(ok.path("publicUrl").isNull()).isTrue(); // HOODY_TUNNEL_PUBLIC_URL_PATTERN is unset in tests
        http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    }

    @AfterAll
    void stop() throws Exception {
        driver.close();
        laptop.close();
    }

    private URI visitor(String pathAndQuery) {
        return URI.create("http://127.0.0.1:" + exposed + pathAndQuery);
    }

    @Test
    void twoHundredParallelRequestsEachGetTheirOwnAnswer() throws Exception {
        List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
        HttpClient fresh = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        for (int i = 0; i < 200; i++) {
            calls.add(fresh.sendAsync(HttpRequest.newBuilder(visitor("/echo?i=" + i))
                    .POST(HttpRequest.BodyPublishers.ofString("request number " + i)).build(), HttpResponse.BodyHandlers.ofString()));
        }
        for (int i = 0; i < 200; i++) {
            HttpResponse<String> r = calls.get(i).get(30, TimeUnit.SECONDS);
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("request number " + i);
            assertThat(r.headers().firstValue("X-Request-Id")).hasValue(Integer.toString(i));
        }
    }

    @Test
    void keepAliveCarriesManyRequestsOnOneConnection() throws Exception {
        int before = laptop.connectionsAccepted();
        try (Socket s = new Socket("127.0.0.1", exposed)) {
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            String first = null;
            for (int i = 0; i < 50; i++) {
                out.write(("GET /conn HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                out.flush();
                String body = readResponseBody(in);
                if (first == null) {
                    first = body;
                }
                assertThat(body).isEqualTo(first); // the same laptop connection served every request
            }
        }
        assertThat(laptop.connectionsAccepted() - before).isEqualTo(1);
    }

    @Test
    void responsesPassByteExactIncludingChunkedEncoding() throws Exception {
        String request = "GET /chunked?parts=7 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        byte[] direct = rawExchange(laptop.port(), request.getBytes(StandardCharsets.US_ASCII));
        byte[] tunneled = rawExchange(exposed, request.getBytes(StandardCharsets.US_ASCII));
        assertThat(new String(tunneled, StandardCharsets.US_ASCII)).contains("transfer-encoding: chunked").contains("chunk-6");
        assertThat(tunneled).isEqualTo(direct);
    }

    @Test
    void chunkedRequestBodyArrivesWhole() throws Exception {
        byte[] body = Blob.bytes(7, 300_000);
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(visitor("/sha256"))
                        .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(body))).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo(HexFormat.of().formatHex(Digests.sha256().digest(body)));
    }

    @Test
    void hundredMegabytesEachWayWithMatchingSha256() throws Exception {
        long size = 100L * 1024 * 1024;
        String expected = Blob.sha256(size);

        HttpResponse<InputStream> down = http.send(HttpRequest.newBuilder(visitor("/blob?size=" + size)).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        MessageDigest md = Digests.sha256();
        long n = 0;
        try (InputStream in = down.body()) {
            byte[] buf = new byte[1 << 16];
            int r;
            while ((r = in.read(buf)) >= 0) {
                md.update(buf, 0, r);
                n += r;
            }
        }
        assertThat(n).isEqualTo(size);
        assertThat(HexFormat.of().formatHex(md.digest())).isEqualTo(expected);

        HttpResponse<String> up = http.send(HttpRequest.newBuilder(visitor("/sha256"))
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new BlobStream(size))).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(up.statusCode()).isEqualTo(200);
        assertThat(up.headers().firstValue("X-Bytes")).hasValue(Long.toString(size));
        assertThat(up.body()).isEqualTo(expected);
    }

    @Test
    void expectContinueGetsTheInterimResponseThroughTheTunnel() throws Exception {
        try (Socket s = new Socket("127.0.0.1", exposed)) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            out.write("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String interim = readHead(in);
            assertThat(interim).startsWith("HTTP/1.1 100 Continue");
            out.write("hello".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            assertThat(readResponseBody(in)).isEqualTo("hello");
        }
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(visitor("/echo")).expectContinue(true)
                .POST(HttpRequest.BodyPublishers.ofString("continued")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.body()).isEqualTo("continued");
    }

    @Test
    void webSocketUpgradeCarriesTrafficBothWays() throws Exception {
        CompletableFuture<String> text = new CompletableFuture<>();
        CompletableFuture<byte[]> binary = new CompletableFuture<>();
        WebSocket ws = http.newWebSocketBuilder().buildAsync(URI.create("ws://127.0.0.1:" + exposed + "/ws"), new WebSocket.Listener() {
            @Override
            public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
                text.complete(data.toString());
                w.request(1);
                return null;
            }

            final java.io.ByteArrayOutputStream parts = new java.io.ByteArrayOutputStream();

            @Override
            public CompletionStage<?> onBinary(WebSocket w, ByteBuffer data, boolean last) {
                byte[] b = new byte[data.remaining()];
                data.get(b);
                parts.writeBytes(b);
                if (last) {
                    binary.complete(parts.toByteArray());
                }
                w.request(1);
                return null;
            }
        }).get(10, TimeUnit.SECONDS);
        ws.sendText("ping through the tunnel", true).join();
        assertThat(text.get(10, TimeUnit.SECONDS)).isEqualTo("ping through the tunnel");
        byte[] payload = Blob.bytes(3, 100_000);
        ws.sendBinary(ByteBuffer.wrap(payload), true).join();
        assertThat(binary.get(10, TimeUnit.SECONDS)).isEqualTo(payload);
        ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").join();
    }

    /**
     * One visitor stops reading: its stream's window fills and stays full (the laptop's server can no longer write
     * its body). Another download on the same session must not notice: it takes no longer than a few times what it
     * takes alone. Alone and beside are measured in turns, three rounds, best of each: the machine's load moves
     * both alike, and one GC pause or a neighbour's burst does not decide.
     */
    @Test
    void aSlowReaderDoesNotSlowAParallelStream() throws Exception {
        long size = 32L * 1024 * 1024;
        String digest = Blob.sha256(size);
        long big = 64L * 1024 * 1024;
        download(size, digest); // warm-up: JIT, pooled buffers
        long alone = Long.MAX_VALUE;
        long beside = Long.MAX_VALUE;
        for (int round = 1; round <= 3; round++) {
            alone = Math.min(alone, download(size, digest));
            try (Socket stalled = new Socket("127.0.0.1", exposed)) {
                stalled.getOutputStream().write(("GET /blob?size=" + big + " HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                stalled.getOutputStream().flush();
                // Not read: every buffer on the way fills, then the stream's window. Stalled means the laptop's server
                // has been unable to write a byte of it for a while (a flowing transfer waits for microseconds).
                await().atMost(Duration.ofSeconds(15)).until(() -> laptop.longestBlockedBlob().toMillis() >= 300);
                long stalledAt = System.nanoTime();

                beside = Math.min(beside, download(size, digest));
                long sinceStalled = System.nanoTime() - stalledAt;
                assertThat(laptop.longestBlockedBlob().toNanos()).as("the stalled stream stayed stalled throughout")
                        .isGreaterThan(sinceStalled);

                if (round == 3) {
                    // The stalled stream lost nothing: it still delivers every byte once read.
                    stalled.setSoTimeout(15_000);
                    InputStream in = stalled.getInputStream();
                    readHead(in);
                    MessageDigest md = Digests.sha256();
                    byte[] buf = new byte[1 << 16];
                    long n = 0;
                    while (n < big) {
                        int k = in.read(buf, 0, (int) Math.min(buf.length, big - n));
                        assertThat(k).as("bytes read after %d of %d", n, big).isPositive();
                        md.update(buf, 0, k);
                        n += k;
                    }
                    assertThat(HexFormat.of().formatHex(md.digest())).isEqualTo(Blob.sha256(big));
                }
            }
            // Left unread, the visitor's close resets its stream, and the laptop's response goes with it.
            await().atMost(Duration.ofSeconds(10)).until(() -> laptop.longestBlockedBlob().isZero());
        }
        assertThat(beside).as("ms for %d MiB beside a stalled stream (alone: %d ms)", size >> 20, alone)
                .isLessThanOrEqualTo(3 * alone);
    }

    /** Downloads and checks {@code size} bytes of /blob (their digest: {@code sha256}); returns the milliseconds it took. */
    private long download(long size, String sha256) throws Exception {
        long t0 = System.nanoTime();
        HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(visitor("/blob?size=" + size)).timeout(Duration.ofSeconds(20)).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        long millis = (System.nanoTime() - t0) / 1_000_000;
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(HexFormat.of().formatHex(Digests.sha256().digest(r.body()))).isEqualTo(sha256);
        return millis;
    }

    // --- raw HTTP helpers ---

    static byte[] rawExchange(int port, byte[] request) throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(request);
            s.getOutputStream().flush();
            return s.getInputStream().readAllBytes();
        }
    }

    /** Reads a status line and headers, through the blank line. */
    static String readHead(InputStream in) throws Exception {
        StringBuilder sb = new StringBuilder();
        while (!sb.toString().endsWith("\r\n\r\n")) {
            int c = in.read();
            if (c < 0) {
                throw new AssertionError("connection closed inside a response head: " + sb);
            }
            sb.append((char) c);
        }
        return sb.toString();
    }

    /** Reads one Content-Length response and returns its body. */
    static String readResponseBody(InputStream in) throws Exception {
        String head = readHead(in);
        int len = 0;
        for (String line : head.split("\r\n")) {
            if (line.toLowerCase().startsWith("content-length:")) {
                len = Integer.parseInt(line.substring(15).trim());
            }
        }
        return new String(in.readNBytes(len), StandardCharsets.UTF_8);
    }

    /** {@link Blob} bytes as a stream, so a 100 MB upload needs no 100 MB array. */
    static final class BlobStream extends InputStream {
        private final long size;
        private long pos;

        BlobStream(long size) {
            this.size = size;
        }

        @Override
        public int read() {
            return pos < size ? Blob.bytes(pos++, 1)[0] & 0xff : -1;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (pos >= size) {
                return -1;
            }
            int n = (int) Math.min(len, size - pos);
            System.arraycopy(Blob.bytes(pos, n), 0, b, off, n);
            pos += n;
            return n;
        }
    }
}
