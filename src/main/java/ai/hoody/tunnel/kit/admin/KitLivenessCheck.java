package ai.hoody.tunnel.kit.admin;

import ai.hoody.tunnel.kit.BindingTable;
import ai.hoody.tunnel.kit.FdBudget;
import ai.hoody.tunnel.kit.SessionRegistry;
import ai.hoody.tunnel.kit.SessionSupervisor;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Liveness;

/**
 * {@code /q/health/live}: DOWN only when the kit is wedged: its timers have not run for {@link #WEDGED_AFTER_NANOS}
 * (the event loop that carries every driver socket is stuck) or an accept loop died while its port is still open
 * (visitors would hang). Never DOWN on load or because a driver misbehaves (no descriptors left, many sessions): a
 * restart would drop every session and fix nothing, and the kit already refuses cleanly what it cannot serve.
 */
@Liveness
@ApplicationScoped
public class KitLivenessCheck implements HealthCheck {

    static final String NAME = "tunnel-kit-live";

    static final long WEDGED_AFTER_NANOS = 30_000_000_000L;

    private final FdBudget fds;
    private final SessionRegistry sessions;
    private final BindingTable bindings;
    private final SessionSupervisor supervisor;

    KitLivenessCheck(FdBudget fds, SessionRegistry sessions, BindingTable bindings, SessionSupervisor supervisor) {
        this.fds = fds;
        this.sessions = sessions;
        this.bindings = bindings;
        this.supervisor = supervisor;
    }

    @Override
    public HealthCheckResponse call() {
        long sinceTick = supervisor.nanosSinceTick();
        int stopped = bindings.stoppedAcceptLoops();
        return HealthCheckResponse.named(NAME).status(sinceTick < WEDGED_AFTER_NANOS && stopped == 0)
                .withData("fdPermitsAvailable", fds.available())
                .withData("sessions", sessions.size())
                .withData("timersLastRanMsAgo", sinceTick / 1_000_000)
                .withData("stoppedAcceptLoops", stopped)
                .build();
    }
}
