package ai.hoody.tunnel.driver;

import ai.hoody.tunnel.driver.HttpHandler.Response;
import ai.hoody.tunnel.support.Blob;
import ai.hoody.tunnel.support.Digests;
import ai.hoody.tunnel.support.EventQueue;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
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
import java.util.HexFormat;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link Tunnel#serveHttp} against a real kit, called by real HTTP clients (the JDK's, and raw sockets where the bytes
 * matter): keep-alive, chunked bodies both ways, large bodies with checksums, HEAD, 100-continue, a WebSocket upgrade
 * handed over raw, and what a failing handler or a malformed request gets.
 */
@QuarkusTest
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HttpServeTest {

    static final long LARGE = 48L << 20;

    @TestHTTPResource("/")
    URI kit;

    Tunnel tunnel;
    Binding web;
    final EventQueue events = new EventQueue();
    final Set<String> origins = ConcurrentHashMap.newKeySet();
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeAll
    void start() throws Exception {
        tunnel = Tunnel.open(TunnelOptions.kit(kit.toString()).noProxy().listener(events));
        web = tunnel.serveHttp(0, this::handle, BindOption.loopback());
    }

    @AfterAll
    void stop() {
        tunnel.close();
    }

    /** The application under test: a few endpoints, as a user would write them. */
    private Response handle(HttpHandler.Request request) throws Exception {
        origins.add(request.origin());
        return switch (request.path()) {
            case "/hello" -> Response.text(200, "hello " + request.query() + "\n").header("X-Method", request.method());
            case "/origin" -> Response.text(200, request.origin());
            case "/sha256" -> { // streams the body, however large, through a digest
                MessageDigest md = Digests.sha256();
                byte[] buf = new byte[64 * 1024];
                long total = 0;
                try (InputStream in = request.body()) {
                    int n;
                    while ((n = in.read(buf)) >= 0) {
                        md.update(buf, 0, n);
                        total += n;
                    }
                }
                yield Response.text(200, total + " " + HexFormat.of().formatHex(md.digest()));
            }
            case "/blob" -> { // streamed, chunked: Blob bytes of ?size
                long size = Long.parseLong(request.query().substring("size=".length()));
                yield Response.stream(200, "application/octet-stream", out -> {
                    for (long off = 0; off < size; off += 1 << 20) {
                        out.write(Blob.bytes(off, (int) Math.min(1 << 20, size - off)));
                    }
                });
            }
            case "/fixed" -> Response.bytes(200, "application/octet-stream", Blob.bytes(0, 100_000));
            case "/fail" -> throw new IllegalStateException("secret detail");
            case "/ws" -> webSocketUpgrade(request);
            default -> Response.text(404, "no " + request.path() + "\n");
        };
    }

    /** An RFC 6455 upgrade answered by the handler, then a tiny echo server on the raw bytes. */
    private static Response webSocketUpgrade(HttpHandler.Request request) {
        String accept = WebSocketClient.expectedAccept(request.header("Sec-WebSocket-Key"));
        return Response.upgrade((in, out) -> {
            DataInputStream frames = new DataInputStream(in);
            while (true) {
                int b0 = frames.readUnsignedByte();
                int len = frames.readUnsignedByte() & 0x7F; // the test sends short, masked frames
                byte[] key = new byte[4];
                frames.readFully(key);
                byte[] payload = new byte[len];
                frames.readFully(payload);
                for (int i = 0; i < len; i++) {
                    payload[i] ^= key[i & 3];
                }
                int opcode = b0 & 0x0F;
                if (opcode == 0x8) { // close: echo it and end
                    out.write(new byte[] {(byte) 0x88, 0});
                    return;
                }
                byte[] reply = ("echo: " + new String(payload, StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8);
                ByteArrayOutputStream f = new ByteArrayOutputStream();
                f.write(0x81);
                f.write(reply.length);
                f.write(reply);
                out.write(f.toByteArray());
            }
        }).header("Upgrade", "websocket").header("Connection", "Upgrade").header("Sec-WebSocket-Accept", accept);
    }

    private URI uri(String pathAndQuery) {
        return URI.create("http://127.0.0.1:" + web.port() + pathAndQuery);
    }

    /** Reads one response (Content-Length bodies only) off a raw connection: head and body. */
    private static String[] readResponse(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("EOF in the response head: " + head);
            }
            head.write(b);
        }
        String h = head.toString(StandardCharsets.ISO_8859_1);
        int length = h.lines().filter(l -> l.toLowerCase().startsWith("content-length:"))
                .mapToInt(l -> Integer.parseInt(l.substring(15).trim())).findFirst().orElse(0);
        return new String[] {h, new String(in.readNBytes(length), StandardCharsets.UTF_8)};
    }

    @Test
    void keepAliveServesManyRequestsOnOneConnection() throws Exception {
        try (Socket s = new Socket("127.0.0.1", web.port())) {
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            String origin = null;
            for (int i = 0; i < 50; i++) {
                out.write("GET /origin HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                String[] r = readResponse(in);
                assertThat(r[0]).startsWith("HTTP/1.1 200 OK\r\n").doesNotContainIgnoringCase("connection: close");
                origin = origin == null ? r[1] : origin;
                assertThat(r[1]).isEqualTo(origin); // one visitor connection, one stream, every time
            }
            // Pipelined: three requests in one write, three answers in order.
            out.write(("GET /hello?a HTTP/1.1\r\nHost: x\r\n\r\nGET /hello?b HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "POST /sha256 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc").getBytes(StandardCharsets.US_ASCII));
            assertThat(readResponse(in)[1]).isEqualTo("hello a\n");
            assertThat(readResponse(in)[1]).isEqualTo("hello b\n");
            assertThat(readResponse(in)[1]).isEqualTo("3 ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        }
    }

    @Test
    void aChunkedUploadAndAChunkedDownloadArriveWhole() throws Exception {
        try (Socket s = new Socket("127.0.0.1", web.port())) {
            OutputStream out = s.getOutputStream();
            out.write(("POST /sha256 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "3\r\nabc\r\n" + "1\r\nd\r\n" + "0\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            String[] r = readResponse(s.getInputStream());
            assertThat(r[1]).isEqualTo("4 88d4266fd4e6338d13b845fcf289579d209c897823b9217da3e161936f031589"); // sha256("abcd")
        }
        try (Socket s = new Socket("127.0.0.1", web.port())) {
            s.getOutputStream().write("GET /blob?size=100000 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            String raw = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            assertThat(raw).startsWith("HTTP/1.1 200 OK\r\n").containsIgnoringCase("transfer-encoding: chunked")
                    .containsIgnoringCase("connection: close").endsWith("\r\n0\r\n\r\n");
        }
    }

    @Test
    void largeBodiesBothWaysKeepTheirChecksums() throws Exception {
        byte[] upload = new byte[(int) LARGE];
        for (long off = 0; off < LARGE; off += 1 << 20) {
            System.arraycopy(Blob.bytes(off, 1 << 20), 0, upload, (int) off, 1 << 20);
        }
        HttpResponse<String> up = http.send(HttpRequest.newBuilder(uri("/sha256")).POST(HttpRequest.BodyPublishers.ofByteArray(upload))
                .timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(up.body()).isEqualTo(LARGE + " " + Blob.sha256(LARGE));

        HttpResponse<InputStream> down = http.send(HttpRequest.newBuilder(uri("/blob?size=" + LARGE)).timeout(Duration.ofSeconds(60)).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        MessageDigest md = Digests.sha256();
        long total = 0;
        try (InputStream in = down.body()) {
            byte[] buf = new byte[64 * 1024];
            int n;
            while ((n = in.read(buf)) >= 0) {
                md.update(buf, 0, n);
                total += n;
            }
        }
        assertThat(total).isEqualTo(LARGE);
        assertThat(HexFormat.of().formatHex(md.digest())).isEqualTo(Blob.sha256(LARGE));
    }

    @Test
    void headGetsTheHeadersAndNoBody() throws Exception {
        try (Socket s = new Socket("127.0.0.1", web.port())) {
            OutputStream out = s.getOutputStream();
            out.write("HEAD /fixed HTTP/1.1\r\nHost: x\r\n\r\nHEAD /blob?size=10 HTTP/1.1\r\nHost: x\r\n\r\nGET /hello?after HTTP/1.1\r\nHost: x\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            String first = headOnly(in);
            assertThat(first).containsIgnoringCase("content-length: 100000");
            String second = headOnly(in);
            assertThat(second).containsIgnoringCase("transfer-encoding: chunked");
            String[] third = readResponse(in); // right after the two heads: no body bytes came between them
            assertThat(third[1]).isEqualTo("hello after\n");
        }
    }

    private static String headOnly(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
            head.write(in.read());
        }
        return head.toString(StandardCharsets.ISO_8859_1);
    }

    @Test
    void expectContinueIsAnsweredBeforeTheBodyIsSent() throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri("/sha256")).expectContinue(true)
                .POST(HttpRequest.BodyPublishers.ofString("abc")).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).startsWith("3 ba7816bf");
    }

    @Test
    void aWebSocketUpgradeIsHandedOverRaw() throws Exception {
        CompletableFuture<String> reply = new CompletableFuture<>();
        WebSocket ws = http.newWebSocketBuilder().buildAsync(URI.create("ws://127.0.0.1:" + web.port() + "/ws"), new WebSocket.Listener() {
            @Override
            public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
                reply.complete(data.toString());
                return null;
            }
        }).get(10, TimeUnit.SECONDS);
        ws.sendText("through the tunnel", true).get(10, TimeUnit.SECONDS);
        assertThat(reply.get(10, TimeUnit.SECONDS)).isEqualTo("echo: through the tunnel");
        ws.sendClose(WebSocket.NORMAL_CLOSURE, "").get(10, TimeUnit.SECONDS);
    }

    @Test
    void aFailingHandlerGets500WithoutItsDetailAndAWarning() throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri("/fail")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(500);
        assertThat(r.body()).isEqualTo("the handler failed\n").doesNotContain("secret");
        assertThat(events.await(TunnelEvent.Warning.class, w -> w.message().contains("/fail")).cause())
                .isInstanceOf(IllegalStateException.class).hasMessage("secret detail");
    }

    @Test
    void aMalformedRequestGets400AndATooLongLine414() throws Exception {
        try (Socket s = new Socket("127.0.0.1", web.port())) {
            s.getOutputStream().write("this is not http\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1)).startsWith("HTTP/1.1 400 ");
        }
        try (Socket s = new Socket("127.0.0.1", web.port())) {
            s.getOutputStream().write(("GET /" + "a".repeat(5000) + " HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1)).startsWith("HTTP/1.1 414 ");
        }
    }

    @Test
    void anHttp10VisitorGetsAStreamedBodyDelimitedByTheClose() throws Exception {
        try (Socket s = new Socket("127.0.0.1", web.port())) {
            s.getOutputStream().write("GET /blob?size=5000 HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            byte[] all = s.getInputStream().readAllBytes();
            String raw = new String(all, StandardCharsets.ISO_8859_1);
            assertThat(raw).startsWith("HTTP/1.0 200 OK\r\n").doesNotContainIgnoringCase("chunked");
            int body = raw.indexOf("\r\n\r\n") + 4;
            assertThat(java.util.Arrays.copyOfRange(all, body, all.length)).isEqualTo(Blob.bytes(0, 5000));
        }
    }

    @Test
    void aBodyLeftUnreadDoesNotConfuseTheNextRequest() throws Exception {
        try (Socket s = new Socket("127.0.0.1", web.port())) {
            OutputStream out = s.getOutputStream();
            out.write(("POST /hello?unread HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789"
                    + "GET /hello?next HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            assertThat(readResponse(in)[1]).isEqualTo("hello unread\n");
            assertThat(readResponse(in)[1]).isEqualTo("hello next\n");
        }
    }
}
