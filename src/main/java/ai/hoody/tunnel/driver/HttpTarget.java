package ai.hoody.tunnel.driver;

import ai.hoody.tunnel.mux.MuxStream;
import ai.hoody.tunnel.mux.StreamResetException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.SequenceInputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The streams of a {@link Tunnel#serveHttp} binding: each is an HTTP/1.x connection whose requests go to the
 * {@link HttpHandler}, parsed and answered by Netty's HTTP codec driven by hand in an {@link EmbeddedChannel} — no
 * event loop, no socket: the stream's virtual thread feeds the decoder the bytes it reads and writes what the encoder
 * produces. This is the only class that touches Netty, which the library declares optional: a program without
 * {@code netty-codec-http} fails at {@link Tunnel#serveHttp} with a message saying so.
 *
 * <p>The codec is {@code HttpServerCodec}'s two halves, {@link HttpRequestDecoder} and {@link HttpResponseEncoder},
 * used apart because an upgrade needs a decoder that stops after each message ({@code singleDecode}), so that the
 * bytes after a {@code 101} are handed over untouched ({@code HttpServerCodec} is final and keeps its decoder to
 * itself); HEAD is handled by {@link HeadAwareEncoder} as {@code HttpServerCodec} would. Threading: one virtual thread per connection
 * runs everything here, the handler included.
 */
final class HttpTarget implements StreamTarget {

    /** Bytes of an unread request body dropped so that the connection can serve the next request; beyond, it closes. */
    static final long MAX_DRAINED_BODY = 1 << 20;
    private static final int OUTPUT_BUFFER = 16 * 1024;

    private final HttpHandler handler;

    HttpTarget(HttpHandler handler) {
        this.handler = handler;
        Objects.requireNonNull(HttpRequestDecoder.class); // fails here, at serveHttp, when Netty is not on the class path
    }

    @Override
    public void serve(MuxStream stream, String origin, TunnelListener events) {
        stream.accept();
        new Connection(stream, origin, events).run();
    }

    @Override
    public String describe() {
        return "an in-process HTTP handler";
    }

    /** The response encoder, told when the response answers a HEAD (no body, whatever the headers say). */
    private static final class HeadAwareEncoder extends HttpResponseEncoder {
        boolean answeringHead;

        @Override
        protected boolean isContentAlwaysEmpty(HttpResponse msg) {
            return answeringHead || super.isContentAlwaysEmpty(msg);
        }
    }

    /** Marks the peer's FIN among decoded messages. */
    private static final Object END = new Object();

    /** One HTTP connection: its requests, one at a time. */
    private final class Connection {
        private final MuxStream stream;
        private final String origin;
        private final TunnelListener events;
        private final StreamPipes pipes;
        private final EmbeddedChannel channel = new EmbeddedChannel();
        private final HttpRequestDecoder decoder = new HttpRequestDecoder(new HttpDecoderConfig().setMaxChunkSize(64 * 1024));
        private final HeadAwareEncoder encoder = new HeadAwareEncoder();
        private boolean peerFinished;

        Connection(MuxStream stream, String origin, TunnelListener events) {
            this.stream = stream;
            this.origin = origin;
            this.events = events;
            this.pipes = new StreamPipes(stream);
            channel.config().setAllocator(UnpooledByteBufAllocator.DEFAULT); // heap, no pool caches per virtual thread
            decoder.setSingleDecode(true);
            channel.pipeline().addLast("decoder", decoder).addLast("encoder", encoder);
        }

        void run() {
            try {
                StreamHandler upgraded = null;
                while (upgraded == null) {
                    Object next = nextDecoded();
                    if (next == END) {
                        break;
                    }
                    if (!(next instanceof HttpRequest request)) {
                        release(next); // the rest of a body nobody read
                        continue;
                    }
                    Outcome o = serveOne(request);
                    if (o == Outcome.CLOSE) {
                        break;
                    }
                    if (o == Outcome.UPGRADE) {
                        upgraded = lastUpgrade;
                    }
                }
                if (upgraded != null) {
                    InputStream rest = new SequenceInputStream(new ByteArrayInputStream(leftoverBytes()), pipes.in());
                    HandlerTarget.run(upgraded, pipes, rest, origin, events);
                    return;
                }
                pipes.finish();
            } catch (StreamResetException e) {
                // the visitor went away, or the tunnel dropped the connection
            } catch (IOException | RuntimeException e) {
                events.onEvent(new TunnelEvent.Warning("HTTP connection from " + origin + " failed: " + e, e));
                pipes.abort(String.valueOf(e.getMessage()));
            } finally {
                channel.finishAndReleaseAll();
            }
        }

        private enum Outcome { KEEP_ALIVE, CLOSE, UPGRADE }

        private StreamHandler lastUpgrade;

        private Outcome serveOne(HttpRequest head) throws IOException {
            if (head.decoderResult().isFailure()) {
                Throwable cause = head.decoderResult().cause();
                HttpResponseStatus status = cause instanceof TooLongHttpLineException ? HttpResponseStatus.REQUEST_URI_TOO_LONG
                        : cause instanceof TooLongHttpHeaderException ? HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
                        : cause instanceof TooLongFrameException ? HttpResponseStatus.BAD_REQUEST
                        : HttpResponseStatus.BAD_REQUEST;
                writeError(status, "malformed request: " + cause.getMessage());
                return Outcome.CLOSE;
            }
            Body body = new Body(head);
            Request request = new Request(head, body, origin);
            boolean keepAlive = HttpUtil.isKeepAlive(head);
            HttpHandler.Response response;
            try {
                response = handler.handle(request);
                if (response == null) {
                    throw new IllegalStateException("the handler returned no response for " + head.method() + " " + head.uri());
                }
            } catch (StreamResetException e) {
                throw e;
            } catch (Exception e) {
                if (e instanceof InterruptedException) {
                    Thread.currentThread().interrupt();
                }
                events.onEvent(new TunnelEvent.Warning("the in-process HTTP handler failed on " + head.method() + " "
                        + head.uri() + " from " + origin + ": " + e, e));
                writeError(HttpResponseStatus.INTERNAL_SERVER_ERROR, "the handler failed");
                return Outcome.CLOSE;
            }
            if (response.upgradeHandler() != null) {
                writeHead(head, response, false, false);
                lastUpgrade = response.upgradeHandler();
                return Outcome.UPGRADE;
            }
            if (!body.complete() && !body.drainable()) {
                keepAlive = false;
            }
            keepAlive = writeResponse(head, response, keepAlive);
            if (keepAlive && !body.complete()) {
                body.drain();
            }
            return keepAlive ? Outcome.KEEP_ALIVE : Outcome.CLOSE;
        }

        /** @return whether the connection stays open after it */
        private boolean writeResponse(HttpRequest head, HttpHandler.Response response, boolean keepAlive) throws IOException {
            boolean isHead = HttpMethod.HEAD.equals(head.method());
            boolean http11 = head.protocolVersion().equals(HttpVersion.HTTP_1_1);
            byte[] bytes = response.bytesBody();
            HttpHandler.BodyWriter writer = response.writer();
            boolean lengthGiven = response.header("Content-Length") != null;
            boolean chunked = false;
            if (writer != null && !lengthGiven) {
                if (http11) {
                    chunked = true;
                } else {
                    keepAlive = false; // HTTP/1.0: the body ends with the connection
                }
            }
            HttpResponse r = writeHead(head, response, keepAlive, chunked);
            if (!lengthGiven && writer == null) { // for HEAD too: the length a GET would get
                HttpUtil.setContentLength(r, bytes == null ? 0 : bytes.length);
            }
            encoder.answeringHead = isHead;
            channel.writeOutbound(r);
            if (bytes != null && bytes.length > 0 && !isHead) {
                channel.writeOutbound(new DefaultHttpContent(Unpooled.wrappedBuffer(bytes)));
            } else if (writer != null && !isHead) {
                long declared = lengthGiven ? HttpUtil.getContentLength(r, -1L) : -1;
                try (BodyOutput out = new BodyOutput()) {
                    writer.writeTo(out);
                    out.flush();
                    if (declared >= 0 && out.written != declared) {
                        throw new IOException("the body writer wrote " + out.written + " bytes for Content-Length " + declared);
                    }
                }
            }
            channel.writeOutbound(LastHttpContent.EMPTY_LAST_CONTENT);
            flushOutbound();
            return keepAlive;
        }

        /** Builds the response head; for a 101 it is written here, whole. */
        private HttpResponse writeHead(HttpRequest head, HttpHandler.Response response, boolean keepAlive, boolean chunked) throws IOException {
            HttpVersion version = head.protocolVersion().equals(HttpVersion.HTTP_1_0) ? HttpVersion.HTTP_1_0 : HttpVersion.HTTP_1_1;
            HttpResponseStatus status = HttpResponseStatus.valueOf(response.status());
            if (response.upgradeHandler() != null) {
                DefaultFullHttpResponse r = new DefaultFullHttpResponse(version, status, Unpooled.EMPTY_BUFFER);
                response.headers().forEach((k, vs) -> r.headers().add(k, vs));
                encoder.answeringHead = true; // a 101 has no body, whatever its headers say
                channel.writeOutbound(r);
                flushOutbound();
                return r;
            }
            DefaultHttpResponse r = new DefaultHttpResponse(version, status);
            response.headers().forEach((k, vs) -> r.headers().add(k, vs));
            if (chunked) {
                HttpUtil.setTransferEncodingChunked(r, true);
            }
            HttpUtil.setKeepAlive(r, keepAlive);
            return r;
        }

        private void writeError(HttpResponseStatus status, String message) throws IOException {
            byte[] body = (message + "\n").getBytes(StandardCharsets.UTF_8);
            DefaultFullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(body));
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
            HttpUtil.setContentLength(r, body.length);
            HttpUtil.setKeepAlive(r, false);
            encoder.answeringHead = false;
            channel.writeOutbound(r);
            flushOutbound();
        }

        /** Everything the encoder produced, as one write on the stream (a DATA frame per 64 KiB, not per piece). */
        private void flushOutbound() throws IOException {
            List<ByteBuf> pieces = new ArrayList<>();
            int total = 0;
            ByteBuf b;
            while ((b = channel.readOutbound()) != null) {
                pieces.add(b);
                total += b.readableBytes();
            }
            try {
                if (total == 0) {
                    return;
                }
                byte[] all = new byte[total];
                int at = 0;
                for (ByteBuf piece : pieces) {
                    int n = piece.readableBytes();
                    piece.getBytes(piece.readerIndex(), all, at, n);
                    at += n;
                }
                pipes.out().write(all, 0, total);
            } finally {
                pieces.forEach(ByteBuf::release);
            }
        }

        /**
         * The next message from the decoder: a request head, a piece of body, or {@link #END} at the peer's FIN. The
         * decoder stops after each message; what it still holds is decoded before more is read from the stream.
         */
        private Object nextDecoded() throws IOException {
            while (true) {
                Object o = channel.readInbound();
                if (o != null) {
                    return o;
                }
                channel.writeInbound(Unpooled.EMPTY_BUFFER);
                o = channel.readInbound();
                if (o != null) {
                    return o;
                }
                if (peerFinished) {
                    return END;
                }
                ByteBuffer chunk = pipes.nextChunk();
                if (chunk == null) {
                    peerFinished = true;
                    return END;
                }
                channel.writeInbound(Unpooled.wrappedBuffer(chunk));
            }
        }

        /** After a 101: the bytes the decoder holds beyond the request, which belong to the upgraded protocol. */
        private byte[] leftoverBytes() {
            channel.pipeline().remove(encoder);
            channel.pipeline().remove(decoder); // hands what it holds on as a ByteBuf
            ByteArrayOutputStream rest = new ByteArrayOutputStream();
            Object o;
            while ((o = channel.readInbound()) != null) {
                if (o instanceof ByteBuf b) {
                    byte[] bytes = new byte[b.readableBytes()];
                    b.readBytes(bytes);
                    rest.writeBytes(bytes);
                }
                release(o); // a body piece of the upgrade request itself, unread: dropped
            }
            return rest.toByteArray();
        }

        private static void release(Object o) {
            if (o instanceof io.netty.util.ReferenceCounted r) {
                r.release();
            }
        }

        /** A request's body, pulled from the decoder as the handler reads it. */
        private final class Body extends InputStream {
            private final HttpRequest head;
            private final long declaredLength;
            private ByteBuf current;
            private boolean last;
            private boolean continueSent;
            private long read;

            Body(HttpRequest head) {
                this.head = head;
                // A request without Content-Length and not chunked has no body (RFC 9112 §6.3).
                this.declaredLength = HttpUtil.isTransferEncodingChunked(head) ? -1 : HttpUtil.getContentLength(head, 0L);
            }

            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                int n = read(one, 0, 1);
                return n < 0 ? -1 : one[0] & 0xFF;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                Objects.checkFromIndexSize(off, len, b.length);
                if (len == 0) {
                    return 0;
                }
                while (current == null || !current.isReadable()) {
                    if (current != null) {
                        current.release();
                        current = null;
                    }
                    if (last) {
                        return -1;
                    }
                    if (!continueSent && HttpUtil.is100ContinueExpected(head)) {
                        continueSent = true; // the visitor waits for it before sending the body
                        encoder.answeringHead = false;
                        channel.writeOutbound(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE,
                                Unpooled.EMPTY_BUFFER));
                        flushOutbound();
                    }
                    Object o = nextDecoded();
                    if (o == END) {
                        throw new EOFException("the visitor closed the connection before the end of the request body");
                    }
                    if (!(o instanceof HttpContent c)) {
                        release(o);
                        throw new IOException("the decoder gave " + o + " inside a request body");
                    }
                    if (c.decoderResult().isFailure()) {
                        c.release();
                        throw new IOException("malformed request body: " + c.decoderResult().cause().getMessage(),
                                c.decoderResult().cause());
                    }
                    current = c.content();
                    last = c instanceof LastHttpContent;
                }
                int n = Math.min(len, current.readableBytes());
                current.readBytes(b, off, n);
                read += n;
                return n;
            }

            boolean complete() {
                return last && (current == null || !current.isReadable());
            }

            /** Whether dropping the rest keeps the connection: a known, small remainder the visitor is sending anyway. */
            boolean drainable() {
                boolean waitsForContinue = HttpUtil.is100ContinueExpected(head) && !continueSent;
                return !waitsForContinue && declaredLength >= 0 && declaredLength - read <= MAX_DRAINED_BODY;
            }

            void drain() throws IOException {
                byte[] sink = new byte[8192];
                while (read(sink, 0, sink.length) >= 0) {
                    // dropped
                }
            }
        }

        /** The streamed response body: buffered, each flush one HTTP chunk (or raw bytes with a Content-Length). */
        private final class BodyOutput extends OutputStream {
            private final byte[] buffer = new byte[OUTPUT_BUFFER];
            private int at;
            long written;

            @Override
            public void write(int b) throws IOException {
                if (at == buffer.length) {
                    flush();
                }
                buffer[at++] = (byte) b;
                written++;
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                Objects.checkFromIndexSize(off, len, b.length);
                if (len >= buffer.length) {
                    flush();
                    send(b.clone(), off, len);
                } else {
                    if (at + len > buffer.length) {
                        flush();
                    }
                    System.arraycopy(b, off, buffer, at, len);
                    at += len;
                }
                written += len;
            }

            @Override
            public void flush() throws IOException {
                if (at > 0) {
                    send(buffer.clone(), 0, at);
                    at = 0;
                }
            }

            private void send(byte[] b, int off, int len) throws IOException {
                channel.writeOutbound(new DefaultHttpContent(Unpooled.wrappedBuffer(b, off, len)));
                flushOutbound();
            }

            @Override
            public void close() throws IOException {
                flush();
            }
        }
    }

    /** A request as the handler sees it. */
    private record Request(HttpRequest head, InputStream body, String origin) implements HttpHandler.Request {

        @Override
        public String method() {
            return head.method().name();
        }

        @Override
        public String uri() {
            return head.uri();
        }

        @Override
        public String path() {
            String u = head.uri();
            int q = u.indexOf('?');
            return q < 0 ? u : u.substring(0, q);
        }

        @Override
        public String query() {
            String u = head.uri();
            int q = u.indexOf('?');
            return q < 0 ? null : u.substring(q + 1);
        }

        @Override
        public String protocol() {
            return head.protocolVersion().text();
        }

        @Override
        public String header(String name) {
            return head.headers().get(name);
        }

        @Override
        public List<String> headers(String name) {
            return head.headers().getAll(name);
        }

        @Override
        public Map<String, List<String>> headers() {
            HttpHeaders h = head.headers();
            Map<String, List<String>> all = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
            for (String name : h.names()) {
                all.put(name, List.copyOf(h.getAll(name)));
            }
            return Collections.unmodifiableMap(all);
        }
    }
}
