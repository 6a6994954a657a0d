package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.mux.FrameTransport;
import ai.hoody.tunnel.protocol.ControlCodec;
import ai.hoody.tunnel.protocol.ControlMessage;
import ai.hoody.tunnel.protocol.FrameCodec;
import ai.hoody.tunnel.protocol.MalformedMessageException;
import ai.hoody.tunnel.protocol.Protocol;
import io.netty.buffer.Unpooled;
import io.quarkus.websockets.next.CloseReason;
import io.quarkus.websockets.next.WebSocketConnection;
import io.vertx.core.buffer.Buffer;
import org.jboss.logging.Logger;

import java.nio.ByteBuffer;

/**
 * The kit's end of one driver WebSocket: the HELLO handshake, then the session's transport. Threading: the
 * {@code on*} methods run on the connection's Vert.x event loop, one at a time, and never block; the send methods
 * are called from any thread.
 */
final class DriverConnection implements FrameTransport {

    private static final Logger LOG = Logger.getLogger(DriverConnection.class);

    private final WebSocketConnection ws;
    private final KitContext kit;
    private boolean preAuth;
    /** Set once the kit decided to close before HELLO: whatever the driver still sends is ignored. */
    private boolean rejected;
    private long helloTimer = -1;
    private volatile KitSession session;

    DriverConnection(WebSocketConnection ws, KitContext kit) {
        this.ws = ws;
        this.kit = kit;
    }

    void onOpen() {
        if (!Protocol.SUBPROTOCOL_V1.equals(ws.subprotocol())) {
            // The upgrade check refuses these with 400; this guards a misconfigured supported-subprotocols list.
            reject("subprotocol", Protocol.CLOSE_PROTOCOL_ERROR, "subprotocol " + Protocol.SUBPROTOCOL_V1 + " required");
            return;
        }
        if (!kit.sessions.tryEnterPreAuth()) {
            reject("pre_auth_cap", Protocol.CLOSE_TRY_AGAIN_LATER,
                    "too many connections waiting for HELLO (" + kit.config.maxPreAuthConnections() + ")");
            return;
        }
        preAuth = true;
        kit.metrics.preAuthGauge().incrementAndGet();
        long millis = kit.config.helloTimeout().toMillis();
        helloTimer = kit.vertx.setTimer(millis, id -> {
            helloTimer = -1;
            if (session == null) {
                reject("timeout", Protocol.CLOSE_POLICY, "no HELLO within " + millis + " ms");
            }
        });
    }

    void onText(String text) {
        if (rejected) {
            return;
        }
        ControlMessage message;
        try {
            message = ControlCodec.decode(text);
        } catch (MalformedMessageException e) {
            if (session == null) {
                reject("malformed", Protocol.CLOSE_PROTOCOL_ERROR, "bad HELLO: " + e.getMessage());
            } else {
                protocolError("bad control message: " + e.getMessage());
            }
            return;
        }
        KitSession s = session;
        if (s != null) {
            if (s.transport() != this) {
                return; // the session was resumed on another socket; this one is closing
            }
            s.heard();
            if (message instanceof ControlMessage.Hello) {
                protocolError("HELLO sent twice");
            } else {
                s.onControl(message);
            }
            return;
        }
        if (!(message instanceof ControlMessage.Hello hello)) {
            reject("malformed", Protocol.CLOSE_PROTOCOL_ERROR, "the first message must be HELLO");
            return;
        }
        if (hello.version() != Protocol.VERSION) {
            reject("version", Protocol.CLOSE_PROTOCOL_ERROR, "unsupported protocol version " + hello.version()
                    + "; this kit speaks " + Protocol.VERSION);
            return;
        }
        if (kit.sessions.isDraining()) {
            reject("shutting_down", Protocol.CLOSE_TRY_AGAIN_LATER, "the kit is shutting down");
            return;
        }
        leavePreAuth();
        KitSession resumed = hello.resume() == null ? null : resume(hello.resume());
        if (resumed != null) {
            session = resumed;
            send(new ControlMessage.HelloOk(resumed.id(), resumed.resumeToken(), resumed.maxStreams(),
                    kit.config.heartbeatInterval().toMillis(), kit.config.streamWindow(), FrameCodec.MAX_DATA_BYTES, true));
            resumed.afterResume();
            return;
        }
        int cap = kit.config.maxStreamsPerSession();
        int maxStreams = hello.maxStreams() == 0 ? cap : Math.min(hello.maxStreams(), cap);
        KitSession created = new KitSession(kit.sessions.newSessionId(), kit.sessions.newResumeToken(),
                ws.handshakeRequest().remoteAddress(), maxStreams, this, kit);
        kit.sessions.add(created);
        session = created;
        send(new ControlMessage.HelloOk(created.id(), created.resumeToken(), maxStreams,
                kit.config.heartbeatInterval().toMillis(), kit.config.streamWindow(), FrameCodec.MAX_DATA_BYTES, false));
        LOG.infof("session %s opened by %s (%s %s), maxStreams %d", created.id(), created.peerAddr(),
                hello.clientName(), hello.clientVersion(), maxStreams);
    }

    /**
     * Re-attaches this socket to the session named in HELLO.resume when the token matches. The session id alone
     * never resumes; a refused resume gets a new session (HELLO_OK.resumed false) so the driver can re-bind.
     */
    private KitSession resume(ControlMessage.Resume resume) {
        KitSession s = kit.sessions.find(resume.sessionId()).orElse(null);
        if (s == null || !s.tokenMatches(resume.token())) {
            kit.metrics.resumeRefused();
            LOG.infof("resume of session %s refused: %s", resume.sessionId(), s == null ? "no such session" : "wrong token");
            return null;
        }
        return s.attach(this, ws.handshakeRequest().remoteAddress()) ? s : null;
    }

    void onBinary(Buffer message) {
        if (rejected) {
            return;
        }
        KitSession s = session;
        if (s == null) {
            reject("malformed", Protocol.CLOSE_PROTOCOL_ERROR, "stream frame before HELLO");
            return;
        }
        if (s.transport() != this) {
            return;
        }
        s.heard();
        try {
            s.mux().receive(ByteBuffer.wrap(message.getBytes()));
        } catch (MalformedMessageException e) {
            protocolError(e.getMessage());
        }
    }

    void onClose() {
        leavePreAuth();
        if (helloTimer >= 0) {
            kit.vertx.cancelTimer(helloTimer);
        }
        KitSession s = session;
        if (s != null) {
            LOG.infof("session %s: socket closed (%s)", s.id(), ws.closeReason());
            s.socketLost(this, "socket closed: " + ws.closeReason());
        }
    }

    KitSession session() {
        return session;
    }

    private void leavePreAuth() {
        if (preAuth) {
            preAuth = false;
            kit.sessions.leavePreAuth();
            kit.metrics.preAuthGauge().decrementAndGet();
        }
    }

    private void reject(String why, int closeCode, String reason) {
        rejected = true;
        leavePreAuth();
        kit.metrics.helloRejected(why);
        LOG.debugf("closing %s before HELLO: %s", ws.handshakeRequest().remoteAddress(), reason);
        close(closeCode, reason);
    }

    private void protocolError(String reason) {
        LOG.warnf("session %s: protocol error: %s", session.id(), reason);
        close(Protocol.CLOSE_PROTOCOL_ERROR, reason);
    }

    private void send(ControlMessage m) {
        sendControl(ControlCodec.encode(m));
    }

    // --- FrameTransport ---

    @Override
    public void sendFrame(byte[] frame) {
        ws.sendBinary(Buffer.buffer(Unpooled.wrappedBuffer(frame))).subscribe().with(v -> {
        }, this::sendFailed);
    }

    @Override
    public void sendControl(String json) {
        ws.sendText(json).subscribe().with(v -> {
        }, this::sendFailed);
    }

    @Override
    public void close(int code, String reason) {
        ws.close(new CloseReason(code, Protocol.closeReason(reason))).subscribe().with(v -> {
        }, this::sendFailed);
    }

    private void sendFailed(Throwable t) {
        LOG.tracef("send on a closing socket failed: %s", t.getMessage());
    }
}
