package ai.hoody.tunnel.driver;

import ai.hoody.tunnel.mux.FrameWriter;
import ai.hoody.tunnel.mux.MemoryAccount;
import ai.hoody.tunnel.protocol.Protocol;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The driver's RFC 6455 client against a hand-written server on a real socket, for what the kit never does on its own:
 * fragmented messages, pings, bad handshakes, oversized messages, protocol violations. (Every test that runs a driver
 * against a kit exercises the ordinary path.)
 */
@Timeout(30)
class WebSocketClientTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(5);

    private final ServerSocket server;
    private final BlockingQueue<Object> received = new LinkedBlockingQueue<>();
    /** The client under test and the writer its messages go through (as the driver's connection has one). */
    private volatile FrameWriter writer;
    private final WebSocketClient.Receiver receiver = new WebSocketClient.Receiver() {
        @Override
        public void onText(String text) {
            received.add(text);
        }

        @Override
        public void onBinary(ByteBuffer frame) {
            byte[] b = new byte[frame.remaining()];
            frame.get(b);
            received.add(b);
        }

        @Override
        public void onCloseFrame(int code, String reason) {
            writer.close(code == 1005 ? 1000 : code, "");
        }

        @Override
        public void onViolation(int code, String reason) {
            writer.close(code, reason);
        }

        @Override
        public void onClosed(int code, String reason) {
            received.add(new Closed(code, reason));
            writer.stop();
        }
    };

    /** Starts reading, with a writer of its own in front of the client. */
    private WebSocketClient started(WebSocketClient c) {
        writer = new FrameWriter("test", c, FrameWriter.Limits.DEFAULT, MemoryAccount.UNLIMITED, why -> c.abort(why));
        c.start(receiver, writer);
        return c;
    }

    record Closed(int code, String reason) {
    }

    /** One client frame as the server read it, unmasked. */
    record ClientFrame(boolean fin, int opcode, byte[] payload) {
    }

    WebSocketClientTest() throws IOException {
        server = new ServerSocket(0);
    }

    @AfterEach
    void close() throws IOException {
        server.close();
    }

    private URI uri() {
        return URI.create("ws://127.0.0.1:" + server.getLocalPort() + Protocol.CONNECT_PATH);
    }

    /** Accepts the client and answers its upgrade correctly (or with {@code answer} when given). */
    private Socket accept(String answer) throws IOException {
        return answerUpgrade(server.accept(), answer);
    }

    private static Socket answerUpgrade(Socket s, String answer) throws IOException {
        DataInputStream in = new DataInputStream(s.getInputStream());
        String head = readHead(in);
        assertThat(head).startsWith("GET " + Protocol.CONNECT_PATH + " HTTP/1.1\r\n")
                .containsIgnoringCase("upgrade: websocket")
                .contains("Sec-WebSocket-Version: 13")
                .contains("Sec-WebSocket-Protocol: " + Protocol.SUBPROTOCOL_V1);
        String key = head.lines().filter(l -> l.startsWith("Sec-WebSocket-Key: ")).findFirst().orElseThrow().substring(19);
        String reply = answer != null ? answer : "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Accept: " + WebSocketClient.expectedAccept(key) + "\r\n"
                + "Sec-WebSocket-Protocol: " + Protocol.SUBPROTOCOL_V1 + "\r\n\r\n";
        s.getOutputStream().write(reply.getBytes(StandardCharsets.US_ASCII));
        return s;
    }

    private WebSocketClient connectWith(String answer, Socket[] serverSide) throws Exception {
        Thread t = Thread.ofVirtual().start(() -> {
            try {
                serverSide[0] = accept(answer);
            } catch (IOException e) {
                throw new AssertionError(e);
            }
        });
        try {
            return started(WebSocketClient.connect(uri(), TIMEOUT));
        } finally {
            t.join();
        }
    }

    private static String readHead(DataInputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
            head.write(in.readUnsignedByte());
        }
        return head.toString(StandardCharsets.US_ASCII);
    }

    private static void serverFrame(OutputStream out, boolean fin, int opcode, byte[] payload) throws IOException {
        ByteArrayOutputStream f = new ByteArrayOutputStream();
        f.write((fin ? 0x80 : 0) | opcode);
        if (payload.length < 126) {
            f.write(payload.length);
        } else if (payload.length < 65536) {
            f.write(126);
            f.write(payload.length >> 8);
            f.write(payload.length);
        } else {
            f.write(127);
            for (int i = 7; i >= 0; i--) {
                f.write((int) ((long) payload.length >>> (8 * i)));
            }
        }
        f.write(payload);
        out.write(f.toByteArray());
    }

    private static ClientFrame clientFrame(DataInputStream in) throws IOException {
        int b0 = in.readUnsignedByte();
        int b1 = in.readUnsignedByte();
        assertThat(b1 & 0x80).as("client frames are masked").isNotZero();
        long n = b1 & 0x7F;
        if (n == 126) {
            n = in.readUnsignedShort();
        } else if (n == 127) {
            n = in.readLong();
        }
        byte[] key = new byte[4];
        in.readFully(key);
        byte[] payload = new byte[(int) n];
        in.readFully(payload);
        for (int i = 0; i < payload.length; i++) {
            payload[i] ^= key[i & 3];
        }
        return new ClientFrame((b0 & 0x80) != 0, b0 & 0x0F, payload);
    }

    @Test
    void theAcceptKeyIsTheOneOfRfc6455() {
        assertThat(WebSocketClient.expectedAccept("dGhlIHNhbXBsZSBub25jZQ==")).isEqualTo("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 7, 8, 9, 125, 126, 127, 65_535, 65_536, 65_541})
    void masksEveryLengthAndEncodesItsLength(int length) throws IOException {
        byte[] payload = new byte[length];
        new Random(length).nextBytes(payload);
        byte[] frame = WebSocketClient.maskedFrame(0x2, payload, 0xA1B2C3D4);
        ClientFrame read = clientFrame(new DataInputStream(new java.io.ByteArrayInputStream(frame)));
        assertThat(read.fin()).isTrue();
        assertThat(read.opcode()).isEqualTo(0x2);
        assertThat(read.payload()).isEqualTo(payload);
        assertThat(frame).hasSize((length < 126 ? 2 : length < 65536 ? 4 : 10) + 4 + length);
    }

    @Test
    void deliversWholeMessagesIncludingFragmentedOnesAndAnswersPings() throws Exception {
        Socket[] s = new Socket[1];
        WebSocketClient t = connectWith(null, s);
        OutputStream out = s[0].getOutputStream();
        DataInputStream in = new DataInputStream(s[0].getInputStream());

        serverFrame(out, true, 0x1, "{\"type\":\"PING\",\"ts\":1}".getBytes(StandardCharsets.UTF_8));
        assertThat(received.poll(5, TimeUnit.SECONDS)).isEqualTo("{\"type\":\"PING\",\"ts\":1}");

        byte[] whole = new byte[70_000];
        new Random(7).nextBytes(whole);
        serverFrame(out, false, 0x2, Arrays.copyOfRange(whole, 0, 10));
        serverFrame(out, true, 0x9, "are you there".getBytes(StandardCharsets.US_ASCII)); // a ping between fragments
        serverFrame(out, false, 0x0, Arrays.copyOfRange(whole, 10, 40_000));
        serverFrame(out, true, 0x0, Arrays.copyOfRange(whole, 40_000, 70_000));
        ClientFrame pong = clientFrame(in);
        assertThat(pong.opcode()).isEqualTo(0xA);
        assertThat(new String(pong.payload(), StandardCharsets.US_ASCII)).isEqualTo("are you there");
        assertThat((byte[]) received.poll(5, TimeUnit.SECONDS)).isEqualTo(whole);

        serverFrame(out, false, 0x1, "{\"type\":".getBytes(StandardCharsets.UTF_8));
        serverFrame(out, true, 0x0, "\"PONG\",\"ts\":2}".getBytes(StandardCharsets.UTF_8));
        assertThat(received.poll(5, TimeUnit.SECONDS)).isEqualTo("{\"type\":\"PONG\",\"ts\":2}");

        writer.sendFrame(new byte[] {1, 2, 3});
        writer.sendControl("{\"type\":\"PONG\",\"ts\":3}");
        ClientFrame data = clientFrame(in);
        assertThat(data.opcode()).isEqualTo(0x2);
        assertThat(data.payload()).containsExactly(1, 2, 3);
        assertThat(new String(clientFrame(in).payload(), StandardCharsets.UTF_8)).isEqualTo("{\"type\":\"PONG\",\"ts\":3}");
        s[0].close();
        assertThat(received.poll(5, TimeUnit.SECONDS)).isInstanceOf(Closed.class).extracting(c -> ((Closed) c).code()).isEqualTo(1006);
    }

    @Test
    void aCloseFromTheKitIsEchoedAndReportedOnce() throws Exception {
        Socket[] s = new Socket[1];
        WebSocketClient t = connectWith(null, s);
        byte[] why = "bye".getBytes(StandardCharsets.UTF_8);
        byte[] payload = new byte[2 + why.length];
        payload[0] = (byte) (1008 >> 8);
        payload[1] = (byte) 1008;
        System.arraycopy(why, 0, payload, 2, why.length);
        serverFrame(s[0].getOutputStream(), true, 0x8, payload);
        ClientFrame echo = clientFrame(new DataInputStream(s[0].getInputStream()));
        assertThat(echo.opcode()).isEqualTo(0x8);
        assertThat(((echo.payload()[0] & 0xFF) << 8) | (echo.payload()[1] & 0xFF)).isEqualTo(1008);
        assertThat(received.poll(5, TimeUnit.SECONDS)).isEqualTo(new Closed(1008, "bye"));
        t.abort("test");
        writer.sendControl("{}"); // after the end: dropped, no second report
        assertThat(received.poll(300, TimeUnit.MILLISECONDS)).isNull();
    }

    @Test
    void theDriverStartsTheCloseHandshakeAndFinishesOnTheKitsAnswer() throws Exception {
        Socket[] s = new Socket[1];
        WebSocketClient t = connectWith(null, s);
        writer.close(1000, "driver stopping");
        writer.sendControl("{\"type\":\"PING\",\"ts\":1}"); // nothing may follow a close frame
        DataInputStream in = new DataInputStream(s[0].getInputStream());
        ClientFrame close = clientFrame(in);
        assertThat(close.opcode()).isEqualTo(0x8);
        assertThat(new String(close.payload(), 2, close.payload().length - 2, StandardCharsets.UTF_8)).isEqualTo("driver stopping");
        assertThat(received.poll(200, TimeUnit.MILLISECONDS)).as("still open until the kit answers").isNull();
        serverFrame(s[0].getOutputStream(), true, 0x8, new byte[] {0x03, (byte) 0xE8});
        assertThat(received.poll(5, TimeUnit.SECONDS)).isEqualTo(new Closed(1000, ""));
        assertThat(in.read()).as("the client closed the TCP connection, sending nothing after its close").isEqualTo(-1);
    }

    @Test
    void aMessageAboveTheLimitClosesWith1009() throws Exception {
        Socket[] s = new Socket[1];
        connectWith(null, s);
        OutputStream out = s[0].getOutputStream();
        out.write(new byte[] {(byte) 0x82, 127, 0, 0, 0, 0, 0, 0x20, 0, 0}); // 2 MiB announced
        ClientFrame close = clientFrame(new DataInputStream(s[0].getInputStream()));
        assertThat(close.opcode()).isEqualTo(0x8);
        assertThat(((close.payload()[0] & 0xFF) << 8) | (close.payload()[1] & 0xFF)).isEqualTo(1009);
        assertThat(received.poll(5, TimeUnit.SECONDS)).isInstanceOf(Closed.class).extracting(c -> ((Closed) c).code()).isEqualTo(1009);
    }

    @Test
    void aMaskedKitFrameIsAProtocolError() throws Exception {
        Socket[] s = new Socket[1];
        connectWith(null, s);
        s[0].getOutputStream().write(new byte[] {(byte) 0x82, (byte) 0x81, 1, 2, 3, 4, 5});
        assertThat(received.poll(5, TimeUnit.SECONDS)).isInstanceOf(Closed.class).extracting(c -> ((Closed) c).code()).isEqualTo(1002);
    }

    @Test
    void aRefusedUpgradeNamesTheStatus() {
        Socket[] s = new Socket[1];
        assertThatThrownBy(() -> connectWith("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", s))
                .isInstanceOf(IOException.class).hasMessageContaining("refused the WebSocket upgrade with HTTP 400");
    }

    @Test
    void aWrongAcceptKeyIsRefused() {
        Socket[] s = new Socket[1];
        String wrongKey = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Accept: xyz\r\nSec-WebSocket-Protocol: " + Protocol.SUBPROTOCOL_V1 + "\r\n\r\n";
        assertThatThrownBy(() -> connectWith(wrongKey, s)).isInstanceOf(IOException.class).hasMessageContaining("Sec-WebSocket-Accept");
    }

    // ---------------------------------------------------------------- wss

    /** A self-signed certificate for {@code localhost} (no IP address in it), made with the JDK's keytool. */
    private static KeyStore localhostCertificate() throws Exception {
        Path dir = Files.createTempDirectory("wss-test");
        Path store = dir.resolve("kit.p12");
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
        return ks;
    }

    private record TlsServer(SSLServerSocket socket, SSLSocketFactory trustingClient) {
    }

    private static TlsServer tlsServer() throws Exception {
        KeyStore ks = localhostCertificate();
        var kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, "secret".toCharArray());
        var serverContext = SSLContext.getInstance("TLS");
        serverContext.init(kmf.getKeyManagers(), null, null);
        var tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        var clientContext = SSLContext.getInstance("TLS");
        clientContext.init(null, tmf.getTrustManagers(), null);
        var socket = (SSLServerSocket) serverContext.getServerSocketFactory()
                .createServerSocket(0, 50, InetAddress.getLoopbackAddress());
        return new TlsServer(socket, clientContext.getSocketFactory());
    }

    @Test
    void wssChecksTheCertificateAndCarriesMessages() throws Exception {
        TlsServer tls = tlsServer();
        try (var listening = tls.socket()) {
            int port = listening.getLocalPort();
            Socket[] s = new Socket[1];
            Thread acceptor = Thread.ofVirtual().start(() -> {
                try {
                    s[0] = answerUpgrade(listening.accept(), null);
                } catch (IOException e) {
                    throw new AssertionError(e);
                }
            });
            WebSocketClient t = started(WebSocketClient.connect(URI.create("wss://localhost:" + port + Protocol.CONNECT_PATH),
                    TIMEOUT, tls.trustingClient()));
            acceptor.join();
            assertThat(((SSLSocket) s[0]).getSession().getProtocol()).startsWith("TLSv1.");
            writer.sendFrame(new byte[] {9, 8, 7});
            assertThat(clientFrame(new DataInputStream(s[0].getInputStream())).payload()).containsExactly(9, 8, 7);
            serverFrame(s[0].getOutputStream(), true, 0x1, "{\"type\":\"PONG\",\"ts\":5}".getBytes(StandardCharsets.UTF_8));
            assertThat(received.poll(5, TimeUnit.SECONDS)).isEqualTo("{\"type\":\"PONG\",\"ts\":5}");
            t.abort("test");
        }
    }

    @Test
    void wssRefusesACertificateThatDoesNotNameTheHostOrIsNotTrusted() throws Exception {
        TlsServer tls = tlsServer();
        try (var listening = tls.socket()) {
            int port = listening.getLocalPort();
            Thread acceptor = Thread.ofVirtual().start(() -> {
                for (int i = 0; i < 2; i++) {
                    try (Socket c = listening.accept()) {
                        ((SSLSocket) c).startHandshake();
                    } catch (IOException expected) {
                        // the client gives up during the handshake
                    }
                }
            });
            // The certificate names localhost, not 127.0.0.1:
            assertThatThrownBy(() -> WebSocketClient.connect(URI.create("wss://127.0.0.1:" + port + "/"), TIMEOUT,
                    tls.trustingClient())).isInstanceOf(IOException.class).hasMessageContaining("TLS failed");
            // A self-signed certificate is not in the JDK's trust store:
            assertThatThrownBy(() -> WebSocketClient.connect(URI.create("wss://localhost:" + port + "/"), TIMEOUT))
                    .isInstanceOf(IOException.class).hasMessageContaining("TLS failed");
            acceptor.join(5_000);
        }
    }

    @Test
    void nobodyListeningIsAClearError() throws Exception {
        int port;
        try (ServerSocket gone = new ServerSocket(0)) {
            port = gone.getLocalPort();
        }
        assertThatThrownBy(() -> WebSocketClient.connect(URI.create("ws://127.0.0.1:" + port + "/"), TIMEOUT))
                .isInstanceOf(IOException.class).hasMessageContaining("connection refused");
    }
}
