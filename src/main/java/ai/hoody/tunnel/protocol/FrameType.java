package ai.hoody.tunnel.protocol;

/** The first byte of every binary message. */
public enum FrameType {
    OPEN(0x01), OPEN_OK(0x02), DATA(0x03), WINDOW(0x04), FIN(0x05), RESET(0x06);

    private static final FrameType[] BY_CODE = new FrameType[7];

    static {
        for (FrameType t : values()) {
            BY_CODE[t.code] = t;
        }
    }

    public final int code;

    FrameType(int code) {
        this.code = code;
    }

    /** @return the type, or {@code null} for an unknown code */
    public static FrameType of(int code) {
        return code > 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }
}
