package ai.hoody.tunnel.driver;

import ai.hoody.tunnel.protocol.Protocol;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;

/**
 * The {@code --kit} value of every command, driver and admin alike: where a kit is. Takes what people have at hand —
 * a base URL ({@code http}, {@code https}, {@code ws}, {@code wss}), the WebSocket URL a driver dials (even with the
 * connect path), the admin API's URL, or a bare {@code host:port} — and reduces it to one base: scheme, authority and
 * an optional path prefix (a proxy in front of the kit may route {@code https://host/prefix/…} to it). The data plane
 * is at base + {@value Protocol#CONNECT_PATH}, the admin API at base + {@code /api/v1/tunnel}.
 */
public final class KitUrl {

    private static final String ADMIN_PATH = "/api/v1/tunnel";
    private static final String[] API_SUFFIXES = {Protocol.CONNECT_PATH, ADMIN_PATH};

    private final boolean secure;
    private final String authority;
    private final String prefix;

    private KitUrl(boolean secure, String authority, String prefix) {
        this.secure = secure;
        this.authority = authority;
        this.prefix = prefix;
    }

    /** @throws IllegalArgumentException when the text is not a URL a kit could be at; the message says why */
    public static KitUrl parse(String text) {
        String t = text == null ? "" : text.strip();
        if (t.isEmpty()) {
            throw new IllegalArgumentException("the kit URL is empty");
        }
        if (!t.contains("://")) {
            t = "http://" + t;
        }
        URI u;
        try {
            u = new URI(t);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("'" + text + "' is not a URL: " + e.getReason());
        }
        boolean secure = switch (u.getScheme().toLowerCase(Locale.ROOT)) {
            case "http", "ws" -> false;
            case "https", "wss" -> true;
            default -> throw new IllegalArgumentException("'" + text + "' has scheme " + u.getScheme()
                    + "; use http://, https://, ws:// or wss://");
        };
        if (u.getHost() == null) {
            throw new IllegalArgumentException("'" + text + "' names no host");
        }
        String path = u.getRawPath() == null ? "" : u.getRawPath();
        while (path.endsWith("/")) {
            path = path.substring(0, path.length() - 1);
        }
        for (String suffix : API_SUFFIXES) {
            if (path.endsWith(suffix)) {
                path = path.substring(0, path.length() - suffix.length());
                break;
            }
        }
        return new KitUrl(secure, u.getRawAuthority(), path);
    }

    /** The base as an http or https URL, without a trailing slash, query or fragment. */
    public URI base() {
        return URI.create((secure ? "https" : "http") + "://" + authority + prefix);
    }

    /** The WebSocket a driver dials: ws or wss, base + the connect path. */
    public URI connectUri() {
        return URI.create((secure ? "wss" : "ws") + "://" + authority + prefix + Protocol.CONNECT_PATH);
    }

    /** The admin API's root: base + {@code /api/v1/tunnel}. */
    public URI adminUri() {
        return URI.create(base() + ADMIN_PATH);
    }

    @Override
    public String toString() {
        return base().toString();
    }
}
