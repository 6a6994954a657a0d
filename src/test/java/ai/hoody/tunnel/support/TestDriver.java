package ai.hoody.tunnel.support;

import ai.hoody.tunnel.cli.DriverRunner;
import ai.hoody.tunnel.driver.BindSpec;
import ai.hoody.tunnel.driver.DriverEvents;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The real driver — the CLI's {@link DriverRunner} on the library's {@code Tunnel}, exit codes included — run in the
 * test JVM, its --json events collected line by line.
 */
public final class TestDriver implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final DriverRunner runner;
    private final BlockingQueue<JsonNode> events = new LinkedBlockingQueue<>();
    private final CompletableFuture<Integer> exit = new CompletableFuture<>();

    private TestDriver(URI kit, String token, int shards, List<BindSpec> specs) {
        PrintStream out = new PrintStream(new LineSink(events), true, StandardCharsets.UTF_8);
        // Proxies from the environment do not apply: the kit is on this machine ('' = no proxy).
        this.runner = new DriverRunner(kit.toString(), "", token, shards, specs, new DriverEvents(out, System.err, true));
        Thread.ofVirtual().name("test-driver").start(() -> {
            try {
                exit.complete(runner.run());
            } catch (Throwable t) {
                exit.completeExceptionally(t);
            }
        });
    }

    public static TestDriver start(URI kit, BindSpec... specs) {
        return new TestDriver(kit, null, 1, List.of(specs));
    }

    /** A driver with {@code --shards n}: a hoody-tunnel.v2 session when n > 1. */
    public static TestDriver startSharded(URI kit, int shards, BindSpec... specs) {
        return new TestDriver(kit, null, shards, List.of(specs));
    }

    /** A driver that sends the kit's attach token. */
    public static TestDriver startWithToken(URI kit, String token, BindSpec... specs) {
        return new TestDriver(kit, token, 1, List.of(specs));
    }

    /**
     * Waits until each of {@code names} has come (a name listed twice must come twice), in any order, skipping others:
     * for events whose order is not fixed, such as {@code bind_ok} and the {@code shard_joined} of v2 secondaries.
     */
    public void awaitAll(String... names) throws InterruptedException {
        java.util.List<String> missing = new java.util.ArrayList<>(java.util.List.of(names));
        while (!missing.isEmpty()) {
            JsonNode e = events.poll(15, TimeUnit.SECONDS);
            if (e == null) {
                throw new AssertionError("no " + missing + " within 15 s");
            }
            String name = e.path("event").asText();
            if (name.equals("bind_err") && missing.contains("bind_ok")) {
                throw new AssertionError("bind refused: " + e);
            }
            missing.remove(name);
        }
    }

    /** Waits for the next event named {@code name}, skipping others. */
    public JsonNode await(String name) throws InterruptedException {
        while (true) {
            JsonNode e = events.poll(15, TimeUnit.SECONDS);
            if (e == null) {
                throw new AssertionError("no '" + name + "' event within 15 s");
            }
            if (e.path("event").asText().equals(name)) {
                return e;
            }
            if (e.path("event").asText().equals("bind_err") && name.equals("bind_ok")) {
                throw new AssertionError("bind refused: " + e);
            }
        }
    }

    public String sessionId() {
        return runner.sessionId();
    }

    public int exitCode() throws Exception {
        return exit.get(15, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws Exception {
        runner.stop();
        exit.get(15, TimeUnit.SECONDS);
    }

    /** Splits what the driver prints into JSON events. */
    private static final class LineSink extends OutputStream {
        private final BlockingQueue<JsonNode> events;
        private final StringBuilder line = new StringBuilder();

        LineSink(BlockingQueue<JsonNode> events) {
            this.events = events;
        }

        @Override
        public synchronized void write(int b) {
            if (b == '\n') {
                try {
                    events.add(JSON.readTree(line.toString()));
                } catch (Exception e) {
                    throw new AssertionError("driver printed a line that is not JSON: " + line, e);
                }
                line.setLength(0);
            } else {
                line.append((char) b);
            }
        }
    }
}
