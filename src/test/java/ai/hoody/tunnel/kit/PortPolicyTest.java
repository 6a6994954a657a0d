package ai.hoody.tunnel.kit;

import io.quarkus.runtime.configuration.DurationConverter;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The allow-list grammar, and that a malformed list stops the kit's configuration with the property's name. */
class PortPolicyTest {

    @Test
    void portsAndRangesSeparatedByCommas() {
        PortPolicy p = PortPolicy.parse(" 3000-3999 , 8080,1-1, 65535");
        assertThat(p).hasToString("3000-3999,8080,1,65535");
        assertThat(p.allows(3000)).isTrue();
        assertThat(p.allows(3999)).isTrue();
        assertThat(p.allows(8080)).isTrue();
        assertThat(p.allows(1)).isTrue();
        assertThat(p.allows(65535)).isTrue();
        assertThat(p.allows(2999)).isFalse();
        assertThat(p.allows(4000)).isFalse();
        assertThat(p.allows(8081)).isFalse();
        assertThat(p.allows(0)).isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {"abc", "3000-", "-3000", "0", "65536", "3000-70000", "1-2-3", "3000,", ",3000", "3000;4000",
            "+80", "3 000", "99999999999", "\u0663\u0660\u0660\u0660"})
    void malformedListsAreRefusedWithAnExample(String spec) {
        assertThatThrownBy(() -> PortPolicy.parse(spec)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("is not a port (1..65535)").hasMessageContaining("e.g. 3000-3999,8080");
    }

    @Test
    void aBackwardsRangeIsRefused() {
        assertThatThrownBy(() -> PortPolicy.parse("4000-3000")).hasMessageContaining("'4000-3000' is an empty range");
    }

    @Test
    void theKitsConfigurationNamesTheBadProperty() {
        assertThatThrownBy(() -> config(Map.of("hoody.tunnel.pull-allowed-ports", "5432,99999")))
                .hasMessageContaining("hoody.tunnel.pull-allowed-ports").hasMessageContaining("'99999' is not a port");
        SmallRyeConfig ok = config(Map.of("hoody.tunnel.expose-allowed-ports", "3000-3999,8080"));
        KitConfig kit = ok.getConfigMapping(KitConfig.class);
        assertThat(kit.exposeAllowedPorts()).get().hasToString("3000-3999,8080");
        assertThat(kit.pullAllowedPorts()).isEmpty();
    }

    private static SmallRyeConfig config(Map<String, String> properties) {
        return new SmallRyeConfigBuilder().withMapping(KitConfig.class)
                .withConverter(Duration.class, 200, new DurationConverter())
                .withConverter(io.quarkus.runtime.configuration.MemorySize.class, 200, new io.quarkus.runtime.configuration.MemorySizeConverter()) // "5s", as Quarkus reads it
                .withSources(new PropertiesConfigSource(properties, "test", 500)).build();
    }
}
