package ai.hoody.tunnel.cli;

import java.util.Locale;

/** Byte counts for people. */
final class Sizes {

    private static final String[] UNITS = {"KiB", "MiB", "GiB", "TiB"};

    private Sizes() {
    }

    /** e.g. {@code 131072000} → {@code "125.0 MiB"}; negative (unknown) → {@code "unknown"}. */
    static String bytes(long n) {
        if (n < 0) {
            return "unknown";
        }
        if (n < 1024) {
            return n + " B";
        }
        double v = n;
        int unit = -1;
        while (v >= 1024 && unit < UNITS.length - 1) {
            v /= 1024;
            unit++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, UNITS[unit]);
    }
}
