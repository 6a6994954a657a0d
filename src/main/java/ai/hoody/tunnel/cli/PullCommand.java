package ai.hoody.tunnel.cli;

import ai.hoody.tunnel.driver.BindSpec;
import ai.hoody.tunnel.protocol.BindMode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code pull <laptop-port | host:port>}: puts a laptop TCP service on the container's loopback. */
@Command(name = "pull", mixinStandardHelpOptions = true,
        description = "Make a laptop TCP service reachable on the container's loopback (--port 0 picks a free port).",
        exitCodeListHeading = "Exit codes:%n",
        exitCodeList = {"0:stopped by Ctrl-C or SIGTERM", "1:could not connect, or an operator killed the session",
                "2:bad arguments", "3:the kit refused a BIND (the code is printed)"})
final class PullCommand extends DriverCommand {

    @Option(names = "--host", paramLabel = "H", description = "Container loopback address: 127.0.0.1 (default), ::1 or localhost.")
    String host;

    @Override
    BindSpec primary() {
        return BindSpec.parseTarget(BindMode.PULL, target, port, host, false);
    }
}
