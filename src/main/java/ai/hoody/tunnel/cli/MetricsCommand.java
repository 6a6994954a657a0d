package ai.hoody.tunnel.cli;

import picocli.CommandLine.Command;

import java.io.PrintWriter;

/** {@code hoody-tunnel metrics}: the kit's Prometheus text, for a quick look or a pipe into grep. */
@Command(name = "metrics", mixinStandardHelpOptions = true, versionProvider = TunnelCli.VersionProvider.class,
        description = "Print the kit's meters in the Prometheus text format (hoody_tunnel_* and the JVM's).")
final class MetricsCommand extends AdminCommand {

    @Override
    void run(AdminClient client, PrintWriter out) throws KitErrorException, KitUnreachableException {
        out.print(client.get("/metrics", "text/plain"));
    }
}
