package ai.hoody.tunnel.driver;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The driver's WebSocket frame reader on byte sequences a kit could send, including the fuzzer's findings. */
class WebSocketFrameReaderTest {

    private static List<String> read(String hex) throws Exception {
        List<String> got = new ArrayList<>();
        WebSocketFrameReader.read(new DataInputStream(new ByteArrayInputStream(HexFormat.of().parseHex(hex))), 1 << 20,
                new WebSocketFrameReader.Sink() {
                    @Override
                    public void onText(String text) {
                        got.add("text " + text);
                    }

                    @Override
                    public void onBinary(ByteBuffer frame) {
                        got.add("binary " + frame.remaining());
                    }

                    @Override
                    public void onPing(byte[] payload) {
                        got.add("ping " + payload.length);
                    }

                    @Override
                    public boolean onClose(int code, String reason) {
                        got.add("close " + code + " " + reason);
                        return true;
                    }
                });
        return got;
    }

    @Test
    void messagesFragmentsPingsAndTheClose() throws Exception {
        // "hi" as one text frame; "abc" in two fragments with a ping between them; a close 1000 "bye"
        assertThat(read("81026869" + "010161" + "8900" + "80026263" + "880503e8627965"))
                .containsExactly("text hi", "ping 0", "text abc", "close 1000 bye");
    }

    /**
     * A 64-bit length with its top bit set (RFC 6455 §5.2 forbids it). On a control frame of length -1 it was a
     * NegativeArraySizeException that ended the driver's reader thread (seen while writing the fuzz test).
     */
    @Test
    void aLengthWithItsTopBitSetIsAProtocolError() {
        assertThatThrownBy(() -> read("897fffffffffffffffff"))
                .isInstanceOfSatisfying(WebSocketFrameReader.ProtocolViolation.class, e -> assertThat(e.code).isEqualTo(1002));
        assertThatThrownBy(() -> read("827fffffffffffffffff"))
                .isInstanceOfSatisfying(WebSocketFrameReader.ProtocolViolation.class, e -> assertThat(e.code).isEqualTo(1002));
    }

    /**
     * A continuation frame whose 64-bit length is 2^63 − 1, after a fragment of 1 byte (found by the fuzzer in CI,
     * input crash-ad2c778c…): the sum with what the message held overflowed, passed the size check and crashed the
     * reader with IndexOutOfBoundsException. The old reader in WebSocketClient had the same sum.
     */
    @Test
    void aHugeContinuationLengthIs1009NotAnOverflow() {
        assertThatThrownBy(() -> read("010175" + "007f7fffffffffffffff"))
                .isInstanceOfSatisfying(WebSocketFrameReader.ProtocolViolation.class, e -> assertThat(e.code).isEqualTo(1009));
    }

    @Test
    void aCloseFrameWithAOneByteBodyIsAProtocolError() {
        assertThatThrownBy(() -> read("880103"))
                .isInstanceOfSatisfying(WebSocketFrameReader.ProtocolViolation.class, e -> assertThat(e.code).isEqualTo(1002));
    }

    @Test
    void textThatIsNotUtf8Is1007AndAMessageOverTheLimitIs1009() {
        assertThatThrownBy(() -> read("8102c328"))
                .isInstanceOfSatisfying(WebSocketFrameReader.ProtocolViolation.class, e -> assertThat(e.code).isEqualTo(1007));
        assertThatThrownBy(() -> read("827f0000000000200001"))
                .isInstanceOfSatisfying(WebSocketFrameReader.ProtocolViolation.class, e -> assertThat(e.code).isEqualTo(1009));
    }
}
