package ai.hoody.tunnel.cli;

import ai.hoody.tunnel.kit.admin.SessionOverview;
import ai.hoody.tunnel.kit.admin.TunnelOverview;
import picocli.CommandLine.Command;

import java.io.PrintWriter;
import java.util.List;

/** {@code hoody-tunnel list}: the tunnels overview, one line per session. */
@Command(name = "list", mixinStandardHelpOptions = true, versionProvider = TunnelCli.VersionProvider.class,
        description = "List the kit's sessions with their exposed and pulled ports, and kit-wide totals.")
final class ListCommand extends TableCommand {

    @Override
    String fetch(AdminClient client) throws KitErrorException, KitUnreachableException {
        return client.getJson("/tunnels");
    }

    @Override
    void render(String body, PrintWriter out) throws KitErrorException {
        TunnelOverview o = AdminClient.read(body, TunnelOverview.class);
        List<SessionOverview> sessions = o.sessions() == null ? List.of() : o.sessions();
        if (sessions.isEmpty()) {
            out.println("no sessions");
        } else {
            TextTable t = TextTable.withHeader("SESSION", "PEER", "PROTOCOL", "STREAMS", "CONNECTIONS", "EXPOSE", "PULL");
            for (SessionOverview s : sessions) {
                t.row(s.sessionId(), s.peerAddr(), s.protocol(), s.activeStreams(), s.connectionsGranted(),
                        BindingsText.ports(s.exposeBindings()), BindingsText.ports(s.pullBindings()));
            }
            t.print(out);
        }
        out.println();
        out.printf("%d %s, %d orphaned, %d active %s, %d %s, %d fd permits available%n",
                sessions.size(), plural(sessions.size(), "session"), o.orphanedSessions(),
                o.totalStreams(), plural(o.totalStreams(), "stream"), o.totalBindings(),
                plural(o.totalBindings(), "binding"), o.fdPermitsAvailable());
    }

    private static String plural(int n, String word) {
        return n == 1 ? word : word + "s";
    }
}
