package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.protocol.BindErrorCode;
import ai.hoody.tunnel.protocol.ControlMessage;
import ai.hoody.tunnel.support.DriverProcess;
import ai.hoody.tunnel.support.LaptopHttpServer;
import ai.hoody.tunnel.support.Ports;
import ai.hoody.tunnel.support.RawDriver;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A kit serving HTTPS (as behind the platform, drivers reach it with {@code wss://}): a real driver process trusts
 * its certificate through the JDK's trust-store properties, the way README tells users to, and one that does not
 * trust it stops with a clear TLS error. The certificate is made with the JDK's keytool.
 */
@QuarkusTest
@TestProfile(WssEndToEndTest.Tls.class)
class WssEndToEndTest {

    static final String PASSWORD = "changeit";
    static final Path KEYSTORE = keystore();

    /** A self-signed certificate for localhost and 127.0.0.1, valid two days. */
    private static Path keystore() {
        try {
            Path store = Files.createTempDirectory("kit-tls").resolve("kit.p12");
            Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                    "-genkeypair", "-alias", "kit", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=localhost",
                    "-ext", "SAN=dns:localhost,ip:127.0.0.1", "-validity", "2", "-storetype", "PKCS12",
                    "-keystore", store.toString(), "-storepass", PASSWORD, "-keypass", PASSWORD).redirectErrorStream(true).start();
            String out = new String(keytool.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (keytool.waitFor() != 0) {
                throw new IllegalStateException("keytool failed: " + out);
            }
            return store;
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    public static class Tls implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("quarkus.tls.key-store.p12.path", KEYSTORE.toString(),
                    "quarkus.tls.key-store.p12.password", PASSWORD,
                    "quarkus.http.test-ssl-port", "0");
        }
    }

    @TestHTTPResource(value = "/", tls = true)
    URI kitTls;

    @TestHTTPResource("/")
    URI kitPlain;

    private List<String> trusting() {
        return List.of("-Djavax.net.ssl.trustStore=" + KEYSTORE, "-Djavax.net.ssl.trustStorePassword=" + PASSWORD);
    }

    @Test
    void aDriverExposesThroughWssWhenItTrustsTheKitsCertificate() throws Exception {
        assertThat(kitTls.getScheme()).isEqualTo("https");
        int exposed = Ports.free();
        String kitUrl = "https://localhost:" + kitTls.getPort();
        try (LaptopHttpServer web = new LaptopHttpServer("web");
             DriverProcess d = DriverProcess.startWithJvmOptions(trusting(), "expose", "127.0.0.1:" + web.port(),
                     "--port", Integer.toString(exposed), "--kit", kitUrl)) {
            assertThat(d.await("connected").path("kit").asText()).isEqualTo("wss://localhost:" + kitTls.getPort() + "/api/v1/tunnel/connect");
            d.await("bind_ok");
            HttpResponse<String> r = HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + exposed + "/whoami")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("web");
            assertThat(d.terminate()).isEqualTo(143); // SIGTERM, after a clean GOAWAY (README: exit codes)
        }
    }

    @Test
    void aDriverThatDoesNotTrustTheCertificateStopsWithATlsError() throws Exception {
        try (DriverProcess d = DriverProcess.start("expose", "3000", "--port", Integer.toString(Ports.free()),
                "--kit", "https://localhost:" + kitTls.getPort())) {
            assertThat(d.await("error").path("message").asText()).contains("TLS failed");
            assertThat(d.awaitExit()).isEqualTo(1);
        }
    }

    @Test
    void theHttpsPortIsTheKitsOwn() throws Exception {
        try (RawDriver d = RawDriver.connect(kitPlain)) {
            d.hello(10);
            ControlMessage m = d.bind("http", "expose", kitTls.getPort(), null, false);
            assertThat(m).isInstanceOf(ControlMessage.BindErr.class);
            assertThat(((ControlMessage.BindErr) m).code()).isEqualTo(BindErrorCode.RESERVED_PORT);
        }
    }
}
