package ai.hoody.tunnel.support;

import ai.hoody.tunnel.protocol.ControlCodec;
import ai.hoody.tunnel.protocol.ControlMessage;
import ai.hoody.tunnel.protocol.Protocol;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;

/**
 * A kit that a test scripts message by message, on a real socket: it answers one driver's WebSocket upgrade and then
 * sends exactly what the test says — a hostile or broken kit, for the driver's own limits.
 */
public final class FakeKit implements AutoCloseable {

    /** One frame from the driver, unmasked. */
    public record ClientFrame(int opcode, byte[] payload) {
        public String text() {
            return new String(payload, StandardCharsets.UTF_8);
        }

        /** The close code of a close frame. */
        public int closeCode() {
            return payload.length < 2 ? 1005 : ((payload[0] & 0xFF) << 8) | (payload[1] & 0xFF);
        }
    }

    private final ServerSocket server;
    private Socket socket;
    private DataInputStream in;
    private OutputStream out;

    public FakeKit() throws IOException {
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    }

    /** The URL to give the driver. */
    public URI url() {
        return URI.create("http://127.0.0.1:" + server.getLocalPort());
    }

    /** Accepts the driver and answers its upgrade with subprotocol v1. */
    public void accept() throws IOException {
        socket = server.accept();
        socket.setSoTimeout(30_000);
        in = new DataInputStream(socket.getInputStream());
        out = socket.getOutputStream();
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
            head.write(in.readUnsignedByte());
        }
        String key = head.toString(StandardCharsets.ISO_8859_1).lines()
                .filter(l -> l.toLowerCase().startsWith("sec-websocket-key:")).findFirst().orElseThrow().substring(18).trim();
        String accept;
        try {
            accept = Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-1")
                    .digest((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").getBytes(StandardCharsets.US_ASCII)));
        } catch (Exception e) {
            throw new IOException(e);
        }
        out.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "
                + accept + "\r\nSec-WebSocket-Protocol: " + Protocol.SUBPROTOCOL_V1 + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    /** The next frame from the driver. */
    public ClientFrame read() throws IOException {
        int b0 = in.readUnsignedByte();
        int b1 = in.readUnsignedByte();
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
        return new ClientFrame(b0 & 0x0F, payload);
    }

    /** The next control message from the driver (skipping its PINGs, PONGs and binary frames). */
    public ControlMessage readControl() throws Exception {
        while (true) {
            ClientFrame f = read();
            if (f.opcode() == 0x1) {
                ControlMessage m = ControlCodec.decode(f.text());
                if (!(m instanceof ControlMessage.Ping) && !(m instanceof ControlMessage.Pong)) {
                    return m;
                }
            } else if (f.opcode() == 0x8) {
                throw new IOException("the driver closed with " + f.closeCode() + " " + new String(f.payload(), 2,
                        Math.max(0, f.payload().length - 2), StandardCharsets.UTF_8));
            }
        }
    }

    public void send(ControlMessage m) throws IOException {
        write(frame(0x1, ControlCodec.encode(m).getBytes(StandardCharsets.UTF_8)));
    }

    public void sendBinary(byte[] message) throws IOException {
        write(frame(0x2, message));
    }

    /** Bytes as they are (many frames made with {@link #frame}, in one write). */
    public void write(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    /** One unmasked server frame. */
    public static byte[] frame(int opcode, byte[] payload) {
        int n = payload.length;
        int h = n < 126 ? 2 : n < 65536 ? 4 : 10;
        byte[] f = new byte[h + n];
        f[0] = (byte) (0x80 | opcode);
        if (n < 126) {
            f[1] = (byte) n;
        } else if (n < 65536) {
            f[1] = 126;
            f[2] = (byte) (n >>> 8);
            f[3] = (byte) n;
        } else {
            f[1] = 127;
            for (int i = 0; i < 8; i++) {
                f[2 + i] = (byte) ((long) n >>> (56 - 8 * i));
            }
        }
        System.arraycopy(payload, 0, f, h, n);
        return f;
    }

    @Override
    public void close() throws IOException {
        if (socket != null) {
            socket.close();
        }
        server.close();
    }
}
