package ai.hoody.tunnel.driver;

/**
 * Makes text that came from the kit (a BIND_ERR message, a BIND_REVOKED reason, a GOAWAY message, a close reason, an
 * OPEN origin) safe to print on a user's terminal. A kit, or whoever sits between it and the driver, chooses those
 * characters: raw, an escape sequence could clear the screen or retitle the window, and a line break could print a
 * line the driver never said ({@code exposing localhost:22 ...}). Every character that is not printable text becomes
 * {@code ?}, and line breaks and tabs a space, so that one event is always exactly one line.
 */
public final class TerminalText {

    private TerminalText() {
    }

    /** @return {@code text} with every {@link #isUnsafe unsafe} character replaced; null stays null */
    public static String printable(String text) {
        if (text == null || text.codePoints().noneMatch(TerminalText::isUnsafe)) {
            return text;
        }
        StringBuilder b = new StringBuilder(text.length());
        text.codePoints().forEach(c -> {
            if (!isUnsafe(c)) {
                b.appendCodePoint(c);
            } else {
                b.append(c == '\n' || c == '\r' || c == '\t' ? ' ' : '?');
            }
        });
        return b.toString();
    }

    /**
     * C0 controls (ESC, CR, LF, BEL, backspace...), DEL and C1 controls (some terminals read U+009B as the start of
     * an escape sequence), the Unicode line and paragraph separators, and the bidirectional overrides and isolates
     * that can reorder what a line shows. (An unpaired surrogate cannot be encoded: the output stream prints it as
     * {@code ?} by itself.)
     */
    static boolean isUnsafe(int c) {
        return Character.getType(c) == Character.CONTROL // U+0000..U+001F, U+007F..U+009F
                || c == '\u2028' || c == '\u2029'
                || c == '\u061C' || c == '\u200E' || c == '\u200F'
                || (c >= '\u202A' && c <= '\u202E') || (c >= '\u2066' && c <= '\u2069');
    }
}
