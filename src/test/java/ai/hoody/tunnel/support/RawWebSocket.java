package ai.hoody.tunnel.support;

import ai.hoody.tunnel.protocol.ControlCodec;
import ai.hoody.tunnel.protocol.ControlMessage;
import ai.hoody.tunnel.protocol.MalformedMessageException;
import ai.hoody.tunnel.protocol.Protocol;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A WebSocket client made of hand-written RFC 6455 frames on a plain {@link Socket}: it sends exactly the bytes a
 * test asks for (any header lines, any opcode, fragments, unmasked frames, invalid UTF-8, oversized payloads) and
 * reports exactly what came back, close code and reason included. For the kit's WebSocket edge, where the JDK's
 * client refuses to misbehave.
 */
public final class RawWebSocket implements AutoCloseable {

    public static final int CONTINUATION = 0x0, TEXT = 0x1, BINARY = 0x2, CLOSE = 0x8, PING = 0x9, PONG = 0xA;
    /** Or-ed into an opcode, sets RSV1 (a compressed frame under permessage-deflate, RFC 7692). */
    public static final int RSV1 = 0x40;
    /** RFC 6455 §7.1.5: the code a client reports when the connection ended without a close frame. */
    public static final int ABNORMAL = 1006;

    /** The upgrade response: status line and header lines, names lower-cased. */
    public record Response(int status, List<String[]> headers) {
        /** Every value of header {@code name} (case-insensitive), one per header line. */
        public List<String> all(String name) {
            return headers.stream().filter(h -> h[0].equals(name.toLowerCase(Locale.ROOT))).map(h -> h[1]).toList();
        }

        public String first(String name) {
            List<String> values = all(name);
            return values.isEmpty() ? null : values.getFirst();
        }
    }

    public record Frame(boolean fin, int opcode, byte[] payload) {
        public String text() {
            return new String(payload, StandardCharsets.UTF_8);
        }
    }

    /** How the kit ended the socket: the close frame's code and reason, or 1006 when TCP ended without one. */
    public record Close(int code, String reason) {
    }

    private final Socket socket;
    private final OutputStream out;
    private final DataInputStream in;
    private final Response response;

    private RawWebSocket(Socket socket, Response response) throws IOException {
        this.socket = socket;
        this.out = socket.getOutputStream();
        this.in = new DataInputStream(socket.getInputStream());
        this.response = response;
    }

    /** Upgrades {@code /api/v1/tunnel/connect}, offering subprotocol v1 on one header line. */
    public static RawWebSocket connect(URI kit) throws IOException {
        return connect(kit, List.of("Sec-WebSocket-Protocol: " + Protocol.SUBPROTOCOL_V1));
    }

    /**
     * Sends the opening handshake with the mandatory headers plus {@code extraHeaderLines} (e.g. several
     * {@code Sec-WebSocket-Protocol} lines, an {@code Origin}) and reads the response head, whatever its status.
     */
    public static RawWebSocket connect(URI kit, List<String> extraHeaderLines) throws IOException {
        return connect(kit, extraHeaderLines, 0);
    }

    /** As {@link #connect(URI, List)}, with a small receive buffer when {@code receiveBufferBytes} > 0 (a slow reader). */
    public static RawWebSocket connect(URI kit, List<String> extraHeaderLines, int receiveBufferBytes) throws IOException {
        Socket s = new Socket();
        if (receiveBufferBytes > 0) {
            s.setReceiveBufferSize(receiveBufferBytes);
        }
        s.connect(new java.net.InetSocketAddress(kit.getHost(), kit.getPort()));
        try {
            s.setSoTimeout(10_000);
            StringBuilder request = new StringBuilder("GET " + Protocol.CONNECT_PATH + " HTTP/1.1\r\n")
                    .append("Host: ").append(kit.getHost()).append(':').append(kit.getPort()).append("\r\n")
                    .append("Upgrade: websocket\r\nConnection: Upgrade\r\n")
                    .append("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n");
            extraHeaderLines.forEach(line -> request.append(line).append("\r\n"));
            s.getOutputStream().write(request.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1));
            return new RawWebSocket(s, readResponse(s.getInputStream()));
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    public Response response() {
        return response;
    }

    /** Sends one masked frame, as a client must. */
    public void send(boolean fin, int opcode, byte[] payload) throws IOException {
        send(fin, opcode, payload, true);
    }

    /** Sends one frame; {@code masked = false} breaks RFC 6455 §5.1 on purpose; {@code opcode} may carry {@link #RSV1}. */
    public void send(boolean fin, int opcode, byte[] payload, boolean masked) throws IOException {
        int n = payload.length;
        byte[] header = new byte[14];
        int h = 0;
        header[h++] = (byte) ((fin ? 0x80 : 0) | opcode);
        int maskBit = masked ? 0x80 : 0;
        if (n < 126) {
            header[h++] = (byte) (maskBit | n);
        } else if (n < 65536) {
            header[h++] = (byte) (maskBit | 126);
            header[h++] = (byte) (n >>> 8);
            header[h++] = (byte) n;
        } else {
            header[h++] = (byte) (maskBit | 127);
            for (int shift = 56; shift >= 0; shift -= 8) {
                header[h++] = (byte) ((long) n >>> shift);
            }
        }
        byte[] body = payload;
        if (masked) {
            byte[] key = new byte[4];
            ThreadLocalRandom.current().nextBytes(key);
            System.arraycopy(key, 0, header, h, 4);
            h += 4;
            body = new byte[n];
            for (int i = 0; i < n; i++) {
                body[i] = (byte) (payload[i] ^ key[i & 3]);
            }
        }
        byte[] frame = new byte[h + n];
        System.arraycopy(header, 0, frame, 0, h);
        System.arraycopy(body, 0, frame, h, n);
        out.write(frame); // one write: the kit sees the frame whole or not at all
        out.flush();
    }

    /** One masked, final frame as bytes, to be written in bulk with {@link #writeRaw} (floods). */
    public static byte[] maskedFrame(int opcode, byte[] payload) {
        int n = payload.length;
        int h = n < 126 ? 2 : n < 65536 ? 4 : 10;
        byte[] f = new byte[h + 4 + n];
        f[0] = (byte) (0x80 | opcode);
        if (n < 126) {
            f[1] = (byte) (0x80 | n);
        } else if (n < 65536) {
            f[1] = (byte) (0x80 | 126);
            f[2] = (byte) (n >>> 8);
            f[3] = (byte) n;
        } else {
            f[1] = (byte) (0x80 | 127);
            for (int i = 0; i < 8; i++) {
                f[2 + i] = (byte) ((long) n >>> (56 - 8 * i));
            }
        }
        byte[] key = new byte[4];
        ThreadLocalRandom.current().nextBytes(key);
        System.arraycopy(key, 0, f, h, 4);
        for (int i = 0; i < n; i++) {
            f[h + 4 + i] = (byte) (payload[i] ^ key[i & 3]);
        }
        return f;
    }

    /** Writes bytes as they are (e.g. many frames made with {@link #maskedFrame}) in one write. */
    public void writeRaw(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    public Socket socket() {
        return socket;
    }

    public void sendText(String text) throws IOException {
        send(true, TEXT, text.getBytes(StandardCharsets.UTF_8));
    }

    /** Sends HELLO (version 1, at most 10 streams) and returns the kit's HELLO_OK. */
    public ControlMessage.HelloOk hello() throws IOException {
        return hello(10);
    }

    /** Sends HELLO (version 1) asking for {@code maxStreams} and returns the kit's HELLO_OK. */
    public ControlMessage.HelloOk hello(int maxStreams) throws IOException {
        sendText(ControlCodec.encode(new ControlMessage.Hello(Protocol.VERSION, "raw-websocket", "1", maxStreams, null)));
        Frame f = readFrame();
        if (f.opcode() != TEXT) {
            throw new AssertionError("expected HELLO_OK, got opcode " + f.opcode() + ": " + f.text());
        }
        return (ControlMessage.HelloOk) decode(f.text());
    }

    /** The next control message from the kit, skipping its heartbeat PINGs; a WebSocket frame of another kind fails. */
    public ControlMessage nextControl() throws IOException {
        while (true) {
            Frame f = readFrame();
            if (f.opcode() != TEXT) {
                throw new AssertionError("expected a control message, got opcode " + f.opcode() + ": " + f.text());
            }
            ControlMessage m = decode(f.text());
            if (!(m instanceof ControlMessage.Ping)) {
                return m;
            }
        }
    }

    /** The next frame from the kit (the kit's frames are unmasked and, in practice, unfragmented). */
    public Frame readFrame() throws IOException {
        int b0 = in.readUnsignedByte();
        int b1 = in.readUnsignedByte();
        long n = b1 & 0x7F;
        if (n == 126) {
            n = in.readUnsignedShort();
        } else if (n == 127) {
            n = in.readLong();
        }
        if ((b1 & 0x80) != 0 || n > 1 << 20) {
            throw new IOException("the kit sent a masked or huge frame (length " + n + ")");
        }
        byte[] payload = new byte[(int) n];
        in.readFully(payload);
        return new Frame((b0 & 0x80) != 0, b0 & 0x0F, payload);
    }

    /**
     * Reads until the kit's close frame, skipping anything else, and answers it. A connection that ends (or is reset)
     * without a close frame reports 1006 with what happened, the way a browser would.
     */
    public Close awaitClose(Duration timeout) throws IOException {
        socket.setSoTimeout((int) timeout.toMillis());
        while (true) {
            Frame f;
            try {
                f = readFrame();
            } catch (SocketTimeoutException e) {
                throw new AssertionError("the kit neither closed nor dropped the socket within " + timeout);
            } catch (EOFException e) {
                return new Close(ABNORMAL, "TCP closed without a close frame");
            } catch (IOException e) {
                return new Close(ABNORMAL, "TCP failed without a close frame: " + e);
            }
            if (f.opcode() == CLOSE) {
                byte[] p = f.payload();
                Close close = p.length < 2 ? new Close(1005, "")
                        : new Close(((p[0] & 0xFF) << 8) | (p[1] & 0xFF), new String(p, 2, p.length - 2, StandardCharsets.UTF_8));
                try {
                    send(true, CLOSE, p);
                } catch (IOException e) {
                    // the kit may already have closed TCP after failing the connection (RFC 6455 §7.1.7)
                }
                return close;
            }
        }
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException e) {
            // nothing left to release
        }
    }

    private static ControlMessage decode(String text) {
        try {
            return ControlCodec.decode(text);
        } catch (MalformedMessageException e) {
            throw new AssertionError("the kit sent a bad control message: " + text, e);
        }
    }

    private static Response readResponse(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int c = in.read();
            if (c < 0) {
                throw new EOFException("connection closed inside the response head: " + head);
            }
            head.append((char) c);
        }
        String[] lines = head.toString().split("\r\n");
        List<String[]> headers = new ArrayList<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon > 0) {
                headers.add(new String[] {lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim()});
            }
        }
        String[] status = lines[0].split(" ", 3);
        return new Response(Integer.parseInt(status[1]), List.copyOf(headers));
    }
}
