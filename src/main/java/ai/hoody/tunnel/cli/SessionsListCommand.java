package ai.hoody.tunnel.cli;

import ai.hoody.tunnel.kit.admin.SessionInfo;
import ai.hoody.tunnel.kit.admin.SessionsResponse;
import picocli.CommandLine.Command;

import java.io.PrintWriter;
import java.util.List;

/** {@code hoody-tunnel sessions list}: one line per session, with its limits and bindings. */
@Command(name = "list", mixinStandardHelpOptions = true, versionProvider = TunnelCli.VersionProvider.class,
        description = "List the kit's driver sessions: state (attached, orphaned, ending), peer, streams (active/max), "
                + "connections granted, bindings (mode:port#bindId).")
final class SessionsListCommand extends TableCommand {

    @Override
    String fetch(AdminClient client) throws KitErrorException, KitUnreachableException {
        return client.getJson("/sessions");
    }

    @Override
    void render(String body, PrintWriter out) throws KitErrorException {
        List<SessionInfo> sessions = AdminClient.read(body, SessionsResponse.class).sessions();
        if (sessions == null || sessions.isEmpty()) {
            out.println("no sessions");
            return;
        }
        TextTable t = TextTable.withHeader("SESSION", "STATE", "PEER", "STREAMS", "CONNECTIONS", "V2", "BINDINGS");
        for (SessionInfo s : sessions) {
            String state = s.state() == null ? "-" : s.state(); // "-": a kit older than the state field
            t.row(s.sessionId(), state, s.peerAddr(), s.activeStreams() + "/" + s.maxStreams(), s.connectionsGranted(),
                    s.isV2() ? "yes" : "no", BindingsText.of(s.bindings()));
        }
        t.print(out);
    }
}
