package ai.hoody.tunnel.cli;

import ai.hoody.tunnel.driver.BindSpec;
import ai.hoody.tunnel.protocol.BindMode;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;

/** Extra bindings one driver process holds besides its command's own: {@code --also-expose} and {@code --also-pull}. */
final class MoreBindings {

    @Option(names = "--also-expose", paramLabel = "TARGET[=PORT]",
            description = "Also expose TARGET (PORT or HOST:PORT) on container port PORT (default: the target's port). Repeatable.")
    List<String> expose = new ArrayList<>();

    @Option(names = "--also-pull", paramLabel = "TARGET[=PORT]",
            description = "Also pull TARGET onto the container's 127.0.0.1:PORT (default: the target's port; 0: any). Repeatable.")
    List<String> pull = new ArrayList<>();

    List<BindSpec> specs() {
        List<BindSpec> specs = new ArrayList<>();
        expose.forEach(s -> specs.add(parse(BindMode.EXPOSE, s)));
        pull.forEach(s -> specs.add(parse(BindMode.PULL, s)));
        return specs;
    }

    private static BindSpec parse(BindMode mode, String spec) {
        int eq = spec.lastIndexOf('=');
        Integer port = null;
        String target = spec;
        if (eq >= 0) {
            target = spec.substring(0, eq);
            try {
                port = Integer.parseInt(spec.substring(eq + 1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--also-" + mode.mode + ": PORT after '=' must be a number, was '" + spec + "'");
            }
        }
        return BindSpec.parseTarget(mode, target, port, null, false);
    }
}
