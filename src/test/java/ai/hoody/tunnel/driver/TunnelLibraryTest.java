package ai.hoody.tunnel.driver;

import ai.hoody.tunnel.protocol.BindErrorCode;
import ai.hoody.tunnel.protocol.BindMode;
import ai.hoody.tunnel.support.CuttableRelay;
import ai.hoody.tunnel.support.EventQueue;
import ai.hoody.tunnel.support.LaptopHttpServer;
import ai.hoody.tunnel.support.LaptopTcpServer;
import ai.hoody.tunnel.support.Ports;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The library's API end to end against a real kit: {@link Tunnel#expose} of a real local HTTP server, {@link Tunnel#pull}
 * of a real TCP service, {@link Tunnel#serve} of a raw handler, what {@link Tunnel#close()} and {@link Binding#close()}
 * free, and the events of a takeover and of a reconnect. No proxy from the environment applies ({@code noProxy()}).
 */
@QuarkusTest
class TunnelLibraryTest {

    @TestHTTPResource("/")
    URI kit;

    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();

    private TunnelOptions options() {
        return TunnelOptions.kit(kit.toString()).noProxy();
    }

    private HttpResponse<String> get(int port, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(15)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static boolean refuses(int port) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            return false;
        } catch (ConnectException e) {
            return true;
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static String exchange(int port, String send) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.getOutputStream().write(send.getBytes(StandardCharsets.UTF_8));
            s.shutdownOutput();
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void exposesARealLocalServer() throws Exception {
        int exposed = Ports.free();
        EventQueue events = new EventQueue();
        try (LaptopHttpServer web = new LaptopHttpServer("laptop-web");
             Tunnel tunnel = Tunnel.open(options().listener(events))) {
            assertThat(events.await(TunnelEvent.Connected.class).sessionId()).isEqualTo(tunnel.sessionId()).startsWith("ses_");
            Binding b = tunnel.expose("127.0.0.1:" + web.port(), exposed);
            assertThat(b.state()).isEqualTo(Binding.State.BOUND);
            assertThat(b.port()).isEqualTo(exposed);
            assertThat(b.bindId()).isPositive();
            assertThat(b.mode()).isEqualTo(BindMode.EXPOSE);
            assertThat(b.publicUrl()).isNull(); // no public-url-pattern in tests
            assertThat(b.target()).isEqualTo("127.0.0.1:" + web.port());
            TunnelEvent.Bound bound = events.await(TunnelEvent.Bound.class);
            assertThat(bound.binding()).isSameAs(b);
            assertThat(bound.bindId()).isEqualTo(b.bindId());

            HttpResponse<String> r = get(exposed, "/whoami");
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("laptop-web");
        }
    }

    @Test
    void pullsARealTcpServiceOntoAPortTheKitPicks() throws Exception {
        try (LaptopTcpServer echo = new LaptopTcpServer(LaptopTcpServer.ECHO);
             Tunnel tunnel = Tunnel.open(options())) {
            Binding b = tunnel.pull("127.0.0.1:" + echo.port(), 0);
            assertThat(b.mode()).isEqualTo(BindMode.PULL);
            assertThat(b.port()).isPositive();
            assertThat(b.host()).isEqualTo("127.0.0.1");
            assertThat(exchange(b.port(), "ping through the pull")).isEqualTo("ping through the pull");
        }
    }

    @Test
    void servesRawConnectionsWithAnInProcessHandlerOnTheLoopback() throws Exception {
        try (Tunnel tunnel = Tunnel.open(options())) {
            Binding b = tunnel.serve(0, (in, out) -> {
                String got = new String(in.readAllBytes(), StandardCharsets.UTF_8); // to the visitor's half-close
                out.write(got.toUpperCase(Locale.ROOT).getBytes(StandardCharsets.UTF_8));
            }, BindOption.loopback());
            assertThat(b.mode()).isEqualTo(BindMode.PULL);
            assertThat(b.target()).isEqualTo("an in-process handler");
            assertThat(exchange(b.port(), "shout this")).isEqualTo("SHOUT THIS");
            // Twenty connections at once, each on its own virtual thread:
            var calls = new java.util.ArrayList<java.util.concurrent.Future<String>>();
            try (var pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
                for (int i = 0; i < 20; i++) {
                    int n = i;
                    calls.add(pool.submit(() -> exchange(b.port(), "call " + n)));
                }
                for (int i = 0; i < 20; i++) {
                    assertThat(calls.get(i).get()).isEqualTo("CALL " + i);
                }
            }
        }
    }

    @Test
    void aHandlerThatThrowsResetsTheConnectionAndIsReported() throws Exception {
        EventQueue events = new EventQueue();
        try (Tunnel tunnel = Tunnel.open(options().listener(events))) {
            Binding b = tunnel.serve(0, (in, out) -> {
                throw new IllegalStateException("the handler broke");
            }, BindOption.loopback());
            try (Socket s = new Socket("127.0.0.1", b.port())) {
                assertThatThrownBy(() -> {
                    InputStream in = s.getInputStream();
                    if (in.read() >= 0) {
                        throw new AssertionError("bytes from a failed handler");
                    }
                    throw new IOException("clean EOF instead of a reset");
                }).isInstanceOf(IOException.class).hasMessageContaining("reset");
            }
            assertThat(events.await(TunnelEvent.Warning.class).message()).contains("the handler broke");
        }
    }

    @Test
    void closeSaysGoawaySoTheKitFreesEveryPortAtOnce() throws Exception {
        int exposed = Ports.free();
        Tunnel tunnel = Tunnel.open(options());
        try (LaptopHttpServer web = new LaptopHttpServer()) {
            tunnel.expose("127.0.0.1:" + web.port(), exposed);
            Binding pulled = tunnel.serve(0, (in, out) -> out.write('x'), BindOption.loopback());
            assertThat(refuses(exposed)).isFalse();
            assertThat(refuses(pulled.port())).isFalse();
            tunnel.close();
            // No wait: the GOAWAY went out and the kit closed its listeners before answering the close.
            assertThat(refuses(exposed)).isTrue();
            assertThat(refuses(pulled.port())).isTrue();
            assertThat(tunnel.isOpen()).isFalse();
            assertThat(tunnel.awaitClosed().why()).isEqualTo(TunnelEvent.Why.CLOSED);
            assertThat(pulled.state()).isEqualTo(Binding.State.CLOSED);
            assertThatThrownBy(() -> tunnel.expose(3000)).isInstanceOf(TunnelException.class).hasMessageContaining("closed");
        }
    }

    @Test
    void closingABindingFreesItsPortAndKeepsTheOthers() throws Exception {
        try (Tunnel tunnel = Tunnel.open(options())) {
            EventQueue events = new EventQueue();
            Binding first = tunnel.serve(0, (in, out) -> out.write('1'), BindOption.loopback());
            Binding second = tunnel.serve(0, (in, out) -> out.write('2'), BindOption.loopback());
            first.addListener(events);
            first.close();
            assertThat(refuses(first.port())).isTrue(); // at once: close() waited for the kit's BIND_REVOKED
            assertThat(first.state()).isEqualTo(Binding.State.CLOSED);
            assertThat(events.await(TunnelEvent.Revoked.class).reason()).isEqualTo("UNBOUND");
            assertThat(exchange(second.port(), "")).isEqualTo("2");
            assertThat(tunnel.bindings()).containsExactly(second);
        }
    }

    @Test
    void aRefusedBindIsAnExceptionWithTheKitsCode() throws Exception {
        EventQueue events = new EventQueue();
        try (Tunnel tunnel = Tunnel.open(options().listener(events))) {
            assertThatThrownBy(() -> tunnel.expose("127.0.0.1:1", kit.getPort())) // the kit's own port
                    .isInstanceOfSatisfying(BindRefusedException.class, e -> {
                        assertThat(e.code()).isEqualTo(BindErrorCode.RESERVED_PORT);
                        assertThat(e.port()).isEqualTo(kit.getPort());
                    });
            assertThat(events.await(TunnelEvent.BindRefused.class).code()).isEqualTo(BindErrorCode.RESERVED_PORT);
            assertThat(tunnel.bindings()).isEmpty();
            assertThat(tunnel.isOpen()).isTrue(); // a refusal ends the binding, not the tunnel
        }
    }

    @Test
    void optionsThatDoNotFitTheCallAreRefusedBeforeAnyBind() throws Exception {
        try (Tunnel tunnel = Tunnel.open(options())) {
            assertThatThrownBy(() -> tunnel.pull(6379, BindOption.takeover())).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("takeover is for expose");
            assertThatThrownBy(() -> tunnel.expose(3000, BindOption.loopback())).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("use pull");
            assertThatThrownBy(() -> tunnel.expose("nope", 3000)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("PORT or HOST:PORT");
        }
    }

    @Test
    void openingAKitNobodyRunsFailsWithTheReason() {
        int nobody = Ports.free();
        EventQueue events = new EventQueue();
        assertThatThrownBy(() -> Tunnel.open(TunnelOptions.kit("http://127.0.0.1:" + nobody).noProxy().listener(events)))
                .isInstanceOf(TunnelException.class).hasMessageContaining("connection refused");
        assertThat(events.names()).containsExactly("error", "closed");
        assertThat(((TunnelEvent.Closed) events.all().get(1)).why()).isEqualTo(TunnelEvent.Why.UNREACHABLE);
    }

    @Test
    void aTakeoverTellsTheOldHolderAndVisitorsReachTheNewOne() throws Exception {
        int exposed = Ports.free();
        try (LaptopHttpServer oldWeb = new LaptopHttpServer("old");
             LaptopHttpServer newWeb = new LaptopHttpServer("new");
             Tunnel oldTunnel = Tunnel.open(options());
             Tunnel newTunnel = Tunnel.open(options())) {
            Binding old = oldTunnel.expose("127.0.0.1:" + oldWeb.port(), exposed);
            EventQueue oldEvents = new EventQueue();
            old.addListener(oldEvents);
            assertThat(get(exposed, "/whoami").body()).isEqualTo("old");

            assertThatThrownBy(() -> newTunnel.expose("127.0.0.1:" + newWeb.port(), exposed))
                    .isInstanceOfSatisfying(BindRefusedException.class, e -> assertThat(e.code()).isEqualTo(BindErrorCode.ALREADY_BOUND));
            Binding taken = newTunnel.expose("127.0.0.1:" + newWeb.port(), exposed, BindOption.takeover());

            TunnelEvent.Revoked revoked = oldEvents.await(TunnelEvent.Revoked.class);
            assertThat(revoked.reason()).isEqualTo("TAKEOVER");
            assertThat(revoked.binding()).isSameAs(old);
            assertThat(old.state()).isEqualTo(Binding.State.REVOKED);
            assertThat(taken.isBound()).isTrue();
            // A new connection (the client's pooled one was the old driver's, which the takeover drain lets finish):
            HttpClient fresh = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            assertThat(fresh.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + exposed + "/whoami")).build(),
                    HttpResponse.BodyHandlers.ofString()).body()).isEqualTo("new");
        }
    }

    @Test
    void aDroppedSocketIsToldAndTheSessionResumesWithItsPorts() throws Exception {
        int exposed = Ports.free();
        EventQueue events = new EventQueue();
        try (CuttableRelay relay = new CuttableRelay(kit.getPort());
             LaptopHttpServer web = new LaptopHttpServer("resumed");
             Tunnel tunnel = Tunnel.open(TunnelOptions.kit("http://127.0.0.1:" + relay.port()).noProxy())) {
            Binding b = tunnel.expose("127.0.0.1:" + web.port(), exposed);
            b.addListener(events);
            String session = tunnel.sessionId();
            int bindId = b.bindId();

            relay.cut();
            events.await(TunnelEvent.Disconnected.class);
            assertThat(events.await(TunnelEvent.Reconnecting.class).attempt()).isEqualTo(1);
            assertThat(events.await(TunnelEvent.Resumed.class).sessionId()).isEqualTo(session);

            assertThat(tunnel.sessionId()).isEqualTo(session);
            assertThat(b.bindId()).isEqualTo(bindId);
            assertThat(b.isBound()).isTrue();
            assertThat(get(exposed, "/whoami").body()).isEqualTo("resumed");
        }
    }

    @Test
    void withoutReconnectsALostSocketEndsTheTunnel() throws Exception {
        try (CuttableRelay relay = new CuttableRelay(kit.getPort());
             Tunnel tunnel = Tunnel.open(TunnelOptions.kit("http://127.0.0.1:" + relay.port()).noProxy()
                     .reconnect(ReconnectPolicy.never()))) {
            Binding b = tunnel.serve(0, (in, out) -> out.write('x'), BindOption.loopback());
            relay.cut();
            TunnelEvent.Closed end = tunnel.awaitClosed(15_000);
            assertThat(end).isNotNull();
            assertThat(end.why()).isEqualTo(TunnelEvent.Why.GAVE_UP);
            assertThat(b.state()).isEqualTo(Binding.State.CLOSED);
        }
    }

    @Test
    void servesHttpFromALambdaInAFewLines() throws Exception {
        try (Tunnel tunnel = Tunnel.open(options())) {
            Binding web = tunnel.serveHttp(0, request -> HttpHandler.Response.text(200, "hello from Java\n"),
                    BindOption.loopback());
            assertThat(get(web.port(), "/").body()).isEqualTo("hello from Java\n");
        }
    }
}
