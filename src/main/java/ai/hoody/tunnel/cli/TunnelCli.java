package ai.hoody.tunnel.cli;

import ai.hoody.tunnel.protocol.Version;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The commands of the artifact: the driver ({@code expose}, {@code pull}) and the admin CLI. */
@Command(name = "hoody-tunnel", mixinStandardHelpOptions = true, versionProvider = TunnelCli.VersionProvider.class,
        description = "hoody-tunnel driver and admin CLI.",
        subcommands = {
                ExposeCommand.class,
                PullCommand.class,
                HealthCommand.class,
                ListCommand.class,
                SessionsCommand.class,
                BindingsCommand.class,
                MetricsCommand.class,
        })
public final class TunnelCli {

    static CommandLine commandLine() {
        return new CommandLine(new TunnelCli()).setCaseInsensitiveEnumValuesAllowed(true);
    }

    static final class VersionProvider implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[]{Version.USER_AGENT};
        }
    }
}
