package ai.hoody.tunnel.protocol;

import java.util.List;

/**
 * Control messages: JSON text WebSocket messages with a {@code type} field (docs/PROTOCOL.md §3).
 * {@link ControlCodec} maps them to and from JSON.
 */
public sealed interface ControlMessage {

    /** Asks to resume an orphaned session; {@code token} is the secret from its HELLO_OK. */
    record Resume(String sessionId, String token) {
        @Override
        public String toString() {
            return "Resume[sessionId=" + sessionId + ", token=***]";
        }
    }

    /**
     * Driver → kit, first message of every socket. {@code token} is the kit's attach secret, when it has one (null:
     * none sent). {@code shards} is the v2 pool size asked for (0: absent, a v1 HELLO). {@code features} names the
     * optional behaviours the driver supports ({@link Protocol#FEATURE_EARLY_DATA}); never null.
     */
    record Hello(int version, String clientName, String clientVersion, int maxStreams, Resume resume, String token,
                 int shards, List<String> features) implements ControlMessage {
        public Hello {
            features = features == null ? List.of() : List.copyOf(features);
        }

        /** A v1 HELLO without an attach token, announcing no feature. */
        public Hello(int version, String clientName, String clientVersion, int maxStreams, Resume resume) {
            this(version, clientName, clientVersion, maxStreams, resume, null, 0, List.of());
        }

        /** A v1 HELLO ({@code shards} absent) announcing no feature. */
        public Hello(int version, String clientName, String clientVersion, int maxStreams, Resume resume, String token) {
            this(version, clientName, clientVersion, maxStreams, resume, token, 0, List.of());
        }

        /** A HELLO asking for {@code shards} (v2), announcing no feature. */
        public Hello(int version, String clientName, String clientVersion, int maxStreams, Resume resume, String token,
                     int shards) {
            this(version, clientName, clientVersion, maxStreams, resume, token, shards, List.of());
        }

        /** A v1 HELLO announcing {@code features}. */
        public Hello(int version, String clientName, String clientVersion, int maxStreams, Resume resume, String token,
                     List<String> features) {
            this(version, clientName, clientVersion, maxStreams, resume, token, 0, features);
        }

        @Override
        public String toString() { // the token is a secret: never in a log line
            return "Hello[version=" + version + ", client=" + clientName + " " + clientVersion + ", maxStreams=" + maxStreams
                    + ", resume=" + (resume == null ? "null" : resume.sessionId()) + ", token=" + (token == null ? "none" : "***")
                    + ", shards=" + shards + ", features=" + features + "]";
        }
    }

    /**
     * Kit → driver: the session is open. {@code heartbeatTimeoutMs} and {@code openTimeoutMs} tell a driver how long
     * the kit waits for a sign of life and for OPEN_OK; 0 means not announced (a kit older than these fields).
     * {@code shards} and {@code joinToken} grant a v2 pool (0 and null for v1). {@code features} are those of the
     * HELLO's features the kit will use on this session; never null.
     */
    record HelloOk(String sessionId, String resumeToken, int maxStreams, long heartbeatIntervalMs, int streamWindow,
                   int maxDataBytes, boolean resumed, long heartbeatTimeoutMs, long openTimeoutMs, int shards,
                   String joinToken, List<String> features) implements ControlMessage {
        public HelloOk {
            features = features == null ? List.of() : List.copyOf(features);
        }

        /** A v1 HELLO_OK: no shards, no join token, no feature. */
        public HelloOk(String sessionId, String resumeToken, int maxStreams, long heartbeatIntervalMs, int streamWindow,
                       int maxDataBytes, boolean resumed, long heartbeatTimeoutMs, long openTimeoutMs) {
            this(sessionId, resumeToken, maxStreams, heartbeatIntervalMs, streamWindow, maxDataBytes, resumed,
                    heartbeatTimeoutMs, openTimeoutMs, 0, null, List.of());
        }

        /** A HELLO_OK granting {@code shards} (v2), confirming no feature. */
        public HelloOk(String sessionId, String resumeToken, int maxStreams, long heartbeatIntervalMs, int streamWindow,
                       int maxDataBytes, boolean resumed, long heartbeatTimeoutMs, long openTimeoutMs, int shards,
                       String joinToken) {
            this(sessionId, resumeToken, maxStreams, heartbeatIntervalMs, streamWindow, maxDataBytes, resumed,
                    heartbeatTimeoutMs, openTimeoutMs, shards, joinToken, List.of());
        }

        /** A v1 HELLO_OK confirming {@code features}. */
        public HelloOk(String sessionId, String resumeToken, int maxStreams, long heartbeatIntervalMs, int streamWindow,
                       int maxDataBytes, boolean resumed, long heartbeatTimeoutMs, long openTimeoutMs, List<String> features) {
            this(sessionId, resumeToken, maxStreams, heartbeatIntervalMs, streamWindow, maxDataBytes, resumed,
                    heartbeatTimeoutMs, openTimeoutMs, 0, null, features);
        }

        @Override
        public String toString() { // the tokens are secrets: never in a log line
            return "HelloOk[sessionId=" + sessionId + ", maxStreams=" + maxStreams + ", streamWindow=" + streamWindow
                    + ", resumed=" + resumed + ", shards=" + shards + ", features=" + features + "]";
        }
    }

    /**
     * Driver → kit, v2: the first message of a secondary shard socket. {@code joinToken} is HELLO_OK.joinToken of the
     * session; {@code shard} is in 1 .. HELLO_OK.shards-1 (0 is the primary, which says HELLO).
     */
    record Join(String sessionId, String joinToken, int shard) implements ControlMessage {
        @Override
        public String toString() {
            return "Join[sessionId=" + sessionId + ", shard=" + shard + ", joinToken=***]";
        }
    }

    /** Kit → driver, v2: the shard socket joined its session; stream frames may flow on it from now on. */
    record JoinOk(String sessionId, int shard) implements ControlMessage {
    }

    /** Driver → kit: asks for a listener. {@code ref} is echoed in the answer so a driver can match it. */
    record Bind(String ref, String kind, String mode, int port, String host, boolean takeover) implements ControlMessage {
    }

    /** Kit → driver: the listener of a BIND is up; {@code ref} is the BIND's. */
    record BindOk(String ref, int bindId, String kind, String mode, int port, String host, String publicUrl)
            implements ControlMessage {
    }

    /** Kit → driver: a BIND refused, and why. */
    record BindErr(String ref, BindErrorCode code, String message, int port) implements ControlMessage {
    }

    /** Driver → kit: close the listener of {@code bindId}; the kit answers BIND_REVOKED(reason UNBOUND). */
    record Unbind(int bindId) implements ControlMessage {
    }

    /** Kit → driver: the binding is gone; its streams have been reset. */
    record BindRevoked(int bindId, String reason) implements ControlMessage {
    }

    /** Either side: a heartbeat; answered with a PONG carrying the same {@code ts}. */
    record Ping(long ts) implements ControlMessage {
    }

    /** Either side: the answer to a PING. */
    record Pong(long ts) implements ControlMessage {
    }

    /** Either side: the session is ending; no new streams or bindings. */
    record GoAway(GoAwayCode code, String message) implements ControlMessage {
    }

    /** A well-formed message of a type this version does not know; receivers ignore it. */
    record Unknown(String type) implements ControlMessage {
    }
}
