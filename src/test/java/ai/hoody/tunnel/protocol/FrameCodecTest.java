package ai.hoody.tunnel.protocol;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static ai.hoody.tunnel.protocol.FrameCodec.HEADER_BYTES;
import static ai.hoody.tunnel.protocol.FrameCodec.MAX_DATA_BYTES;
import static ai.hoody.tunnel.protocol.FrameCodec.MAX_TEXT_BYTES;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

/** Byte layout, validation and robustness of {@link FrameCodec} (docs/PROTOCOL.md §4). Plain JUnit, no Quarkus. */
class FrameCodecTest {

    private static final HexFormat HEX = HexFormat.of();

    // ------------------------------------------------------------------ helpers

    private static byte[] hex(String s) {
        return HEX.parseHex(s.replace(" ", ""));
    }

    private static Frame decode(byte[] message) throws MalformedMessageException {
        return FrameCodec.decode(ByteBuffer.wrap(message));
    }

    private static Frame roundTrip(Frame frame) throws MalformedMessageException {
        return decode(FrameCodec.encode(frame));
    }

    private static byte[] bytes(int n, int seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    /** A frame of {@code type} on stream 1 with {@code payloadBytes} bytes of payload, all 'a'. */
    private static byte[] raw(int type, int streamId, int payloadBytes) {
        byte[] f = new byte[HEADER_BYTES + payloadBytes];
        ByteBuffer.wrap(f).put((byte) type).putInt(streamId);
        Arrays.fill(f, HEADER_BYTES, f.length, (byte) 'a');
        return f;
    }

    private static void assertMalformed(byte[] message, String... fragments) {
        assertThatThrownBy(() -> decode(message))
                .isInstanceOf(MalformedMessageException.class)
                .hasMessageContainingAll(fragments);
    }

    // ------------------------------------------------------------------ round trips

    @Test
    void openWithOriginRoundTrips() throws Exception {
        Frame f = new Frame.Open(1, 42, "/203.0.113.7:51234");
        assertThat(roundTrip(f)).isEqualTo(f);
    }

    @Test
    void openWithoutOriginRoundTripsAsEmptyOrigin() throws Exception {
        assertThat(roundTrip(new Frame.Open(3, 7, ""))).isEqualTo(new Frame.Open(3, 7, ""));
        // null is sent as an empty text field; the receiver sees "" (the field is never absent on the wire)
        assertThat(roundTrip(new Frame.Open(3, 7, null))).isEqualTo(new Frame.Open(3, 7, ""));
        assertThat(FrameCodec.open(3, 7, null)).hasSize(HEADER_BYTES + 4);
    }

    @Test
    void openWithMultibyteOriginRoundTrips() throws Exception {
        String origin = "[2001:db8::1]:443 café ☕ 東京 😀";
        assertThat(utf8(origin).length).isGreaterThan(origin.length());
        Frame f = new Frame.Open(5, Integer.MAX_VALUE, origin);
        assertThat(roundTrip(f)).isEqualTo(f);
    }

    @Test
    void openWithOriginOfExactlyMaxTextBytesIsKeptWhole() throws Exception {
        String origin = "é".repeat(MAX_TEXT_BYTES / 2); // 2 bytes each: exactly 256 bytes
        assertThat(utf8(origin)).hasSize(MAX_TEXT_BYTES);
        Frame f = new Frame.Open(1, 1, origin);
        assertThat(FrameCodec.encode(f)).hasSize(HEADER_BYTES + 4 + MAX_TEXT_BYTES);
        assertThat(roundTrip(f)).isEqualTo(f);
    }

    @Test
    void openOkRoundTrips() throws Exception {
        assertThat(roundTrip(new Frame.OpenOk(1))).isEqualTo(new Frame.OpenOk(1));
        assertThat(roundTrip(new Frame.OpenOk(Integer.MAX_VALUE))).isEqualTo(new Frame.OpenOk(Integer.MAX_VALUE));
    }

    @Test
    void streamIdsAreUnsignedOnTheWire() throws Exception {
        // u32 0xFFFFFFFF is a legal stream id; Java sees it as -1
        assertThat(FrameCodec.openOk(-1)).isEqualTo(hex("02 ffffffff"));
        assertThat(decode(hex("02 ffffffff"))).isEqualTo(new Frame.OpenOk(-1));
        assertThat(decode(hex("05 80000000"))).isEqualTo(new Frame.Fin(Integer.MIN_VALUE));
    }

    @Test
    void dataOfOneByteRoundTrips() throws Exception {
        Frame f = new Frame.Data(7, ByteBuffer.wrap(new byte[]{(byte) 0xAB}));
        Frame back = roundTrip(f);
        assertThat(back).isEqualTo(f);
        assertThat(((Frame.Data) back).payload().remaining()).isEqualTo(1);
    }

    @Test
    void dataOfMaxBytesRoundTrips() throws Exception {
        byte[] payload = bytes(MAX_DATA_BYTES, 1);
        byte[] encoded = FrameCodec.data(9, payload, 0, payload.length);
        assertThat(encoded).hasSize(HEADER_BYTES + MAX_DATA_BYTES);
        Frame.Data back = (Frame.Data) decode(encoded);
        assertThat(back.streamId()).isEqualTo(9);
        byte[] got = new byte[back.payload().remaining()];
        back.payload().duplicate().get(got);
        assertThat(got).isEqualTo(payload);
        assertThat(roundTrip(new Frame.Data(9, ByteBuffer.wrap(payload)))).isEqualTo(back);
    }

    @Test
    void dataCopiesTheRequestedSlice() throws Exception {
        byte[] src = "0123456789".getBytes(StandardCharsets.US_ASCII);
        byte[] f = FrameCodec.data(1, src, 3, 4);
        assertThat(f).isEqualTo(concat(hex("03 00000001"), "3456".getBytes(StandardCharsets.US_ASCII)));
        src[3] = 'X'; // a copy, not a view
        assertThat(f[HEADER_BYTES]).isEqualTo((byte) '3');
    }

    @Test
    void encodingDataHonoursThePayloadBufferPosition() throws Exception {
        ByteBuffer payload = ByteBuffer.wrap("xxhelloyy".getBytes(StandardCharsets.US_ASCII), 2, 5);
        byte[] f = FrameCodec.encode(new Frame.Data(1, payload));
        assertThat(f).isEqualTo(concat(hex("03 00000001"), utf8("hello")));
        assertThat(payload.position()).isEqualTo(2); // encode does not consume the caller's buffer
    }

    @Test
    void windowRoundTrips() throws Exception {
        assertThat(roundTrip(new Frame.Window(1, 1))).isEqualTo(new Frame.Window(1, 1));
        assertThat(roundTrip(new Frame.Window(1, Integer.MAX_VALUE))).isEqualTo(new Frame.Window(1, Integer.MAX_VALUE));
    }

    @Test
    void finRoundTrips() throws Exception {
        assertThat(roundTrip(new Frame.Fin(11))).isEqualTo(new Frame.Fin(11));
    }

    @ParameterizedTest
    @EnumSource(ResetCode.class)
    void resetRoundTripsForEveryCode(ResetCode code) throws Exception {
        Frame f = new Frame.Reset(13, code, "because: " + code.name() + " – ünïcödé");
        assertThat(roundTrip(f)).isEqualTo(f);
    }

    @Test
    void resetWithoutReasonRoundTripsAsEmptyReason() throws Exception {
        assertThat(roundTrip(new Frame.Reset(1, ResetCode.CANCEL, ""))).isEqualTo(new Frame.Reset(1, ResetCode.CANCEL, ""));
        assertThat(roundTrip(new Frame.Reset(1, ResetCode.CANCEL, null))).isEqualTo(new Frame.Reset(1, ResetCode.CANCEL, ""));
    }

    @Test
    void frameTypesReportTheirType() {
        assertThat(new Frame.Open(1, 1, "").type()).isEqualTo(FrameType.OPEN);
        assertThat(new Frame.OpenOk(1).type()).isEqualTo(FrameType.OPEN_OK);
        assertThat(new Frame.Data(1, ByteBuffer.allocate(1)).type()).isEqualTo(FrameType.DATA);
        assertThat(new Frame.Window(1, 1).type()).isEqualTo(FrameType.WINDOW);
        assertThat(new Frame.Fin(1).type()).isEqualTo(FrameType.FIN);
        assertThat(new Frame.Reset(1, ResetCode.CANCEL, "").type()).isEqualTo(FrameType.RESET);
    }

    @Test
    void frameTypeCodesMatchTheSpec() {
        assertThat(FrameType.OPEN.code).isEqualTo(0x01);
        assertThat(FrameType.OPEN_OK.code).isEqualTo(0x02);
        assertThat(FrameType.DATA.code).isEqualTo(0x03);
        assertThat(FrameType.WINDOW.code).isEqualTo(0x04);
        assertThat(FrameType.FIN.code).isEqualTo(0x05);
        assertThat(FrameType.RESET.code).isEqualTo(0x06);
        for (FrameType t : FrameType.values()) {
            assertThat(FrameType.of(t.code)).isSameAs(t);
        }
        for (int c : new int[]{-1, 0, 7, 8, 0x7f, 0x80, 0xff, 256, Integer.MAX_VALUE, Integer.MIN_VALUE}) {
            assertThat(FrameType.of(c)).as("code %d", c).isNull();
        }
    }

    @Test
    void resetCodesMatchTheSpec() {
        assertThat(ResetCode.CANCEL.code).isEqualTo(1);
        assertThat(ResetCode.CONNECT_FAILED.code).isEqualTo(2);
        assertThat(ResetCode.FLOW_CONTROL_ERROR.code).isEqualTo(3);
        assertThat(ResetCode.PROTOCOL_ERROR.code).isEqualTo(4);
        assertThat(ResetCode.BIND_GONE.code).isEqualTo(5);
        assertThat(ResetCode.BIND_TAKEOVER.code).isEqualTo(6);
        assertThat(ResetCode.SESSION_CLOSING.code).isEqualTo(7);
        assertThat(ResetCode.OPEN_TIMEOUT.code).isEqualTo(8);
        assertThat(ResetCode.INTERNAL.code).isEqualTo(9);
        for (ResetCode c : ResetCode.values()) {
            assertThat(ResetCode.of(c.code)).isSameAs(c);
        }
    }

    @Test
    void staticBuildersAndEncodeAgree() {
        byte[] payload = {1, 2, 3};
        assertThat(FrameCodec.encode(new Frame.Open(1, 2, "o"))).isEqualTo(FrameCodec.open(1, 2, "o"));
        assertThat(FrameCodec.encode(new Frame.OpenOk(1))).isEqualTo(FrameCodec.openOk(1));
        assertThat(FrameCodec.encode(new Frame.Data(1, ByteBuffer.wrap(payload)))).isEqualTo(FrameCodec.data(1, payload, 0, 3));
        assertThat(FrameCodec.encode(new Frame.Window(1, 5))).isEqualTo(FrameCodec.window(1, 5));
        assertThat(FrameCodec.encode(new Frame.Fin(1))).isEqualTo(FrameCodec.fin(1));
        assertThat(FrameCodec.encode(new Frame.Reset(1, ResetCode.CANCEL, "r"))).isEqualTo(FrameCodec.reset(1, ResetCode.CANCEL, "r"));
    }

    // ------------------------------------------------------------------ exact byte layout (big-endian)

    @Test
    void openLayout() throws Exception {
        byte[] expected = hex("01 01020304 0a0b0c0d 6869"); // type, streamId, bindId, "hi"
        assertThat(FrameCodec.open(0x01020304, 0x0A0B0C0D, "hi")).isEqualTo(expected);
        assertThat(decode(expected)).isEqualTo(new Frame.Open(0x01020304, 0x0A0B0C0D, "hi"));
    }

    @Test
    void openWithoutOriginLayout() throws Exception {
        byte[] expected = hex("01 00000001 00000002");
        assertThat(FrameCodec.open(1, 2, null)).isEqualTo(expected);
        assertThat(FrameCodec.open(1, 2, "")).isEqualTo(expected);
        assertThat(decode(expected)).isEqualTo(new Frame.Open(1, 2, ""));
    }

    @Test
    void openWithMultibyteOriginLayout() throws Exception {
        byte[] expected = hex("01 00000003 00000001 c3a9 e282ac f09f9880"); // é € 😀
        assertThat(FrameCodec.open(3, 1, "é€😀")).isEqualTo(expected);
        assertThat(decode(expected)).isEqualTo(new Frame.Open(3, 1, "é€😀"));
    }

    @Test
    void openOkLayout() throws Exception {
        byte[] expected = hex("02 7fffff01");
        assertThat(FrameCodec.openOk(0x7fffff01)).isEqualTo(expected);
        assertThat(decode(expected)).isEqualTo(new Frame.OpenOk(0x7fffff01));
    }

    @Test
    void dataLayout() throws Exception {
        byte[] expected = hex("03 00010203 deadbeef");
        assertThat(FrameCodec.data(0x00010203, hex("deadbeef"), 0, 4)).isEqualTo(expected);
        assertThat(decode(expected)).isEqualTo(new Frame.Data(0x00010203, ByteBuffer.wrap(hex("deadbeef"))));
    }

    @Test
    void windowLayout() throws Exception {
        assertThat(FrameCodec.window(3, 0x00010000)).isEqualTo(hex("04 00000003 00010000"));
        assertThat(FrameCodec.window(3, 1)).isEqualTo(hex("04 00000003 00000001"));
        assertThat(FrameCodec.window(3, Integer.MAX_VALUE)).isEqualTo(hex("04 00000003 7fffffff"));
        assertThat(decode(hex("04 00000003 12345678"))).isEqualTo(new Frame.Window(3, 0x12345678));
    }

    @Test
    void finLayout() throws Exception {
        assertThat(FrameCodec.fin(0x0badf00d)).isEqualTo(hex("05 0badf00d"));
        assertThat(decode(hex("05 0badf00d"))).isEqualTo(new Frame.Fin(0x0badf00d));
    }

    @Test
    void resetLayout() throws Exception {
        byte[] expected = hex("06 0000000b 0003 6f7665722063726564697421"); // FLOW_CONTROL_ERROR, "over credit!"
        assertThat(FrameCodec.reset(11, ResetCode.FLOW_CONTROL_ERROR, "over credit!")).isEqualTo(expected);
        assertThat(decode(expected)).isEqualTo(new Frame.Reset(11, ResetCode.FLOW_CONTROL_ERROR, "over credit!"));
    }

    @ParameterizedTest
    @EnumSource(ResetCode.class)
    void resetCodeLayout(ResetCode code) throws Exception {
        byte[] expected = concat(hex("06 00000001"), new byte[]{0, (byte) code.code});
        assertThat(FrameCodec.reset(1, code, null)).isEqualTo(expected);
        assertThat(decode(expected)).isEqualTo(new Frame.Reset(1, code, ""));
    }

    // ------------------------------------------------------------------ text fields: truncation on encode

    @Test
    void longAsciiReasonIsCutToMaxTextBytes() throws Exception {
        String reason = "r".repeat(1000);
        byte[] f = FrameCodec.reset(1, ResetCode.INTERNAL, reason);
        assertThat(f).hasSize(HEADER_BYTES + 2 + MAX_TEXT_BYTES);
        assertThat(decode(f)).isEqualTo(new Frame.Reset(1, ResetCode.INTERNAL, "r".repeat(MAX_TEXT_BYTES)));
    }

    @Test
    void longOriginIsCutToMaxTextBytes() throws Exception {
        byte[] f = FrameCodec.open(1, 1, "o".repeat(MAX_TEXT_BYTES + 1));
        assertThat(f).hasSize(HEADER_BYTES + 4 + MAX_TEXT_BYTES);
        assertThat(decode(f)).isEqualTo(new Frame.Open(1, 1, "o".repeat(MAX_TEXT_BYTES)));
    }

    /** Every alignment of 2-, 3- and 4-byte characters across the 256-byte boundary. */
    @ParameterizedTest
    @ValueSource(strings = {"é", "€", "東", "😀"})
    void longReasonIsNeverCutInsideACharacter(String ch) throws Exception {
        int width = utf8(ch).length;
        for (int prefix = 0; prefix <= width + 1; prefix++) {
            String reason = "a".repeat(MAX_TEXT_BYTES - width - prefix + 2) + ch.repeat(200);
            byte[] full = utf8(reason);
            assertThat(full.length).isGreaterThan(MAX_TEXT_BYTES);

            for (byte[] frame : new byte[][]{FrameCodec.reset(1, ResetCode.CANCEL, reason), FrameCodec.open(1, 1, reason)}) {
                int textStart = frame[0] == FrameType.RESET.code ? HEADER_BYTES + 2 : HEADER_BYTES + 4;
                byte[] text = Arrays.copyOfRange(frame, textStart, frame.length);
                assertThat(text.length).as("prefix %d", prefix)
                        .isLessThanOrEqualTo(MAX_TEXT_BYTES)
                        .isGreaterThan(MAX_TEXT_BYTES - width); // at most one character dropped
                assertThat(Arrays.copyOf(full, text.length)).isEqualTo(text); // a prefix of the original
                String decoded = strictUtf8(text); // well-formed: no half character
                assertThat(reason).startsWith(decoded);
                Frame back = decode(frame);
                String backText = back instanceof Frame.Reset r ? r.reason() : ((Frame.Open) back).origin();
                assertThat(backText).isEqualTo(decoded).doesNotContain("\uFFFD");
            }
        }
    }

    private static String strictUtf8(byte[] b) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            throw new AssertionError("not well-formed UTF-8: " + HEX.formatHex(b), e);
        }
    }

    // ------------------------------------------------------------------ decode: rejection

    @Test
    void emptyMessageIsRejected() {
        assertMalformed(new byte[0], "shorter than its 5-byte header", "0 bytes");
    }

    @Test
    void fourByteMessageIsRejected() {
        assertMalformed(hex("02 000000"), "shorter than its 5-byte header", "4 bytes");
    }

    @ParameterizedTest
    @ValueSource(ints = {0x00, 0x07, 0x08, 0x7f, 0x80, 0xff})
    void unknownTypeIsRejected(int type) {
        assertMalformed(raw(type, 1, 4), "unknown frame type 0x" + Integer.toHexString(type));
        assertMalformed(raw(type, 1, 0), "unknown frame type");
    }

    static Stream<Arguments> streamZeroFrames() {
        return Stream.of(
                Arguments.of("OPEN", hex("01 00000000 00000001")),
                Arguments.of("OPEN_OK", hex("02 00000000")),
                Arguments.of("DATA", hex("03 00000000 00")),
                Arguments.of("WINDOW", hex("04 00000000 00000001")),
                Arguments.of("FIN", hex("05 00000000")),
                Arguments.of("RESET", hex("06 00000000 0001")));
    }

    @ParameterizedTest(name = "{0} on stream 0")
    @MethodSource("streamZeroFrames")
    void streamZeroIsRejected(String type, byte[] frame) {
        assertMalformed(frame, type + " on stream 0");
    }

    @Test
    void openOkWithPayloadIsRejected() {
        assertMalformed(raw(0x02, 1, 1), "OPEN_OK payload must be 0 bytes, was 1");
        assertMalformed(raw(0x02, 1, 4), "OPEN_OK payload must be 0 bytes, was 4");
    }

    @Test
    void finWithPayloadIsRejected() {
        assertMalformed(raw(0x05, 1, 1), "FIN payload must be 0 bytes, was 1");
        assertMalformed(raw(0x05, 1, 100), "FIN payload must be 0 bytes, was 100");
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 3, 5, 8})
    void windowWithWrongLengthIsRejected(int len) {
        assertMalformed(raw(0x04, 1, len), "WINDOW payload must be 4 bytes, was " + len);
    }

    @Test
    void windowIncrementZeroIsRejected() {
        assertMalformed(hex("04 00000001 00000000"), "WINDOW increment", "was 0");
    }

    @Test
    void windowIncrementWithHighBitSetIsRejected() {
        assertMalformed(hex("04 00000001 80000000"), "WINDOW increment", "was 2147483648");
        assertMalformed(hex("04 00000001 ffffffff"), "WINDOW increment", "was 4294967295");
        assertMalformed(hex("04 00000001 80000001"), "WINDOW increment", "was 2147483649");
    }

    @Test
    void emptyDataIsRejected() {
        assertMalformed(hex("03 00000001"), "DATA payload must be 1..65536 bytes, was 0");
    }

    @Test
    void dataOverMaxIsRejected() {
        assertMalformed(raw(0x03, 1, MAX_DATA_BYTES + 1), "DATA payload must be 1..65536 bytes, was 65537");
        assertMalformed(raw(0x03, 1, 2 * MAX_DATA_BYTES), "was 131072");
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2, 3})
    void openShorterThanFourBytesIsRejected(int len) {
        assertMalformed(raw(0x01, 1, len), "OPEN payload must be 4..260 bytes, was " + len);
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1})
    void resetShorterThanTwoBytesIsRejected(int len) {
        assertMalformed(raw(0x06, 1, len), "RESET payload must be 2..258 bytes, was " + len);
    }

    @Test
    void openTextOverMaxIsRejectedAndAtMaxAccepted() throws Exception {
        assertThat(decode(raw(0x01, 1, 4 + MAX_TEXT_BYTES))).isInstanceOf(Frame.Open.class);
        assertMalformed(raw(0x01, 1, 4 + MAX_TEXT_BYTES + 1), "OPEN payload must be 4..260 bytes, was 261");
    }

    @Test
    void resetTextOverMaxIsRejectedAndAtMaxAccepted() throws Exception {
        byte[] atMax = raw(0x06, 1, 2 + MAX_TEXT_BYTES);
        atMax[5] = 0;
        atMax[6] = 1;
        assertThat(decode(atMax)).isEqualTo(new Frame.Reset(1, ResetCode.CANCEL, "a".repeat(MAX_TEXT_BYTES)));
        assertMalformed(raw(0x06, 1, 2 + MAX_TEXT_BYTES + 1), "RESET payload must be 2..258 bytes, was 259");
    }

    @Test
    void encoderRefusesDataOutsideOneToMax() {
        assertThatThrownBy(() -> FrameCodec.data(1, new byte[0], 0, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> FrameCodec.data(1, new byte[MAX_DATA_BYTES + 1], 0, MAX_DATA_BYTES + 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("65537");
        assertThatThrownBy(() -> FrameCodec.encode(new Frame.Data(1, ByteBuffer.allocate(0))))
                .isInstanceOf(IllegalArgumentException.class);
    }

    // ------------------------------------------------------------------ decode: tolerant parts

    @ParameterizedTest
    @ValueSource(ints = {0, 10, 0x00ff, 0x0100, 0x7fff, 0x8000, 0xffff})
    void unknownResetCodeDecodesAsInternal(int code) throws Exception {
        byte[] f = concat(hex("06 00000001"), new byte[]{(byte) (code >>> 8), (byte) code}, utf8("why"));
        assertThat(decode(f)).isEqualTo(new Frame.Reset(1, ResetCode.INTERNAL, "why"));
        assertThat(ResetCode.of(code)).isEqualTo(ResetCode.INTERNAL);
    }

    @Test
    void invalidUtf8TextIsReplacedNotRejected() throws Exception {
        Frame f = decode(hex("06 00000001 0001 ff c3 41"));
        assertThat(f).isInstanceOf(Frame.Reset.class);
        assertThat(((Frame.Reset) f).reason()).contains("\uFFFD").endsWith("A");
    }

    /**
     * Found by FrameCodecFuzzTest (seed {@code regression-reset-reason-not-utf8}): a reason of 0xff bytes read as
     * U+FFFD, 3 bytes each, so the reason read was longer than 256 bytes and re-encoding it cut it: the frame did not
     * survive a round trip. The decoder now cuts what it reads as a sender would.
     */
    @Test
    void invalidUtf8TextIsCutAsASenderWouldSoThatItReEncodesAsRead() throws Exception {
        byte[] reason = new byte[MAX_TEXT_BYTES];
        Arrays.fill(reason, (byte) 0xff);
        Frame.Reset f = (Frame.Reset) decode(concat(hex("06 00000001 0001"), reason));
        assertThat(utf8(f.reason()).length).isLessThanOrEqualTo(MAX_TEXT_BYTES);
        assertThat(f.reason()).matches("\uFFFD+");
        assertThat(decode(FrameCodec.encode(f))).isEqualTo(f);

        // The next find (seed regression-reset-reason-cut-to-the-same-length): one bad byte and 255 good ones read as
        // 258 bytes, which a sender cuts back to 256, as many as were sent: the cut must not be judged by length.
        byte[] oneBad = concat(new byte[]{(byte) 0xff}, utf8("a".repeat(MAX_TEXT_BYTES - 1)));
        Frame.Reset r = (Frame.Reset) decode(concat(hex("06 00000001 0001"), oneBad));
        assertThat(r.reason()).isEqualTo("\uFFFD" + "a".repeat(MAX_TEXT_BYTES - 3));
        assertThat(decode(FrameCodec.encode(r))).isEqualTo(r);

        byte[] origin = concat(utf8("/203.0.113.7:5"), reason);
        Frame.Open o = (Frame.Open) decode(concat(hex("01 00000003 00000001"), Arrays.copyOf(origin, MAX_TEXT_BYTES)));
        assertThat(o.origin()).startsWith("/203.0.113.7:5\uFFFD");
        assertThat(decode(FrameCodec.encode(o))).isEqualTo(o);
    }

    // ------------------------------------------------------------------ decode and the caller's buffer

    @Test
    void decodeDoesNotMoveTheCallersBuffer() throws Exception {
        byte[] frame = FrameCodec.data(5, utf8("payload"), 0, 7);
        byte[] backing = concat(utf8("junk!"), frame, utf8("trailer"));
        ByteBuffer message = ByteBuffer.wrap(backing, 5, frame.length).slice(); // position 0 of a slice
        ByteBuffer offset = ByteBuffer.wrap(backing).position(5).limit(5 + frame.length); // position 5, not a slice
        offset.mark();

        for (ByteBuffer m : new ByteBuffer[]{message, offset}) {
            int pos = m.position();
            int lim = m.limit();
            Frame.Data d = (Frame.Data) FrameCodec.decode(m);
            assertThat(m.position()).isEqualTo(pos);
            assertThat(m.limit()).isEqualTo(lim);
            assertThat(d).isEqualTo(new Frame.Data(5, ByteBuffer.wrap(utf8("payload"))));
            assertThat(d.payload().position()).isZero();
            assertThat(d.payload().remaining()).isEqualTo(7);
            // decoding twice from the same buffer gives the same frame
            assertThat(FrameCodec.decode(m)).isEqualTo(d);
        }
        offset.reset(); // the mark survived
        assertThat(offset.position()).isEqualTo(5);
    }

    @Test
    void decodeDoesNotMoveTheCallersBufferOnRejection() {
        ByteBuffer m = ByteBuffer.wrap(hex("aa 04 00000001 00000000")).position(1);
        assertThatThrownBy(() -> FrameCodec.decode(m)).isInstanceOf(MalformedMessageException.class);
        assertThat(m.position()).isEqualTo(1);
        assertThat(m.limit()).isEqualTo(10);
    }

    @Test
    void dataPayloadIsAViewOfTheMessage() throws Exception {
        byte[] frame = FrameCodec.data(1, utf8("abc"), 0, 3);
        Frame.Data d = (Frame.Data) decode(frame);
        frame[HEADER_BYTES] = 'X';
        assertThat(d.payload().get(0)).isEqualTo((byte) 'X');
    }

    @Test
    void decodeIsBigEndianWhateverTheCallersByteOrder() throws Exception {
        ByteBuffer le = ByteBuffer.wrap(hex("04 00000102 00000304")).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(FrameCodec.decode(le)).isEqualTo(new Frame.Window(0x0102, 0x0304));
        assertThat(le.order()).isEqualTo(ByteOrder.LITTLE_ENDIAN);
    }

    @Test
    void decodeWorksOnDirectAndReadOnlyBuffers() throws Exception {
        byte[] frame = FrameCodec.open(9, 8, "origin");
        ByteBuffer direct = ByteBuffer.allocateDirect(frame.length + 3).put(new byte[3]).put(frame).position(3);
        assertThat(FrameCodec.decode(direct)).isEqualTo(new Frame.Open(9, 8, "origin"));
        assertThat(direct.position()).isEqualTo(3);

        ByteBuffer ro = ByteBuffer.wrap(FrameCodec.data(2, utf8("zz"), 0, 2)).asReadOnlyBuffer();
        assertThat(FrameCodec.decode(ro)).isEqualTo(new Frame.Data(2, ByteBuffer.wrap(utf8("zz"))));
    }

    // ------------------------------------------------------------------ robustness

    /**
     * 100,000 random messages, biased towards known types, small stream ids and the payload-length boundaries, so
     * that every branch of the decoder is hit; each must decode or be rejected as malformed, nothing else.
     */
    @Test
    void randomMessagesDecodeOrAreRejectedAsMalformed() {
        Random rnd = new Random(0x5EED_F4A3L);
        int[] interestingLengths = {0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 260, 261, 262, 263, 264, 265, 266,
                HEADER_BYTES + MAX_DATA_BYTES - 1, HEADER_BYTES + MAX_DATA_BYTES, HEADER_BYTES + MAX_DATA_BYTES + 1};
        Map<FrameType, Integer> decoded = new EnumMap<>(FrameType.class);
        int rejected = 0;

        for (int i = 0; i < 100_000; i++) {
            int len = switch (rnd.nextInt(10)) {
                case 0, 1, 2, 3 -> rnd.nextInt(16);
                case 4, 5, 6 -> rnd.nextInt(300);
                case 7 -> rnd.nextInt(2000);
                case 8 -> interestingLengths[rnd.nextInt(interestingLengths.length)];
                default -> rnd.nextInt(40);
            };
            byte[] m = new byte[len];
            rnd.nextBytes(m);
            if (len > 0 && rnd.nextInt(10) < 8) {
                m[0] = (byte) rnd.nextInt(8); // mostly known types, and 0 and 7
            }
            if (len >= 5 && rnd.nextInt(10) < 6) {
                m[1] = m[2] = 0;
                m[3] = (byte) (rnd.nextInt(10) == 0 ? 0 : rnd.nextInt(4));
            }
            if (len == 9 && m[0] == FrameType.WINDOW.code && rnd.nextBoolean()) {
                m[5] = (byte) (m[5] & 0x7f); // mostly valid increments
            }

            Frame f;
            try {
                f = FrameCodec.decode(ByteBuffer.wrap(m));
            } catch (MalformedMessageException e) {
                assertThat(e.getMessage()).as("message for %s", HEX.formatHex(m)).isNotBlank();
                rejected++;
                continue;
            } catch (Throwable t) {
                fail("decode threw " + t + " for " + HEX.formatHex(m), t);
                return;
            }
            decoded.merge(f.type(), 1, Integer::sum);
            checkDecoded(m, f);
        }
        assertThat(decoded.keySet()).as("every type decoded at least once").containsExactlyInAnyOrder(FrameType.values());
        assertThat(decoded.values()).allSatisfy(n -> assertThat(n).isGreaterThan(100));
        assertThat(rejected).isGreaterThan(10_000);
    }

    /** Whatever decodes is a sane frame, and re-encodes to the same bytes when the text fields allow it. */
    private static void checkDecoded(byte[] m, Frame f) {
        String where = HEX.formatHex(m, 0, Math.min(m.length, 64));
        assertThat(f.streamId()).as(where).isNotZero();
        assertThat(f.type().code).as(where).isEqualTo(m[0]);
        byte[] again;
        try {
            again = FrameCodec.encode(f);
        } catch (Throwable t) {
            throw new AssertionError("re-encoding " + f + " from " + where + " threw " + t, t);
        }
        boolean exact = switch (f) {
            case Frame.Open o -> isWellFormedUtf8(m, HEADER_BYTES + 4);
            case Frame.Reset r -> isWellFormedUtf8(m, HEADER_BYTES + 2) && ResetCode.of((m[5] & 0xff) << 8 | m[6] & 0xff).code == ((m[5] & 0xff) << 8 | (m[6] & 0xff));
            default -> true;
        };
        if (exact) {
            assertThat(again).as(where).isEqualTo(m);
        } else {
            try {
                Frame back = FrameCodec.decode(ByteBuffer.wrap(again));
                assertThat(back.type()).isEqualTo(f.type());
                assertThat(back.streamId()).isEqualTo(f.streamId());
            } catch (MalformedMessageException e) {
                throw new AssertionError("re-encoded " + f + " does not decode: " + e.getMessage());
            }
        }
    }

    private static boolean isWellFormedUtf8(byte[] m, int from) {
        try {
            StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(m, from, m.length - from));
            return true;
        } catch (CharacterCodingException e) {
            return false;
        }
    }
}
