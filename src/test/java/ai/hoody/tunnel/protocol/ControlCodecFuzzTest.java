package ai.hoody.tunnel.protocol;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Coverage-guided fuzzing of {@link ControlCodec#decode} with Jazzer (issue #11): whatever text a peer sends, the
 * decoder returns a control message or throws {@link MalformedMessageException}, nothing else, and a known message it
 * returns encodes to text that decodes to the same message. ({@link ControlMessage.Unknown} only keeps the type: it
 * cannot be sent, so it has no round trip.) The input is UTF-8 bytes, as on the wire, so the seeds in
 * {@code src/test/resources/ai/hoody/tunnel/protocol/ControlCodecFuzzTestInputs/decodesToAMessageOrIsMalformed/} are
 * plain JSON files.
 */
class ControlCodecFuzzTest {

    @FuzzTest(maxDuration = "60s")
    @DictionaryEntries({"\"type\"", "\"HELLO\"", "\"HELLO_OK\"", "\"BIND\"", "\"BIND_OK\"", "\"BIND_ERR\"", "\"UNBIND\"",
            "\"BIND_REVOKED\"", "\"PING\"", "\"PONG\"", "\"GOAWAY\"", "\"version\"", "\"client\"", "\"name\"",
            "\"maxStreams\"", "\"resume\"", "\"sessionId\"", "\"token\"", "\"resumeToken\"", "\"heartbeatIntervalMs\"",
            "\"streamWindow\"", "\"maxDataBytes\"", "\"resumed\"", "\"ref\"", "\"kind\"", "\"mode\"", "\"port\"", "\"host\"",
            "\"takeover\"", "\"bindId\"", "\"publicUrl\"", "\"code\"", "\"message\"", "\"reason\"", "\"ts\"", "\"http\"",
            "\"tcp\"", "\"expose\"", "\"pull\"", "null", "true", "false", "\\u0000", "65536", "2147483648", "-1"})
    void decodesToAMessageOrIsMalformed(byte[] utf8) {
        String text = new String(utf8, StandardCharsets.UTF_8);
        ControlMessage message;
        try {
            message = ControlCodec.decode(text);
        } catch (MalformedMessageException e) {
            assertThat(e.getMessage()).isNotBlank(); // it becomes the close reason
            return;
        }
        assertThat(message).isNotNull();
        if (message instanceof ControlMessage.Unknown) {
            return;
        }
        String encoded = ControlCodec.encode(message);
        ControlMessage again;
        try {
            again = ControlCodec.decode(encoded);
        } catch (MalformedMessageException e) {
            throw new AssertionError("re-encoded " + message + " as " + encoded + ", which does not decode: " + e.getMessage(), e);
        }
        assertThat(again).isEqualTo(message);
    }
}
