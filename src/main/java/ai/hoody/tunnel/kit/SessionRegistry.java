package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.protocol.BindMode;
import jakarta.enterprise.context.ApplicationScoped;

import java.security.SecureRandom;
import java.util.Base64;
import java.util.Collection;
import java.util.HexFormat;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;

/** Every session of the kit, and the limit on sockets that have not said HELLO yet. */
@ApplicationScoped
public class SessionRegistry {

    private final ConcurrentHashMap<String, KitSession> sessions = new ConcurrentHashMap<>();
    private final Semaphore preAuth;
    /** Created per instance, never in a static initializer, so a native image does not freeze its seed. */
    private final SecureRandom random = new SecureRandom();

    SessionRegistry(KitConfig config) {
        this.preAuth = new Semaphore(config.maxPreAuthConnections());
    }

    private volatile boolean draining;

    /** The kit is stopping: new HELLOs are refused (1013) so drivers go to another kit or wait for this one. */
    void startDraining() {
        draining = true;
    }

    boolean isDraining() {
        return draining;
    }

    boolean tryEnterPreAuth() {
        return preAuth.tryAcquire();
    }

    void leavePreAuth() {
        preAuth.release();
    }

    /** 96 random bits, hex: unique, and not guessable (though the token, not the id, is the secret). */
    String newSessionId() {
        byte[] b = new byte[12];
        random.nextBytes(b);
        return "ses_" + HexFormat.of().formatHex(b);
    }

    /** 256 random bits, base64url: the resume secret of HELLO_OK. */
    String newResumeToken() {
        byte[] b = new byte[32];
        random.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    /** A v2 session's join token: as secret as a resume token, and a different one. */
    String newJoinToken() {
        return newResumeToken();
    }

    void add(KitSession session) {
        sessions.put(session.id(), session);
    }

    void remove(KitSession session) {
        sessions.remove(session.id(), session);
    }

    public Optional<KitSession> find(String id) {
        return Optional.ofNullable(sessions.get(id));
    }

    public Collection<KitSession> all() {
        return sessions.values();
    }

    public int size() {
        return sessions.size();
    }

    public int bindingCount(BindMode mode) {
        int n = 0;
        for (KitSession s : sessions.values()) {
            for (Binding b : s.bindings()) {
                if (b.mode() == mode) {
                    n++;
                }
            }
        }
        return n;
    }

    /** v2 secondary shard sockets joined now, over every session. */
    public int secondaryShardCount() {
        int n = 0;
        for (KitSession s : sessions.values()) {
            n += s.secondaryShards();
        }
        return n;
    }

    public int streamCount() {
        int n = 0;
        for (KitSession s : sessions.values()) {
            n += s.activeStreams();
        }
        return n;
    }
}
