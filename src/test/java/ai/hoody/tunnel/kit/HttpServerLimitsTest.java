package ai.hoody.tunnel.kit;

import io.quarkus.runtime.configuration.DurationConverter;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfigBuilder;
import io.vertx.core.http.HttpServerOptions;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The header deadline as Vert.x options, and the start-up check that it cannot cut driver WebSockets. Plain JUnit. */
class HttpServerLimitsTest {

    private static KitConfig config(Map<String, String> properties) {
        return new SmallRyeConfigBuilder().withMapping(KitConfig.class)
                .withConverter(Duration.class, 200, new DurationConverter())
                .withConverter(io.quarkus.runtime.configuration.MemorySize.class, 200, new io.quarkus.runtime.configuration.MemorySizeConverter())
                .withSources(new PropertiesConfigSource(properties, "test", 500)).build()
                .getConfigMapping(KitConfig.class);
    }

    @Test
    void theHeaderTimeoutIsAWriteIdleTimeoutInQuarkusUnit() {
        HttpServerLimits limits = new HttpServerLimits(config(Map.of()));
        HttpServerOptions options = new HttpServerOptions().setIdleTimeout(120_000).setIdleTimeoutUnit(TimeUnit.MILLISECONDS);
        limits.customizeHttpServer(options);
        assertThat(options.getWriteIdleTimeout()).isEqualTo(30_000);
        assertThat(options.getIdleTimeout()).as("left alone").isEqualTo(120_000);
        HttpServerOptions tls = new HttpServerOptions().setIdleTimeoutUnit(TimeUnit.SECONDS);
        limits.customizeHttpsServer(tls);
        assertThat(tls.getWriteIdleTimeout()).isEqualTo(30);
    }

    @Test
    void aHeaderTimeoutThatWouldCutDriversStopsTheKit() {
        assertThatThrownBy(() -> new HttpServerLimits(config(Map.of("hoody.tunnel.http-header-timeout", "25s"))))
                .hasMessage("hoody.tunnel.http-header-timeout (25000 ms) must be at least 1.5 x hoody.tunnel.heartbeat-interval "
                        + "(30000 ms) and longer than hoody.tunnel.hello-timeout (5000 ms): driver WebSockets would be closed");
        assertThatThrownBy(() -> new HttpServerLimits(config(Map.of("hoody.tunnel.http-header-timeout", "5s",
                "hoody.tunnel.heartbeat-interval", "1s")))).hasMessageContaining("longer than hoody.tunnel.hello-timeout");
        new HttpServerLimits(config(Map.of("hoody.tunnel.http-header-timeout", "6s", "hoody.tunnel.heartbeat-interval", "4s")));
    }
}
