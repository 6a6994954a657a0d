package ai.hoody.tunnel.cli;

import ai.hoody.tunnel.driver.BindSpec;
import ai.hoody.tunnel.protocol.BindMode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code expose <local-port | host:port>}: serves a laptop HTTP service on a container port. */
@Command(name = "expose", mixinStandardHelpOptions = true,
        description = "Serve a laptop HTTP/WebSocket service on a container port.",
        exitCodeListHeading = "Exit codes:%n",
        exitCodeList = {"0:stopped by Ctrl-C or SIGTERM", "1:could not connect, or an operator killed the session",
                "2:bad arguments", "3:the kit refused a BIND (the code is printed)"})
final class ExposeCommand extends DriverCommand {

    @Option(names = "--takeover", description = "Take the port over from another session that holds it.")
    boolean takeover;

    @Override
    BindSpec primary() {
        return BindSpec.parseTarget(BindMode.EXPOSE, target, port, null, takeover);
    }
}
