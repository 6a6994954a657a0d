package ai.hoody.tunnel.kit;

import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfigBuilder;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The settings the kit refuses to start with, each named in its error (README "Configuration", PROTOCOL.md §8). Plain JUnit. */
class KitContextTest {

    private static KitConfig config(Map<String, String> properties) {
        return new SmallRyeConfigBuilder().withMapping(KitConfig.class)
                .withConverter(Duration.class, 200, new io.quarkus.runtime.configuration.DurationConverter())
                .withConverter(io.quarkus.runtime.configuration.MemorySize.class, 200, new io.quarkus.runtime.configuration.MemorySizeConverter())
                .withSources(new PropertiesConfigSource(properties, "test", 500)).build()
                .getConfigMapping(KitConfig.class);
    }

    private static void start(Map<String, String> properties) {
        new KitContext(config(properties), null, null, null, null, null, null, null, null);
    }

    @Test
    void theDefaultsStart() {
        assertThatCode(() -> start(Map.of())).doesNotThrowAnyException();
    }

    /** PROTOCOL.md §3.2: HELLO_OK.heartbeatIntervalMs 0 means "no interval"; this kit always PINGs, so 0 is refused. */
    @Test
    void aHeartbeatIntervalOfZeroIsRefused() {
        assertThatThrownBy(() -> start(Map.of("hoody.tunnel.heartbeat-interval", "0s")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("hoody.tunnel.heartbeat-interval must be above 0");
    }

    @Test
    void aHeartbeatIntervalNotShorterThanTheTimeoutIsRefused() {
        assertThatThrownBy(() -> start(Map.of("hoody.tunnel.heartbeat-interval", "60s", "hoody.tunnel.heartbeat-timeout", "60s")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("shorter than hoody.tunnel.heartbeat-timeout (60000 ms), was 60000 ms");
        assertThatCode(() -> start(Map.of("hoody.tunnel.heartbeat-interval", "59s", "hoody.tunnel.heartbeat-timeout", "60s")))
                .doesNotThrowAnyException();
    }

    @Test
    void aStreamMemoryBudgetBelowFourDataFramesIsRefusedNamingTheProperty() {
        assertThatThrownBy(() -> new KitMemory().budget(config(Map.of("hoody.tunnel.stream-memory-budget", "100K"))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("hoody.tunnel.stream-memory-budget must be at least 262144 bytes (four DATA frames), was 102400");
        assertThat(new KitMemory().budget(config(Map.of("hoody.tunnel.stream-memory-budget", "256K"))).total()).isEqualTo(262_144);
    }

    @Test
    void aStreamWindowBelowOneDataFrameIsRefused() {
        assertThatThrownBy(() -> start(Map.of("hoody.tunnel.stream-window", "65535")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("hoody.tunnel.stream-window must be at least 65536");
    }
}
