package ai.hoody.tunnel.kit.admin;

import ai.hoody.tunnel.kit.FdBudget;
import ai.hoody.tunnel.kit.SessionRegistry;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Liveness;

/**
 * {@code /q/health/live}: UP whenever the kit can run this check. It never reports DOWN on load (no descriptors
 * left, many sessions): a restart would drop every session and fix nothing, and the kit already refuses cleanly what
 * it cannot serve. The numbers are there for whoever reads the probe.
 */
@Liveness
@ApplicationScoped
public class KitLivenessCheck implements HealthCheck {

    static final String NAME = "tunnel-kit-live";

    private final FdBudget fds;
    private final SessionRegistry sessions;

    KitLivenessCheck(FdBudget fds, SessionRegistry sessions) {
        this.fds = fds;
        this.sessions = sessions;
    }

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named(NAME).up()
                .withData("fdPermitsAvailable", fds.available())
                .withData("sessions", sessions.size())
                .build();
    }
}
