package ai.hoody.tunnel.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code hoody-tunnel bindings list}. */
@Command(name = "bindings", mixinStandardHelpOptions = true, versionProvider = TunnelCli.VersionProvider.class,
        description = "Show the ports the kit holds for sessions.",
        subcommands = BindingsListCommand.class)
final class BindingsCommand implements Runnable {

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "Missing subcommand: list");
    }
}
