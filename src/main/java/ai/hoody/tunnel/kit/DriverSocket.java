package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.mux.TunnelConnection;
import ai.hoody.tunnel.protocol.ControlCodec;
import ai.hoody.tunnel.protocol.ControlMessage;
import ai.hoody.tunnel.protocol.MalformedMessageException;
import ai.hoody.tunnel.protocol.Protocol;
import io.quarkus.websockets.next.CloseReason;
import io.quarkus.websockets.next.WebSocketConnection;
import io.vertx.core.buffer.Buffer;
import org.jboss.logging.Logger;

import java.util.List;

/**
 * One driver WebSocket on the kit, from the upgrade to its close: it owns the handshake — the pre-auth slot, the HELLO
 * deadline, HELLO itself (a new session or a resume), or on {@code hoody-tunnel.v2} a JOIN (a secondary shard of a
 * session) — and afterwards hands every message to the session's {@link TunnelConnection} for this socket. A JOIN goes
 * through the same pre-auth slot, deadline, rate and throttle as a HELLO. Threading: every method runs on the socket's Vert.x event loop, one at a time, and never
 * blocks.
 */
final class DriverSocket {

    private static final Logger LOG = Logger.getLogger(DriverSocket.class);

    private final WebSocketConnection ws;
    private final KitContext kit;
    private final VertxWireSocket wire;
    /** Stops reading the socket while too many of its messages wait for this endpoint (null in tests without a guard). */
    private final InboundGate gate;
    private boolean preAuth;
    /** Whose limits this socket counts against (PeerLimits). */
    private final String peer;
    /** Control messages in the current second, and when that second began (rate limit). */
    private int textsThisSecond;
    private long secondStartedNanos = System.nanoTime();
    /** Set once the kit decided to close this socket (before HELLO, or over the control rate): what the driver still sends is ignored. */
    private boolean rejected;
    private long helloTimer = -1;
    /** The session's connection on this socket, once HELLO was answered. */
    private TunnelConnection connection;

    DriverSocket(WebSocketConnection ws, KitContext kit) {
        this.ws = ws;
        this.kit = kit;
        this.gate = InboundGate.take(ws.handshakeRequest().remoteAddress());
        this.wire = new VertxWireSocket(ws, gate);
        this.peer = kit.peers.peerOf(ws.handshakeRequest());
    }

    void onOpen() {
        if (Protocol.versionOf(ws.subprotocol()) == 0) {
            // The upgrade check refuses these with 400; this guards a misconfigured supported-subprotocols list.
            reject("subprotocol", Protocol.CLOSE_PROTOCOL_ERROR, "subprotocol " + Protocol.SUBPROTOCOL_V1 + " or "
                    + Protocol.SUBPROTOCOL_V2 + " required");
            return;
        }
        if (!kit.peers.tryEnterPreAuth(peer)) {
            reject("pre_auth_peer_cap", Protocol.CLOSE_TRY_AGAIN_LATER, "too many connections from this address waiting for HELLO ("
                    + kit.config.maxPreAuthConnectionsPerPeer() + ")");
            return;
        }
        if (!kit.sessions.tryEnterPreAuth()) {
            kit.peers.leavePreAuth(peer);
            reject("pre_auth_cap", Protocol.CLOSE_TRY_AGAIN_LATER,
                    "too many connections waiting for HELLO (" + kit.config.maxPreAuthConnections() + ")");
            return;
        }
        preAuth = true;
        kit.metrics.preAuthGauge().incrementAndGet();
        long millis = kit.config.helloTimeout().toMillis();
        helloTimer = kit.vertx.setTimer(millis, id -> {
            helloTimer = -1;
            if (connection == null) {
                reject("timeout", Protocol.CLOSE_POLICY, "no HELLO within " + millis + " ms");
            }
        });
    }

    void onText(String text) {
        handled();
        if (rejected) {
            return;
        }
        if (connection != null) {
            if (overRate()) {
                // Cut, not a closing handshake: a flooder may not read, and every further message would be one more
                // reason to close. Nothing it sends from now on is read.
                rejected = true;
                kit.metrics.helloRejected("control_rate");
                connection.abort("more than " + kit.config.maxControlMessagesPerSecond() + " control messages in a second");
                return;
            }
            connection.onText(text);
        } else {
            hello(text);
        }
    }

    void onBinary(Buffer message) {
        handled();
        if (rejected) {
            return;
        }
        if (connection == null) {
            reject("malformed", Protocol.CLOSE_PROTOCOL_ERROR, "stream frame before HELLO");
            return;
        }
        connection.onBinary(VertxWireSocket.received(message));
    }

    /** A WebSocket ping or pong from the driver: a sign of life, like any message. */
    void onPingOrPong() {
        handled();
        if (connection != null) {
            connection.heard();
        }
    }

    private void handled() {
        if (gate != null) {
            gate.handled();
        }
    }

    void onClose() {
        leavePreAuth();
        if (helloTimer >= 0) {
            kit.vertx.cancelTimer(helloTimer);
        }
        if (connection != null) {
            connection.onSocketClosed("socket closed: " + ws.closeReason());
        }
    }

    /** True when this text message is one more than a session may send in a second. */
    private boolean overRate() {
        long now = System.nanoTime();
        if (now - secondStartedNanos >= 1_000_000_000L) {
            secondStartedNanos = now;
            textsThisSecond = 0;
        }
        return ++textsThisSecond > kit.config.maxControlMessagesPerSecond();
    }

    private void hello(String text) {
        ControlMessage message;
        try {
            message = ControlCodec.decode(text);
        } catch (MalformedMessageException e) {
            reject("malformed", Protocol.CLOSE_PROTOCOL_ERROR, "bad HELLO: " + e.getMessage());
            return;
        }
        boolean v2 = Protocol.SUBPROTOCOL_V2.equals(ws.subprotocol());
        if (v2 && message instanceof ControlMessage.Join join) {
            if (admissible()) {
                join(join);
            }
            return;
        }
        if (!(message instanceof ControlMessage.Hello hello)) {
            reject("malformed", Protocol.CLOSE_PROTOCOL_ERROR, v2 ? "the first message must be HELLO or JOIN"
                    : "the first message must be HELLO");
            return;
        }
        int version = Protocol.versionOf(ws.subprotocol());
        if (hello.version() != version) {
            reject("version", Protocol.CLOSE_PROTOCOL_ERROR, "unsupported protocol version " + hello.version()
                    + "; this kit speaks " + version + " on " + ws.subprotocol());
            return;
        }
        if (!admissible()) {
            return;
        }
        if (!kit.attach.accepts(hello.token())) {
            kit.peers.attachFailed(peer);
            LOG.infof("attach from %s refused: %s", peer, hello.token() == null ? "no token" : "wrong token");
            reject("token", Protocol.CLOSE_POLICY, hello.token() == null ? "attach token required" : "attach token not accepted");
            return;
        }
        leavePreAuth();
        String address = ws.handshakeRequest().remoteAddress();
        if (hello.resume() != null) {
            connection = resume(hello.resume(), address, hello.features());
            if (connection != null) {
                return;
            }
        }
        if (kit.sessions.size() >= kit.config.maxSessions()) {
            reject("session_cap", Protocol.CLOSE_TRY_AGAIN_LATER, "the kit holds its cap of " + kit.config.maxSessions() + " sessions");
            return;
        }
        if (!kit.peers.tryAddSession(peer)) {
            reject("session_peer_cap", Protocol.CLOSE_TRY_AGAIN_LATER, "this address holds its cap of "
                    + kit.config.maxSessionsPerPeer() + " sessions");
            return;
        }
        int cap = kit.config.maxStreamsPerSession();
        int maxStreams = hello.maxStreams() == 0 ? cap : Math.min(hello.maxStreams(), cap);
        // v2: HELLO.shards (absent: 1) cut to the kit's cap; the primary counts as one.
        int shards = v2 ? Math.clamp(hello.shards(), 1, Math.clamp(kit.config.v2MaxShards(), 1, Protocol.MAX_SHARDS)) : 1;
        KitSession created = KitSession.open(kit.sessions.newSessionId(), kit.sessions.newResumeToken(),
                v2 ? kit.sessions.newJoinToken() : null, shards, address, peer, maxStreams, wire, hello.features(), kit);
        kit.sessions.add(created);
        connection = created.connection();
        LOG.infof("session %s opened by %s (%s %s, %s, %d shards), maxStreams %d", created.id(), address, hello.clientName(),
                hello.clientVersion(), ws.subprotocol(), shards, maxStreams);
    }

    /** The checks a HELLO and a JOIN share before their credentials are looked at; closes the socket when one fails. */
    private boolean admissible() {
        if (kit.sessions.isDraining()) {
            reject("shutting_down", Protocol.CLOSE_TRY_AGAIN_LATER, "the kit is shutting down");
            return false;
        }
        if (kit.peers.isSlowedDown(peer)) {
            reject("token_throttled", Protocol.CLOSE_TRY_AGAIN_LATER, "too many attach attempts with a wrong token from this "
                    + "address; try again in " + PeerLimits.FAILURE_WINDOW_NANOS / 1_000_000_000L + " s");
            return false;
        }
        return true;
    }

    /**
     * A v2 secondary: attaches this socket as shard {@code join.shard()} of its session, or closes it with the
     * documented refusal (docs/PROTOCOL.md §12.3). A wrong token or an unknown session counts as a failed attach
     * against this address, like a wrong attach token: guessing is throttled the same way.
     */
    private void join(ControlMessage.Join join) {
        KitSession s = kit.sessions.find(join.sessionId()).orElse(null);
        KitSession.JoinRefusal refusal = s == null
                ? new KitSession.JoinRefusal("join_unknown_session", Protocol.CLOSE_POLICY, "unknown session")
                : s.checkJoin(join);
        if (refusal == null) {
            leavePreAuth();
            connection = s.join(join.shard(), wire, ws.handshakeRequest().remoteAddress());
            if (connection != null) {
                return;
            }
            refusal = s.checkJoin(join); // the session stopped being attached meanwhile
            if (refusal == null) {
                refusal = new KitSession.JoinRefusal("join_not_attached", Protocol.CLOSE_TRY_AGAIN_LATER,
                        "the session's primary is not attached; JOIN after its HELLO_OK");
            }
        }
        if (refusal.metric().equals("join_token") || refusal.metric().equals("join_unknown_session")) {
            kit.peers.attachFailed(peer);
        }
        LOG.infof("JOIN of shard %d of session %s from %s refused: %s", join.shard(), join.sessionId(), peer, refusal.reason());
        reject(refusal.metric(), refusal.code(), refusal.reason());
    }

    /**
     * Re-attaches this socket to the session named in HELLO.resume when the token matches. The session id alone
     * never resumes; a refused resume gets a new session (HELLO_OK.resumed false) so the driver can re-bind.
     */
    private TunnelConnection resume(ControlMessage.Resume resume, String peer, List<String> driverFeatures) {
        KitSession s = kit.sessions.find(resume.sessionId()).orElse(null);
        if (s == null || !s.tokenMatches(resume.token()) || !s.protocol().equals(ws.subprotocol())) {
            kit.metrics.resumeRefused();
            LOG.infof("resume of session %s refused: %s", resume.sessionId(), s == null ? "no such session"
                    : !s.tokenMatches(resume.token()) ? "wrong token" : "it is a " + s.protocol() + " session");
            return null;
        }
        return s.attach(wire, peer, driverFeatures);
    }

    private void leavePreAuth() {
        if (preAuth) {
            preAuth = false;
            kit.sessions.leavePreAuth();
            kit.peers.leavePreAuth(peer);
            kit.metrics.preAuthGauge().decrementAndGet();
        }
    }

    private void reject(String why, int closeCode, String reason) {
        rejected = true;
        leavePreAuth();
        kit.metrics.helloRejected(why);
        LOG.debugf("closing %s before HELLO: %s", ws.handshakeRequest().remoteAddress(), reason);
        ws.close(new CloseReason(closeCode, Protocol.closeReason(reason))).subscribe().with(v -> {
        }, t -> LOG.tracef("closing a rejected socket failed: %s", t.getMessage()));
    }
}
