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
 * Prints a tunnel's events as the CLI does (README "Driver CLI"): one line per event, in plain words or (with
 * {@code --json}) as one JSON object per line with an {@code event} field. {@link TunnelEvent.Warning}s go to stderr
 * in both modes; {@link TunnelEvent.Closed} is not printed. A {@link TunnelListener} any program may use.
 * <p>
 * Lines carry text the kit chose (messages, reasons, origins); this is the one place where it is made harmless, so
 * that a hostile kit can neither fake a line nor drive the terminal: plain lines go through
 * {@link TerminalText#printable}, and JSON escapes every character {@link TerminalText#isUnsafe} names (so the values
 * stay exactly what the kit sent, and the line holds no control character).
 */
public final class DriverEvents implements TunnelListener {

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
            case TunnelEvent.ShardJoined j -> emit(j.name(), (j.rejoined() ? "shard " + j.index() + " joined again"
                    : "shard " + j.index() + " joined") + " (session " + j.sessionId() + ")", "shard", j.index(), "sessionId", j.sessionId());
            case TunnelEvent.ShardLost l -> emit(l.name(), "shard " + l.index() + " lost: " + l.reason()
                    + (l.retryInMs() < 0 ? "; not joining it again" : "; joining again in " + l.retryInMs() + " ms"),
                    "shard", l.index(), "reason", l.reason(), "retryInMs", l.retryInMs());
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
