package ai.hoody.tunnel.kit;

import io.quarkus.websockets.next.HandshakeRequest;
import jakarta.enterprise.context.ApplicationScoped;

import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What one peer — one driver address — may take of the kit, so that no one source locks the others out: sockets
 * waiting for HELLO, sessions (orphans included), and attach attempts with a wrong token (after
 * {@link #MAX_FAILED_ATTACHES} within {@link #FAILURE_WINDOW_NANOS}, the peer's HELLOs are refused for that long).
 * Behind the platform's proxy (a TCP peer in {@code hoody.tunnel.admin.trusted-proxies}) the peer is the last address
 * of {@code X-Forwarded-For}, which that proxy sets. Thread-safe.
 */
@ApplicationScoped
public class PeerLimits {

    static final int MAX_FAILED_ATTACHES = 5;
    static final long FAILURE_WINDOW_NANOS = 30_000_000_000L;

    private final KitConfig config;
    private final List<AddressRange> trustedProxies;
    private final Map<String, AtomicInteger> preAuth = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> sessions = new ConcurrentHashMap<>();
    private final Map<String, Failures> failures = new ConcurrentHashMap<>();

    /** Wrong tokens from one peer: how many in the current window, and when it started. */
    private static final class Failures {
        int count;
        long since;
    }

    PeerLimits(KitConfig config, ai.hoody.tunnel.kit.admin.AdminConfig admin) {
        this.config = config;
        this.trustedProxies = admin.trustedProxies().orElse(List.of()).stream().map(AddressRange::parse).toList();
    }

    /** The address a socket's limits are counted against. */
    String peerOf(HandshakeRequest request) {
        String remote = request.remoteAddress();
        String host = remote == null ? "unknown" : hostOf(remote);
        if (!trustedProxies.isEmpty()) {
            String forwarded = request.header("X-Forwarded-For");
            if (forwarded != null && !forwarded.isBlank() && isTrustedProxy(host)) {
                String[] hops = forwarded.split(",");
                return hops[hops.length - 1].strip();
            }
        }
        return host;
    }

    private boolean isTrustedProxy(String host) {
        try {
            InetAddress a = InetAddress.ofLiteral(host.startsWith("[") ? host.substring(1, host.length() - 1) : host);
            return trustedProxies.stream().anyMatch(r -> r.contains(a));
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static String hostOf(String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        return colon > 0 ? hostPort.substring(0, colon) : hostPort;
    }

    /** Takes one of the peer's pre-auth slots; false at its share. */
    boolean tryEnterPreAuth(String peer) {
        return tryTake(preAuth, peer, config.maxPreAuthConnectionsPerPeer());
    }

    void leavePreAuth(String peer) {
        give(preAuth, peer);
    }

    /** Counts a session of the peer's; false at its share. */
    boolean tryAddSession(String peer) {
        return tryTake(sessions, peer, config.maxSessionsPerPeer());
    }

    void removeSession(String peer) {
        give(sessions, peer);
    }

    /** Whether the peer is still paying for wrong tokens (its HELLOs are refused meanwhile). */
    boolean isSlowedDown(String peer) {
        Failures f = failures.get(peer);
        if (f == null) {
            return false;
        }
        synchronized (f) {
            if (System.nanoTime() - f.since > FAILURE_WINDOW_NANOS) {
                failures.remove(peer, f);
                return false;
            }
            return f.count >= MAX_FAILED_ATTACHES;
        }
    }

    void attachFailed(String peer) {
        Failures f = failures.computeIfAbsent(peer, p -> {
            Failures n = new Failures();
            n.since = System.nanoTime();
            return n;
        });
        synchronized (f) {
            if (System.nanoTime() - f.since > FAILURE_WINDOW_NANOS) {
                f.count = 0;
                f.since = System.nanoTime();
            }
            f.count++;
        }
    }

    private static boolean tryTake(Map<String, AtomicInteger> counts, String peer, int max) {
        AtomicInteger n = counts.computeIfAbsent(peer, p -> new AtomicInteger());
        if (n.incrementAndGet() > max) {
            n.decrementAndGet();
            return false;
        }
        return true;
    }

    private static void give(Map<String, AtomicInteger> counts, String peer) {
        counts.computeIfPresent(peer, (p, n) -> n.decrementAndGet() <= 0 ? null : n);
    }
}
