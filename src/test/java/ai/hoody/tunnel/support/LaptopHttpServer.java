package ai.hoody.tunnel.support;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;

import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real HTTP/1.1 + WebSocket server standing in for the laptop's service (Vert.x, on its own instance, not the
 * kit's). Endpoints: {@code /hello}, {@code /echo} (body back), {@code /blob?size=N} (deterministic bytes),
 * {@code /sha256} (hex digest of the request body), {@code /chunked?parts=N}, {@code /conn} (a per-connection id),
 * {@code /ws} (WebSocket echo).
 */
public final class LaptopHttpServer implements AutoCloseable {

    private final Vertx vertx = Vertx.vertx();
    private final HttpServer server;
    private final AtomicInteger connections = new AtomicInteger();

    private final String name;

    public LaptopHttpServer() throws Exception {
        this("laptop");
    }

    /** @param name what {@code /whoami} answers, to tell two laptops apart */
    public LaptopHttpServer(String name) throws Exception {
        this.name = name;
        server = vertx.createHttpServer(new HttpServerOptions().setHandle100ContinueAutomatically(true).setTcpNoDelay(true)
                        .setMaxWebSocketFrameSize(1 << 20).setMaxWebSocketMessageSize(1 << 22))
                .connectionHandler(c -> connections.incrementAndGet())
                .webSocketHandler(ws -> {
                    if (!ws.path().equals("/ws")) {
                        ws.reject(404);
                        return;
                    }
                    ws.textMessageHandler(ws::writeTextMessage);
                    ws.binaryMessageHandler(ws::writeBinaryMessage);
                })
                .requestHandler(this::handle)
                .listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    public int port() {
        return server.actualPort();
    }

    public int connectionsAccepted() {
        return connections.get();
    }

    private void handle(HttpServerRequest req) {
        switch (req.path()) {
            case "/whoami" -> req.response().end(name);
            case "/hello" -> req.response().putHeader("Content-Type", "text/plain").end("hello from the laptop\n");
            case "/echo" -> req.body().onSuccess(b -> req.response()
                    .putHeader("X-Request-Id", String.valueOf(req.getParam("i"))).end(b));
            case "/conn" -> req.response().end(Integer.toHexString(System.identityHashCode(req.connection())));
            case "/blob" -> {
                long size = Long.parseLong(req.getParam("size"));
                req.response().putHeader("Content-Length", Long.toString(size));
                writeBlob(req, size, 0);
            }
            case "/sha256" -> {
                MessageDigest md = Digests.sha256();
                long[] count = {0};
                req.handler(b -> {
                    md.update(b.getBytes());
                    count[0] += b.length();
                });
                req.endHandler(v -> req.response().putHeader("X-Bytes", Long.toString(count[0]))
                        .end(HexFormat.of().formatHex(md.digest())));
            }
            case "/chunked" -> {
                int parts = Integer.parseInt(req.getParam("parts", "5"));
                req.response().setChunked(true);
                for (int i = 0; i < parts; i++) {
                    req.response().write("chunk-" + i + "\n");
                }
                req.response().end();
            }
            default -> req.response().setStatusCode(404).end("no such path\n");
        }
    }

    /** Streams {@link Blob} bytes, respecting the visitor's pace (write queue back-pressure). */
    private void writeBlob(HttpServerRequest req, long size, long offset) {
        var resp = req.response();
        while (offset < size && !resp.writeQueueFull()) {
            int n = (int) Math.min(64 * 1024, size - offset);
            resp.write(Buffer.buffer(Blob.bytes(offset, n)));
            offset += n;
        }
        if (offset >= size) {
            resp.end();
            return;
        }
        long next = offset;
        resp.drainHandler(v -> writeBlob(req, size, next));
    }

    @Override
    public void close() throws Exception {
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
}
