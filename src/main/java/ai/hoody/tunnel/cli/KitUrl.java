package ai.hoody.tunnel.cli;

import picocli.CommandLine;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;

/**
 * The {@code --kit} value of the admin commands: the kit's base HTTP URL. Takes what people have at hand: a base URL,
 * the WebSocket URL a driver uses ({@code ws://}, {@code wss://}, even with the connect path), or a bare
 * {@code host:port}.
 */
final class KitUrl {

    private static final String[] API_SUFFIXES = {"/api/v1/tunnel/connect", "/api/v1/tunnel"};

    private KitUrl() {
    }

    /**
     * @return an http or https URL without a trailing slash, query or fragment
     * @throws IllegalArgumentException when the text is not a URL the kit could be at
     */
    static URI parse(String text) {
        String t = text.strip();
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
        String scheme = switch (u.getScheme().toLowerCase(Locale.ROOT)) {
            case "http", "ws" -> "http";
            case "https", "wss" -> "https";
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
        return URI.create(scheme + "://" + u.getRawAuthority() + path);
    }

    /** Lets picocli report a bad {@code --kit} as a usage error (exit code 2). */
    static final class Converter implements CommandLine.ITypeConverter<URI> {
        @Override
        public URI convert(String value) {
            try {
                return parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }
}
