package ai.hoody.tunnel.driver;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What the driver tells its user: one line per event, in plain words or (with {@code --json}) as one JSON object
 * per line with an {@code event} field. Diagnostics that are not events go to stderr.
 */
public final class DriverEvents {

    private static final ObjectMapper JSON = new ObjectMapper();

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
            out.println(text);
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
        out.println(o);
        out.flush();
    }

    /** A diagnostic line on stderr, in both modes. */
    public synchronized void log(String line) {
        err.println("hoody-tunnel: " + line);
        err.flush();
    }
}
