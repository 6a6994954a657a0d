package ai.hoody.tunnel.driver;

import ai.hoody.tunnel.mux.FrameTransport;
import ai.hoody.tunnel.protocol.Protocol;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/**
 * The driver's end of the WebSocket, on the JDK's client. Threading: the JDK calls the listener methods one at a
 * time on its own threads; they hand whole messages to the {@link Receiver} and never block. Sends are chained, since
 * the JDK allows one outstanding send at a time: any thread may send, and each thread's order is kept.
 */
final class WebSocketTransport implements FrameTransport, WebSocket.Listener {

    /** What the transport delivers: whole messages, then the end. */
    interface Receiver {
        void onControl(String text);

        void onFrame(ByteBuffer frame);

        void onClosed(int code, String reason);
    }

    private final Receiver receiver;
    private final StringBuilder text = new StringBuilder();
    private byte[] partial = new byte[0];
    private int partialLength;
    private volatile WebSocket ws;
    private CompletableFuture<?> tail = CompletableFuture.completedFuture(null);

    private WebSocketTransport(Receiver receiver) {
        this.receiver = receiver;
    }

    static WebSocketTransport connect(URI uri, Receiver receiver, Duration timeout) throws IOException, InterruptedException {
        WebSocketTransport t = new WebSocketTransport(receiver);
        HttpClient client = HttpClient.newBuilder().connectTimeout(timeout).build();
        try {
            t.ws = client.newWebSocketBuilder()
                    .subprotocols(Protocol.SUBPROTOCOL_V1)
                    .connectTimeout(timeout)
                    .buildAsync(uri, t)
                    .get(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
            return t;
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof WebSocketHandshakeException h) {
                throw new IOException("the kit at " + uri + " refused the WebSocket upgrade with HTTP " + h.getResponse().statusCode());
            }
            String why = cause instanceof java.net.ConnectException ? "connection refused (is the kit running there?)"
                    : cause instanceof java.nio.channels.UnresolvedAddressException ? "unknown host"
                    : String.valueOf(cause);
            throw new IOException("cannot connect to the kit at " + uri + ": " + why, cause);
        } catch (TimeoutException e) {
            throw new IOException("no answer from the kit at " + uri + " within " + timeout.toMillis() + " ms");
        }
    }

    // --- FrameTransport ---

    @Override
    public void sendFrame(byte[] frame) {
        enqueue(w -> w.sendBinary(ByteBuffer.wrap(frame), true));
    }

    @Override
    public void sendControl(String json) {
        enqueue(w -> w.sendText(json, true));
    }

    @Override
    public void close(int code, String reason) {
        enqueue(w -> w.sendClose(code, Protocol.closeReason(reason)));
    }

    /** Closes at once, without waiting for queued sends: the peer is gone or not answering. */
    void abort() {
        WebSocket w = ws;
        if (w != null) {
            w.abort();
        }
    }

    private synchronized void enqueue(Function<WebSocket, CompletableFuture<WebSocket>> send) {
        // A failed send means a broken socket; later sends fail too, so the chain just carries on.
        tail = tail.handle((r, e) -> null).thenCompose(ignored -> send.apply(ws));
    }

    // --- WebSocket.Listener ---

    @Override
    public void onOpen(WebSocket webSocket) {
        // Messages are never held back here: per-stream credit already bounds what the kit may send.
        webSocket.request(Long.MAX_VALUE);
    }

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
        text.append(data);
        if (last) {
            String message = text.toString();
            text.setLength(0);
            receiver.onControl(message);
        }
        return null;
    }

    @Override
    public CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
        // The JDK reuses its buffer once we return: every message is copied once, here.
        if (last && partialLength == 0) {
            byte[] b = new byte[data.remaining()];
            data.get(b);
            receiver.onFrame(ByteBuffer.wrap(b));
            return null;
        }
        int n = data.remaining();
        if (partial.length < partialLength + n) {
            byte[] bigger = new byte[Math.max(partialLength + n, partial.length * 2)];
            System.arraycopy(partial, 0, bigger, 0, partialLength);
            partial = bigger;
        }
        data.get(partial, partialLength, n);
        partialLength += n;
        if (last) {
            byte[] b = new byte[partialLength];
            System.arraycopy(partial, 0, b, 0, partialLength);
            partialLength = 0;
            receiver.onFrame(ByteBuffer.wrap(b));
        }
        return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
        receiver.onClosed(statusCode, reason);
        return null;
    }

    @Override
    public void onError(WebSocket webSocket, Throwable error) {
        receiver.onClosed(1006, String.valueOf(error.getMessage()));
    }
}
