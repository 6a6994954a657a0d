package ai.hoody.tunnel.driver;

import ai.hoody.tunnel.protocol.Protocol;

import javax.net.ssl.SSLContext;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * How to open a {@link Tunnel}: the kit's URL and, optionally, a proxy, a reconnect policy, listeners, TLS trust and
 * how long a BIND may take. Immutable: every {@code with}-style method returns a new instance.
 *
 * <pre>{@code
 * TunnelOptions options = TunnelOptions.kit("https://kit.example.dev")
 *         .proxy("http://user:secret@proxy.corp:3128")
 *         .reconnect(ReconnectPolicy.defaults().withMaxAttempts(20))
 *         .listener(event -> System.out.println(event));
 * }</pre>
 */
public final class TunnelOptions {

    private static final Duration DEFAULT_BIND_TIMEOUT = Duration.ofSeconds(30);
    /** Connections to one target at once unless {@link #maxTargetConnections} says otherwise. */
    public static final int DEFAULT_MAX_TARGET_CONNECTIONS = 256;
    /** The most {@link #maxTargetConnections} accepts (a session carries at most 16,384 streams anyway). */
    public static final int MAX_TARGET_CONNECTIONS = 65_536;

    private final KitUrl kit;
    /** null: from the environment; "" : none. */
    private final String proxy;
    private final ReconnectPolicy reconnect;
    private final List<TunnelListener> listeners;
    private final SSLContext sslContext;
    private final Duration bindTimeout;
    private final Map<String, String> environment;
    /** The kit's attach token, or null. */
    private final String token;
    /** Sockets per session: 1 speaks hoody-tunnel.v1, more hoody-tunnel.v2 with that many shards. */
    private final int shards;
    /** Connections the driver opens to one binding's target at once; OPENs beyond are reset. */
    private final int maxTargetConnections;

    private TunnelOptions(KitUrl kit, String proxy, ReconnectPolicy reconnect, List<TunnelListener> listeners,
                          SSLContext sslContext, Duration bindTimeout, Map<String, String> environment) {
        this(kit, proxy, reconnect, listeners, sslContext, bindTimeout, environment, null, 1,
                DEFAULT_MAX_TARGET_CONNECTIONS);
    }

    private TunnelOptions(KitUrl kit, String proxy, ReconnectPolicy reconnect, List<TunnelListener> listeners,
                          SSLContext sslContext, Duration bindTimeout, Map<String, String> environment, String token,
                          int shards, int maxTargetConnections) {
        this.token = token;
        this.shards = shards;
        this.maxTargetConnections = maxTargetConnections;
        this.kit = kit;
        this.proxy = proxy;
        this.reconnect = reconnect;
        this.listeners = listeners;
        this.sslContext = sslContext;
        this.bindTimeout = bindTimeout;
        this.environment = environment;
    }

    /**
     * Options for the kit at {@code url}: its base URL ({@code http}, {@code https}, {@code ws}, {@code wss}), the
     * WebSocket URL, or {@code host:port}, as the CLI's {@code --kit} takes it.
     *
     * @throws IllegalArgumentException when it is not a URL a kit could be at
     */
    public static TunnelOptions kit(String url) {
        return new TunnelOptions(KitUrl.parse(url), null, ReconnectPolicy.defaults(), List.of(), null,
                DEFAULT_BIND_TIMEOUT, null);
    }

    /**
     * Reach the kit through this HTTP proxy ({@code http://[user:password@]host[:port]}, port 1080 by default) with
     * CONNECT; {@code NO_PROXY} from the environment still applies. An empty string means no proxy at all. Without this
     * call the proxy comes from the environment as curl reads it ({@code HTTPS_PROXY} for a {@code wss} kit,
     * {@code HTTP_PROXY} for a {@code ws} one, {@code NO_PROXY}; lower-case names first).
     *
     * @throws IllegalArgumentException when it is not an http:// proxy URL
     */
    public TunnelOptions proxy(String url) {
        Objects.requireNonNull(url, "url");
        ProxySettings.explicit(url, Map.of()); // checked now, not at the first connect
        return new TunnelOptions(kit, url, reconnect, listeners, sslContext, bindTimeout, environment, token, shards, maxTargetConnections);
    }

    /** Connect directly, whatever the environment says. */
    public TunnelOptions noProxy() {
        return proxy("");
    }

    /** When to reconnect after losing the socket; default {@link ReconnectPolicy#defaults()} (for ever). */
    public TunnelOptions reconnect(ReconnectPolicy policy) {
        return new TunnelOptions(kit, proxy, Objects.requireNonNull(policy, "policy"), listeners, sslContext, bindTimeout, environment, token, shards, maxTargetConnections);
    }

    /** A listener that hears every event from the first connect on (including a failed one); see {@link TunnelListener}. */
    public TunnelOptions listener(TunnelListener listener) {
        List<TunnelListener> more = new ArrayList<>(listeners);
        more.add(Objects.requireNonNull(listener, "listener"));
        return new TunnelOptions(kit, proxy, reconnect, List.copyOf(more), sslContext, bindTimeout, environment, token, shards, maxTargetConnections);
    }

    /** The TLS context for a {@code wss} kit (to trust a private CA); default: the JDK's trust store. */
    public TunnelOptions sslContext(SSLContext context) {
        return new TunnelOptions(kit, proxy, reconnect, listeners, Objects.requireNonNull(context, "context"), bindTimeout, environment, token, shards, maxTargetConnections);
    }

    /**
     * How long {@link Tunnel#expose} and the other binding calls wait for the kit's answer, reconnects included, before
     * they give up and drop the binding; default 30 s.
     */
    public TunnelOptions bindTimeout(Duration timeout) {
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("bindTimeout must be positive, was " + timeout);
        }
        return new TunnelOptions(kit, proxy, reconnect, listeners, sslContext, timeout, environment, token, shards, maxTargetConnections);
    }

    /**
     * The kit's attach token (README "Security": {@code hoody.tunnel.token} on the kit), sent in every HELLO. Without
     * it a kit that requires one closes the socket with 1008 {@code attach token required}.
     */
    public TunnelOptions token(String attachToken) {
        String t = attachToken == null || attachToken.isBlank() ? null : attachToken.strip();
        return new TunnelOptions(kit, proxy, reconnect, listeners, sslContext, bindTimeout, environment, t, shards, maxTargetConnections);
    }

    /**
     * Sockets per session (docs/PROTOCOL.md §12): 1 (the default) is one WebSocket, {@code hoody-tunnel.v1}; more asks
     * the kit for a {@code hoody-tunnel.v2} session over that many sockets, the kit granting at most its
     * {@code hoody.tunnel.v2-max-shards} (4 by default). Streams are spread over the shards by the kit, so one slow or
     * lossy socket holds up only its own streams.
     *
     * @throws IllegalArgumentException unless 1 ≤ n ≤ 64
     */
    public TunnelOptions shards(int n) {
        if (n < 1 || n > Protocol.MAX_SHARDS) {
            throw new IllegalArgumentException("shards must be in 1.." + Protocol.MAX_SHARDS + ", was " + n);
        }
        return new TunnelOptions(kit, proxy, reconnect, listeners, sslContext, bindTimeout, environment, token, n, maxTargetConnections);
    }

    public int shards() {
        return shards;
    }

    /**
     * Connections the driver opens at once to one binding's target (the laptop service): {@value
     * #DEFAULT_MAX_TARGET_CONNECTIONS} by default, so that visitors cannot make the laptop open thousands; a stream beyond
     * is reset with {@code CONNECT_FAILED} (the visitor gets 502, a PULL client a reset). Raise it for a service meant
     * to hold many connections (10,000 idle WebSockets, say).
     *
     * @throws IllegalArgumentException unless 1 ≤ n ≤ {@value #MAX_TARGET_CONNECTIONS}
     */
    public TunnelOptions maxTargetConnections(int n) {
        if (n < 1 || n > MAX_TARGET_CONNECTIONS) {
            throw new IllegalArgumentException("max target connections must be in 1.." + MAX_TARGET_CONNECTIONS + ", was " + n);
        }
        return new TunnelOptions(kit, proxy, reconnect, listeners, sslContext, bindTimeout, environment, token, shards, n);
    }

    public int maxTargetConnections() {
        return maxTargetConnections;
    }

    /** The environment proxies are read from instead of the process's (tests). */
    TunnelOptions environment(Map<String, String> env) {
        return new TunnelOptions(kit, proxy, reconnect, listeners, sslContext, bindTimeout, Map.copyOf(env), token, shards, maxTargetConnections);
    }

    public KitUrl kitUrl() {
        return kit;
    }

    public ReconnectPolicy reconnectPolicy() {
        return reconnect;
    }

    public Duration bindTimeout() {
        return bindTimeout;
    }

    List<TunnelListener> listeners() {
        return listeners;
    }

    /** @throws IllegalArgumentException when a proxy variable of the environment is not an http:// proxy URL */
    DriverSession.Settings settings() {
        Map<String, String> env = environment != null ? environment : System.getenv();
        ProxySettings proxies = proxy != null ? ProxySettings.explicit(proxy, env) : ProxySettings.fromEnvironment(env);
        return new DriverSession.Settings(proxies, reconnect, sslContext == null ? null : sslContext.getSocketFactory(), token,
                shards);
    }

    @Override
    public String toString() {
        return "TunnelOptions[kit " + kit + ", proxy " + (proxy == null ? "from the environment" : proxy.isEmpty() ? "none"
                : ProxySettings.explicit(proxy, Map.of())) + ", " + reconnect + "]";
    }
}
