package ai.hoody.tunnel.driver;

import com.code_intelligence.jazzer.junit.FuzzTest;

import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Coverage-guided fuzzing of the driver's WebSocket frame reader with Jazzer (issue #11): whatever bytes a kit sends,
 * {@link WebSocketFrameReader#read} delivers messages within the size limit and ends with the end of the bytes
 * ({@link EOFException}), a {@link WebSocketFrameReader.ProtocolViolation} with a close code the driver sends (1002,
 * 1007, 1009), or a close frame; never another exception (which would end the driver's reader thread without a close).
 * <p>
 * {@code ./mvnw verify} runs it over the committed seeds and the regression inputs in
 * {@code src/test/resources/ai/hoody/tunnel/driver/WebSocketFrameReaderFuzzTestInputs/readsMessagesOrFailsWithACloseCode/};
 * with {@code JAZZER_FUZZ=1} it fuzzes (README "Development").
 */
class WebSocketFrameReaderFuzzTest {

    private static final int MAX_MESSAGE_BYTES = 4096; // small, so that the fuzzer reaches the limit

    @FuzzTest(maxDuration = "60s")
    void readsMessagesOrFailsWithACloseCode(byte[] bytes) {
        long[] delivered = {0};
        try {
            WebSocketFrameReader.read(new DataInputStream(new ByteArrayInputStream(bytes)), MAX_MESSAGE_BYTES,
                    new WebSocketFrameReader.Sink() {
                        @Override
                        public void onText(String text) {
                            assertThat(text.length()).isLessThanOrEqualTo(MAX_MESSAGE_BYTES);
                            delivered[0]++;
                        }

                        @Override
                        public void onBinary(ByteBuffer frame) {
                            assertThat(frame.remaining()).isLessThanOrEqualTo(MAX_MESSAGE_BYTES);
                            delivered[0]++;
                        }

                        @Override
                        public void onPing(byte[] payload) {
                            assertThat(payload.length).isLessThanOrEqualTo(125);
                        }

                        @Override
                        public boolean onClose(int code, String reason) {
                            assertThat(code).isBetween(0, 65535);
                            return true;
                        }
                    });
        } catch (WebSocketFrameReader.ProtocolViolation e) {
            assertThat(e.code).isIn(1002, 1007, 1009);
            assertThat(e.getMessage()).isNotBlank(); // it becomes the close reason
        } catch (EOFException end) {
            // the bytes ran out: the kit closed the connection
        } catch (IOException e) {
            throw new AssertionError("an in-memory stream cannot fail: " + e, e);
        }
    }
}
