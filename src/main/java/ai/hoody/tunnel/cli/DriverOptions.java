package ai.hoody.tunnel.cli;

import picocli.CommandLine.Option;

/** Options every driver command shares. */
final class DriverOptions {

    static final String DEFAULT_KIT = "http://127.0.0.1:9771";

    @Option(names = "--kit", paramLabel = "URL", defaultValue = "${env:HOODY_TUNNEL_KIT:-" + DEFAULT_KIT + "}",
            description = "The kit's base URL (http, https, ws or wss); default $HOODY_TUNNEL_KIT or " + DEFAULT_KIT + ".")
    String kit;

    @Option(names = "--proxy", paramLabel = "URL",
            description = "Reach the kit through this HTTP proxy (CONNECT): http://[user:password@]host[:port] (port 1080 "
                    + "by default); '' for none. Default: HTTPS_PROXY / HTTP_PROXY / NO_PROXY from the environment, as curl reads them.")
    String proxy;

    @Option(names = "--json", description = "Print one JSON object per line for each event.")
    boolean json;

    @Option(names = "--token", paramLabel = "TOKEN", defaultValue = "${env:HOODY_TUNNEL_TOKEN}",
            description = "The kit's attach token, when it requires one; default $HOODY_TUNNEL_TOKEN.")
    String token;

    @Option(names = "--shards", paramLabel = "N", defaultValue = "1",
            description = "WebSockets per session: 1 (default) speaks hoody-tunnel.v1; 2..64 asks for a hoody-tunnel.v2 "
                    + "session over N sockets (the kit grants at most its hoody.tunnel.v2-max-shards, 4 by default), so "
                    + "one slow socket holds up only its own streams.")
    int shards = 1;

    @Option(names = "--max-target-connections", paramLabel = "N", defaultValue = "256",
            description = "Connections the driver opens at once to one binding's local service (default 256); a visitor "
                    + "beyond gets 502 (a PULL client a reset). Raise it for a service meant to hold many connections.")
    int maxTargetConnections = 256;
}
