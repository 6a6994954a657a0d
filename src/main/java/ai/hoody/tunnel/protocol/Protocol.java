package ai.hoody.tunnel.protocol;

/** Names and numbers fixed by docs/PROTOCOL.md that both ends must agree on. */
public final class Protocol {

    public static final String CONNECT_PATH = "/api/v1/tunnel/connect";
    /** One WebSocket per session. */
    public static final String SUBPROTOCOL_V1 = "hoody-tunnel.v1";
    /** A pool of socket shards per session: a primary (HELLO) and secondaries (JOIN), docs/PROTOCOL.md §10. */
    public static final String SUBPROTOCOL_V2 = "hoody-tunnel.v2";
    /** The {@code version} a v1 HELLO carries. */
    public static final int VERSION = 1;
    /** The {@code version} a HELLO carries on a {@link #SUBPROTOCOL_V2} socket. */
    public static final int VERSION_V2 = 2;
    /** The most shards a JOIN or HELLO may name (the kit grants at most its {@code v2-max-shards}). */
    public static final int MAX_SHARDS = 64;

    /** The HELLO version that goes with a negotiated subprotocol (0 for anything else). */
    public static int versionOf(String subprotocol) {
        return SUBPROTOCOL_V1.equals(subprotocol) ? VERSION : SUBPROTOCOL_V2.equals(subprotocol) ? VERSION_V2 : 0;
    }

    /**
     * HELLO/HELLO_OK feature: the kit may send a visitor's first bytes (DATA, and FIN) right after OPEN, before
     * OPEN_OK (docs/PROTOCOL.md §4.1).
     */
    public static final String FEATURE_EARLY_DATA = "early-data";
    /** Most entries a {@code features} array may have. */
    public static final int MAX_FEATURES = 64;

    /** WebSocket close codes (RFC 6455 §7.4.1) and what they mean here. */
    public static final int CLOSE_NORMAL = 1000;
    public static final int CLOSE_GOING_AWAY = 1001;
    public static final int CLOSE_PROTOCOL_ERROR = 1002;
    public static final int CLOSE_POLICY = 1008;
    public static final int CLOSE_INTERNAL = 1011;
    public static final int CLOSE_TRY_AGAIN_LATER = 1013;

    /** RFC 6455 allows 123 bytes of UTF-8 in a close reason. */
    public static final int MAX_CLOSE_REASON_BYTES = 123;

    /** Cuts a close reason to {@link #MAX_CLOSE_REASON_BYTES}, never inside a character. */
    public static String closeReason(String reason) {
        if (reason == null) {
            return "";
        }
        byte[] b = reason.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        if (b.length <= MAX_CLOSE_REASON_BYTES) {
            return reason;
        }
        int end = MAX_CLOSE_REASON_BYTES;
        while (end > 0 && (b[end] & 0xC0) == 0x80) {
            end--;
        }
        return new String(b, 0, end, java.nio.charset.StandardCharsets.UTF_8);
    }

    private Protocol() {
    }
}
