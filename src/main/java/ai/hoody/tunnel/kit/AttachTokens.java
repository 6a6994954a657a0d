package ai.hoody.tunnel.kit;

import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import org.jboss.logging.Logger;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;

/**
 * Who may attach: the shared secrets a HELLO must carry in {@code token} ({@code hoody.tunnel.token} /
 * {@code HOODY_TUNNEL_TOKEN}, several at once for rotation). Kept as SHA-256 digests and compared in constant time;
 * never logged. With none configured anyone who reaches the kit's port may attach, and the kit says so at start.
 */
@ApplicationScoped
public class AttachTokens {

    private static final Logger LOG = Logger.getLogger(AttachTokens.class);
    /** 128 bits of base64, about: shorter secrets are refused at start. */
    static final int MIN_LENGTH = 16;

    private final List<byte[]> digests;

    AttachTokens(KitConfig config) {
        List<String> tokens = config.token().orElse(List.of()).stream().map(String::strip).filter(t -> !t.isEmpty()).toList();
        for (String t : tokens) {
            if (t.length() < MIN_LENGTH) {
                throw new IllegalArgumentException("hoody.tunnel.token: every attach token must be at least " + MIN_LENGTH
                        + " characters (one is " + t.length() + ")");
            }
        }
        this.digests = tokens.stream().map(AttachTokens::sha256).toList();
    }

    void warnIfOpen(@Observes StartupEvent event) {
        if (digests.isEmpty()) {
            LOG.warn("attach is open: no hoody.tunnel.token is set, so anyone who can reach this port can attach a driver "
                    + "and bind ports (fine in dev mode, or behind a proxy that only lets the owner's drivers through)");
        }
    }

    /** True when no token is required. */
    public boolean isOpen() {
        return digests.isEmpty();
    }

    /** Whether a HELLO carrying {@code token} (null: none) may attach. Constant time in the token's content. */
    public boolean accepts(String token) {
        if (digests.isEmpty()) {
            return true;
        }
        if (token == null) {
            return false;
        }
        byte[] d = sha256(token);
        boolean ok = false;
        for (byte[] candidate : digests) {
            ok |= MessageDigest.isEqual(candidate, d);
        }
        return ok;
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JDK", e);
        }
    }
}
