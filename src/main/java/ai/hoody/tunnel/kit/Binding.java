package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.protocol.BindMode;
import java.time.Instant;

/** A port a session holds: what BIND_OK granted. Immutable; the listener serving it is {@link PortListener}. */
public record Binding(int bindId, BindMode mode, int port, String host, KitSession session, String publicUrl,
                      Instant created) {
}
