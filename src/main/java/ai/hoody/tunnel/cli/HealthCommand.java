package ai.hoody.tunnel.cli;

import ai.hoody.tunnel.kit.admin.HealthResponse;
import picocli.CommandLine.Command;

import java.io.PrintWriter;

/** {@code hoody-tunnel health}: is the kit up, which version, how big. */
@Command(name = "health", mixinStandardHelpOptions = true, versionProvider = TunnelCli.VersionProvider.class,
        description = "Show the kit's status, version, pid, start time, open descriptors and memory.")
final class HealthCommand extends TableCommand {

    @Override
    String fetch(AdminClient client) throws KitErrorException, KitUnreachableException {
        return client.getJson("/health");
    }

    @Override
    void render(String body, PrintWriter out) throws KitErrorException {
        HealthResponse h = AdminClient.read(body, HealthResponse.class);
        TextTable.fields()
                .row("status", h.status())
                .row("version", h.userAgent())
                .row("pid", h.pid())
                .row("started", h.started())
                .row("fds", h.fds() < 0 ? "unknown" : h.fds())
                .row("rss", h.memory() == null ? null : Sizes.bytes(h.memory().rss()))
                .print(out);
    }
}
