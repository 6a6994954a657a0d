package ai.hoody.tunnel.cli;

import ai.hoody.tunnel.driver.BindSpec;
import ai.hoody.tunnel.driver.DriverEvents;
import ai.hoody.tunnel.driver.DriverSession;
import ai.hoody.tunnel.driver.KitUrl;
import ai.hoody.tunnel.protocol.GoAwayCode;

import java.net.URI;
import java.util.List;

/** Runs a driver session for the {@code expose} and {@code pull} commands, with Ctrl-C ending it cleanly. */
final class DriverRunner {

    private DriverRunner() {
    }

    static int run(DriverOptions options, List<BindSpec> specs) throws InterruptedException {
        DriverEvents events = new DriverEvents(System.out, System.err, options.json);
        URI uri;
        try {
            uri = KitUrl.parse(options.kit).connectUri();
        } catch (IllegalArgumentException e) {
            events.log("--kit: " + e.getMessage());
            return 2;
        }
        DriverSession session = new DriverSession(uri, options.token, specs, events);
        Thread hook = new Thread(() -> session.stop(GoAwayCode.NORMAL), "driver-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        int code = session.run();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // already shutting down: the hook is running
        }
        return code;
    }
}
