package ai.hoody.tunnel.driver;

import ai.hoody.tunnel.mux.FrameTransport;
import ai.hoody.tunnel.protocol.Protocol;

import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The driver's end of the WebSocket: an RFC 6455 client on one blocking socket (TLS for {@code wss}).
 *
 * <p>Threading: one virtual thread reads, and hands each whole message to the {@link Receiver} on itself — no
 * hand-off to another thread per frame, which is what the JDK's {@code java.net.http} client costs (selector thread →
 * worker → our thread; bench/PROFILE-NOTES.md measured ~8 context switches per 64 KiB frame in the driver). Any
 * thread may send: a lock keeps whole frames together, and each frame leaves in one {@code write}.
 *
 * <p>Only what the data plane needs: one subprotocol, no extensions, no redirects, no proxy. Messages are bounded by
 * {@link #MAX_MESSAGE_BYTES}; the kit's own messages are at most 65,541 bytes (a full DATA frame).
 */
final class WebSocketTransport implements FrameTransport {

    /** What the transport delivers: whole messages, then the end (exactly once). */
    interface Receiver {
        void onControl(String text);

        void onFrame(ByteBuffer frame);

        void onClosed(int code, String reason);
    }

    /** Far above anything the kit sends; a peer that sends more is broken (close 1009). */
    static final int MAX_MESSAGE_BYTES = 1 << 20;
    private static final int MAX_HANDSHAKE_BYTES = 16 * 1024;
    private static final String ACCEPT_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    private static final int OP_CONTINUATION = 0x0, OP_TEXT = 0x1, OP_BINARY = 0x2, OP_CLOSE = 0x8, OP_PING = 0x9, OP_PONG = 0xA;
    private static final int CLOSE_NO_STATUS = 1005, CLOSE_ABNORMAL = 1006, CLOSE_TOO_BIG = 1009;
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;
    private final Receiver receiver;
    private final ReentrantLock writeLock = new ReentrantLock();
    /**
     * Masking keys must be unpredictable to intermediaries (RFC 6455 §5.3): drawn from a {@link SecureRandom}, 64 keys
     * at a time, since one call per frame showed in profiles. Guarded by {@link #writeLock}.
     */
    private final SecureRandom maskKeys = new SecureRandom();
    private final byte[] keyPool = new byte[256];
    private int keyPoolAt = keyPool.length;
    private final AtomicBoolean closeSent = new AtomicBoolean();
    private final AtomicBoolean ended = new AtomicBoolean();

    private WebSocketTransport(Socket socket, DataInputStream in, Receiver receiver) throws IOException {
        this.socket = socket;
        this.in = in;
        this.out = socket.getOutputStream();
        this.receiver = receiver;
    }

    /**
     * Connects, upgrades with subprotocol {@value Protocol#SUBPROTOCOL_V1} and starts the reader. {@code wss} uses
     * the JDK's default trust store ({@code -Djavax.net.ssl.trustStore=…} to trust a private CA); it is only loaded
     * for {@code wss}, which keeps it off the start-up path of a {@code ws} driver.
     */
    static WebSocketTransport connect(URI uri, Receiver receiver, Duration timeout) throws IOException, InterruptedException {
        return connect(uri, receiver, timeout, null);
    }

    /** As {@link #connect(URI, Receiver, Duration)}, with the given TLS socket factory (null: the JDK's default). */
    static WebSocketTransport connect(URI uri, Receiver receiver, Duration timeout, SSLSocketFactory tlsFactory)
            throws IOException, InterruptedException {
        boolean tls = "wss".equalsIgnoreCase(uri.getScheme());
        String host = uri.getHost();
        int port = uri.getPort() > 0 ? uri.getPort() : tls ? 443 : 80;
        int millis = (int) Math.min(Integer.MAX_VALUE, Math.max(1, timeout.toMillis()));
        Socket socket = new Socket();
        try {
            socket.connect(new InetSocketAddress(host, port), millis);
            socket.setTcpNoDelay(true);
            socket.setSoTimeout(millis); // for the handshake only
            if (tls) {
                socket = startTls(tlsFactory != null ? tlsFactory : (SSLSocketFactory) SSLSocketFactory.getDefault(), socket, host, port);
            }
            DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), 64 * 1024));
            upgrade(uri, host, port, tls, socket.getOutputStream(), in);
            socket.setSoTimeout(0);
            WebSocketTransport t = new WebSocketTransport(socket, in, receiver);
            Thread.ofVirtual().name("driver-ws-reader").start(t::readLoop);
            return t;
        } catch (IOException e) {
            closeQuietly(socket);
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
            throw describe(uri, e, millis);
        }
    }

    private static IOException describe(URI uri, IOException e, int millis) {
        if (e instanceof UpgradeRefusedException) {
            return new IOException("the kit at " + uri + " " + e.getMessage(), e);
        }
        String why = e instanceof ConnectException ? "connection refused (is the kit running there?)"
                : e instanceof UnknownHostException ? "unknown host"
                : e instanceof SocketTimeoutException ? "no answer within " + millis + " ms"
                : e instanceof SSLException ? "TLS failed: " + e.getMessage()
                : e.toString();
        return new IOException("cannot connect to the kit at " + uri + ": " + why, e);
    }

    private static Socket startTls(SSLSocketFactory factory, Socket plain, String host, int port) throws IOException {
        SSLSocket tls = (SSLSocket) factory.createSocket(plain, host, port, true);
        SSLParameters params = tls.getSSLParameters();
        params.setEndpointIdentificationAlgorithm("HTTPS"); // check the certificate names the kit's host (SNI: from host)
        params.setApplicationProtocols(new String[] {"http/1.1"});
        tls.setSSLParameters(params);
        tls.startHandshake();
        return tls;
    }

    /** The opening handshake (RFC 6455 §4.1): checks 101, the accept key and the subprotocol. */
    private static void upgrade(URI uri, String host, int port, boolean tls, OutputStream out, DataInputStream in) throws IOException {
        byte[] nonce = new byte[16];
        new SecureRandom().nextBytes(nonce);
        String key = Base64.getEncoder().encodeToString(nonce);
        String target = (uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath())
                + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery());
        boolean defaultPort = port == (tls ? 443 : 80);
        String request = "GET " + target + " HTTP/1.1\r\n"
                + "Host: " + host + (defaultPort ? "" : ":" + port) + "\r\n"
                + "Upgrade: websocket\r\n"
                + "Connection: Upgrade\r\n"
                + "Sec-WebSocket-Key: " + key + "\r\n"
                + "Sec-WebSocket-Version: 13\r\n"
                + "Sec-WebSocket-Protocol: " + Protocol.SUBPROTOCOL_V1 + "\r\n"
                + "User-Agent: hoody-tunnel-driver\r\n"
                + "\r\n";
        out.write(request.getBytes(StandardCharsets.US_ASCII));
        out.flush();

        String[] lines = readHead(in).split("\r\n");
        String[] status = lines[0].split(" ", 3);
        if (status.length < 2 || !status[0].startsWith("HTTP/1.")) {
            throw new UpgradeRefusedException("answered the WebSocket upgrade with something that is not HTTP: " + lines[0]);
        }
        if (!status[1].equals("101")) {
            throw new UpgradeRefusedException("refused the WebSocket upgrade with HTTP " + status[1]);
        }
        String accept = null, upgradeHeader = null, subprotocol = null;
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon <= 0) {
                continue;
            }
            String value = lines[i].substring(colon + 1).trim();
            switch (lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT)) {
                case "sec-websocket-accept" -> accept = value;
                case "upgrade" -> upgradeHeader = value;
                case "sec-websocket-protocol" -> subprotocol = value;
                default -> {
                }
            }
        }
        if (upgradeHeader == null || !upgradeHeader.equalsIgnoreCase("websocket")) {
            throw new UpgradeRefusedException("answered 101 without Upgrade: websocket");
        }
        if (!expectedAccept(key).equals(accept)) {
            throw new UpgradeRefusedException("answered the WebSocket upgrade with a wrong Sec-WebSocket-Accept");
        }
        if (!Protocol.SUBPROTOCOL_V1.equals(subprotocol)) {
            throw new UpgradeRefusedException("did not agree to subprotocol " + Protocol.SUBPROTOCOL_V1 + " (it chose " + subprotocol + ")");
        }
    }

    private static String readHead(DataInputStream in) throws IOException {
        StringBuilder head = new StringBuilder(256);
        while (head.length() < 4 || !head.substring(head.length() - 4).equals("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new EOFException("closed the connection during the WebSocket upgrade");
            }
            if (head.length() >= MAX_HANDSHAKE_BYTES) {
                throw new UpgradeRefusedException("answered the WebSocket upgrade with a head above " + MAX_HANDSHAKE_BYTES + " bytes");
            }
            head.append((char) b);
        }
        return head.substring(0, head.length() - 4);
    }

    static String expectedAccept(String key) {
        try {
            byte[] sha1 = MessageDigest.getInstance("SHA-1").digest((key + ACCEPT_GUID).getBytes(StandardCharsets.US_ASCII));
            return Base64.getEncoder().encodeToString(sha1);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-1 is required of every JDK", e);
        }
    }

    // --- FrameTransport ---

    @Override
    public void sendFrame(byte[] frame) {
        send(OP_BINARY, frame);
    }

    @Override
    public void sendControl(String json) {
        send(OP_TEXT, json.getBytes(StandardCharsets.UTF_8));
    }

    /** Sends a close frame (once) and lets the reader finish when the kit answers with its own. */
    @Override
    public void close(int code, String reason) {
        if (closeSent.compareAndSet(false, true)) {
            byte[] why = Protocol.closeReason(reason).getBytes(StandardCharsets.UTF_8);
            byte[] payload = new byte[2 + why.length];
            payload[0] = (byte) (code >> 8);
            payload[1] = (byte) code;
            System.arraycopy(why, 0, payload, 2, why.length);
            send(OP_CLOSE, payload);
        }
    }

    /** Closes at once, without a close handshake: the peer is gone or not answering. */
    void abort() {
        closeQuietly(socket);
    }

    private void send(int opcode, byte[] payload) {
        writeLock.lock();
        try {
            if (opcode != OP_CLOSE && closeSent.get()) {
                return; // nothing may follow a close frame
            }
            out.write(maskedFrame(opcode, payload, nextMaskKey()));
        } catch (IOException e) {
            // A broken socket: the reader sees it too and reports the end once.
            closeQuietly(socket);
        } finally {
            writeLock.unlock();
        }
    }

    private int nextMaskKey() {
        if (keyPoolAt == keyPool.length) {
            maskKeys.nextBytes(keyPool);
            keyPoolAt = 0;
        }
        int at = keyPoolAt;
        keyPoolAt += 4;
        return (keyPool[at] & 0xFF) << 24 | (keyPool[at + 1] & 0xFF) << 16 | (keyPool[at + 2] & 0xFF) << 8 | (keyPool[at + 3] & 0xFF);
    }

    /** One client frame (RFC 6455 §5.2): FIN, opcode, MASK bit, length, key, payload XOR key — one array, one copy. */
    static byte[] maskedFrame(int opcode, byte[] payload, int maskKey) {
        int n = payload.length;
        int header = n < 126 ? 2 : n < 65536 ? 4 : 10;
        byte[] frame = new byte[header + 4 + n];
        frame[0] = (byte) (0x80 | opcode);
        if (n < 126) {
            frame[1] = (byte) (0x80 | n);
        } else if (n < 65536) {
            frame[1] = (byte) (0x80 | 126);
            frame[2] = (byte) (n >> 8);
            frame[3] = (byte) n;
        } else {
            frame[1] = (byte) (0x80 | 127);
            for (int i = 0; i < 8; i++) {
                frame[2 + i] = (byte) ((long) n >>> (56 - 8 * i));
            }
        }
        int at = header;
        frame[at] = (byte) (maskKey >>> 24);
        frame[at + 1] = (byte) (maskKey >>> 16);
        frame[at + 2] = (byte) (maskKey >>> 8);
        frame[at + 3] = (byte) maskKey;
        int body = at + 4;
        // Eight bytes at a time: byte i of the payload is XORed with key byte i % 4.
        long k = (frame[at] & 0xFFL) | (frame[at + 1] & 0xFFL) << 8 | (frame[at + 2] & 0xFFL) << 16 | (frame[at + 3] & 0xFFL) << 24;
        k |= k << 32;
        int i = 0;
        for (; i + 8 <= n; i += 8) {
            LONGS.set(frame, body + i, (long) LONGS.get(payload, i) ^ k);
        }
        for (; i < n; i++) {
            frame[body + i] = (byte) (payload[i] ^ frame[at + (i & 3)]);
        }
        return frame;
    }

    // --- the reader ---

    private void readLoop() {
        int code = CLOSE_ABNORMAL;
        String reason = "";
        try {
            byte[] message = null; // a fragmented message being assembled
            int messageLength = 0;
            int messageOpcode = 0;
            while (true) {
                int b0 = in.readUnsignedByte();
                int b1 = in.readUnsignedByte();
                boolean fin = (b0 & 0x80) != 0;
                int opcode = b0 & 0x0F;
                if ((b0 & 0x70) != 0 || (b1 & 0x80) != 0) {
                    throw new ProtocolViolation("a kit frame with RSV bits or a mask");
                }
                long length = b1 & 0x7F;
                if (length == 126) {
                    length = in.readUnsignedShort();
                } else if (length == 127) {
                    length = in.readLong();
                }
                if (opcode >= OP_CLOSE) { // control frames: short, never fragmented
                    if (!fin || length > 125) {
                        throw new ProtocolViolation("a fragmented or oversized control frame");
                    }
                    byte[] payload = new byte[(int) length];
                    in.readFully(payload);
                    switch (opcode) {
                        case OP_PING -> send(OP_PONG, payload);
                        case OP_PONG -> {
                        }
                        case OP_CLOSE -> {
                            code = payload.length >= 2 ? (payload[0] & 0xFF) << 8 | (payload[1] & 0xFF) : CLOSE_NO_STATUS;
                            reason = payload.length > 2 ? new String(payload, 2, payload.length - 2, StandardCharsets.UTF_8) : "";
                            close(code == CLOSE_NO_STATUS ? Protocol.CLOSE_NORMAL : code, ""); // echo, if we did not start it
                            return;
                        }
                        default -> throw new ProtocolViolation("unknown control opcode " + opcode);
                    }
                    continue;
                }
                long total = (message == null ? 0 : messageLength) + length;
                if (length < 0 || total > MAX_MESSAGE_BYTES) {
                    code = CLOSE_TOO_BIG;
                    reason = "a message above " + MAX_MESSAGE_BYTES + " bytes";
                    close(CLOSE_TOO_BIG, reason);
                    return;
                }
                if (opcode == OP_CONTINUATION) {
                    if (message == null) {
                        throw new ProtocolViolation("a continuation frame outside a message");
                    }
                } else if (opcode == OP_TEXT || opcode == OP_BINARY) {
                    if (message != null) {
                        throw new ProtocolViolation("a new message inside a fragmented one");
                    }
                    if (fin) { // the usual case: one frame, read straight into its own array
                        byte[] payload = new byte[(int) length];
                        in.readFully(payload);
                        deliver(opcode, payload, payload.length);
                        continue;
                    }
                    message = new byte[(int) Math.max(length, 4096)];
                    messageLength = 0;
                    messageOpcode = opcode;
                } else {
                    throw new ProtocolViolation("unknown opcode " + opcode);
                }
                if (message.length < total) {
                    message = Arrays.copyOf(message, (int) Math.min(MAX_MESSAGE_BYTES, Math.max(total, 2L * message.length)));
                }
                in.readFully(message, messageLength, (int) length);
                messageLength = (int) total;
                if (fin) {
                    deliver(messageOpcode, message, messageLength);
                    message = null;
                }
            }
        } catch (ProtocolViolation e) {
            code = Protocol.CLOSE_PROTOCOL_ERROR;
            reason = e.getMessage();
            close(code, reason);
        } catch (IOException e) {
            reason = e instanceof EOFException ? "the kit closed the connection" : String.valueOf(e.getMessage());
        } finally {
            closeQuietly(socket);
            if (ended.compareAndSet(false, true)) {
                receiver.onClosed(code, reason);
            }
        }
    }

    private void deliver(int opcode, byte[] payload, int length) {
        if (opcode == OP_TEXT) {
            receiver.onControl(new String(payload, 0, length, StandardCharsets.UTF_8));
        } else {
            receiver.onFrame(ByteBuffer.wrap(payload, 0, length));
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // nothing left to do with a socket that will not close
        }
    }

    /** The kit broke RFC 6455: close 1002. */
    private static final class ProtocolViolation extends IOException {
        ProtocolViolation(String message) {
            super(message);
        }
    }

    /** The kit answered the upgrade, but not with a WebSocket of our subprotocol. */
    private static final class UpgradeRefusedException extends IOException {
        UpgradeRefusedException(String message) {
            super(message);
        }
    }
}
