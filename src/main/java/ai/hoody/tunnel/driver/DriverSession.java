package ai.hoody.tunnel.driver;

import ai.hoody.tunnel.cli.Version;
import ai.hoody.tunnel.mux.Multiplexer;
import ai.hoody.tunnel.mux.MuxListener;
import ai.hoody.tunnel.mux.MuxStream;
import ai.hoody.tunnel.protocol.ControlCodec;
import ai.hoody.tunnel.protocol.ControlMessage;
import ai.hoody.tunnel.protocol.GoAwayCode;
import ai.hoody.tunnel.protocol.MalformedMessageException;
import ai.hoody.tunnel.protocol.Protocol;
import ai.hoody.tunnel.protocol.ResetCode;

import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The laptop end of a session: connects, says HELLO, asks for its bindings, then serves the kit's OPENs until the
 * socket closes or the user stops it. Threading: {@link #run} blocks the calling thread for the session's life;
 * messages arrive on the transport's thread and are handed on without blocking; each stream runs a
 * {@link TargetConnection} on its own virtual thread.
 */
public final class DriverSession implements WebSocketTransport.Receiver {

    /** Exit codes of the driver commands. */
    public static final int EXIT_OK = 0;
    public static final int EXIT_DISCONNECTED = 1;
    public static final int EXIT_BIND_REFUSED = 3;

    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
    private static final int DEFAULT_MAX_STREAMS = 16384;

    private final URI kit;
    private final List<BindSpec> specs;
    private final DriverEvents events;
    private final CompletableFuture<ControlMessage.HelloOk> helloOk = new CompletableFuture<>();
    private final Map<String, CompletableFuture<ControlMessage>> bindAnswers = new ConcurrentHashMap<>();
    private final Map<Integer, BindSpec> byBindId = new ConcurrentHashMap<>();
    private final CountDownLatch closed = new CountDownLatch(1);
    private volatile WebSocketTransport transport;
    private volatile Multiplexer mux;
    private volatile String sessionId;
    private volatile boolean stopping;
    private volatile String closeReason = "";

    public DriverSession(URI kit, List<BindSpec> specs, DriverEvents events) {
        this.kit = kit;
        this.specs = List.copyOf(specs);
        this.events = events;
    }

    /** Runs the session to its end. */
    public int run() throws InterruptedException {
        try {
            transport = WebSocketTransport.connect(kit, this, CONNECT_TIMEOUT);
        } catch (IOException e) {
            events.emit("error", "error: " + e.getMessage(), "message", e.getMessage());
            return EXIT_DISCONNECTED;
        }
        transport.sendControl(ControlCodec.encode(new ControlMessage.Hello(Protocol.VERSION, "hoody-tunnel-driver",
                Version.VERSION, DEFAULT_MAX_STREAMS, null)));
        ControlMessage.HelloOk ok;
        try {
            ok = helloOk.get(CONNECT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException | TimeoutException e) {
            String why = e instanceof TimeoutException ? "no HELLO_OK within " + CONNECT_TIMEOUT.toSeconds() + " s" : e.getCause().getMessage();
            events.emit("error", "error: the kit did not open a session: " + why, "message", why);
            transport.abort();
            return EXIT_DISCONNECTED;
        }
        sessionId = ok.sessionId();
        events.emit("connected", "connected to " + kit + " (session " + ok.sessionId() + ")",
                "sessionId", ok.sessionId(), "kit", kit.toString(), "maxStreams", ok.maxStreams());

        for (int i = 0; i < specs.size(); i++) {
            BindSpec spec = specs.get(i);
            String ref = Integer.toString(i + 1);
            CompletableFuture<ControlMessage> answer = new CompletableFuture<>();
            bindAnswers.put(ref, answer);
            transport.sendControl(ControlCodec.encode(new ControlMessage.Bind(ref, spec.mode().kind, spec.mode().mode,
                    spec.remotePort(), spec.remoteHost(), spec.takeover())));
            ControlMessage reply;
            try {
                reply = answer.get(CONNECT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (ExecutionException | TimeoutException e) {
                String why = e instanceof TimeoutException ? "no answer to BIND" : e.getCause().getMessage();
                events.emit("error", "error: " + why, "message", why);
                transport.abort();
                return EXIT_DISCONNECTED;
            }
            if (reply instanceof ControlMessage.BindErr err) {
                events.emit("bind_err", "bind refused: " + err.code() + ": " + err.message(),
                        "code", err.code().name(), "message", err.message(), "mode", spec.mode().mode, "port", spec.remotePort());
                stop(GoAwayCode.NORMAL);
                return EXIT_BIND_REFUSED;
            }
            ControlMessage.BindOk bound = (ControlMessage.BindOk) reply;
            events.emit("bind_ok", describe(spec, bound), "mode", spec.mode().mode, "port", bound.port(),
                    "bindId", bound.bindId(), "sessionId", ok.sessionId(), "publicUrl", bound.publicUrl(),
                    "target", spec.target(), "host", bound.host());
        }

        Thread heartbeat = Thread.ofVirtual().name("driver-heartbeat").start(() -> heartbeat(ok.heartbeatIntervalMs()));
        closed.await();
        heartbeat.interrupt();
        if (stopping) {
            return EXIT_OK;
        }
        events.emit("disconnected", "disconnected from the kit: " + closeReason, "reason", closeReason);
        return EXIT_DISCONNECTED;
    }

    /** Leaves on purpose (Ctrl-C): GOAWAY, close, and wait briefly for the kit's close. */
    public void stop(GoAwayCode code) {
        stopping = true;
        WebSocketTransport t = transport;
        if (t == null) {
            return;
        }
        t.sendControl(ControlCodec.encode(new ControlMessage.GoAway(code, "driver stopping")));
        t.close(Protocol.CLOSE_NORMAL, "driver stopping");
        try {
            if (!closed.await(2, TimeUnit.SECONDS)) {
                t.abort();
            }
        } catch (InterruptedException e) {
            t.abort();
            Thread.currentThread().interrupt();
        }
    }

    public String sessionId() {
        return sessionId;
    }

    private void heartbeat(long intervalMillis) {
        try {
            while (true) {
                Thread.sleep(Math.max(1000, intervalMillis));
                transport.sendControl(ControlCodec.encode(new ControlMessage.Ping(System.currentTimeMillis())));
            }
        } catch (InterruptedException e) {
            // session over
        }
    }

    private static String describe(BindSpec spec, ControlMessage.BindOk ok) {
        return switch (spec.mode()) {
            case EXPOSE -> "exposing " + spec.target() + " on container port " + ok.port()
                    + (ok.publicUrl() == null ? "" : " at " + ok.publicUrl()) + " (bindId " + ok.bindId() + ")";
            case PULL -> "pulling " + spec.target() + " onto the container's " + (ok.host() == null ? "127.0.0.1" : ok.host())
                    + ":" + ok.port() + " (bindId " + ok.bindId() + ")";
        };
    }

    // --- WebSocketTransport.Receiver ---

    @Override
    public void onControl(String text) {
        ControlMessage m;
        try {
            m = ControlCodec.decode(text);
        } catch (MalformedMessageException e) {
            events.log("the kit sent a bad control message: " + e.getMessage());
            transport.close(Protocol.CLOSE_PROTOCOL_ERROR, e.getMessage());
            return;
        }
        switch (m) {
            case ControlMessage.HelloOk ok -> {
                mux = new Multiplexer(transport, ok.streamWindow(), this::onOpen, MuxListener.NONE);
                helloOk.complete(ok);
            }
            case ControlMessage.BindOk ok -> {
                // Registered here, not in run(): an OPEN may follow the BIND_OK before run() wakes up.
                BindSpec spec = specForRef(ok.ref());
                if (spec != null) {
                    byBindId.put(ok.bindId(), spec);
                }
                complete(ok.ref(), ok);
            }
            case ControlMessage.BindErr err -> complete(err.ref(), err);
            case ControlMessage.Ping p -> transport.sendControl(ControlCodec.encode(new ControlMessage.Pong(p.ts())));
            case ControlMessage.Pong ignored -> {
            }
            case ControlMessage.BindRevoked r -> {
                BindSpec spec = byBindId.remove(r.bindId());
                events.emit("bind_revoked", "binding " + r.bindId() + " revoked by the kit: " + r.reason(),
                        "bindId", r.bindId(), "reason", r.reason(), "target", spec == null ? null : spec.target());
            }
            case ControlMessage.GoAway g -> {
                closeReason = "GOAWAY " + g.code() + (g.message() == null ? "" : ": " + g.message());
                events.emit("goaway", "the kit is ending the session: " + g.code() + (g.message() == null ? "" : " (" + g.message() + ")"),
                        "code", g.code().name(), "message", g.message());
            }
            default -> {
                // HELLO, BIND, UNBIND are never sent by a kit; unknown types are ignored by the protocol's rule
            }
        }
    }

    private BindSpec specForRef(String ref) {
        try {
            int i = Integer.parseInt(ref) - 1;
            return i >= 0 && i < specs.size() ? specs.get(i) : null;
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private void complete(String ref, ControlMessage answer) {
        CompletableFuture<ControlMessage> f = ref == null ? null : bindAnswers.remove(ref);
        if (f != null) {
            f.complete(answer);
        }
    }

    @Override
    public void onFrame(ByteBuffer frame) {
        Multiplexer m = mux;
        if (m == null) {
            transport.close(Protocol.CLOSE_PROTOCOL_ERROR, "stream frame before HELLO_OK");
            return;
        }
        try {
            m.receive(frame);
        } catch (MalformedMessageException e) {
            events.log("protocol error from the kit: " + e.getMessage());
            transport.close(Protocol.CLOSE_PROTOCOL_ERROR, e.getMessage());
        }
    }

    @Override
    public void onClosed(int code, String reason) {
        if (closeReason.isEmpty()) {
            closeReason = "closed with " + code + (reason == null || reason.isEmpty() ? "" : " " + reason);
        }
        helloOk.completeExceptionally(new IOException("the kit closed the socket: " + code + " " + reason));
        bindAnswers.values().forEach(f -> f.completeExceptionally(new IOException("the kit closed the socket: " + code + " " + reason)));
        Multiplexer m = mux;
        if (m != null) {
            m.terminate("socket closed");
        }
        closed.countDown();
    }

    private void onOpen(MuxStream stream, int bindId, String origin) {
        BindSpec spec = byBindId.get(bindId);
        if (spec == null) {
            stream.reset(ResetCode.BIND_GONE, "this driver holds no binding " + bindId);
            return;
        }
        Thread.ofVirtual().name("target-" + stream.id()).start(new TargetConnection(stream, spec, origin, events));
    }
}
