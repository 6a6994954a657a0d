package ai.hoody.tunnel.driver;

import ai.hoody.tunnel.mux.FrameWriter;
import ai.hoody.tunnel.mux.MemoryAccount;
import ai.hoody.tunnel.protocol.Protocol;
import ai.hoody.tunnel.support.Tinyproxy;
import org.junit.jupiter.api.Test;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code wss://} through a real proxy (tinyproxy): TLS runs inside the CONNECT tunnel, end to end with the kit, so the
 * certificate is checked against the kit's host name and trust store exactly as without a proxy. The "kit" is a TLS
 * server answering the WebSocket upgrade, with a certificate for {@code localhost} made by keytool.
 */
class ProxyTlsTest {

    static final Duration TIMEOUT = Duration.ofSeconds(10);

    private record TlsServer(SSLServerSocket socket, SSLSocketFactory trustingClient) {
    }

    private static TlsServer tlsServer() throws Exception {
        Path store = Files.createTempDirectory("proxy-tls").resolve("kit.p12");
        Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair", "-alias", "kit", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=localhost",
                "-ext", "SAN=dns:localhost", "-validity", "2", "-storetype", "PKCS12", "-keystore", store.toString(),
                "-storepass", "secret", "-keypass", "secret").redirectErrorStream(true).start();
        String out = new String(keytool.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(keytool.waitFor()).as(out).isZero();
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (var in = Files.newInputStream(store)) {
            ks.load(in, "secret".toCharArray());
        }
        var kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, "secret".toCharArray());
        var server = SSLContext.getInstance("TLS");
        server.init(kmf.getKeyManagers(), null, null);
        var tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        var client = SSLContext.getInstance("TLS");
        client.init(null, tmf.getTrustManagers(), null);
        return new TlsServer((SSLServerSocket) server.getServerSocketFactory().createServerSocket(0, 50, InetAddress.getLoopbackAddress()),
                client.getSocketFactory());
    }

    /** Answers one upgrade correctly, then sends one text message; returns the TLS protocol the client spoke. */
    private static CompletableFuture<String> answerOne(SSLServerSocket listening) {
        CompletableFuture<String> protocol = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try (Socket s = listening.accept()) {
                DataInputStream in = new DataInputStream(s.getInputStream());
                ByteArrayOutputStream head = new ByteArrayOutputStream();
                while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
                    head.write(in.readUnsignedByte());
                }
                String key = head.toString(StandardCharsets.US_ASCII).lines().filter(l -> l.startsWith("Sec-WebSocket-Key: "))
                        .findFirst().orElseThrow().substring(19);
                s.getOutputStream().write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        + "Sec-WebSocket-Accept: " + WebSocketClient.expectedAccept(key) + "\r\n"
                        + "Sec-WebSocket-Protocol: " + Protocol.SUBPROTOCOL_V1 + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                byte[] text = "{\"type\":\"PONG\",\"ts\":7}".getBytes(StandardCharsets.UTF_8);
                s.getOutputStream().write(0x81);
                s.getOutputStream().write(text.length);
                s.getOutputStream().write(text);
                s.getOutputStream().flush();
                protocol.complete(((SSLSocket) s).getSession().getProtocol());
                in.read(); // until the client goes
            } catch (IOException e) {
                protocol.completeExceptionally(e);
            }
        });
        return protocol;
    }

    @Test
    void wssThroughTheProxyChecksTheKitsCertificateAndName() throws Exception {
        TlsServer tls = tlsServer();
        try (var listening = tls.socket(); Tinyproxy tinyproxy = Tinyproxy.start(tls.socket().getLocalPort())) {
            int port = listening.getLocalPort();
            HttpProxy proxy = HttpProxy.parse(tinyproxy.url(), "test");

            CompletableFuture<String> spoken = answerOne(listening);
            CompletableFuture<String> received = new CompletableFuture<>();
            WebSocketClient c = WebSocketClient.connect(URI.create("wss://localhost:" + port + Protocol.CONNECT_PATH), TIMEOUT,
                    tls.trustingClient(), proxy);
            c.start(new WebSocketClient.Receiver() {
                @Override
                public void onText(String text) {
                    received.complete(text);
                }

                @Override
                public void onBinary(ByteBuffer frame) {
                }

                @Override
                public void onCloseFrame(int code, String reason) {
                }

                @Override
                public void onViolation(int code, String reason) {
                }

                @Override
                public void onClosed(int code, String reason) {
                }
            }, new FrameWriter("test", c, FrameWriter.Limits.DEFAULT, MemoryAccount.UNLIMITED, c::abort));
            assertThat(spoken.get(10, TimeUnit.SECONDS)).startsWith("TLSv1.");
            assertThat(received.get(10, TimeUnit.SECONDS)).isEqualTo("{\"type\":\"PONG\",\"ts\":7}");
            assertThat(tinyproxy.connects("localhost:" + port)).isEqualTo(1);
            c.abort("done");

            // The certificate names localhost, not 127.0.0.1: refused inside the tunnel as it would be directly.
            Thread.ofVirtual().start(() -> handshakeOnce(listening));
            assertThatThrownBy(() -> WebSocketClient.connect(URI.create("wss://127.0.0.1:" + port + "/"), TIMEOUT,
                    tls.trustingClient(), proxy)).hasMessageContaining("TLS failed");
            // Not in the JDK's trust store: refused too.
            Thread.ofVirtual().start(() -> handshakeOnce(listening));
            assertThatThrownBy(() -> WebSocketClient.connect(URI.create("wss://localhost:" + port + "/"), TIMEOUT, null, proxy))
                    .hasMessageContaining("TLS failed");
            assertThat(tinyproxy.connects("127.0.0.1:" + port) + tinyproxy.connects("localhost:" + port)).isEqualTo(3);
        }
    }

    private static void handshakeOnce(SSLServerSocket listening) {
        try (Socket c = listening.accept()) {
            ((SSLSocket) c).startHandshake();
        } catch (IOException expected) {
            // the client gives up during the handshake
        }
    }
}
