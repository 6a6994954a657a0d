package ai.hoody.tunnel.support;

import ai.hoody.tunnel.protocol.ControlCodec;
import ai.hoody.tunnel.protocol.ControlMessage;
import ai.hoody.tunnel.protocol.Frame;
import ai.hoody.tunnel.protocol.FrameCodec;
import ai.hoody.tunnel.protocol.Protocol;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A driver at the protocol level, on the JDK's WebSocket client: sends exactly what a test tells it and records what
 * the kit says. For BIND error codes, misbehaving drivers and handshake rules.
 */
public final class RawDriver implements WebSocket.Listener, AutoCloseable {

    public record Close(int code, String reason) {
    }

    /**
     * One client for every raw driver: a JDK client holds a selector thread and descriptors until it is garbage
     * collected, which would blur the kit's own descriptor counts in leak tests.
     */
    private static final HttpClient CLIENT = HttpClient.newHttpClient();

    private final BlockingQueue<ControlMessage> control = new LinkedBlockingQueue<>();
    private final BlockingQueue<Frame> frames = new LinkedBlockingQueue<>();
    private final CompletableFuture<Close> closed = new CompletableFuture<>();
    private final StringBuilder text = new StringBuilder();
    /** Every message from the kit, in arrival order: {@code text:TYPE} or {@code binary:TYPE}. */
    private final List<String> arrivals = new CopyOnWriteArrayList<>();
    private final ByteArrayOutputStream binary = new ByteArrayOutputStream();
    private WebSocket ws;
    /** Like a real driver, answer the kit's PINGs, unless a test wants a driver that went silent. */
    private volatile boolean answerPings = true;

    public static RawDriver connect(URI kitBase) throws Exception {
        return connect(kitBase, Protocol.SUBPROTOCOL_V1);
    }

    public static RawDriver connect(URI kitBase, String subprotocol) throws Exception {
        RawDriver d = new RawDriver();
        URI uri = URI.create("ws://" + kitBase.getHost() + ":" + kitBase.getPort() + Protocol.CONNECT_PATH);
        d.ws = CLIENT.newWebSocketBuilder().subprotocols(subprotocol)
                .buildAsync(uri, d).get(10, TimeUnit.SECONDS);
        return d;
    }

    /** Sends HELLO with an attach token; returns whatever the kit answers first (HELLO_OK), or fails if it closes. */
    public ControlMessage.HelloOk hello(int maxStreams, String token) throws Exception {
        send(ControlCodec.encode(new ControlMessage.Hello(Protocol.VERSION, "raw-test-driver", "1", maxStreams, null, token)));
        return (ControlMessage.HelloOk) next(ControlMessage.HelloOk.class);
    }

    /** Sends HELLO announcing {@code features} and returns HELLO_OK. */
    public ControlMessage.HelloOk hello(int maxStreams, List<String> features) throws Exception {
        send(ControlCodec.encode(new ControlMessage.Hello(Protocol.VERSION, "raw-test-driver", "1", maxStreams, null, null,
                features)));
        return (ControlMessage.HelloOk) next(ControlMessage.HelloOk.class);
    }

    /** Sends HELLO and returns HELLO_OK. */
    public ControlMessage.HelloOk hello(int maxStreams) throws Exception {
        send(ControlCodec.encode(new ControlMessage.Hello(Protocol.VERSION, "raw-test-driver", "1", maxStreams, null)));
        return (ControlMessage.HelloOk) next(ControlMessage.HelloOk.class);
    }

    /** On a {@code hoody-tunnel.v2} socket: HELLO version 2 asking for {@code shards}; returns HELLO_OK. */
    public ControlMessage.HelloOk helloV2(int shards, ControlMessage.Resume resume) throws Exception {
        send(ControlCodec.encode(new ControlMessage.Hello(Protocol.VERSION_V2, "raw-test-driver", "1", 100, resume, null, shards)));
        return (ControlMessage.HelloOk) next(ControlMessage.HelloOk.class);
    }

    /** On a {@code hoody-tunnel.v2} socket: JOIN as shard {@code shard}; returns JOIN_OK. */
    public ControlMessage.JoinOk join(String sessionId, String joinToken, int shard) throws Exception {
        send(ControlCodec.encode(new ControlMessage.Join(sessionId, joinToken, shard)));
        return (ControlMessage.JoinOk) next(ControlMessage.JoinOk.class);
    }

    /** Sends BIND and returns BIND_OK or BIND_ERR. */
    public ControlMessage bind(String kind, String mode, int port, String host, boolean takeover) throws Exception {
        send(ControlCodec.encode(new ControlMessage.Bind("r" + port, kind, mode, port, host, takeover)));
        while (true) {
            ControlMessage m = control.poll(10, TimeUnit.SECONDS);
            if (m == null) {
                throw new AssertionError("no answer to BIND");
            }
            if (m instanceof ControlMessage.BindOk || m instanceof ControlMessage.BindErr) {
                return m;
            }
        }
    }

    public ControlMessage next(Class<? extends ControlMessage> type) throws Exception {
        while (true) {
            ControlMessage m = control.poll(10, TimeUnit.SECONDS);
            if (m == null) {
                throw new AssertionError("no " + type.getSimpleName() + " within 10 s");
            }
            if (type.isInstance(m)) {
                return m;
            }
        }
    }

    /** The stream id of the next OPEN, skipping frames of earlier streams (their WINDOWs and RESETs); fails after 10 s. */
    public int awaitOpen() throws InterruptedException {
        while (true) {
            Frame f = nextFrame(Duration.ofSeconds(10));
            if (f == null) {
                throw new AssertionError("no OPEN for the visitor within 10 s");
            }
            if (f instanceof Frame.Open open) {
                return open.streamId();
            }
        }
    }

    public Frame nextFrame(Duration timeout) throws InterruptedException {
        return frames.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** What the kit sent so far, in order ({@code text:HELLO_OK}, {@code binary:OPEN}, ...). */
    public List<String> arrivals() {
        return List.copyOf(arrivals);
    }

    private static String typeOf(ControlMessage m) {
        return switch (m) {
            case ControlMessage.Hello ignored -> "HELLO";
            case ControlMessage.HelloOk ignored -> "HELLO_OK";
            case ControlMessage.Bind ignored -> "BIND";
            case ControlMessage.BindOk ignored -> "BIND_OK";
            case ControlMessage.BindErr ignored -> "BIND_ERR";
            case ControlMessage.Unbind ignored -> "UNBIND";
            case ControlMessage.BindRevoked ignored -> "BIND_REVOKED";
            case ControlMessage.Ping ignored -> "PING";
            case ControlMessage.Pong ignored -> "PONG";
            case ControlMessage.GoAway ignored -> "GOAWAY";
            case ControlMessage.Join ignored -> "JOIN";
            case ControlMessage.JoinOk ignored -> "JOIN_OK";
            case ControlMessage.Unknown u -> u.type();
        };
    }

    /** Stop answering PINGs: the kit should find this driver dead. */
    public void goSilent() {
        answerPings = false;
    }

    /** Sends HELLO asking to resume, and returns HELLO_OK. */
    public ControlMessage.HelloOk resume(String sessionId, String token) throws Exception {
        send(ControlCodec.encode(new ControlMessage.Hello(Protocol.VERSION, "raw-test-driver", "1", 10,
                new ControlMessage.Resume(sessionId, token))));
        return (ControlMessage.HelloOk) next(ControlMessage.HelloOk.class);
    }

    /** The JDK allows one outstanding send: tests and PONGs take turns. */
    public synchronized void send(String json) {
        ws.sendText(json, true).join();
    }

    public synchronized void sendFrame(byte[] frame) {
        ws.sendBinary(ByteBuffer.wrap(frame), true).join();
    }

    public Close awaitClose(Duration timeout) throws Exception {
        return closed.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    public boolean isClosed() {
        return closed.isDone();
    }

    @Override
    public void onOpen(WebSocket webSocket) {
        webSocket.request(Long.MAX_VALUE);
    }

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
        text.append(data);
        if (last) {
            try {
                ControlMessage m = ControlCodec.decode(text.toString());
                arrivals.add("text:" + typeOf(m));
                if (m instanceof ControlMessage.Ping p) {
                    if (answerPings) {
                        Thread.ofVirtual().start(() -> send(ControlCodec.encode(new ControlMessage.Pong(p.ts()))));
                    }
                } else {
                    control.add(m);
                }
            } catch (Exception e) {
                throw new AssertionError("kit sent a bad control message: " + text, e);
            } finally {
                text.setLength(0);
            }
        }
        return null;
    }

    @Override
    public CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
        byte[] b = new byte[data.remaining()];
        data.get(b);
        binary.writeBytes(b);
        if (last) {
            try {
                Frame f = FrameCodec.decode(ByteBuffer.wrap(binary.toByteArray()));
                arrivals.add("binary:" + f.type());
                frames.add(f);
            } catch (Exception e) {
                throw new AssertionError("kit sent a bad frame", e);
            } finally {
                binary.reset();
            }
        }
        return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
        closed.complete(new Close(statusCode, reason));
        return null;
    }

    @Override
    public void onError(WebSocket webSocket, Throwable error) {
        closed.complete(new Close(1006, String.valueOf(error)));
    }

    @Override
    public void close() {
        ws.abort();
    }
}
