package ai.hoody.tunnel.kit;

import org.eclipse.microprofile.config.Config;
import org.eclipse.microprofile.config.ConfigProvider;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The kit's own ports, which no BIND may take: the HTTP port (the test port under tests), the management port when
 * the management interface is enabled, and {@code hoody.tunnel.reserved-ports}. Read when asked, because with port
 * 0 the actual HTTP port is only known (and written back to the config by Quarkus) after start-up.
 */
final class ReservedPorts {

    private ReservedPorts() {
    }

    static Set<Integer> current() {
        Config c = ConfigProvider.getConfig();
        Set<Integer> ports = new HashSet<>();
        add(c, "quarkus.http.port", ports);
        add(c, "quarkus.http.test-port", ports);
        if (c.getOptionalValue("quarkus.management.enabled", Boolean.class).orElse(false)) {
            add(c, "quarkus.management.port", ports);
            add(c, "quarkus.management.test-port", ports);
        }
        c.getOptionalValues("hoody.tunnel.reserved-ports", Integer.class).orElse(List.of()).forEach(ports::add);
        return ports;
    }

    private static void add(Config c, String key, Set<Integer> ports) {
        c.getOptionalValue(key, Integer.class).filter(p -> p > 0).ifPresent(ports::add);
    }
}
