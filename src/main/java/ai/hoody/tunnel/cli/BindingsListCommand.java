package ai.hoody.tunnel.cli;

import ai.hoody.tunnel.kit.admin.BindingDetail;
import ai.hoody.tunnel.kit.admin.BindingsResponse;
import picocli.CommandLine.Command;

import java.io.PrintWriter;
import java.util.List;

/** {@code hoody-tunnel bindings list}: one line per held port. */
@Command(name = "list", mixinStandardHelpOptions = true, versionProvider = TunnelCli.VersionProvider.class,
        description = "List every port the kit holds, with its kind, mode, session and bind id.")
final class BindingsListCommand extends TableCommand {

    @Override
    String fetch(AdminClient client) throws KitErrorException, KitUnreachableException {
        return client.getJson("/bindings");
    }

    @Override
    void render(String body, PrintWriter out) throws KitErrorException {
        List<BindingDetail> bindings = AdminClient.read(body, BindingsResponse.class).bindings();
        if (bindings == null || bindings.isEmpty()) {
            out.println("no bindings");
            return;
        }
        TextTable t = TextTable.withHeader("PORT", "KIND", "MODE", "SESSION", "BIND");
        for (BindingDetail b : bindings) {
            t.row(b.port(), b.kind(), b.mode(), b.sessionId(), b.bindId());
        }
        t.print(out);
    }
}
