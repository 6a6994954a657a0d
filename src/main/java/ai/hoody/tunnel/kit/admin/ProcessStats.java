package ai.hoody.tunnel.kit.admin;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Facts about the kit process that the JDK does not expose. */
final class ProcessStats {

    private static final Path STATUS = Path.of("/proc/self/status");

    private ProcessStats() {
    }

    /**
     * Resident set size in bytes, from {@code VmRSS} of {@code /proc/self/status}, or -1 off Linux. Read from the
     * kernel rather than from the JVM's memory beans because those only know the heap and its friends, while an
     * operator sizing a container needs what the kernel charges the process.
     */
    static long residentSetBytes() {
        try {
            for (String line : Files.readAllLines(STATUS)) {
                if (line.startsWith("VmRSS:")) {
                    return parseKilobytes(line.substring("VmRSS:".length())) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // not Linux, or a format we do not know: say "unknown" rather than fail the health answer
        }
        return -1;
    }

    /** @param value e.g. {@code "   123456 kB"} */
    private static long parseKilobytes(String value) {
        String v = value.strip();
        int space = v.indexOf(' ');
        return Long.parseLong(space < 0 ? v : v.substring(0, space));
    }
}
