package ai.hoody.tunnel.driver;

import com.fasterxml.jackson.core.JsonFactoryBuilder;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.io.CharacterEscapes;
import com.fasterxml.jackson.core.io.SerializedString;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What the driver tells its user: one line per event, in plain words or (with {@code --json}) as one JSON object
 * per line with an {@code event} field. Diagnostics that are not events go to stderr.
 * <p>
 * Lines carry text the kit chose (messages, reasons, origins); this is the one place where it is made harmless, so
 * that a hostile kit can neither fake a line nor drive the terminal: plain lines go through
 * {@link TerminalText#printable}, and JSON escapes every character {@link TerminalText#isUnsafe} names (so the values
 * stay exactly what the kit sent, and the line holds no control character).
 */
public final class DriverEvents {

    private static final ObjectMapper JSON = new ObjectMapper(new JsonFactoryBuilder()
            .characterEscapes(new UnsafeCharacterEscapes()).build());

    private final PrintStream out;
    private final PrintStream err;
    private final boolean json;

    public DriverEvents(PrintStream out, PrintStream err, boolean json) {
        this.out = out;
        this.err = err;
        this.json = json;
    }

    /**
     * @param text   the plain-words line
     * @param fields the JSON fields, in order, after {@code event}
     */
    public synchronized void emit(String event, String text, Object... fields) {
        if (!json) {
            out.println(TerminalText.printable(text));
            out.flush();
            return;
        }
        ObjectNode o = JSON.createObjectNode();
        o.put("event", event);
        Map<String, Object> map = new LinkedHashMap<>();
        for (int i = 0; i + 1 < fields.length; i += 2) {
            map.put((String) fields[i], fields[i + 1]);
        }
        map.forEach((k, v) -> o.set(k, JSON.valueToTree(v)));
        try {
            out.println(JSON.writeValueAsString(o)); // not o.toString(), which ignores this mapper's escapes
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e); // a tree of strings and numbers always serializes
        }
        out.flush();
    }

    /** A diagnostic line on stderr, in both modes. */
    public synchronized void log(String line) {
        err.println("hoody-tunnel: " + TerminalText.printable(line));
        err.flush();
    }

    /** Jackson escapes C0 controls already; this adds DEL, C1, the line separators and the bidi controls. */
    private static final class UnsafeCharacterEscapes extends CharacterEscapes {

        private final int[] ascii = standardAsciiEscapesForJSON();

        UnsafeCharacterEscapes() {
            ascii[0x7F] = ESCAPE_STANDARD;
        }

        @Override
        public int[] getEscapeCodesForAscii() {
            return ascii;
        }

        @Override
        public SerializableString getEscapeSequence(int c) {
            return TerminalText.isUnsafe(c) ? new SerializedString(String.format("\\u%04x", c)) : null;
        }
    }
}
