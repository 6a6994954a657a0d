package ai.hoody.tunnel.support;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** The driver as its own operating-system process ({@code Main expose|pull ... --json}), to kill it for real. */
public final class DriverProcess implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Process process;
    private final BlockingQueue<JsonNode> events = new LinkedBlockingQueue<>();

    private DriverProcess(List<String> jvmOptions, List<String> args) throws Exception {
        this(jvmOptions, Map.of(), args);
    }

    private DriverProcess(List<String> jvmOptions, Map<String, String> environment, List<String> args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Djava.util.logging.manager=org.jboss.logmanager.LogManager");
        cmd.addAll(jvmOptions);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add("ai.hoody.tunnel.cli.Main");
        cmd.addAll(args);
        cmd.add("--json");
        ProcessBuilder builder = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
        builder.environment().putAll(environment);
        process = builder.start();
        Thread.ofVirtual().start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    events.add(JSON.readTree(line));
                }
            } catch (Exception ignored) {
                // the process is gone
            }
        });
    }

    public static DriverProcess start(String... args) throws Exception {
        return new DriverProcess(List.of(), List.of(args));
    }

    /** With JVM options, e.g. {@code -Djavax.net.ssl.trustStore=…}, as a user would put in JDK_JAVA_OPTIONS. */
    public static DriverProcess startWithJvmOptions(List<String> jvmOptions, String... args) throws Exception {
        return new DriverProcess(jvmOptions, List.of(args));
    }

    /** With these environment variables added to the test's (e.g. {@code HTTP_PROXY}). */
    public static DriverProcess startWithEnvironment(Map<String, String> environment, String... args) throws Exception {
        return new DriverProcess(List.of(), environment, List.of(args));
    }

    /** The exit status, waiting up to 30 s for the driver to end by itself. */
    public int awaitExit() throws InterruptedException {
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            throw new AssertionError("driver still running after 30 s");
        }
        return process.exitValue();
    }

    public JsonNode await(String name) throws InterruptedException {
        while (true) {
            JsonNode e = events.poll(30, TimeUnit.SECONDS);
            if (e == null) {
                throw new AssertionError("no '" + name + "' event from the driver process within 30 s");
            }
            if (e.path("event").asText().equals(name)) {
                return e;
            }
        }
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    public long pid() {
        return process.pid();
    }

    /** SIGKILL: no GOAWAY, no close; the kit only sees the socket die. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    /** SIGTERM, as Ctrl-C or an orchestrator would; returns the exit status. */
    public int terminate() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            throw new AssertionError("driver did not exit within 10 s of SIGTERM");
        }
        return process.exitValue();
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            kill();
        }
    }
}
