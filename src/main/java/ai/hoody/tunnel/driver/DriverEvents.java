package ai.hoody.tunnel.driver;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Prints a tunnel's events as the CLI does (README "Driver CLI"): one line per event, in plain words or (with
 * {@code --json}) as one JSON object per line with an {@code event} field. {@link TunnelEvent.Warning}s go to stderr
 * in both modes; {@link TunnelEvent.Closed} is not printed. A {@link TunnelListener} any program may use.
 */
public final class DriverEvents implements TunnelListener {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final PrintStream out;
    private final PrintStream err;
    private final boolean json;

    public DriverEvents(PrintStream out, PrintStream err, boolean json) {
        this.out = out;
        this.err = err;
        this.json = json;
    }

    @Override
    public void onEvent(TunnelEvent event) {
        switch (event) {
            case TunnelEvent.Connected c -> emit(c.name(), "connected to " + c.kit() + " (session " + c.sessionId() + ")",
                    "sessionId", c.sessionId(), "kit", c.kit().toString(), "maxStreams", c.maxStreams());
            case TunnelEvent.Bound b -> emit(b.name(), describe(b), "mode", b.binding().mode().mode, "port", b.port(),
                    "bindId", b.bindId(), "sessionId", b.sessionId(), "publicUrl", b.publicUrl(),
                    "target", b.binding().target(), "host", b.host());
            case TunnelEvent.BindRefused r -> emit(r.name(), "bind refused: " + r.code() + ": " + r.message(),
                    "code", r.code().name(), "message", r.message(), "mode", r.binding().mode().mode,
                    "port", r.binding().requestedPort());
            case TunnelEvent.Revoked r -> emit(r.name(), "binding " + r.bindId() + " revoked by the kit: " + r.reason(),
                    "bindId", r.bindId(), "reason", r.reason(), "target", r.binding() == null ? null : r.binding().target());
            case TunnelEvent.GoAway g -> emit(g.name(), "the kit is ending the session: " + g.code()
                    + (g.message() == null ? "" : " (" + g.message() + ")"), "code", g.code().name(), "message", g.message());
            case TunnelEvent.Disconnected d -> emit(d.name(), "disconnected from the kit: " + d.reason(), "reason", d.reason());
            case TunnelEvent.Reconnecting r -> emit(r.name(), "reconnecting in " + r.delayMs() + " ms (attempt " + r.attempt() + ")",
                    "attempt", r.attempt(), "delayMs", r.delayMs());
            case TunnelEvent.Resumed r -> emit(r.name(), "resumed session " + r.sessionId() + "; bindings intact",
                    "sessionId", r.sessionId());
            case TunnelEvent.Error e -> emit(e.name(), "error: " + e.message(), "message", e.message());
            case TunnelEvent.Warning w -> log(w.message());
            case TunnelEvent.Closed c -> {
                // the end is the exit code's business
            }
        }
    }

    private static String describe(TunnelEvent.Bound b) {
        Binding binding = b.binding();
        return switch (binding.mode()) {
            case EXPOSE -> "exposing " + binding.target() + " on container port " + b.port()
                    + (b.publicUrl() == null ? "" : " at " + b.publicUrl()) + " (bindId " + b.bindId() + ")";
            case PULL -> "pulling " + binding.target() + " onto the container's " + (b.host() == null ? "127.0.0.1" : b.host())
                    + ":" + b.port() + " (bindId " + b.bindId() + ")";
        };
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
