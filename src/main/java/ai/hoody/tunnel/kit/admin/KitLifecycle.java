package ai.hoody.tunnel.kit.admin;

import ai.hoody.tunnel.kit.KitMetrics;
import io.quarkus.arc.ClientProxy;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import java.time.Instant;
import java.util.Optional;

/** When the kit finished starting, and whether it is stopping: what health and readiness report. */
@ApplicationScoped
public class KitLifecycle {

    private volatile Instant started;
    private volatile boolean stopping;

    void onStart(@Observes StartupEvent event, KitMetrics metrics) {
        // KitMetrics is @ApplicationScoped, so CDI would create it (and register its gauges) only when the first
        // driver connects: until then a scrape would lack hoody_tunnel_*. Unwrapping the proxy creates it now.
        ClientProxy.unwrap(metrics);
        started = Instant.now();
    }

    void onStop(@Observes ShutdownEvent event) {
        stopping = true;
    }

    /** @return when the kit finished starting, empty while it is still starting */
    public Optional<Instant> started() {
        return Optional.ofNullable(started);
    }

    /** True between start-up and shutdown: the kit accepts drivers and answers the admin API. */
    public boolean isReady() {
        return started != null && !stopping;
    }
}
