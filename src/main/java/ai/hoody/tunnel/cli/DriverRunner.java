package ai.hoody.tunnel.cli;

import ai.hoody.tunnel.driver.BindRefusedException;
import ai.hoody.tunnel.driver.BindSpec;
import ai.hoody.tunnel.driver.DriverEvents;
import ai.hoody.tunnel.driver.Tunnel;
import ai.hoody.tunnel.driver.TunnelEvent;
import ai.hoody.tunnel.driver.TunnelException;
import ai.hoody.tunnel.driver.TunnelOptions;

import java.time.Duration;
import java.util.List;

/**
 * The body of the {@code expose} and {@code pull} commands, a thin client of the library: opens a {@link Tunnel}, binds
 * each target in order, prints the events with {@link DriverEvents}, and turns how the tunnel ended into the exit
 * code (README "Driver CLI"): 0 stopped, 1 unreachable at start or killed by an operator, 2 bad arguments, 3 a BIND
 * refused — at start or when binding again after a reconnect. Tests run it in-process.
 */
public final class DriverRunner {

    public static final int EXIT_OK = 0;
    public static final int EXIT_DISCONNECTED = 1;
    public static final int EXIT_USAGE = 2;
    public static final int EXIT_BIND_REFUSED = 3;
    /** The CLI waits for a BIND's answer as long as it takes: the tunnel reconnects meanwhile. */
    private static final Duration BIND_PATIENCE = Duration.ofDays(365);

    private final String kit;
    private final String proxy;
    private final String token;
    private final int shards;
    private final int maxTargetConnections;
    private final List<BindSpec> specs;
    private final DriverEvents events;
    private volatile Tunnel tunnel;
    private volatile boolean started;
    private volatile boolean refusedLater;
    private volatile boolean stopRequested;

    /**
     * @param kit   the {@code --kit} value
     * @param proxy the {@code --proxy} value; null to read the environment
     */
    public DriverRunner(String kit, String proxy, List<BindSpec> specs, DriverEvents events) {
        this(kit, proxy, null, specs, events);
    }

    /** @param token the kit's attach token ({@code --token}); null when none */
    public DriverRunner(String kit, String proxy, String token, List<BindSpec> specs, DriverEvents events) {
        this(kit, proxy, token, 1, specs, events);
    }

    /** @param shards sockets per session ({@code --shards}): 1 is hoody-tunnel.v1, more hoody-tunnel.v2 */
    public DriverRunner(String kit, String proxy, String token, int shards, List<BindSpec> specs, DriverEvents events) {
        this(kit, proxy, token, shards, TunnelOptions.DEFAULT_MAX_TARGET_CONNECTIONS, specs, events);
    }

    /** @param maxTargetConnections {@code --max-target-connections} (TunnelOptions.maxTargetConnections) */
    public DriverRunner(String kit, String proxy, String token, int shards, int maxTargetConnections, List<BindSpec> specs,
                        DriverEvents events) {
        this.shards = shards;
        this.maxTargetConnections = maxTargetConnections;
        this.kit = kit;
        this.proxy = proxy;
        this.token = token;
        this.specs = List.copyOf(specs);
        this.events = events;
    }

    /** Runs the command with Ctrl-C / SIGTERM ending it cleanly (GOAWAY). */
    static int run(DriverOptions options, List<BindSpec> specs) throws InterruptedException {
        DriverRunner runner = new DriverRunner(options.kit, options.proxy, options.token, options.shards,
                options.maxTargetConnections, specs,
                new DriverEvents(System.out, System.err, options.json));
        Thread hook = new Thread(runner::stop, "driver-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        int code = runner.run();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // already shutting down: the hook is running
        }
        return code;
    }

    /** Blocks until the driver stops; returns the exit code. */
    public int run() throws InterruptedException {
        TunnelOptions options;
        try {
            options = TunnelOptions.kit(kit);
        } catch (IllegalArgumentException e) {
            events.log("--kit: " + e.getMessage());
            return EXIT_USAGE;
        }
        try {
            if (proxy != null) {
                options = options.proxy(proxy);
            }
        } catch (IllegalArgumentException e) {
            events.log(e.getMessage());
            return EXIT_USAGE;
        }
        try {
            options = options.shards(shards);
        } catch (IllegalArgumentException e) {
            events.log("--shards: " + e.getMessage());
            return EXIT_USAGE;
        }
        try {
            options = options.maxTargetConnections(maxTargetConnections);
        } catch (IllegalArgumentException e) {
            events.log("--max-target-connections: " + e.getMessage());
            return EXIT_USAGE;
        }
        options = options.token(token).bindTimeout(BIND_PATIENCE).listener(events).listener(this::onEvent);
        Tunnel t;
        try {
            t = Tunnel.open(options);
        } catch (IllegalArgumentException e) { // a proxy variable of the environment
            events.log(e.getMessage());
            return EXIT_USAGE;
        } catch (TunnelException e) {
            return stopRequested ? EXIT_OK : EXIT_DISCONNECTED; // the error event said why
        }
        tunnel = t;
        if (stopRequested) {
            t.close();
            return EXIT_OK;
        }
        for (BindSpec spec : specs) {
            try {
                t.bind(spec);
            } catch (BindRefusedException e) {
                t.close();
                return EXIT_BIND_REFUSED;
            } catch (TunnelException e) {
                break; // the tunnel ended meanwhile: its end says how
            }
        }
        started = true;
        TunnelEvent.Closed end = t.awaitClosed();
        if (refusedLater) {
            return EXIT_BIND_REFUSED;
        }
        return switch (end.why()) {
            case CLOSED -> EXIT_OK;
            case KILLED, UNREACHABLE, GAVE_UP -> EXIT_DISCONNECTED;
        };
    }

    /** A refusal after the start (binding again after a reconnect) stops the driver, before any further BIND. */
    private void onEvent(TunnelEvent event) {
        if (started && event instanceof TunnelEvent.BindRefused) {
            refusedLater = true;
            Tunnel t = tunnel;
            if (t != null) {
                t.close();
            }
        }
    }

    /** As Ctrl-C: GOAWAY, close, and {@link #run} returns 0. */
    public void stop() {
        stopRequested = true;
        Tunnel t = tunnel;
        if (t != null) {
            t.close();
        }
    }

    /** The session id, once the kit opened one. */
    public String sessionId() {
        Tunnel t = tunnel;
        return t == null ? null : t.sessionId();
    }
}
