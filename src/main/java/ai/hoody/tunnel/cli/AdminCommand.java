package ai.hoody.tunnel.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.net.URI;
import java.util.concurrent.Callable;

/**
 * What every admin command shares: {@code --kit}, {@code --admin-token}, and the exit codes. 0 when the kit answered 2xx; 1 when it answered
 * an error (its {@code {error, message}} goes to stderr) or could not be reached; 2, from picocli, for usage errors.
 * Output goes to picocli's writers so that tests (and embedders) can capture it.
 */
@Command(exitCodeListHeading = "Exit codes:%n",
        exitCodeList = {"0:the kit answered", "1:the kit answered an error (printed), or could not be reached",
                "2:bad arguments"})
abstract class AdminCommand implements Callable<Integer> {

    static final int FAILED = 1;

    @Spec
    CommandSpec spec;

    // Same flag, default and wording as the driver's (DriverOptions), so one HOODY_TUNNEL_KIT serves both.
    @Option(names = "--kit", paramLabel = "URL", converter = KitUrlConverter.class,
            defaultValue = "${env:HOODY_TUNNEL_KIT:-" + DriverOptions.DEFAULT_KIT + "}",
            description = "The kit's base URL (http, https, ws or wss); default $HOODY_TUNNEL_KIT or "
                    + DriverOptions.DEFAULT_KIT + ".")
    URI kit;

    // The kit accepts several tokens (rotation); the CLI sends one. Not echoed anywhere, not even in --help.
    @Option(names = "--admin-token", paramLabel = "TOKEN", defaultValue = "${env:" + AdminClient.TOKEN_ENV + "}",
            description = "One of the kit's admin tokens (hoody.tunnel.admin.token), sent as Authorization: Bearer; "
                    + "default $" + AdminClient.TOKEN_ENV + ". Not needed through the platform's proxy.")
    String adminToken;

    @Override
    public final Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try {
            run(new AdminClient(kit, adminToken), out);
            out.flush();
            return 0;
        } catch (KitErrorException e) {
            err.println(printsJson() && e.body != null && !e.body.isBlank() ? e.body : "hoody-tunnel: " + e.getMessage());
        } catch (KitUnreachableException e) {
            err.println("hoody-tunnel: " + e.getMessage());
        }
        err.flush();
        return FAILED;
    }

    /** Asks the kit and prints the answer. */
    abstract void run(AdminClient client, PrintWriter out) throws KitErrorException, KitUnreachableException;

    /** True when the user wants the kit's JSON as-is; error bodies are then printed as sent too. */
    boolean printsJson() {
        return false;
    }
}
