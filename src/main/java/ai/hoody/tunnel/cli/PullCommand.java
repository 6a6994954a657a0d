package ai.hoody.tunnel.cli;

import ai.hoody.tunnel.driver.BindSpec;
import ai.hoody.tunnel.protocol.BindMode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.List;
import java.util.concurrent.Callable;

/** {@code pull <laptop-port | host:port>}: puts a laptop TCP service on the container's loopback. */
@Command(name = "pull", mixinStandardHelpOptions = true,
        description = "Make a laptop TCP service reachable on the container's loopback.",
        exitCodeListHeading = "Exit codes:%n",
        exitCodeList = {"0:stopped by Ctrl-C or SIGTERM", "1:could not connect, or the kit closed the session",
                "2:bad arguments", "3:the kit refused the BIND (the code is printed)"})
final class PullCommand implements Callable<Integer> {

    @Mixin
    DriverOptions options;

    @Mixin
    MoreBindings more;

    @Parameters(index = "0", paramLabel = "TARGET", description = "The laptop service: PORT or HOST:PORT.")
    String target;

    @Option(names = "--port", paramLabel = "P", description = "Container port; default: the target's port; 0 picks a free one.")
    Integer port;

    @Option(names = "--host", paramLabel = "H", description = "Container loopback address: 127.0.0.1 (default), ::1 or localhost.")
    String host;

    @Override
    public Integer call() throws InterruptedException {
        List<BindSpec> specs = new java.util.ArrayList<>();
        try {
            specs.add(BindSpec.parseTarget(BindMode.PULL, target, port, host, false));
            specs.addAll(more.specs());
        } catch (IllegalArgumentException e) {
            System.err.println("hoody-tunnel: " + e.getMessage());
            return 2;
        }
        return DriverRunner.run(options, specs);
    }
}
