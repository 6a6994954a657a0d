package ai.hoody.tunnel.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The kit's start-up flags. Each is also a config property (and so an environment variable); a flag given on the
 * command line wins because it becomes a system property, which SmallRye Config reads first.
 */
@Command(name = "hoody-tunnel", mixinStandardHelpOptions = true,
        description = "Starts the kit (no command), or runs a driver or admin command (see below).",
        footer = "The kit's HTTP port follows quarkus.http.port (env QUARKUS_HTTP_PORT), default 9771.")
final class KitCommand {

    @Option(names = "--allow-privileged-expose", description = "Allow EXPOSE on ports 80..1023 (hoody.tunnel.allow-privileged-expose).")
    boolean allowPrivilegedExpose;

    @Option(names = "--allow-privileged-pull", description = "Allow PULL on ports 80..1023 (hoody.tunnel.allow-privileged-pull).")
    boolean allowPrivilegedPull;

    @Option(names = "--max-pre-auth-connections", paramLabel = "N",
            description = "Sockets that may wait for HELLO at once; default 32 (hoody.tunnel.max-pre-auth-connections).")
    Integer maxPreAuthConnections;

    void applyToConfig() {
        if (allowPrivilegedExpose) {
            System.setProperty("hoody.tunnel.allow-privileged-expose", "true");
        }
        if (allowPrivilegedPull) {
            System.setProperty("hoody.tunnel.allow-privileged-pull", "true");
        }
        if (maxPreAuthConnections != null) {
            System.setProperty("hoody.tunnel.max-pre-auth-connections", maxPreAuthConnections.toString());
        }
    }
}
