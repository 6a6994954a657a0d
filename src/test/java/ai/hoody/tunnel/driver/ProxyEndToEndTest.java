package ai.hoody.tunnel.driver;

import ai.hoody.tunnel.support.DriverProcess;
import ai.hoody.tunnel.support.LaptopHttpServer;
import ai.hoody.tunnel.support.Ports;
import ai.hoody.tunnel.support.Tinyproxy;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The driver behind a real HTTP proxy (Debian's tinyproxy, CONNECT allowed to the kit's port only): the library with
 * an explicit proxy, with and without basic authentication, from the environment with {@code NO_PROXY}; the CLI with
 * {@code --proxy} and with {@code HTTP_PROXY} / {@code NO_PROXY} in its environment.
 */
@QuarkusTest
class ProxyEndToEndTest {

    @TestHTTPResource("/")
    URI kit;

    private String kitHostPort() {
        return "127.0.0.1:" + kit.getPort();
    }

    /** The kit by address: NO_PROXY is checked against the host as written. */
    private String kitUrl() {
        return "http://" + kitHostPort();
    }

    private TunnelOptions options() {
        return TunnelOptions.kit(kitUrl());
    }

    private static String whoami(int port) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/whoami")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    /** An address where nothing listens: a proxy there can only fail. */
    private static String deadProxy() {
        return "http://127.0.0.1:" + Ports.free();
    }

    @Test
    void theLibraryExposesThroughAProxy() throws Exception {
        int exposed = Ports.free();
        try (Tinyproxy proxy = Tinyproxy.start(kit.getPort());
             LaptopHttpServer web = new LaptopHttpServer("via-proxy");
             Tunnel tunnel = Tunnel.open(options().proxy(proxy.url()))) {
            tunnel.expose("127.0.0.1:" + web.port(), exposed);
            assertThat(whoami(exposed)).isEqualTo("via-proxy");
            assertThat(proxy.connects(kitHostPort())).isEqualTo(1);
        }
    }

    @Test
    void basicAuthIsSentAndItsAbsenceOrAWrongPasswordIsAClearError() throws Exception {
        int exposed = Ports.free();
        try (Tinyproxy proxy = Tinyproxy.withBasicAuth("alice", "s3cret", kit.getPort());
             LaptopHttpServer web = new LaptopHttpServer("authenticated")) {
            String base = "127.0.0.1:" + proxy.port();
            try (Tunnel tunnel = Tunnel.open(options().proxy("http://alice:s3cret@" + base))) {
                tunnel.expose("127.0.0.1:" + web.port(), exposed);
                assertThat(whoami(exposed)).isEqualTo("authenticated");
            }
            assertThatThrownBy(() -> Tunnel.open(options().proxy("http://" + base)))
                    .isInstanceOf(TunnelException.class)
                    .hasMessageContaining("refused CONNECT " + kitHostPort() + ": HTTP 407")
                    .hasMessageContaining("give credentials in the proxy URL");
            assertThatThrownBy(() -> Tunnel.open(options().proxy("http://alice:wrong@" + base)))
                    .isInstanceOf(TunnelException.class)
                    .hasMessageContaining("refused CONNECT " + kitHostPort() + ": HTTP 40") // tinyproxy says 401 here
                    .hasMessageContaining("refused the credentials of user alice")
                    .hasMessageNotContaining("wrong");
        }
    }

    @Test
    void aProxyThatForbidsThePortOrIsNotRunningIsNamedInTheError() throws Exception {
        try (Tinyproxy proxy = Tinyproxy.start(kit.getPort() + 1)) {
            assertThatThrownBy(() -> Tunnel.open(options().proxy(proxy.url())))
                    .hasMessageContaining("cannot connect to the kit at ws://" + kitHostPort())
                    .hasMessageContaining("the proxy " + proxy.url() + " refused CONNECT " + kitHostPort() + ": HTTP 403");
        }
        String dead = deadProxy();
        assertThatThrownBy(() -> Tunnel.open(options().proxy(dead)))
                .hasMessageContaining("the proxy " + dead + " refused the connection");
    }

    @Test
    void theEnvironmentsProxyIsUsedAndNoProxyIsHonoured() throws Exception {
        try (Tinyproxy proxy = Tinyproxy.start(kit.getPort())) {
            try (Tunnel tunnel = Tunnel.open(options().environment(Map.of("HTTP_PROXY", proxy.url())))) {
                assertThat(tunnel.sessionId()).startsWith("ses_");
                assertThat(proxy.connects(kitHostPort())).isEqualTo(1);
            }
            // ws:// reads http_proxy: an https_proxy alone does not apply.
            try (Tunnel tunnel = Tunnel.open(options().environment(Map.of("https_proxy", deadProxy())))) {
                assertThat(tunnel.isOpen()).isTrue();
            }
        }
        String dead = deadProxy();
        assertThatThrownBy(() -> Tunnel.open(options().environment(Map.of("http_proxy", dead))))
                .hasMessageContaining("the proxy " + dead + " refused the connection");
        try (Tunnel tunnel = Tunnel.open(options().environment(Map.of("http_proxy", dead, "no_proxy", "localhost,127.0.0.1")))) {
            assertThat(tunnel.isOpen()).isTrue(); // straight to the kit: the dead proxy was never tried
        }
        try (Tunnel tunnel = Tunnel.open(options().proxy(dead).environment(Map.of("NO_PROXY", "127.0.0.0/8")))) {
            assertThat(tunnel.isOpen()).isTrue(); // NO_PROXY applies to an explicit proxy too, as in curl
        }
    }

    @Test
    void theCliReadsHttpProxyAndNoProxyFromItsEnvironmentAndTakesProxy() throws Exception {
        try (Tinyproxy proxy = Tinyproxy.withBasicAuth("bob", "passw0rd", kit.getPort());
             LaptopHttpServer web = new LaptopHttpServer("cli")) {
            int first = Ports.free();
            try (DriverProcess d = DriverProcess.startWithEnvironment(
                    Map.of("HTTP_PROXY", "http://bob:%70assw0rd@127.0.0.1:" + proxy.port(), "NO_PROXY", "example.org"),
                    "expose", "127.0.0.1:" + web.port(), "--port", Integer.toString(first), "--kit", kitUrl())) {
                d.await("bind_ok");
                assertThat(whoami(first)).isEqualTo("cli");
                assertThat(proxy.connects(kitHostPort())).isEqualTo(1);
            }
            int second = Ports.free();
            try (DriverProcess d = DriverProcess.startWithEnvironment(Map.of("HTTP_PROXY", deadProxy()),
                    "expose", "127.0.0.1:" + web.port(), "--port", Integer.toString(second), "--kit", kitUrl(),
                    "--proxy", "http://bob:%70assw0rd@127.0.0.1:" + proxy.port())) { // the flag wins over the environment
                d.await("bind_ok");
                assertThat(proxy.connects(kitHostPort())).isEqualTo(2);
            }
            try (DriverProcess d = DriverProcess.startWithEnvironment(Map.of("HTTP_PROXY", deadProxy(), "NO_PROXY", "127.0.0.1"),
                    "expose", "127.0.0.1:" + web.port(), "--port", Integer.toString(Ports.free()), "--kit", kitUrl())) {
                d.await("bind_ok");
                assertThat(proxy.connects(kitHostPort())).isEqualTo(2);
            }
            try (DriverProcess d = DriverProcess.start("expose", "3000", "--kit", kitUrl(), "--proxy", "socks5://p:1080")) {
                assertThat(d.awaitExit()).isEqualTo(2);
            }
        }
    }
}
