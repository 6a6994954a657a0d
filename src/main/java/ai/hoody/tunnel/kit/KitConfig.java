package ai.hoody.tunnel.kit;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithConverter;
import io.smallrye.config.WithDefault;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * The kit's settings: properties {@code hoody.tunnel.*}, or environment variables {@code HOODY_TUNNEL_*}.
 * Every default here is documented in README.md ("Configuration") and docs/PROTOCOL.md ("Limits").
 */
@ConfigMapping(prefix = "hoody.tunnel")
public interface KitConfig {

    /** How long a new WebSocket may take to send HELLO. */
    @WithDefault("5s")
    Duration helloTimeout();

    /** Sockets that have not completed HELLO, at most, at once. */
    @WithDefault("32")
    int maxPreAuthConnections();

    /**
     * Attach tokens: a HELLO must carry one of these in {@code token} (several at once for rotation; each at least 16
     * characters). Unset: anyone who can reach the port may attach (the kit warns at start).
     */
    Optional<List<String>> token();

    /** Sockets one peer may have waiting for HELLO at once (of {@code max-pre-auth-connections}). */
    @WithDefault("4")
    int maxPreAuthConnectionsPerPeer();

    /** Sessions the kit holds at most, orphans included; a HELLO beyond gets close 1013. */
    @WithDefault("256")
    int maxSessions();

    /** Sessions one peer may hold at once, orphans included. */
    @WithDefault("16")
    int maxSessionsPerPeer();

    /** Bindings the kit holds at most across all sessions (parked ones included); BIND_CAP_EXCEEDED beyond. */
    @WithDefault("1024")
    int maxBindings();

    /** A stream that carried no byte either way for this long is reset (the visitor's socket too). */
    @WithDefault("1h")
    Duration streamIdleTimeout();

    /** Control messages (text) one session may send per second; above it the socket is closed with 1008. */
    @WithDefault("200")
    int maxControlMessagesPerSecond();

    /** BINDs one session may send per second; above it a BIND gets BIND_ERR BIND_CAP_EXCEEDED. */
    @WithDefault("20")
    int maxBindsPerSecond();

    /** Allow EXPOSE on ports 80..1023. */
    @WithDefault("false")
    boolean allowPrivilegedExpose();

    /** Allow PULL on ports 80..1023. */
    @WithDefault("false")
    boolean allowPrivilegedPull();

    /** The only ports EXPOSE may bind, e.g. {@code 3000-3999,8080}; unset means any (within the other rules). */
    @WithConverter(PortPolicy.PortPolicyConverter.class)
    Optional<PortPolicy> exposeAllowedPorts();

    /** The only ports PULL may bind; unset means any (within the other rules). */
    @WithConverter(PortPolicy.PortPolicyConverter.class)
    Optional<PortPolicy> pullAllowedPorts();

    /** Most streams one session may have open at once; HELLO.maxStreams can only lower it. */
    @WithDefault("16384")
    int maxStreamsPerSession();

    /** Most bindings one session may hold. */
    @WithDefault("16")
    int maxBindingsPerSession();

    /** Initial credit of each stream in each direction, in bytes. */
    @WithDefault("262144")
    int streamWindow();

    /**
     * Most shards a {@code hoody-tunnel.v2} session may have, its primary included: HELLO.shards is cut to this
     * (1 grants a v2 session with no secondaries). At most {@value ai.hoody.tunnel.protocol.Protocol#MAX_SHARDS}.
     */
    @WithDefault("4")
    int v2MaxShards();

    /** Announced in HELLO_OK: how often each end should PING. */
    @WithDefault("20s")
    Duration heartbeatInterval();

    /** A session that sent nothing (no PONG, no frame) for this long gets GOAWAY(IDLE_TIMEOUT) and is closed. */
    @WithDefault("60s")
    Duration heartbeatTimeout();

    /** How long an orphan's EXPOSE bindings stay parked (visitors get 503) before the orphan is reaped. */
    @WithDefault("60s")
    Duration takeoverGrace();

    /** How long the old owner's established streams may finish after a takeover before they are reset. */
    @WithDefault("5s")
    Duration takeoverDrain();

    /** A session with no streams and no bindings for this long is closed with GOAWAY(IDLE_TIMEOUT). */
    @WithDefault("300s")
    Duration idleSessionTimeout();

    /** On SIGTERM (and after a driver's GOAWAY): how long in-flight streams may finish before sockets close. */
    @WithDefault("10s")
    Duration shutdownDrain();

    /**
     * A connection to the kit's HTTP port that the kit has written nothing to for this long is closed: one that has
     * not finished its request head (slowloris), or an idle keep-alive connection. Driver WebSockets stay open: the
     * kit PINGs each every heartbeat interval. Applied by HttpServerLimits.
     */
    @WithDefault("30s")
    Duration httpHeaderTimeout();

    /** How long a visitor waits for the driver's OPEN_OK before getting 504. */
    @WithDefault("10s")
    Duration openTimeout();

    /**
     * Send a visitor's first bytes right after OPEN, before OPEN_OK, to drivers that announce the {@code early-data}
     * feature in HELLO (docs/PROTOCOL.md §4.1). Off: every driver is served as one without the feature.
     */
    @WithDefault("true")
    boolean earlyData();

    /** Interface EXPOSE listeners bind; {@code *} means every interface (IPv4 and IPv6). */
    @WithDefault("*")
    String exposeHost();

    /** Pattern of BIND_OK.publicUrl, {@code {port}} replaced; unset means publicUrl is null. */
    Optional<String> publicUrlPattern();

    /** Descriptors the kit may open for listeners and accepted sockets; derived from the process limit when unset. */
    OptionalInt fdBudget();

    /**
     * Stream bytes all sessions together may hold for readers that have not taken them yet (both directions); unset
     * means half the maximum heap. Pressure shrinks windows, refuses new streams to sessions over their share and, past
     * the budget, resets the streams holding the most unread bytes (docs/PROTOCOL.md §5.3).
     */
    Optional<io.quarkus.runtime.configuration.MemorySize> streamMemoryBudget();

    /**
     * {@code Origin} header values (exact, e.g. {@code https://app.example.dev}) allowed on the driver WebSocket's
     * upgrade. Browsers always send Origin and drivers do not: an upgrade carrying any other Origin gets HTTP 403.
     */
    Optional<Set<String>> allowedOrigins();

    /** Descriptors kept out of the derived budget for the JVM, the HTTP server and WebSockets. */
    @WithDefault("256")
    int fdReserve();
}
