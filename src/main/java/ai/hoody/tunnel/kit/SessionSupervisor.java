package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.protocol.GoAwayCode;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.vertx.core.Vertx;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import org.jboss.logging.Logger;

import java.time.Duration;
import java.util.List;

/**
 * The kit's timers, in one place (docs/PROTOCOL.md §6.1): PINGs every heartbeat interval, GOAWAY(IDLE_TIMEOUT) for
 * a driver silent past the heartbeat timeout, reaping of orphans after the takeover grace and of sessions with
 * nothing to do after the idle timeout. Threading: one Vert.x periodic timer ticks on an event loop and only looks;
 * anything that blocks (ending a session) runs on a virtual thread.
 */
@ApplicationScoped
public class SessionSupervisor {

    private static final Logger LOG = Logger.getLogger(SessionSupervisor.class);

    private final KitContext kit;
    private final Vertx vertx;
    private long timer = -1;
    private volatile long lastTickNanos = System.nanoTime();

    SessionSupervisor(KitContext kit, Vertx vertx) {
        this.kit = kit;
        this.vertx = vertx;
    }

    void start(@Observes StartupEvent event) {
        long tick = Math.max(50, Math.min(1000, kit.config.heartbeatInterval().toMillis() / 4));
        timer = vertx.setPeriodic(tick, id -> tick());
    }

    void stop(@Observes ShutdownEvent event) {
        if (timer >= 0) {
            vertx.cancelTimer(timer);
        }
    }

    /** How long since the timers last ran: a large value means the event loop is wedged (liveness). */
    public long nanosSinceTick() {
        return System.nanoTime() - lastTickNanos;
    }

    private void tick() {
        long now = System.nanoTime();
        lastTickNanos = now;
        KitConfig c = kit.config;
        for (KitSession s : List.copyOf(kit.sessions.all())) {
            // inspect() decides and, for an end, begins it in one step under the session's lock: a resume or a BIND
            // that arrives after the decision finds the session ending and is refused, never silently undone.
            s.resetIdleStreams(now);
            s.superviseShards(now);
            switch (s.inspect(now)) {
                case PING -> s.ping();
                case HEARTBEAT_TIMEOUT -> {
                    LOG.infof("session %s: nothing heard for %d s, closing", s.id(), c.heartbeatTimeout().toSeconds());
                    kit.metrics.heartbeatTimeout();
                    finishLater(s, GoAwayCode.IDLE_TIMEOUT, false);
                }
                case IDLE -> {
                    LOG.infof("session %s: no bindings and no streams for %d s, closing", s.id(), c.idleSessionTimeout().toSeconds());
                    kit.metrics.idleReaped();
                    finishLater(s, GoAwayCode.IDLE_TIMEOUT, false);
                }
                case ORPHAN_REAPED -> {
                    LOG.infof("session %s: orphan reaped after %d s", s.id(), c.takeoverGrace().toSeconds());
                    kit.metrics.orphanReaped();
                    finishLater(s, null, true);
                }
                case NOTHING -> {
                }
            }
        }
    }

    private static void finishLater(KitSession s, GoAwayCode code, boolean orphan) {
        Thread.ofVirtual().name("session-end-" + s.id()).start(() -> s.finishEnding(code, Duration.ZERO, orphan));
    }
}
