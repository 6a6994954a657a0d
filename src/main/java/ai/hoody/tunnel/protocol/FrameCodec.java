package ai.hoody.tunnel.protocol;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Byte layout of stream frames (docs/PROTOCOL.md §4): {@code type:u8, streamId:u32 big-endian, payload}.
 * One frame per binary WebSocket message, so the message length delimits the payload.
 */
public final class FrameCodec {

    public static final int HEADER_BYTES = 5;
    /** Largest DATA payload a peer may send. */
    public static final int MAX_DATA_BYTES = 64 * 1024;
    /** Longest RESET reason and OPEN origin, in UTF-8 bytes. */
    public static final int MAX_TEXT_BYTES = 256;

    private FrameCodec() {
    }

    public static byte[] open(int streamId, int bindId, String origin) {
        byte[] text = utf8(origin);
        byte[] f = header(FrameType.OPEN, streamId, 4 + text.length);
        putInt(f, HEADER_BYTES, bindId);
        System.arraycopy(text, 0, f, HEADER_BYTES + 4, text.length);
        return f;
    }

    public static byte[] openOk(int streamId) {
        return header(FrameType.OPEN_OK, streamId, 0);
    }

    /** A DATA frame holding a copy of {@code src[off, off+len)}. */
    public static byte[] data(int streamId, byte[] src, int off, int len) {
        if (len <= 0 || len > MAX_DATA_BYTES) {
            throw new IllegalArgumentException("DATA payload must be 1.." + MAX_DATA_BYTES + " bytes, was " + len);
        }
        byte[] f = header(FrameType.DATA, streamId, len);
        System.arraycopy(src, off, f, HEADER_BYTES, len);
        return f;
    }

    /**
     * An array for a DATA frame whose payload (up to {@code capacity} bytes) will be read into it at
     * {@link #HEADER_BYTES}; {@link #finishData} then writes the header. Saves the copy {@link #data} makes.
     */
    public static byte[] dataBuffer(int capacity) {
        if (capacity <= 0 || capacity > MAX_DATA_BYTES) {
            throw new IllegalArgumentException("DATA payload must be 1.." + MAX_DATA_BYTES + " bytes, was " + capacity);
        }
        return new byte[HEADER_BYTES + capacity];
    }

    /**
     * Writes the header of a DATA frame whose {@code len} payload bytes are already at {@link #HEADER_BYTES} of
     * {@code frame} (see {@link #dataBuffer}).
     *
     * @return the frame's length: the message is {@code frame[0, returned)}
     */
    public static int finishData(byte[] frame, int streamId, int len) {
        if (len <= 0 || len > MAX_DATA_BYTES || HEADER_BYTES + len > frame.length) {
            throw new IllegalArgumentException("DATA payload must be 1.." + MAX_DATA_BYTES + " bytes within the array, was " + len);
        }
        frame[0] = (byte) FrameType.DATA.code;
        putInt(frame, 1, streamId);
        return HEADER_BYTES + len;
    }

    public static byte[] window(int streamId, int increment) {
        byte[] f = header(FrameType.WINDOW, streamId, 4);
        putInt(f, HEADER_BYTES, increment);
        return f;
    }

    public static byte[] fin(int streamId) {
        return header(FrameType.FIN, streamId, 0);
    }

    public static byte[] reset(int streamId, ResetCode code, String reason) {
        byte[] text = utf8(reason);
        byte[] f = header(FrameType.RESET, streamId, 2 + text.length);
        f[HEADER_BYTES] = (byte) (code.code >>> 8);
        f[HEADER_BYTES + 1] = (byte) code.code;
        System.arraycopy(text, 0, f, HEADER_BYTES + 2, text.length);
        return f;
    }

    public static byte[] encode(Frame frame) {
        return switch (frame) {
            case Frame.Open o -> open(o.streamId(), o.bindId(), o.origin());
            case Frame.OpenOk o -> openOk(o.streamId());
            case Frame.Data d -> {
                ByteBuffer p = d.payload().duplicate();
                byte[] copy = new byte[p.remaining()];
                p.get(copy);
                yield data(d.streamId(), copy, 0, copy.length);
            }
            case Frame.Window w -> window(w.streamId(), w.increment());
            case Frame.Fin f -> fin(f.streamId());
            case Frame.Reset r -> reset(r.streamId(), r.code(), r.reason());
        };
    }

    /**
     * Reads one frame from a whole binary message. A DATA payload is a view of {@code message}, not a copy.
     *
     * @throws MalformedMessageException for anything that breaks §4: unknown type, stream id 0, wrong payload length
     */
    public static Frame decode(ByteBuffer message) throws MalformedMessageException {
        ByteBuffer m = message.duplicate();
        if (m.remaining() < HEADER_BYTES) {
            throw new MalformedMessageException("frame shorter than its 5-byte header (" + m.remaining() + " bytes)");
        }
        int typeCode = m.get() & 0xff;
        FrameType type = FrameType.of(typeCode);
        if (type == null) {
            throw new MalformedMessageException("unknown frame type 0x" + Integer.toHexString(typeCode));
        }
        int streamId = m.getInt();
        if (streamId == 0) {
            throw new MalformedMessageException(type + " on stream 0");
        }
        int len = m.remaining();
        return switch (type) {
            case OPEN -> {
                if (len < 4 || len - 4 > MAX_TEXT_BYTES) {
                    throw new MalformedMessageException("OPEN payload must be 4.." + (4 + MAX_TEXT_BYTES) + " bytes, was " + len);
                }
                int bindId = m.getInt();
                yield new Frame.Open(streamId, bindId, text(m));
            }
            case OPEN_OK -> {
                expectLength(type, len, 0);
                yield new Frame.OpenOk(streamId);
            }
            case DATA -> {
                if (len == 0 || len > MAX_DATA_BYTES) {
                    throw new MalformedMessageException("DATA payload must be 1.." + MAX_DATA_BYTES + " bytes, was " + len);
                }
                yield new Frame.Data(streamId, m.slice());
            }
            case WINDOW -> {
                expectLength(type, len, 4);
                int increment = m.getInt();
                if (increment <= 0) {
                    throw new MalformedMessageException("WINDOW increment must be 1..2^31-1, was " + Integer.toUnsignedString(increment));
                }
                yield new Frame.Window(streamId, increment);
            }
            case FIN -> {
                expectLength(type, len, 0);
                yield new Frame.Fin(streamId);
            }
            case RESET -> {
                if (len < 2 || len - 2 > MAX_TEXT_BYTES) {
                    throw new MalformedMessageException("RESET payload must be 2.." + (2 + MAX_TEXT_BYTES) + " bytes, was " + len);
                }
                int code = m.getShort() & 0xffff;
                yield new Frame.Reset(streamId, ResetCode.of(code), text(m));
            }
        };
    }

    private static void expectLength(FrameType type, int len, int expected) throws MalformedMessageException {
        if (len != expected) {
            throw new MalformedMessageException(type + " payload must be " + expected + " bytes, was " + len);
        }
    }

    private static byte[] header(FrameType type, int streamId, int payloadBytes) {
        byte[] f = new byte[HEADER_BYTES + payloadBytes];
        f[0] = (byte) type.code;
        putInt(f, 1, streamId);
        return f;
    }

    private static void putInt(byte[] f, int at, int v) {
        f[at] = (byte) (v >>> 24);
        f[at + 1] = (byte) (v >>> 16);
        f[at + 2] = (byte) (v >>> 8);
        f[at + 3] = (byte) v;
    }

    /** Text fields are truncated, never rejected, on the sending side: a long reason must not break a reset. */
    private static byte[] utf8(String s) {
        if (s == null || s.isEmpty()) {
            return new byte[0];
        }
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length <= MAX_TEXT_BYTES) {
            return b;
        }
        int end = MAX_TEXT_BYTES;
        while (end > 0 && (b[end] & 0xC0) == 0x80) {
            end--; // do not cut a multi-byte character in half
        }
        byte[] cut = new byte[end];
        System.arraycopy(b, 0, cut, 0, end);
        return cut;
    }

    /**
     * Text fields are read leniently: bytes that are not UTF-8 become U+FFFD. Each of those is 3 bytes, so the text
     * read can be longer than {@link #MAX_TEXT_BYTES} once encoded; it is then cut as a sender cuts it, so that the
     * frame read encodes to a frame that reads the same (found by FrameCodecFuzzTest: a RESET whose 90-byte reason was
     * mostly 0xff read as more than 256 UTF-8 bytes of U+FFFD, which an encode cut).
     */
    private static String text(ByteBuffer m) {
        byte[] b = new byte[m.remaining()];
        m.get(b);
        String text = new String(b, StandardCharsets.UTF_8);
        return text.getBytes(StandardCharsets.UTF_8).length <= MAX_TEXT_BYTES ? text
                : new String(utf8(text), StandardCharsets.UTF_8);
    }
}
