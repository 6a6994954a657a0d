package ai.hoody.tunnel.cli;

import ai.hoody.tunnel.driver.BindSpec;
import ai.hoody.tunnel.protocol.BindMode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.List;
import java.util.concurrent.Callable;

/** {@code expose <local-port | host:port>}: serves a laptop HTTP service on a container port. */
@Command(name = "expose", mixinStandardHelpOptions = true,
        description = "Serve a laptop HTTP/WebSocket service on a container port.",
        exitCodeListHeading = "Exit codes:%n",
        exitCodeList = {"0:stopped by Ctrl-C or SIGTERM", "1:could not connect, or the kit closed the session",
                "2:bad arguments", "3:the kit refused the BIND (the code is printed)"})
final class ExposeCommand implements Callable<Integer> {

    @Mixin
    DriverOptions options;

    @Mixin
    MoreBindings more;

    @Parameters(index = "0", paramLabel = "TARGET", description = "The laptop service: PORT or HOST:PORT.")
    String target;

    @Option(names = "--port", paramLabel = "P", description = "Container port to listen on; default: the target's port.")
    Integer port;

    @Option(names = "--takeover", description = "Take the port over from another session that holds it.")
    boolean takeover;

    @Override
    public Integer call() throws InterruptedException {
        List<BindSpec> specs = new java.util.ArrayList<>();
        try {
            specs.add(BindSpec.parseTarget(BindMode.EXPOSE, target, port, null, takeover));
            specs.addAll(more.specs());
        } catch (IllegalArgumentException e) {
            System.err.println("hoody-tunnel: " + e.getMessage());
            return 2;
        }
        return DriverRunner.run(options, specs);
    }
}
