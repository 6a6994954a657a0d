package ai.hoody.tunnel.support;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The packaged kit ({@code target/quarkus-app/quarkus-run.jar}) as its own process, with the JVM flags a test chooses —
 * e.g. the container image's heap settings, where running out of memory ends the process. For integration tests
 * (failsafe, after {@code package}).
 */
public final class KitProcess implements AutoCloseable {

    /** The image's settings (src/main/docker/Dockerfile.jvm, deployment/kit.yaml): 192 MiB heap, Serial GC, exit on OOM. */
    public static final List<String> IMAGE_JVM = List.of("-Xmx192m", "-XX:+UseSerialGC", "-XX:+ExitOnOutOfMemoryError");

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    /** The admin token every kit started here accepts, and every admin request of this class sends. */
    public static final String ADMIN_TOKEN = "integration-test-admin-token-0123456789";

    private final Process process;
    private final int port;
    private final Path log;
    private final Map<String, String> headers;

    private KitProcess(Process process, int port, Path log, Map<String, String> headers) {
        this.process = process;
        this.port = port;
        this.log = log;
        this.headers = headers;
    }

    /**
     * Starts the kit on a free port and waits until it is ready.
     *
     * @param config {@code hoody.tunnel.*} (or other) properties, passed as {@code -D}
     */
    public static KitProcess start(List<String> jvmOptions, Map<String, String> config) throws Exception {
        return start(jvmOptions, config, List.of());
    }

    /** As {@link #start(List, Map)}, with the kit's own command-line flags ({@code --allow-privileged-pull}, ...). */
    public static KitProcess start(List<String> jvmOptions, Map<String, String> config, List<String> kitArgs) throws Exception {
        Path jar = Path.of("target", "quarkus-app", "quarkus-run.jar");
        if (!Files.exists(jar)) {
            throw new IllegalStateException("no " + jar + ": integration tests run after `package`");
        }
        int port = Ports.free();
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmOptions);
        cmd.add("-Dquarkus.http.port=" + port);
        cmd.add("-Dquarkus.http.host=127.0.0.1");
        cmd.add("-Dhoody.tunnel.admin.token=" + ADMIN_TOKEN);
        config.forEach((k, v) -> cmd.add("-D" + k + "=" + v));
        cmd.add("-jar");
        cmd.add(jar.toString());
        cmd.addAll(kitArgs);
        Path log = Files.createTempFile("kit-process", ".log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Map<String, String> headers = new HashMap<>();
        headers.put("Authorization", "Bearer " + ADMIN_TOKEN);
        KitProcess kit = new KitProcess(p, port, log, headers);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                throw new IllegalStateException("the kit exited with " + p.exitValue() + " at start:\n" + kit.log());
            }
            try {
                if (kit.get("/q/health/ready").statusCode() == 200) {
                    return kit;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(100);
        }
        kit.close();
        throw new IllegalStateException("the kit was not ready within 30 s:\n" + kit.log());
    }

    /** A header every admin request of this object sends (e.g. the admin credential). */
    public KitProcess withHeader(String name, String value) {
        headers.put(name, value);
        return this;
    }

    public URI base() {
        return URI.create("http://127.0.0.1:" + port + "/");
    }

    public int port() {
        return port;
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    public long pid() {
        return process.pid();
    }

    public HttpResponse<String> get(String path) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(10));
        headers.forEach(b::header);
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The sum of a Prometheus gauge's samples whose labels contain {@code labelFilter} (empty: all). */
    public double metric(String name, String labelFilter) throws IOException, InterruptedException {
        HttpResponse<String> r = get("/q/metrics");
        if (r.statusCode() != 200) {
            throw new IllegalStateException("/q/metrics answered " + r.statusCode());
        }
        Pattern p = Pattern.compile("^" + Pattern.quote(name) + "(\\{[^}]*})? ([0-9.eE+-]+)$", Pattern.MULTILINE);
        Matcher m = p.matcher(r.body());
        double sum = 0;
        boolean found = false;
        while (m.find()) {
            String labels = m.group(1) == null ? "" : m.group(1);
            if (labels.contains(labelFilter)) {
                sum += Double.parseDouble(m.group(2));
                found = true;
            }
        }
        if (!found) {
            throw new IllegalStateException("no metric " + name + " " + labelFilter);
        }
        return sum;
    }

    /** Heap in use now, from the JVM's own meters. */
    public double heapUsedBytes() throws IOException, InterruptedException {
        return metric("jvm_memory_used_bytes", "area=\"heap\"");
    }

    public String log() {
        try {
            String text = Files.readString(log);
            return text.length() > 20_000 ? text.substring(text.length() - 20_000) : text;
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(15, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(5, TimeUnit.SECONDS);
        }
    }
}
