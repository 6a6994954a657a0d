package ai.hoody.tunnel.support;

import org.junit.jupiter.api.Assumptions;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;

/**
 * Debian's tinyproxy (an HTTP CONNECT proxy) as a child process on a free port, configured from a temp file: CONNECT
 * allowed only to the given ports, optionally with basic authentication. Its log (one line per request) is kept, so a
 * test can tell whether a connection went through it.
 *
 * <p>Where tinyproxy is not installed the test is skipped, unless {@code HOODY_TUNNEL_REQUIRE_TINYPROXY} is set (CI's
 * {@code .ci/run} installs it and sets it, so that a missing proxy fails there instead of passing silently).
 */
public final class Tinyproxy implements AutoCloseable {

    private static final Path BINARY = Path.of("/usr/bin/tinyproxy");

    private final Process process;
    private final int port;
    private final List<String> log = new CopyOnWriteArrayList<>();

    private Tinyproxy(List<Integer> connectPorts, String user, String password) throws IOException {
        if (!Files.isExecutable(BINARY)) {
            String message = "tinyproxy is not installed (apt-get install -y tinyproxy)";
            if (System.getenv("HOODY_TUNNEL_REQUIRE_TINYPROXY") != null) {
                throw new IllegalStateException(message + ", and HOODY_TUNNEL_REQUIRE_TINYPROXY is set");
            }
            Assumptions.abort(message);
        }
        port = Ports.free();
        StringBuilder conf = new StringBuilder()
                .append("Port ").append(port).append('\n')
                .append("Listen 127.0.0.1\n")
                .append("Timeout 60\n")
                .append("MaxClients 100\n")
                .append("Allow 127.0.0.1\n")
                .append("LogLevel Connect\n");
        for (int p : connectPorts) {
            conf.append("ConnectPort ").append(p).append('\n');
        }
        if (user != null) {
            conf.append("BasicAuth ").append(user).append(' ').append(password).append('\n');
        }
        Path file = Files.createTempFile("tinyproxy", ".conf");
        Files.writeString(file, conf);
        process = new ProcessBuilder(BINARY.toString(), "-d", "-c", file.toString()).redirectErrorStream(true).start();
        Thread.ofVirtual().name("tinyproxy-log").start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    log.add(line);
                }
            } catch (IOException ignored) {
                // the process is gone
            }
        });
        await().atMost(10, TimeUnit.SECONDS).until(() -> {
            if (!process.isAlive()) {
                throw new IllegalStateException("tinyproxy exited with " + process.exitValue() + ": " + log);
            }
            try (Socket s = new Socket("127.0.0.1", port)) {
                return true;
            } catch (IOException e) {
                return false;
            }
        });
    }

    /** CONNECT to {@code connectPorts} only, no authentication. */
    public static Tinyproxy start(Integer... connectPorts) throws IOException {
        return new Tinyproxy(List.of(connectPorts), null, null);
    }

    /** CONNECT to {@code connectPorts} only, for {@code user}:{@code password} (basic authentication). */
    public static Tinyproxy withBasicAuth(String user, String password, Integer... connectPorts) throws IOException {
        return new Tinyproxy(List.of(connectPorts), user, password);
    }

    public int port() {
        return port;
    }

    public String url() {
        return "http://127.0.0.1:" + port;
    }

    /** How many CONNECT requests to {@code hostPort} it has logged. */
    public long connects(String hostPort) {
        return log.stream().filter(l -> l.contains("CONNECT " + hostPort + " ")).count();
    }

    public List<String> log() {
        return List.copyOf(log);
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }
}
