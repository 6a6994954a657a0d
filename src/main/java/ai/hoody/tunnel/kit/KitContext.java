package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.mux.FrameWriter;
import ai.hoody.tunnel.mux.MemoryBudget;
import ai.hoody.tunnel.protocol.FrameCodec;
import io.vertx.core.Vertx;
import jakarta.inject.Singleton;

/**
 * The kit-wide services a session and its connections need, handed over as one value. A {@code @Singleton}, not
 * {@code @ApplicationScoped}: its fields are read directly, which a client proxy would not allow.
 */
@Singleton
public class KitContext {

    final KitConfig config;
    final SessionRegistry sessions;
    final BindingTable bindings;
    final FdBudget fds;
    final KitMetrics metrics;
    final Vertx vertx;
    final MemoryBudget memory;
    final AttachTokens attach;
    final PeerLimits peers;
    /** What each driver connection's writer may queue (PROTOCOL.md §5.3). */
    final FrameWriter.Limits writerLimits = FrameWriter.Limits.DEFAULT;

    KitContext(KitConfig config, SessionRegistry sessions, BindingTable bindings, FdBudget fds, KitMetrics metrics, Vertx vertx,
               MemoryBudget memory, AttachTokens attach, PeerLimits peers) {
        if (config.streamWindow() < FrameCodec.MAX_DATA_BYTES) {
            throw new IllegalArgumentException("hoody.tunnel.stream-window must be at least " + FrameCodec.MAX_DATA_BYTES
                    + " (one DATA frame), was " + config.streamWindow());
        }
        // Announced as HELLO_OK.heartbeatIntervalMs, where 0 would mean "no interval" (PROTOCOL.md §3.2); a driver
        // PINGing as often as announced must be heard before the heartbeat timeout.
        if (config.heartbeatInterval().isNegative() || config.heartbeatInterval().isZero()
                || config.heartbeatInterval().compareTo(config.heartbeatTimeout()) >= 0) {
            throw new IllegalArgumentException("hoody.tunnel.heartbeat-interval must be above 0 and shorter than "
                    + "hoody.tunnel.heartbeat-timeout (" + config.heartbeatTimeout().toMillis() + " ms), was "
                    + config.heartbeatInterval().toMillis() + " ms");
        }
        this.config = config;
        this.sessions = sessions;
        this.bindings = bindings;
        this.fds = fds;
        this.metrics = metrics;
        this.vertx = vertx;
        this.memory = memory;
        this.attach = attach;
        this.peers = peers;
    }
}
