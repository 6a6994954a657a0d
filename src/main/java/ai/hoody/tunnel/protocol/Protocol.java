package ai.hoody.tunnel.protocol;

/** Names and numbers fixed by docs/PROTOCOL.md that both ends must agree on. */
public final class Protocol {

    public static final String CONNECT_PATH = "/api/v1/tunnel/connect";
    /** One WebSocket per session. */
    public static final String SUBPROTOCOL_V1 = "hoody-tunnel.v1";
    /** A pool of socket shards per session; reserved, not served by this version. */
    public static final String SUBPROTOCOL_V2 = "hoody-tunnel.v2";
    /** The {@code version} a v1 HELLO carries. */
    public static final int VERSION = 1;

    /** WebSocket close codes (RFC 6455 §7.4.1) and what they mean here. */
    public static final int CLOSE_NORMAL = 1000;
    public static final int CLOSE_GOING_AWAY = 1001;
    public static final int CLOSE_PROTOCOL_ERROR = 1002;
    public static final int CLOSE_POLICY = 1008;
    public static final int CLOSE_INTERNAL = 1011;
    public static final int CLOSE_TRY_AGAIN_LATER = 1013;

    private Protocol() {
    }
}
