package ai.hoody.tunnel.driver;

import ai.hoody.tunnel.protocol.Protocol;

import java.io.DataInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Reads what the kit sends on the driver's WebSocket (RFC 6455 §5, server to client: unmasked frames) and hands each
 * whole message to a {@link Sink}. Whatever the bytes, it returns (the sink said stop), throws
 * {@link ProtocolViolation} with the close code the kit's error calls for (1002, 1007, 1009), or throws the
 * {@link IOException} of the stream (an {@link java.io.EOFException} when the kit closed the connection); nothing
 * else. Fuzzed by {@code WebSocketFrameReaderFuzzTest}.
 */
final class WebSocketFrameReader {

    static final int OP_CONTINUATION = 0x0, OP_TEXT = 0x1, OP_BINARY = 0x2, OP_CLOSE = 0x8, OP_PING = 0x9, OP_PONG = 0xA;
    static final int CLOSE_NO_STATUS = 1005, CLOSE_BAD_DATA = 1007, CLOSE_TOO_BIG = 1009;

    /** Where the messages go; called on the reading thread. */
    interface Sink {
        void onText(String text);

        void onBinary(ByteBuffer frame);

        void onPing(byte[] payload);

        /** The kit's close frame; return true to stop reading (the closing handshake is complete). */
        boolean onClose(int code, String reason);
    }

    /** The kit broke RFC 6455: close with {@code code} (1002, 1007 or 1009). */
    static final class ProtocolViolation extends IOException {
        final int code;

        ProtocolViolation(int code, String message) {
            super(message);
            this.code = code;
        }
    }

    private WebSocketFrameReader() {
    }

    /** Reads frames from {@code in} until {@code sink} says stop or something throws. */
    static void read(DataInputStream in, int maxMessageBytes, Sink sink) throws IOException {
        byte[] message = null; // a fragmented message being assembled
        int messageLength = 0;
        int messageOpcode = 0;
        while (true) {
            int b0 = in.readUnsignedByte();
            int b1 = in.readUnsignedByte();
            boolean fin = (b0 & 0x80) != 0;
            int opcode = b0 & 0x0F;
            if ((b0 & 0x70) != 0 || (b1 & 0x80) != 0) {
                throw new ProtocolViolation(Protocol.CLOSE_PROTOCOL_ERROR, "a kit frame with RSV bits or a mask");
            }
            long length = b1 & 0x7F;
            if (length == 126) {
                length = in.readUnsignedShort();
            } else if (length == 127) {
                length = in.readLong();
                if (length < 0) { // RFC 6455 §5.2: the most significant bit MUST be 0
                    throw new ProtocolViolation(Protocol.CLOSE_PROTOCOL_ERROR, "a frame length with its top bit set");
                }
            }
            if (opcode >= OP_CLOSE) { // control frames: short, never fragmented
                if (!fin || length > 125) {
                    throw new ProtocolViolation(Protocol.CLOSE_PROTOCOL_ERROR, "a fragmented or oversized control frame");
                }
                byte[] payload = new byte[(int) length];
                in.readFully(payload);
                switch (opcode) {
                    case OP_PING -> sink.onPing(payload);
                    case OP_PONG -> {
                    }
                    case OP_CLOSE -> {
                        if (payload.length == 1) {
                            throw new ProtocolViolation(Protocol.CLOSE_PROTOCOL_ERROR, "a close frame with a 1-byte body");
                        }
                        int code = payload.length >= 2 ? (payload[0] & 0xFF) << 8 | (payload[1] & 0xFF) : CLOSE_NO_STATUS;
                        String reason = payload.length > 2 ? new String(payload, 2, payload.length - 2, StandardCharsets.UTF_8) : "";
                        if (sink.onClose(code, reason)) {
                            return;
                        }
                    }
                    default -> throw new ProtocolViolation(Protocol.CLOSE_PROTOCOL_ERROR, "unknown control opcode " + opcode);
                }
                continue;
            }
            // length first: added to what a fragmented message holds, a length near 2^63 would overflow the sum.
            long total = length > maxMessageBytes ? length : (message == null ? 0 : messageLength) + length;
            if (total > maxMessageBytes) {
                throw new ProtocolViolation(CLOSE_TOO_BIG, "a message above " + maxMessageBytes + " bytes");
            }
            if (opcode == OP_CONTINUATION) {
                if (message == null) {
                    throw new ProtocolViolation(Protocol.CLOSE_PROTOCOL_ERROR, "a continuation frame outside a message");
                }
            } else if (opcode == OP_TEXT || opcode == OP_BINARY) {
                if (message != null) {
                    throw new ProtocolViolation(Protocol.CLOSE_PROTOCOL_ERROR, "a new message inside a fragmented one");
                }
                if (fin) { // the usual case: one frame, read straight into its own array
                    byte[] payload = new byte[(int) length];
                    in.readFully(payload);
                    deliver(sink, opcode, payload, payload.length);
                    continue;
                }
                message = new byte[(int) Math.max(length, 4096)];
                messageLength = 0;
                messageOpcode = opcode;
            } else {
                throw new ProtocolViolation(Protocol.CLOSE_PROTOCOL_ERROR, "unknown opcode " + opcode);
            }
            if (message.length < total) {
                message = Arrays.copyOf(message, (int) Math.min(maxMessageBytes, Math.max(total, 2L * message.length)));
            }
            in.readFully(message, messageLength, (int) length);
            messageLength = (int) total;
            if (fin) {
                deliver(sink, messageOpcode, message, messageLength);
                message = null;
            }
        }
    }

    private static void deliver(Sink sink, int opcode, byte[] payload, int length) throws ProtocolViolation {
        if (opcode == OP_TEXT) {
            try {
                String text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(payload, 0, length)).toString();
                sink.onText(text);
            } catch (CharacterCodingException e) {
                throw new ProtocolViolation(CLOSE_BAD_DATA, "a text message that is not UTF-8");
            }
        } else {
            sink.onBinary(ByteBuffer.wrap(payload, 0, length));
        }
    }
}
