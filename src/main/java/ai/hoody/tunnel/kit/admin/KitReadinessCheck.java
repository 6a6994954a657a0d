package ai.hoody.tunnel.kit.admin;

import ai.hoody.tunnel.kit.KitLifecycle;

import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/**
 * {@code /q/health/ready}: UP from the end of start-up until shutdown begins, so that a load balancer or an
 * orchestrator sends drivers only to a kit that can take them.
 */
@Readiness
@ApplicationScoped
public class KitReadinessCheck implements HealthCheck {

    static final String NAME = "tunnel-kit";

    private final KitLifecycle lifecycle;

    KitReadinessCheck(KitLifecycle lifecycle) {
        this.lifecycle = lifecycle;
    }

    @Override
    public HealthCheckResponse call() {
        var response = HealthCheckResponse.named(NAME).status(lifecycle.isReady());
        lifecycle.started().ifPresent(at -> response.withData("started", at.toString()));
        return response.build();
    }
}
