package ai.hoody.tunnel.kit;

import io.quarkus.runtime.LaunchMode;
import org.eclipse.microprofile.config.Config;
import org.eclipse.microprofile.config.ConfigProvider;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The kit's own ports, which no BIND may take: the ports Quarkus really listens on — HTTP, HTTPS when TLS is
 * configured, the management interface when enabled — and {@code hoody.tunnel.reserved-ports}. Only the ports of
 * the current launch mode count (the test ports under tests, the others otherwise), so that e.g. 8081 (Quarkus'
 * test port) or 8443 (its HTTPS port) stay free to EXPOSE on a kit that does not use them. Read when asked, because
 * with port 0 the actual port is only known (and written back to the config by Quarkus) after start-up.
 */
final class ReservedPorts {

    /** Set by {@link KitLifecycle} when Quarkus starts its HTTPS server: only then is the TLS port the kit's. */
    private static volatile boolean httpsStarted;
    private static volatile int httpsPort;

    private ReservedPorts() {
    }

    static void httpsStarted(int port) {
        httpsPort = port;
        httpsStarted = true;
    }

    static Set<Integer> current() {
        Config c = ConfigProvider.getConfig();
        boolean test = LaunchMode.current() == LaunchMode.TEST;
        Set<Integer> ports = new HashSet<>();
        add(c, test ? "quarkus.http.test-port" : "quarkus.http.port", ports);
        if (httpsStarted) {
            if (httpsPort > 0) {
                ports.add(httpsPort);
            }
            add(c, test ? "quarkus.http.test-ssl-port" : "quarkus.http.ssl-port", ports);
        }
        if (c.getOptionalValue("quarkus.management.enabled", Boolean.class).orElse(false)) {
            add(c, test ? "quarkus.management.test-port" : "quarkus.management.port", ports);
        }
        c.getOptionalValues("hoody.tunnel.reserved-ports", Integer.class).orElse(List.of()).forEach(ports::add);
        return ports;
    }

    private static void add(Config c, String key, Set<Integer> ports) {
        c.getOptionalValue(key, Integer.class).filter(p -> p > 0).ifPresent(ports::add);
    }
}
