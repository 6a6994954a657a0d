package ai.hoody.tunnel.cli;

import ai.hoody.tunnel.protocol.Version;
import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.annotations.QuarkusMain;
import picocli.CommandLine;

/**
 * The one entry point of the artifact. With a command ({@code expose}, {@code pull}, {@code health}, ...) it runs
 * the driver or the admin CLI as a plain Java program: Quarkus is not booted, so no port is opened. Without one it
 * starts the kit.
 */
@QuarkusMain
public class Main {

    public static void main(String... args) {
        if (args.length == 0) { // the kit with its defaults: no command line to build (~240 classes the kit never uses)
            Quarkus.run(args);
            return;
        }
        CommandLine cli = TunnelCli.commandLine();
        if (cli.getSubcommands().containsKey(args[0])) {
            System.exit(cli.execute(args));
        }
        KitCommand kit = new KitCommand();
        CommandLine kitLine = new CommandLine(kit);
        try {
            kitLine.parseArgs(args);
        } catch (CommandLine.ParameterException e) {
            System.err.println(e.getMessage());
            kitLine.usage(System.err);
            System.exit(2);
        }
        if (kitLine.isUsageHelpRequested()) {
            kitLine.usage(System.out);
            System.out.println();
            cli.usage(System.out);
            return;
        }
        if (kitLine.isVersionHelpRequested()) {
            System.out.println(Version.USER_AGENT);
            return;
        }
        kit.applyToConfig();
        Quarkus.run(args);
    }
}
