package ai.hoody.tunnel.driver;

import ai.hoody.tunnel.protocol.Protocol;

import java.net.URI;
import java.net.URISyntaxException;

/** Turns the {@code --kit} base URL (http, https, ws or wss) into the WebSocket URI of the data plane. */
public final class KitAddress {

    private KitAddress() {
    }

    public static URI connectUri(String kit) {
        URI base;
        try {
            base = new URI(kit.contains("://") ? kit : "http://" + kit);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("--kit: not a URL: " + kit);
        }
        String scheme = switch (base.getScheme() == null ? "" : base.getScheme().toLowerCase()) {
            case "http", "ws" -> "ws";
            case "https", "wss" -> "wss";
            default -> throw new IllegalArgumentException("--kit: scheme must be http, https, ws or wss: " + kit);
        };
        if (base.getHost() == null) {
            throw new IllegalArgumentException("--kit: no host in " + kit);
        }
        String path = base.getPath() == null || base.getPath().isEmpty() || base.getPath().equals("/")
                ? Protocol.CONNECT_PATH
                : base.getPath();
        try {
            return new URI(scheme, null, base.getHost(), base.getPort(), path, null, null);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("--kit: " + e.getMessage());
        }
    }
}
