package ai.hoody.tunnel.driver;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Text a hostile kit chooses (a BIND_REVOKED reason, a GOAWAY message, a BIND_ERR message, a close reason, an OPEN
 * origin) goes through {@link DriverEvents} exactly as DriverSession hands it over, and must come out as one line
 * that neither drives the terminal nor fakes a line of its own. Plain JUnit.
 */
class DriverEventsTest {

    /** What an outside attack run injected: a fake bind line, a screen clear, a window title, more. */
    private static final String FAKE_LINE = "exposing localhost:22 on container port 22 (bindId 9)";
    private static final List<String> HOSTILE = List.of(
            "TAKEOVER\n" + FAKE_LINE,
            "TAKEOVER\r" + FAKE_LINE,
            "TAKEOVER\r\n" + FAKE_LINE + "\n",
            "\u001b[2J\u001b[H" + FAKE_LINE,                  // clear the screen, cursor home
            "\u001b]0;pwned\u0007",                             // OSC: set the window title
            "\u001b]8;;https://evil.example\u001b\\click\u001b]8;;\u001b\\", // OSC 8 hyperlink
            "\u009b2J\u009dtitle\u009c",                         // the same with C1 controls
            "back\b\b\b\bspace\u007f\u0000nul",
            "line\u2028separator\u2029paragraph\u0085next line",
            "\u202eeman-elif\u202c and \u2066isolate\u2069",   // bidi override and isolate
            "tab\there");

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private DriverEvents events(boolean json) {
        return new DriverEvents(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), json);
    }

    /** The calls DriverSession makes with the kit's text, in the same shape. */
    private static void emitAll(DriverEvents events, String kitText) {
        events.emit("bind_revoked", "binding 1 revoked by the kit: " + kitText, "bindId", 1, "reason", kitText, "target", "localhost:3000");
        events.emit("goaway", "the kit is ending the session: SHUTDOWN (" + kitText + ")", "code", "SHUTDOWN", "message", kitText);
        events.emit("bind_err", "bind refused: ALREADY_BOUND: " + kitText, "code", "ALREADY_BOUND", "message", kitText,
                "mode", "expose", "port", 8080);
        events.emit("disconnected", "disconnected from the kit: GOAWAY SHUTDOWN: " + kitText, "reason", "GOAWAY SHUTDOWN: " + kitText);
        events.log("cannot reach localhost:3000 for a connection from " + kitText);
    }

    @Test
    void plainLinesCarryNoControlCharacterAndCannotFakeALine() {
        DriverEvents events = events(false);
        for (String hostile : HOSTILE) {
            emitAll(events, hostile);
        }
        String printed = out.toString(StandardCharsets.UTF_8);
        String logged = err.toString(StandardCharsets.UTF_8);
        List<String> lines = printed.lines().toList();
        assertThat(lines).as("one line per event").hasSize(4 * HOSTILE.size());
        assertThat(logged.lines().toList()).hasSize(HOSTILE.size());
        for (String line : lines) {
            assertThat(line).as("every line starts with the driver's own words, not the kit's")
                    .matches("(binding 1 revoked|the kit is ending|bind refused:|disconnected from) .*");
        }
        assertThat(logged.lines()).allSatisfy(l -> assertThat(l).startsWith("hoody-tunnel: cannot reach"));
        for (String text : List.of(printed, logged)) {
            assertThat(text.replace("\n", "").codePoints().filter(TerminalText::isUnsafe).boxed().toList())
                    .as("control characters besides the line ends").isEmpty();
            assertThat(text).doesNotContain("\u001b", "\r", "\u009b").doesNotContain("\n" + FAKE_LINE);
        }
        assertThat(lines).contains("binding 1 revoked by the kit: TAKEOVER " + FAKE_LINE,
                "binding 1 revoked by the kit: ?[2J?[H" + FAKE_LINE, "binding 1 revoked by the kit: tab here");
    }

    @Test
    void jsonLinesEscapeTheTextAndKeepItExact() throws Exception {
        DriverEvents events = events(true);
        for (String hostile : HOSTILE) {
            emitAll(events, hostile);
        }
        List<String> lines = out.toString(StandardCharsets.UTF_8).lines().toList();
        assertThat(lines).hasSize(4 * HOSTILE.size());
        ObjectMapper json = new ObjectMapper();
        for (int i = 0; i < HOSTILE.size(); i++) {
            String hostile = HOSTILE.get(i);
            JsonNode revoked = json.readTree(lines.get(4 * i));
            assertThat(revoked.get("event").asText()).isEqualTo("bind_revoked");
            assertThat(revoked.get("reason").asText()).as("the value is the kit's text, unchanged").isEqualTo(hostile);
            assertThat(json.readTree(lines.get(4 * i + 1)).get("message").asText()).isEqualTo(hostile);
            assertThat(json.readTree(lines.get(4 * i + 2)).get("message").asText()).isEqualTo(hostile);
            assertThat(json.readTree(lines.get(4 * i + 3)).get("reason").asText()).isEqualTo("GOAWAY SHUTDOWN: " + hostile);
        }
        for (String line : lines) {
            assertThat(line.codePoints().filter(TerminalText::isUnsafe).boxed().toList()).as(line).isEmpty();
        }
        assertThat(err.toString(StandardCharsets.UTF_8)).doesNotContain("\u001b", "\r");
    }

    @Test
    void ordinaryTextIsLeftAlone() {
        String text = "bind refused: ALREADY_BOUND: port 8080 is held by session ses_1; drïver ☕ 😀 \"quoted\"";
        assertThat(TerminalText.printable(text)).isSameAs(text);
        assertThat(TerminalText.printable(null)).isNull();
    }
}
