package ai.hoody.tunnel.driver;

import java.math.BigInteger;
import java.net.InetAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Which {@link HttpProxy}, if any, carries the connection to a kit: an explicit proxy ({@code --proxy},
 * {@link TunnelOptions#proxy}) or the environment, read as curl reads it — {@code https_proxy} / {@code HTTPS_PROXY} for
 * a {@code wss://} kit, {@code http_proxy} / {@code HTTP_PROXY} for a {@code ws://} one (the lower-case name first; unlike
 * curl, the upper-case {@code HTTP_PROXY} is honoured too), and {@code no_proxy} / {@code NO_PROXY} for hosts to reach
 * directly, which applies to an explicit proxy as well. An empty variable counts as unset. Immutable.
 *
 * <p>{@code NO_PROXY} is a comma-separated list: {@code *} alone matches every host; a name matches itself and its
 * subdomains ({@code example.com} and {@code .example.com} both match {@code kit.example.com}), without case; an IP
 * address matches itself, and {@code 10.0.0.0/8} or {@code fd00::/8} a range. Names are compared as written, never
 * resolved: {@code localhost} does not match {@code 127.0.0.1}.
 */
final class ProxySettings {

    private static final ProxySettings NONE = new ProxySettings(null, null, List.of(), "none");

    private final HttpProxy forHttp;
    private final HttpProxy forHttps;
    private final List<String> noProxy;
    private final String source;

    private ProxySettings(HttpProxy forHttp, HttpProxy forHttps, List<String> noProxy, String source) {
        this.forHttp = forHttp;
        this.forHttps = forHttps;
        this.noProxy = noProxy;
        this.source = source;
    }

    /** Always direct. */
    static ProxySettings none() {
        return NONE;
    }

    /**
     * One proxy for every kit, as {@code --proxy URL}; {@code NO_PROXY} from {@code env} still applies. An empty URL
     * means no proxy at all, environment included (as curl's {@code --proxy ""}).
     *
     * @throws IllegalArgumentException for a URL that is not an http:// proxy
     */
    static ProxySettings explicit(String url, Map<String, String> env) {
        if (url.isBlank()) {
            return NONE;
        }
        HttpProxy p = HttpProxy.parse(url, "--proxy");
        return new ProxySettings(p, p, noProxyList(env), "--proxy");
    }

    /** @throws IllegalArgumentException when a proxy variable is set to something that is not an http:// proxy URL */
    static ProxySettings fromEnvironment(Map<String, String> env) {
        HttpProxy http = variable(env, "http_proxy");
        HttpProxy https = variable(env, "https_proxy");
        if (http == null && https == null) {
            return NONE;
        }
        return new ProxySettings(http, https, noProxyList(env), "environment");
    }

    private static HttpProxy variable(Map<String, String> env, String lowerName) {
        String upperName = lowerName.toUpperCase(Locale.ROOT);
        String name = nonEmpty(env.get(lowerName)) ? lowerName : upperName;
        String value = env.get(name);
        return nonEmpty(value) ? HttpProxy.parse(value, name) : null;
    }

    private static List<String> noProxyList(Map<String, String> env) {
        String value = nonEmpty(env.get("no_proxy")) ? env.get("no_proxy") : env.get("NO_PROXY");
        List<String> entries = new ArrayList<>();
        if (nonEmpty(value)) {
            for (String e : value.split("[,\\s]+")) {
                if (!e.isEmpty()) {
                    entries.add(e.toLowerCase(Locale.ROOT));
                }
            }
        }
        return List.copyOf(entries);
    }

    private static boolean nonEmpty(String s) {
        return s != null && !s.isBlank();
    }

    /** The proxy for a kit's WebSocket URL ({@code ws} or {@code wss}), or null to connect directly. */
    HttpProxy proxyFor(URI kit) {
        HttpProxy p = "wss".equalsIgnoreCase(kit.getScheme()) || "https".equalsIgnoreCase(kit.getScheme()) ? forHttps : forHttp;
        return p == null || bypasses(kit.getHost()) ? null : p;
    }

    /** Whether {@code NO_PROXY} names {@code host}. */
    boolean bypasses(String host) {
        String h = unbracket(host.toLowerCase(Locale.ROOT));
        while (h.endsWith(".")) {
            h = h.substring(0, h.length() - 1);
        }
        byte[] address = literalAddress(h);
        for (String entry : noProxy) {
            if (entry.equals("*")) {
                return true;
            }
            String e = unbracket(entry);
            int slash = e.indexOf('/');
            if (address != null) {
                byte[] other = literalAddress(slash < 0 ? e : e.substring(0, slash));
                if (other != null && other.length == address.length
                        && sameNetwork(address, other, slash < 0 ? address.length * 8 : prefixLength(e.substring(slash + 1)))) {
                    return true;
                }
                continue;
            }
            while (e.startsWith(".")) {
                e = e.substring(1);
            }
            while (e.endsWith(".")) {
                e = e.substring(0, e.length() - 1);
            }
            if (!e.isEmpty() && (h.equals(e) || h.endsWith("." + e))) {
                return true;
            }
        }
        return false;
    }

    private static String unbracket(String s) {
        return s.startsWith("[") && s.contains("]") ? s.substring(1, s.indexOf(']')) : s;
    }

    private static int prefixLength(String s) {
        try {
            return Integer.parseInt(s);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** The bytes of an IPv4 or IPv6 literal, or null for a host name (never resolved). */
    private static byte[] literalAddress(String s) {
        boolean v4 = s.matches("\\d{1,3}(\\.\\d{1,3}){3}");
        boolean v6 = s.indexOf(':') >= 0 && s.matches("[0-9a-f:.%a-z]+");
        if (!v4 && !v6) {
            return null;
        }
        try {
            return InetAddress.ofLiteral(s).getAddress();
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static boolean sameNetwork(byte[] a, byte[] b, int bits) {
        if (bits < 0 || bits > a.length * 8) {
            return false;
        }
        BigInteger mask = bits == 0 ? BigInteger.ZERO
                : BigInteger.ONE.shiftLeft(bits).subtract(BigInteger.ONE).shiftLeft(a.length * 8 - bits);
        return new BigInteger(1, a).and(mask).equals(new BigInteger(1, b).and(mask));
    }

    @Override
    public String toString() {
        return "proxies from " + source + ": ws " + forHttp + ", wss " + forHttps + ", no_proxy " + noProxy;
    }
}
