package ai.hoody.tunnel.protocol;

import com.code_intelligence.jazzer.junit.FuzzTest;

import java.nio.ByteBuffer;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Coverage-guided fuzzing of {@link FrameCodec#decode} with Jazzer (issue #11): whatever bytes a peer sends, the
 * decoder returns a frame or throws {@link MalformedMessageException}, nothing else, and a frame it returns encodes to
 * bytes that decode to the same frame.
 * <p>
 * {@code ./mvnw verify} runs this over the committed seeds and the regression inputs in
 * {@code src/test/resources/ai/hoody/tunnel/protocol/FrameCodecFuzzTestInputs/decodesToAFrameOrIsMalformed/}; with
 * {@code JAZZER_FUZZ=1} it fuzzes (README "Development" has the command). Crashes it finds land in that directory and
 * stay there as regression tests.
 */
class FrameCodecFuzzTest {

    @FuzzTest(maxDuration = "60s")
    void decodesToAFrameOrIsMalformed(byte[] message) {
        Frame frame;
        try {
            frame = FrameCodec.decode(ByteBuffer.wrap(message));
        } catch (MalformedMessageException e) {
            assertThat(e.getMessage()).isNotBlank(); // it becomes the close reason
            return;
        }
        Frame again;
        try {
            again = FrameCodec.decode(ByteBuffer.wrap(FrameCodec.encode(frame)));
        } catch (MalformedMessageException e) {
            throw new AssertionError("re-encoded " + frame + " does not decode: " + e.getMessage(), e);
        }
        assertThat(again).isEqualTo(frame);
    }
}
