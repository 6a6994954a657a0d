package ai.hoody.tunnel.driver;

import ai.hoody.tunnel.mux.FrameWriter;
import ai.hoody.tunnel.mux.Outbound;
import ai.hoody.tunnel.mux.WireSocket;
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
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The driver's end of the WebSocket: an RFC 6455 client on one blocking socket (TLS for {@code wss}), the driver's
 * {@link WireSocket}.
 *
 * <p>Threading: one virtual thread reads ({@code driver-ws-reader}) and hands each whole message to the
 * {@link Receiver} on itself — no hand-off to another thread per frame. It never writes: a WebSocket ping it reads is
 * answered through the connection's {@link FrameWriter}, and so is the kit's close. Only the writer's thread calls
 * {@link #write}, which masks a whole batch into one buffer and writes it with one system call. So a congested uplink
 * can stall only the writer, never the reader, and nothing ever interrupts a thread blocked on this socket.
 *
 * <p>Only what the data plane needs: one subprotocol, no extensions, no redirects; an HTTP proxy through CONNECT
 * ({@link HttpProxy}). Messages are bounded by
 * {@link #MAX_MESSAGE_BYTES}; the kit's own messages are at most 65,541 bytes (a full DATA frame).
 */
final class WebSocketClient implements WireSocket {

    /** What the reader delivers: whole messages, then the end (exactly once). */
    interface Receiver {
        void onText(String text);

        void onBinary(ByteBuffer frame);

        /** The kit started the closing handshake: answer it (through the writer). */
        void onCloseFrame(int code, String reason);

        /** The kit broke RFC 6455: close with {@code code} (1002, 1007 or 1009) through the writer. */
        void onViolation(int code, String reason);

        void onClosed(int code, String reason);
    }

    /** Far above anything the kit sends; a peer that sends more is broken (close 1009). */
    static final int MAX_MESSAGE_BYTES = 1 << 20;
    private static final int MAX_HANDSHAKE_BYTES = 16 * 1024;
    /** The write buffer a batch is masked into; larger batches go out in several writes of this size. */
    private static final int WRITE_BUFFER_BYTES = 256 * 1024;
    private static final String ACCEPT_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    private static final int OP_TEXT = WebSocketFrameReader.OP_TEXT, OP_BINARY = WebSocketFrameReader.OP_BINARY,
            OP_CLOSE = WebSocketFrameReader.OP_CLOSE, OP_PONG = WebSocketFrameReader.OP_PONG;
    private static final int CLOSE_ABNORMAL = 1006;
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;
    /** Masking keys must be unpredictable to intermediaries (RFC 6455 §5.3): 64 at a time from a {@link SecureRandom}. */
    private final SecureRandom maskKeys = new SecureRandom();
    private final byte[] keyPool = new byte[256];
    private int keyPoolAt = keyPool.length;
    /** Written by the writer's thread only. */
    private byte[] buffer = new byte[16 * 1024];
    /** Our close frame is written / the kit's was read / we failed the connection (RFC 6455 §7.1.7). */
    private volatile boolean closeSent;
    private volatile boolean closeReceived;
    private volatile boolean failing;
    private final AtomicBoolean ended = new AtomicBoolean();
    private volatile Receiver receiver;
    private volatile FrameWriter writer;

    private WebSocketClient(Socket socket, DataInputStream in) throws IOException {
        this.socket = socket;
        this.in = in;
        this.out = socket.getOutputStream();
    }

    /**
     * Connects and upgrades with subprotocol {@value Protocol#SUBPROTOCOL_V1}; call {@link #start} to read. {@code wss}
     * uses the JDK's default trust store ({@code -Djavax.net.ssl.trustStore=…} to trust a private CA); it is only
     * loaded for {@code wss}, which keeps it off the start-up path of a {@code ws} driver.
     */
    static WebSocketClient connect(URI uri, Duration timeout) throws IOException, InterruptedException {
        return connect(uri, timeout, null, null);
    }

    /** As {@link #connect(URI, Duration)}, with the given TLS socket factory (null: the JDK's default). */
    static WebSocketClient connect(URI uri, Duration timeout, SSLSocketFactory tlsFactory) throws IOException, InterruptedException {
        return connect(uri, timeout, tlsFactory, null);
    }

    /**
     * As {@link #connect(URI, Duration, SSLSocketFactory)}, through {@code proxy} when not null: a CONNECT tunnel to
     * the kit's host and port, inside which TLS (for {@code wss}) and the upgrade run as they would directly — the
     * certificate is checked against the kit's host name, not the proxy's.
     */
    static WebSocketClient connect(URI uri, Duration timeout, SSLSocketFactory tlsFactory, HttpProxy proxy)
            throws IOException, InterruptedException {
        return connect(uri, timeout, tlsFactory, proxy, Protocol.SUBPROTOCOL_V1);
    }

    /** As above, offering {@code subprotocol} ({@value Protocol#SUBPROTOCOL_V1} or {@value Protocol#SUBPROTOCOL_V2}). */
    static WebSocketClient connect(URI uri, Duration timeout, SSLSocketFactory tlsFactory, HttpProxy proxy, String subprotocol)
            throws IOException, InterruptedException {
        boolean tls = "wss".equalsIgnoreCase(uri.getScheme());
        String host = uri.getHost();
        int port = uri.getPort() > 0 ? uri.getPort() : tls ? 443 : 80;
        int millis = (int) Math.min(Integer.MAX_VALUE, Math.max(1, timeout.toMillis()));
        Socket socket = null;
        try {
            if (proxy == null) {
                socket = new Socket();
                socket.connect(new InetSocketAddress(host, port), millis);
            } else {
                socket = proxy.openTunnel(host, port, millis);
            }
            socket.setTcpNoDelay(true);
            socket.setSoTimeout(millis); // for the handshake only
            if (tls) {
                socket = startTls(tlsFactory != null ? tlsFactory : (SSLSocketFactory) SSLSocketFactory.getDefault(), socket, host, port);
            }
            DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), 64 * 1024));
            upgrade(uri, host, port, tls, socket.getOutputStream(), in, subprotocol);
            socket.setSoTimeout(0);
            return new WebSocketClient(socket, in);
        } catch (IOException e) {
            if (socket != null) {
                closeQuietly(socket);
            }
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
            throw describe(uri, proxy, e, millis);
        }
    }

    /**
     * Starts the reader. {@code writer} is the connection's, through which pings and the kit's close are answered.
     */
    void start(Receiver receiver, FrameWriter writer) {
        this.receiver = receiver;
        this.writer = writer;
        Thread.ofVirtual().name("driver-ws-reader").start(this::readLoop);
    }

    private static IOException describe(URI uri, HttpProxy proxy, IOException e, int millis) {
        if (e instanceof UpgradeRefusedException) {
            return new IOException("the kit at " + uri + " " + e.getMessage(), e);
        }
        String why = e instanceof HttpProxy.ProxyException ? e.getMessage()
                : e instanceof ConnectException ? "connection refused (is the kit running there?)"
                : e instanceof UnknownHostException ? "unknown host"
                : e instanceof SocketTimeoutException ? "no answer within " + millis + " ms"
                : e instanceof SSLException ? "TLS failed: " + e.getMessage()
                : e.toString();
        String via = proxy == null || e instanceof HttpProxy.ProxyException ? "" : " (through the proxy " + proxy + ")";
        return new IOException("cannot connect to the kit at " + uri + via + ": " + why, e);
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
    private static void upgrade(URI uri, String host, int port, boolean tls, OutputStream out, DataInputStream in,
                                String offered) throws IOException {
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
                + "Sec-WebSocket-Protocol: " + offered + "\r\n"
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
        if (!offered.equals(subprotocol)) {
            throw new UpgradeRefusedException("did not agree to subprotocol " + offered + " (it chose " + subprotocol + ")");
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

    // --- WireSocket: the writer's side ---

    /** Masks the batch into one buffer and writes it; a batch above the buffer's size goes out in several writes. */
    @Override
    public void write(List<Outbound> batch) throws IOException {
        int at = 0;
        for (Outbound m : batch) {
            if (closeSent) {
                break; // nothing may follow a close frame
            }
            byte[] payload;
            int length;
            int opcode;
            switch (m) {
                case Outbound.Text t -> {
                    payload = t.json().getBytes(StandardCharsets.UTF_8);
                    length = payload.length;
                    opcode = OP_TEXT;
                }
                case Outbound.Binary b -> {
                    payload = b.frame();
                    length = b.length();
                    opcode = OP_BINARY;
                }
                case Outbound.Pong p -> {
                    payload = p.payload();
                    length = payload.length;
                    opcode = OP_PONG;
                }
                case Outbound.Close c -> {
                    payload = closePayload(c.code(), c.reason());
                    length = payload.length;
                    opcode = OP_CLOSE;
                    closeSent = true;
                }
            }
            int need = maskedLength(length);
            if (at + need > buffer.length) {
                if (at > 0) {
                    out.write(buffer, 0, at);
                    at = 0;
                }
                if (need > buffer.length) {
                    buffer = new byte[Math.max(need, Math.min(WRITE_BUFFER_BYTES, buffer.length * 2))];
                }
            }
            at = mask(opcode, payload, length, nextMaskKey(), buffer, at);
        }
        if (at > 0) {
            out.write(buffer, 0, at);
        }
        if (closeSent && (closeReceived || failing)) {
            // The closing handshake is complete (or we failed the connection): the TCP connection can go; the reader
            // sees it end and reports the close.
            closeQuietly(socket);
            return;
        }
        if (buffer.length < WRITE_BUFFER_BYTES && at > buffer.length / 2) {
            buffer = new byte[Math.min(WRITE_BUFFER_BYTES, buffer.length * 2)]; // grow for bulk, once
        }
    }

    /** Closes at once, without a close handshake: the peer is gone or not answering. */
    @Override
    public void abort(String reason) {
        closeQuietly(socket);
    }

    private static byte[] closePayload(int code, String reason) {
        byte[] why = Protocol.closeReason(reason).getBytes(StandardCharsets.UTF_8);
        byte[] payload = new byte[2 + why.length];
        payload[0] = (byte) (code >> 8);
        payload[1] = (byte) code;
        System.arraycopy(why, 0, payload, 2, why.length);
        return payload;
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

    static int maskedLength(int payloadLength) {
        return (payloadLength < 126 ? 2 : payloadLength < 65536 ? 4 : 10) + 4 + payloadLength;
    }

    /** One client frame (RFC 6455 §5.2) as a new array: FIN, opcode, MASK bit, length, key, payload XOR key. */
    static byte[] maskedFrame(int opcode, byte[] payload, int maskKey) {
        byte[] frame = new byte[maskedLength(payload.length)];
        mask(opcode, payload, payload.length, maskKey, frame, 0);
        return frame;
    }

    /**
     * Writes one client frame of {@code payload[0, n)} into {@code dst} at {@code at} — the only copy of the payload
     * on the way out.
     *
     * @return the index after the frame
     */
    static int mask(int opcode, byte[] payload, int n, int maskKey, byte[] dst, int at) {
        dst[at] = (byte) (0x80 | opcode);
        if (n < 126) {
            dst[at + 1] = (byte) (0x80 | n);
            at += 2;
        } else if (n < 65536) {
            dst[at + 1] = (byte) (0x80 | 126);
            dst[at + 2] = (byte) (n >> 8);
            dst[at + 3] = (byte) n;
            at += 4;
        } else {
            dst[at + 1] = (byte) (0x80 | 127);
            for (int i = 0; i < 8; i++) {
                dst[at + 2 + i] = (byte) ((long) n >>> (56 - 8 * i));
            }
            at += 10;
        }
        dst[at] = (byte) (maskKey >>> 24);
        dst[at + 1] = (byte) (maskKey >>> 16);
        dst[at + 2] = (byte) (maskKey >>> 8);
        dst[at + 3] = (byte) maskKey;
        int key = at;
        int body = at + 4;
        // Eight bytes at a time: byte i of the payload is XORed with key byte i % 4.
        long k = (dst[key] & 0xFFL) | (dst[key + 1] & 0xFFL) << 8 | (dst[key + 2] & 0xFFL) << 16 | (dst[key + 3] & 0xFFL) << 24;
        k |= k << 32;
        int i = 0;
        for (; i + 8 <= n; i += 8) {
            LONGS.set(dst, body + i, (long) LONGS.get(payload, i) ^ k);
        }
        for (; i < n; i++) {
            dst[body + i] = (byte) (payload[i] ^ dst[key + (i & 3)]);
        }
        return body + n;
    }

    // --- the reader ---

    private void readLoop() {
        int[] code = {CLOSE_ABNORMAL};
        String[] reason = {""};
        try {
            WebSocketFrameReader.read(in, MAX_MESSAGE_BYTES, new WebSocketFrameReader.Sink() {
                @Override
                public void onText(String text) {
                    receiver.onText(text);
                }

                @Override
                public void onBinary(ByteBuffer frame) {
                    receiver.onBinary(frame);
                }

                @Override
                public void onPing(byte[] payload) {
                    writer.sendPong(payload);
                }

                @Override
                public boolean onClose(int closeCode, String closeReason) {
                    code[0] = closeCode;
                    reason[0] = closeReason;
                    closeReceived = true;
                    if (closeSent) {
                        return true; // we started it and the kit answered: done (the finally closes the socket)
                    }
                    receiver.onCloseFrame(closeCode, closeReason); // echoed by the writer, which then closes the socket
                    return false;
                }
            });
        } catch (WebSocketFrameReader.ProtocolViolation e) {
            code[0] = e.code;
            reason[0] = e.getMessage();
            // Our close frame goes out through the writer; what the kit still sends cannot be parsed any more and is
            // dropped until it closes the connection (or the connection's close deadline cuts it).
            failing = true;
            receiver.onViolation(e.code, e.getMessage());
            try {
                in.transferTo(OutputStream.nullOutputStream());
            } catch (IOException ignored) {
                // closed: what we were waiting for
            }
        } catch (IOException e) {
            if (code[0] == CLOSE_ABNORMAL) {
                reason[0] = e instanceof EOFException ? "the kit closed the connection" : String.valueOf(e.getMessage());
            } // else: the kit's close frame came first, and its code and reason are what the end is
        } finally {
            closeQuietly(socket);
            if (ended.compareAndSet(false, true)) {
                receiver.onClosed(code[0], reason[0]);
            }
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // nothing left to do with a socket that will not close
        }
    }

    /** The kit answered the upgrade, but not with a WebSocket of our subprotocol. */
    private static final class UpgradeRefusedException extends IOException {
        UpgradeRefusedException(String message) {
            super(message);
        }
    }
}
