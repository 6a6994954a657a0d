package ai.hoody.tunnel.cli;

import ai.hoody.tunnel.driver.BindSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** What {@code expose} and {@code pull} share: a target, a container port, more bindings, and running the driver. */
abstract class DriverCommand implements Callable<Integer> {

    @Mixin
    DriverOptions options;

    @Mixin
    MoreBindings more;

    @Parameters(index = "0", paramLabel = "TARGET", description = "The laptop service: PORT or HOST:PORT.")
    String target;

    @Option(names = "--port", paramLabel = "P", description = "Container port; default: the target's port.")
    Integer port;

    /** The command's own binding, from {@link #target} and {@link #port}. */
    abstract BindSpec primary();

    @Override
    public Integer call() throws InterruptedException {
        List<BindSpec> specs = new ArrayList<>();
        try {
            specs.add(primary());
            specs.addAll(more.specs());
        } catch (IllegalArgumentException e) {
            System.err.println("hoody-tunnel: " + e.getMessage());
            return 2;
        }
        return DriverRunner.run(options, specs);
    }
}
