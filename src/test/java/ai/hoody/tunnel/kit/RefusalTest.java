package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.driver.BindSpec;
import ai.hoody.tunnel.protocol.BindMode;
import ai.hoody.tunnel.protocol.ControlMessage;
import ai.hoody.tunnel.protocol.Frame;
import ai.hoody.tunnel.protocol.FrameCodec;
import ai.hoody.tunnel.protocol.ResetCode;
import ai.hoody.tunnel.support.Ports;
import ai.hoody.tunnel.support.RawDriver;
import ai.hoody.tunnel.support.TestDriver;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** When the kit cannot forward, visitors get a real HTTP answer (EXPOSE) or a prompt reset (PULL). */
@QuarkusTest
class RefusalTest {

    @TestHTTPResource("/")
    URI kit;

    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    private HttpResponse<String> get(int port) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/")).timeout(Duration.ofSeconds(20)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void anUnreachableLaptopServiceGives502() throws Exception {
        int nothingListens = Ports.free();
        int exposed = Ports.free();
        try (TestDriver d = TestDriver.start(kit, BindSpec.parseTarget(BindMode.EXPOSE, Integer.toString(nothingListens), exposed, null, false))) {
            d.await("bind_ok");
            HttpResponse<String> r = get(exposed);
            assertThat(r.statusCode()).isEqualTo(502);
            assertThat(r.headers().firstValue("Content-Type")).hasValue("application/json");
            assertThat(r.body()).contains("\"error\":\"Bad Gateway\"").contains("could not reach");
        }
    }

    @Test
    void aDriverThatNeverAnswersOpenGives504AndAStreamCapGives503() throws Exception {
        int exposed = Ports.free();
        try (RawDriver d = RawDriver.connect(kit)) {
            d.hello(1); // a cap of one stream
            assertThat(d.bind("http", "expose", exposed, null, false)).isInstanceOf(ControlMessage.BindOk.class);
            var first = http.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + exposed + "/")).build(),
                    HttpResponse.BodyHandlers.ofString());
            Frame open = d.nextFrame(Duration.ofSeconds(5));
            assertThat(open).isInstanceOf(Frame.Open.class);

            long t0 = System.nanoTime();
            HttpResponse<String> second = get(exposed); // the only stream is taken by the first visitor
            assertThat(second.statusCode()).isEqualTo(503);
            assertThat(second.headers().firstValue("Retry-After")).isPresent();
            assertThat(second.body()).contains("cap of 1 streams");
            assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(1500);

            HttpResponse<String> timedOut = first.get(10, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(timedOut.statusCode()).isEqualTo(504); // open-timeout is 2 s under the test profile
            Frame reset = d.nextFrame(Duration.ofSeconds(5));
            assertThat(reset).isInstanceOf(Frame.Reset.class);
            assertThat(((Frame.Reset) reset).code()).isEqualTo(ResetCode.OPEN_TIMEOUT);
        }
    }

    @Test
    void aDriverThatSendsBeyondItsCreditIsResetWithFlowControlError() throws Exception {
        int exposed = Ports.free();
        try (RawDriver d = RawDriver.connect(kit)) {
            ControlMessage.HelloOk ok = d.hello(10);
            assertThat(d.bind("http", "expose", exposed, null, false)).isInstanceOf(ControlMessage.BindOk.class);
            try (Socket visitor = new Socket()) {
                visitor.setReceiveBufferSize(4096); // the visitor reads nothing: the kit can pass on very little
                visitor.connect(new java.net.InetSocketAddress("127.0.0.1", exposed));
                Frame.Open open = (Frame.Open) d.nextFrame(Duration.ofSeconds(5));
                d.sendFrame(FrameCodec.openOk(open.streamId()));
                byte[] chunk = new byte[FrameCodec.MAX_DATA_BYTES];
                // Far more than the window plus whatever the kit can hand to a visitor that does not read.
                int frames = 16 * ok.streamWindow() / chunk.length;
                for (int i = 0; i < frames; i++) {
                    d.sendFrame(FrameCodec.data(open.streamId(), chunk, 0, chunk.length));
                }
                Frame f;
                do {
                    f = d.nextFrame(Duration.ofSeconds(5));
                } while (f != null && !(f instanceof Frame.Reset));
                assertThat(f).isInstanceOf(Frame.Reset.class);
                assertThat(((Frame.Reset) f).code()).isEqualTo(ResetCode.FLOW_CONTROL_ERROR);
                // The visitor's connection is aborted, not left hanging, though the visitor never reads: the reset
                // must not wait for the kit's blocked write to it to return. The kit resets the visitor's socket before
                // it sends RESET on the tunnel, so its TCP reset is here already. One write tells a reset (fails at once)
                // from a clean close (the first write after a FIN succeeds); a read would first drain what was delivered.
                assertThatThrownBy(() -> visitor.getOutputStream().write('x'))
                        .isExactlyInstanceOf(SocketException.class).hasMessageContaining("Connection reset");
                assertThat(d.isClosed()).isFalse();
            }
        }
    }

    @Test
    void aPullClientWhoseTargetIsDownIsResetPromptly() throws Exception {
        int nothingListens = Ports.free();
        try (TestDriver d = TestDriver.start(kit, BindSpec.parseTarget(BindMode.PULL, Integer.toString(nothingListens), 0, null, false))) {
            int pulled = d.await("bind_ok").path("port").asInt();
            long t0 = System.nanoTime();
            try (Socket client = new Socket("127.0.0.1", pulled)) {
                client.setSoTimeout(5000);
                assertThatThrownBy(() -> {
                    // The reset can arrive before the client has even written: either call may see it.
                    client.getOutputStream().write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
                    int r = client.getInputStream().read();
                    if (r < 0) {
                        throw new AssertionError("clean EOF instead of a reset");
                    }
                }).isInstanceOf(SocketException.class).hasMessageContaining("reset");
            }
            assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(3000);
        }
    }
}
