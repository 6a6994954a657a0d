package ai.hoody.tunnel.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code hoody-tunnel sessions list|kill}. */
@Command(name = "sessions", mixinStandardHelpOptions = true, versionProvider = TunnelCli.VersionProvider.class,
        description = "List or kill the kit's driver sessions.",
        subcommands = {SessionsListCommand.class, SessionsKillCommand.class})
final class SessionsCommand implements Runnable {

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "Missing subcommand: list or kill");
    }
}
