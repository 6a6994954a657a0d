package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.protocol.GoAwayCode;
import io.quarkus.runtime.ShutdownDelayInitiatedEvent;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.quarkus.vertx.http.HttpsServerStart;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.event.ObservesAsync;
import jakarta.interceptor.Interceptor;
import org.jboss.logging.Logger;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Optional;
import java.util.List;

/**
 * Start and graceful stop of the kit. On SIGTERM: readiness turns DOWN, every session gets GOAWAY(SHUTDOWN), streams
 * get up to {@code hoody.tunnel.shutdown-drain} to finish, then every socket and listener is closed (so that dev-mode
 * reload can bind the same ports again).
 */
@ApplicationScoped
public class KitLifecycle {

    private static final Logger LOG = Logger.getLogger(KitLifecycle.class);

    private final KitContext kit;
    private volatile Instant started;
    private volatile boolean draining;

    KitLifecycle(KitContext kit) {
        this.kit = kit;
    }

    void onStart(@Observes StartupEvent event) {
        started = Instant.now();
    }

    /**
     * Only when TLS is configured does Quarkus listen on its HTTPS port, which then is no BIND's to take. (Quarkus
     * fires this one asynchronously.)
     */
    void onHttpsStart(@ObservesAsync HttpsServerStart event) {
        ReservedPorts.httpsStarted(event.options().getPort());
    }

    /** @return when the kit finished starting, empty while it is still starting */
    public Optional<Instant> started() {
        return Optional.ofNullable(started);
    }

    /**
     * The drain. Quarkus fires this in the pre-shutdown phase (quarkus.shutdown.delay-enabled), while the HTTP server
     * still answers probes and the WebSockets are open, and waits for it to return.
     */
    void onShutdownRequested(@Observes ShutdownDelayInitiatedEvent event) {
        drain();
    }

    /** Whatever the drain left (or all of it, when the delay phase is disabled) is closed here. */
    void onStop(@Observes @Priority(Interceptor.Priority.PLATFORM_BEFORE) ShutdownEvent event) {
        drain();
        for (KitSession s : List.copyOf(kit.sessions.all())) {
            s.release();
        }
        kit.bindings.closeAll();
    }

    private synchronized void drain() {
        if (draining) {
            return;
        }
        draining = true;
        kit.sessions.startDraining();
        List<KitSession> sessions = List.copyOf(kit.sessions.all());
        if (!sessions.isEmpty()) {
            LOG.infof("shutting down: GOAWAY(SHUTDOWN) to %d sessions, draining up to %d ms", sessions.size(),
                    kit.config.shutdownDrain().toMillis());
        }
        List<Thread> enders = new ArrayList<>();
        for (KitSession s : sessions) {
            enders.add(Thread.ofVirtual().name("shutdown-" + s.id()).start(() -> s.end(GoAwayCode.SHUTDOWN, kit.config.shutdownDrain())));
        }
        try {
            for (Thread t : enders) {
                t.join(kit.config.shutdownDrain().plusSeconds(1));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Ready once started, and no longer once the drain begins. */
    public boolean isReady() {
        return started != null && !draining;
    }

    public boolean isDraining() {
        return draining;
    }
}
