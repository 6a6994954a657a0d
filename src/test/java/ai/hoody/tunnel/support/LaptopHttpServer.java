package ai.hoody.tunnel.support;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;

import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real HTTP/1.1 + WebSocket server standing in for the laptop's service (Vert.x, on its own instance, not the
 * kit's). Endpoints: {@code /hello}, {@code /echo} (body back), {@code /blob?size=N} (deterministic bytes;
 * {@code &holdAt=M}: the first M bytes, then the rest once the test calls {@link #releaseHeldBlobs}),
 * {@code /sha256} (hex digest of the request body), {@code /chunked?parts=N}, {@code /conn} (a per-connection id),
 * {@code /ws} (WebSocket echo).
 *
 * <p>What a test can observe: {@link #longestBlockedBlob} tells how long a {@code /blob} response has been unable to
 * write (its connection's write queue full): the visitor, or the tunnel on the way, stopped taking bytes.
 */
public final class LaptopHttpServer implements AutoCloseable {

    private final Vertx vertx = Vertx.vertx();
    private final HttpServer server;
    private final AtomicInteger connections = new AtomicInteger();
    /** /blob responses waiting for their write queue to drain, with the {@link System#nanoTime} they began to wait. */
    private final Map<HttpServerResponse, Long> blockedSince = new ConcurrentHashMap<>();
    private final CompletableFuture<Void> heldBlobsReleased = new CompletableFuture<>();

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

    /** How long the longest-waiting {@code /blob} response has been unable to write a byte; zero if none is waiting. */
    public Duration longestBlockedBlob() {
        long now = System.nanoTime();
        return Duration.ofNanos(blockedSince.values().stream().mapToLong(since -> now - since).max().orElse(0));
    }

    /** Lets every {@code /blob?holdAt=M} response, now and later, send the rest of its body. */
    public void releaseHeldBlobs() {
        heldBlobsReleased.complete(null);
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
                long holdAt = Long.parseLong(req.getParam("holdAt", Long.toString(size)));
                req.response().putHeader("Content-Length", Long.toString(size));
                req.response().closeHandler(v -> blockedSince.remove(req.response()));
                writeBlob(req, size, holdAt, 0);
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

    /**
     * Streams {@link Blob} bytes, respecting the visitor's pace (write queue back-pressure); at {@code holdAt} waits for
     * {@link #releaseHeldBlobs}.
     */
    private void writeBlob(HttpServerRequest req, long size, long holdAt, long offset) {
        var resp = req.response();
        long stop = offset < holdAt && !heldBlobsReleased.isDone() ? holdAt : size;
        while (offset < stop && !resp.writeQueueFull()) {
            int n = (int) Math.min(64 * 1024, stop - offset);
            resp.write(Buffer.buffer(Blob.bytes(offset, n)));
            offset += n;
        }
        long next = offset;
        if (offset >= size) {
            resp.end();
        } else if (offset == stop) {
            resp.drainHandler(null); // an earlier wait's handler would write again from where that wait began
            Context context = Vertx.currentContext();
            heldBlobsReleased.thenRun(() -> context.runOnContext(v -> writeBlob(req, size, holdAt, next)));
        } else {
            blockedSince.put(resp, System.nanoTime());
            resp.drainHandler(v -> {
                blockedSince.remove(resp);
                writeBlob(req, size, holdAt, next);
            });
        }
    }

    @Override
    public void close() throws Exception {
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
}
