package ai.hoody.tunnel.driver;

import ai.hoody.tunnel.protocol.BindMode;

/**
 * One binding a driver holds: what to ask the kit for, and where on the laptop its streams go.
 *
 * @param remotePort the container port to ask for (0: any free port)
 * @param remoteHost the PULL listen host on the container's loopback, null for the default
 */
public record BindSpec(BindMode mode, String targetHost, int targetPort, int remotePort, String remoteHost, boolean takeover) {

    /** Parses {@code PORT} or {@code HOST:PORT} (IPv6 as {@code [::1]:PORT}) of a laptop target. */
    public static BindSpec parseTarget(BindMode mode, String target, Integer remotePort, String remoteHost, boolean takeover) {
        String host = "localhost";
        String port = target;
        int colon = target.lastIndexOf(':');
        if (colon >= 0) {
            host = target.substring(0, colon);
            port = target.substring(colon + 1);
            if (host.startsWith("[") && host.endsWith("]")) {
                host = host.substring(1, host.length() - 1);
            }
        }
        int p;
        try {
            p = Integer.parseInt(port);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("target must be PORT or HOST:PORT, was '" + target + "'");
        }
        if (p < 1 || p > 65535 || host.isEmpty()) {
            throw new IllegalArgumentException("target must be PORT or HOST:PORT with a port in 1..65535, was '" + target + "'");
        }
        int remote = remotePort == null ? p : remotePort;
        if (remote < 0 || remote > 65535) {
            throw new IllegalArgumentException("--port must be in 0..65535, was " + remote);
        }
        return new BindSpec(mode, host, p, remote, remoteHost, takeover);
    }

    public String target() {
        return (targetHost.indexOf(':') >= 0 ? "[" + targetHost + "]" : targetHost) + ":" + targetPort;
    }
}
