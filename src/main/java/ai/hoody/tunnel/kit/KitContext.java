package ai.hoody.tunnel.kit;

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

    KitContext(KitConfig config, SessionRegistry sessions, BindingTable bindings, FdBudget fds, KitMetrics metrics, Vertx vertx) {
        this.config = config;
        this.sessions = sessions;
        this.bindings = bindings;
        this.fds = fds;
        this.metrics = metrics;
        this.vertx = vertx;
    }
}
