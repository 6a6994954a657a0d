package ai.hoody.tunnel.driver;

import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The library in a JVM whose class path holds only what the library's pom promises — the compiled classes and
 * Jackson, no Quarkus, no Vert.x, no Netty — against this test's kit: it opens a tunnel, serves raw connections, and
 * {@link Tunnel#serveHttp} fails with a message naming the dependency to add. (The example project under examples/
 * does the same with the built jar and Netty, from Maven.)
 */
@QuarkusTest
class LibraryClassPathTest {

    @TestHTTPResource("/")
    URI kit;

    /** Run in the child JVM. */
    public static void main(String[] args) throws Exception {
        for (String absent : List.of("io.quarkus.runtime.Quarkus", "io.vertx.core.Vertx", "io.netty.buffer.ByteBuf")) {
            try {
                Class.forName(absent);
                throw new AssertionError(absent + " is on the class path");
            } catch (ClassNotFoundException expected) {
                // good
            }
        }
        try (Tunnel tunnel = Tunnel.open(TunnelOptions.kit(args[0]).noProxy())) {
            Binding b = tunnel.serve(0, (in, out) -> out.write(in.readAllBytes()), BindOption.loopback());
            try (Socket s = new Socket("127.0.0.1", b.port())) {
                s.getOutputStream().write("raw bytes".getBytes(StandardCharsets.UTF_8));
                s.shutdownOutput();
                System.out.println("served: " + new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            }
            try {
                tunnel.serveHttp(0, request -> HttpHandler.Response.of(204), BindOption.loopback());
                System.out.println("serveHttp worked without Netty?");
            } catch (IllegalStateException e) {
                System.out.println("serveHttp: " + e.getMessage());
            }
        }
    }

    @Test
    void theLibraryRunsWithJacksonAloneAndSaysWhatServeHttpNeeds() throws Exception {
        List<String> path = new ArrayList<>(List.of(Path.of("target/classes").toAbsolutePath().toString(),
                Path.of("target/test-classes").toAbsolutePath().toString()));
        Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(e -> e.contains("com/fasterxml/jackson/core/")) // jackson-core, -databind, -annotations
                .forEach(path::add);
        assertThat(path).hasSize(5);
        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", String.join(File.pathSeparator, path), LibraryClassPathTest.class.getName(), kit.toString())
                .redirectErrorStream(true).start();
        String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(child.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(child.exitValue()).as(out).isZero();
        assertThat(out).contains("served: raw bytes")
                .contains("serveHttp: serveHttp needs Netty's HTTP codec on the class path: add the dependency io.netty:netty-codec-http");
    }
}
