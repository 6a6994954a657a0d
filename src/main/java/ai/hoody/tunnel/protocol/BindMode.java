package ai.hoody.tunnel.protocol;

/** The (kind, mode) pairs a BIND may ask for. */
public enum BindMode {
    /** Visitors on a container port reach the laptop's HTTP service. */
    EXPOSE("http", "expose"),
    /** Container programs on the loopback reach a laptop TCP service. */
    PULL("tcp", "pull");

    public final String kind;
    public final String mode;

    BindMode(String kind, String mode) {
        this.kind = kind;
        this.mode = mode;
    }

    /** @return the pair, or null when (kind, mode) is not one of ours */
    public static BindMode of(String kind, String mode) {
        for (BindMode m : values()) {
            if (m.kind.equals(kind) && m.mode.equals(mode)) {
                return m;
            }
        }
        return null;
    }
}
