package ai.hoody.tunnel.cli;

import ai.hoody.tunnel.kit.admin.KillResponse;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;

/** {@code hoody-tunnel sessions kill ID}: the operator's way to end a session. */
@Command(name = "kill", mixinStandardHelpOptions = true, versionProvider = TunnelCli.VersionProvider.class,
        description = "Kill a session: the driver gets GOAWAY(ADMIN_KILL), its ports are released at once, and its "
                + "open connections get the grace period to finish before the socket closes.")
final class SessionsKillCommand extends TableCommand {

    @Parameters(index = "0", paramLabel = "ID", description = "The session id, as `sessions list` shows it (ses_...).")
    String sessionId;

    // No default here: the kit's own default applies (50 ms), and the kit checks the range (0..5000).
    @Option(names = "--grace-ms", paramLabel = "N",
            description = "Milliseconds open connections may take to finish, 0..5000; the kit's default is 50.")
    Integer graceMs;

    @Override
    String fetch(AdminClient client) throws KitErrorException, KitUnreachableException {
        String path = "/sessions/" + URLEncoder.encode(sessionId, StandardCharsets.UTF_8).replace("+", "%20");
        return client.delete(graceMs == null ? path : path + "?grace_ms=" + graceMs);
    }

    @Override
    void render(String body, PrintWriter out) throws KitErrorException {
        KillResponse k = AdminClient.read(body, KillResponse.class);
        out.println("session " + k.sessionId() + " " + k.status());
    }
}
