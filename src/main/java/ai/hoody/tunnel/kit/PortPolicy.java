package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.protocol.BindMode;
import org.eclipse.microprofile.config.spi.Converter;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The ports drivers may bind in one mode, as the operator lists them ({@code hoody.tunnel.expose-allowed-ports},
 * {@code hoody.tunnel.pull-allowed-ports}; like frp's {@code allowPorts}): comma-separated ports and ranges, e.g.
 * {@code 3000-3999,8080}. Parsed once, when the configuration is read, so a typo stops the kit at start with the
 * property's name instead of refusing BINDs later. An allow-list narrows what the other rules allow; it never lets a
 * privileged, reserved or held port through. Immutable.
 */
public final class PortPolicy {

    private record Range(int first, int last) {
        @Override
        public String toString() {
            return first == last ? Integer.toString(first) : first + "-" + last;
        }
    }

    private final List<Range> ranges;

    private PortPolicy(List<Range> ranges) {
        this.ranges = List.copyOf(ranges);
    }

    /** @throws IllegalArgumentException saying which item is wrong and what is expected */
    public static PortPolicy parse(String spec) {
        List<Range> ranges = new ArrayList<>();
        for (String item : spec.split(",", -1)) {
            String s = item.strip();
            int dash = s.indexOf('-');
            Range r = dash < 0 ? new Range(port(s, item), port(s, item))
                    : new Range(port(s.substring(0, dash).strip(), item), port(s.substring(dash + 1).strip(), item));
            if (r.first > r.last) {
                throw new IllegalArgumentException("'" + item.strip() + "' is an empty range: write the lower port first");
            }
            ranges.add(r);
        }
        return new PortPolicy(ranges);
    }

    private static int port(String digits, String item) {
        if (digits.isEmpty() || digits.length() > 5 || !digits.chars().allMatch(c -> c >= '0' && c <= '9')
                || Integer.parseInt(digits) < 1 || Integer.parseInt(digits) > 65535) {
            throw new IllegalArgumentException("'" + item.strip() + "' is not a port (1..65535) or a range of ports"
                    + " (e.g. 3000-3999); write ports and ranges separated by commas, e.g. 3000-3999,8080");
        }
        return Integer.parseInt(digits);
    }

    public boolean allows(int port) {
        for (Range r : ranges) {
            if (port >= r.first && port <= r.last) {
                return true;
            }
        }
        return false;
    }

    /**
     * The one check {@link BindingTable} makes (docs/PROTOCOL.md §3.4, check 5a).
     *
     * @return why the kit's allow-list for {@code mode} refuses {@code port}, or null when there is no list or the
     *         port is on it. Port 0 (any free port) is refused under a list: the kit would have to search the listed
     *         ranges for a free port, and a driver that must land in them can name one.
     */
    static String refusal(KitConfig config, BindMode mode, int port) {
        Optional<PortPolicy> policy = mode == BindMode.EXPOSE ? config.exposeAllowedPorts() : config.pullAllowedPorts();
        if (policy.isEmpty() || port != 0 && policy.get().allows(port)) {
            return null;
        }
        String which = "this kit allows " + mode.mode + " only on ports " + policy.get()
                + " (hoody.tunnel." + mode.mode + "-allowed-ports)";
        return port == 0 ? "port 0 (any free port) is not served: " + which + "; ask for one of them"
                : "port " + port + " is not allowed: " + which;
    }

    @Override
    public String toString() {
        return ranges.stream().map(Range::toString).collect(Collectors.joining(","));
    }

    /** Reads the property; SmallRye Config names the property when this throws. */
    public static final class PortPolicyConverter implements Converter<PortPolicy> {
        @Override
        public PortPolicy convert(String value) {
            return parse(value);
        }
    }
}
