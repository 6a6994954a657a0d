package ai.hoody.tunnel.kit;

import io.quarkus.vertx.http.HttpServerOptionsCustomizer;
import io.vertx.core.http.HttpServerOptions;
import jakarta.enterprise.context.ApplicationScoped;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The header deadline of the kit's own HTTP port ({@code hoody.tunnel.http-header-timeout}). Vert.x has no timer for
 * "the request head must be complete by then", and a connection dripping one byte a second defeats any idle timeout
 * that counts what the client sends. What it does have is a write-idle timeout: a connection the server has written
 * nothing to for T is closed. Until a request head is complete the kit has nothing to write, so that bounds a
 * slowloris connection, silent or dripping, to T; it also closes keep-alive connections idle for T. A driver's
 * WebSocket is written to at least every heartbeat interval (the kit's PING), so it never reaches T, which is why T
 * must exceed that interval (and the HELLO deadline, so that a silent WebSocket still gets its close 1008 first).
 * The connection cap is Quarkus' own ({@code quarkus.http.limits.max-connections}, see {@link FdBudget}).
 */
@ApplicationScoped
public class HttpServerLimits implements HttpServerOptionsCustomizer {

    private final Duration headerTimeout;

    HttpServerLimits(KitConfig config) {
        this.headerTimeout = config.httpHeaderTimeout();
        Duration pingGap = config.heartbeatInterval().multipliedBy(3).dividedBy(2);
        if (headerTimeout.compareTo(pingGap) < 0 || headerTimeout.compareTo(config.helloTimeout()) <= 0) {
            throw new IllegalArgumentException("hoody.tunnel.http-header-timeout (" + headerTimeout.toMillis()
                    + " ms) must be at least 1.5 x hoody.tunnel.heartbeat-interval (" + pingGap.toMillis()
                    + " ms) and longer than hoody.tunnel.hello-timeout (" + config.helloTimeout().toMillis()
                    + " ms): driver WebSockets would be closed");
        }
    }

    @Override
    public void customizeHttpServer(HttpServerOptions options) {
        apply(options);
    }

    @Override
    public void customizeHttpsServer(HttpServerOptions options) {
        apply(options);
    }

    private void apply(HttpServerOptions options) {
        // In the unit Quarkus chose for quarkus.http.idle-timeout, which the same IdleStateHandler applies.
        TimeUnit unit = options.getIdleTimeoutUnit();
        options.setWriteIdleTimeout((int) Math.max(1, unit.convert(headerTimeout)));
    }
}
