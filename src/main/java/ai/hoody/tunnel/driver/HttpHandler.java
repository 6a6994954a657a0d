package ai.hoody.tunnel.driver;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Answers the HTTP/1.1 requests of visitors in the program itself: what {@link Tunnel#serveHttp} runs, with no local
 * port. Requests are parsed and responses written by Netty's HTTP codec ({@code io.netty:netty-codec-http}, which the
 * program must have on its class path); keep-alive, pipelining, chunked bodies both ways, {@code Expect: 100-continue},
 * HEAD and upgrades ({@link Response#upgrade}) are handled.
 *
 * <p>Each connection runs on a virtual thread of its own and its requests are handled one after the other on it, so
 * the handler may block. A handler that throws gets a {@code 500} sent for it (and a {@link TunnelEvent.Warning}); the
 * exception's text is not sent to the visitor.
 *
 * <p>Limits (Netty's defaults): request line 4096 bytes ({@code 414} beyond), headers 8192 bytes ({@code 431} beyond);
 * a request the codec cannot parse gets {@code 400}. Bodies have no size limit: they stream.
 */
@FunctionalInterface
public interface HttpHandler {

    /** @return the response; null is answered with {@code 500} */
    Response handle(Request request) throws Exception;

    /** One request. Header names are case-insensitive. Not thread-safe: read it on the handler's thread. */
    interface Request {

        /** {@code GET}, {@code POST}, … */
        String method();

        /** The request target as sent: {@code /path?query}. */
        String uri();

        /** The path of {@link #uri()}, as sent (not decoded). */
        String path();

        /** The query of {@link #uri()} without {@code ?}, as sent; null without one. */
        String query();

        /** {@code HTTP/1.1} or {@code HTTP/1.0}. */
        String protocol();

        /** The first value of a header, or null. */
        String header(String name);

        /** Every value of a header, in order; empty when absent. */
        List<String> headers(String name);

        /** All headers, names as sent, looked up without case. */
        Map<String, List<String>> headers();

        /**
         * The body as it arrives (empty for a request without one). Read it before answering to keep the connection
         * alive; a body left unread is dropped (up to 1 MiB) or the connection closes after the response.
         */
        InputStream body();

        /** Reads the whole body into memory: for small bodies; stream {@link #body()} otherwise. */
        default byte[] bodyBytes() throws IOException {
            return body().readAllBytes();
        }

        /** The whole body as UTF-8 text. */
        default String bodyText() throws IOException {
            return new String(bodyBytes(), StandardCharsets.UTF_8);
        }

        /** The visitor's address as the kit saw it, e.g. {@code /203.0.113.7:51234}. */
        String origin();
    }

    /** Writes a streamed response body; see {@link Response#stream}. */
    @FunctionalInterface
    interface BodyWriter {
        void writeTo(OutputStream body) throws IOException;
    }

    /**
     * A response: status, headers and a body — bytes, a {@link BodyWriter}, or none — or an upgrade. Immutable:
     * {@link #header} returns a new response.
     */
    final class Response {

        private final int status;
        private final Map<String, List<String>> headers;
        private final byte[] bytes;
        private final BodyWriter writer;
        private final StreamHandler upgrade;

        private Response(int status, Map<String, List<String>> headers, byte[] bytes, BodyWriter writer, StreamHandler upgrade) {
            if (status < 100 || status > 999) {
                throw new IllegalArgumentException("HTTP status must be 100..999, was " + status);
            }
            this.status = status;
            this.headers = headers;
            this.bytes = bytes;
            this.writer = writer;
            this.upgrade = upgrade;
        }

        /** A response without a body ({@code Content-Length: 0} where a body is allowed). */
        public static Response of(int status) {
            return new Response(status, Map.of(), null, null, null);
        }

        /** A {@code text/plain; charset=utf-8} body. */
        public static Response text(int status, String body) {
            return bytes(status, "text/plain; charset=utf-8", body.getBytes(StandardCharsets.UTF_8));
        }

        /** A body of known bytes, sent with {@code Content-Length}. */
        public static Response bytes(int status, String contentType, byte[] body) {
            Objects.requireNonNull(body, "body");
            return new Response(status, Map.of(), body.clone(), null, null).header("Content-Type", contentType);
        }

        /**
         * A body written as it is produced: with {@code Transfer-Encoding: chunked} (HTTP/1.1), or delimited by the
         * connection's close (HTTP/1.0) — unless a {@code Content-Length} header is given, which the writer must then
         * match exactly (else the connection is reset). The stream is buffered: {@code flush()} sends what was
         * written so far (one chunk).
         */
        public static Response stream(int status, String contentType, BodyWriter writer) {
            Objects.requireNonNull(writer, "writer");
            return new Response(status, Map.of(), null, writer, null).header("Content-Type", contentType);
        }

        /**
         * {@code 101 Switching Protocols} with the headers added to it (e.g. {@code Upgrade: websocket},
         * {@code Connection: Upgrade}, {@code Sec-WebSocket-Accept}), after which the connection's raw bytes — whatever
         * the visitor sent after the request included — belong to {@code handler}.
         */
        public static Response upgrade(StreamHandler handler) {
            Objects.requireNonNull(handler, "handler");
            return new Response(101, Map.of(), null, null, handler);
        }

        /** This response with one more header value. */
        public Response header(String name, String value) {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(value, "value");
            Map<String, List<String>> copy = new LinkedHashMap<>();
            headers.forEach((k, v) -> copy.put(k, new ArrayList<>(v)));
            String key = copy.keySet().stream().filter(k -> k.equalsIgnoreCase(name)).findFirst().orElse(name);
            copy.computeIfAbsent(key, k -> new ArrayList<>()).add(value);
            Map<String, List<String>> frozen = new LinkedHashMap<>();
            copy.forEach((k, v) -> frozen.put(k, List.copyOf(v)));
            return new Response(status, Collections.unmodifiableMap(frozen), bytes, writer, upgrade);
        }

        public int status() {
            return status;
        }

        /** The headers, names as given. */
        public Map<String, List<String>> headers() {
            return headers;
        }

        /** The first value of a header (case-insensitive), or null. */
        public String header(String name) {
            for (Map.Entry<String, List<String>> e : headers.entrySet()) {
                if (e.getKey().toLowerCase(Locale.ROOT).equals(name.toLowerCase(Locale.ROOT)) && !e.getValue().isEmpty()) {
                    return e.getValue().getFirst();
                }
            }
            return null;
        }

        byte[] bytesBody() {
            return bytes;
        }

        BodyWriter writer() {
            return writer;
        }

        StreamHandler upgradeHandler() {
            return upgrade;
        }

        @Override
        public String toString() {
            return "Response[" + status + ", " + headers + "]";
        }
    }
}
