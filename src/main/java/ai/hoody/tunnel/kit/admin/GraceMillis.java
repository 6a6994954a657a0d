package ai.hoody.tunnel.kit.admin;

import java.time.Duration;

/**
 * The {@code grace_ms} query parameter of a kill: how long in-flight streams may finish. Parsed by hand from the raw
 * string because JAX-RS answers a query parameter that does not convert with 404, and a typo deserves a 400 that
 * says what is wrong.
 */
final class GraceMillis {

    static final int DEFAULT = 50;
    static final int MAX = 5000;

    private GraceMillis() {
    }

    /** @param raw the parameter as sent, null when absent */
    static Duration parse(String raw) {
        if (raw == null) {
            return Duration.ofMillis(DEFAULT);
        }
        // ASCII digits and nothing else: no sign, no blanks, no other script's digits (Long.parseLong takes "+50").
        if (raw.isEmpty() || !raw.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw ApiError.badRequest("invalid_grace_ms", "grace_ms must be an integer number of milliseconds in 0.."
                    + MAX + ", was '" + raw + "'");
        }
        long millis;
        try {
            millis = Long.parseLong(raw);
        } catch (NumberFormatException e) {
            millis = Long.MAX_VALUE; // more digits than a long holds: out of range either way
        }
        if (millis > MAX) {
            throw ApiError.badRequest("invalid_grace_ms", "grace_ms must be in 0.." + MAX + ", was " + raw);
        }
        return Duration.ofMillis(millis);
    }
}
