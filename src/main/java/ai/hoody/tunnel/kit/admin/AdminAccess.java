package ai.hoody.tunnel.kit.admin;

import ai.hoody.tunnel.kit.AddressRange;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Decides whether one request may use the admin API, from what the kit is configured to trust ({@link AdminConfig}).
 * A request is let in when
 * <ul>
 *   <li>it carries an admin token ({@code Authorization: Bearer <token>}), from wherever it comes; or</li>
 *   <li>it comes through the platform's proxy: with {@code trusted-proxies} set, its TCP peer is one of them, and with
 *       {@code proxy-secret} set, it carries the secret in {@value #PROXY_SECRET_HEADER}; when both are set, both
 *       must hold.</li>
 * </ul>
 * Nothing configured means nothing is let in. Secrets are kept only as SHA-256 digests and compared in constant time
 * (every configured one is compared, digests of equal length): how long a refusal takes says nothing about how close
 * a guess was. Pure Java; {@link AdminGuard} applies it to HTTP requests.
 */
final class AdminAccess {

    /** The header the platform's proxy sets to prove a request came through it. */
    static final String PROXY_SECRET_HEADER = "X-Hoody-Proxy-Secret";
    /** Shorter secrets are refused at start: a guessable admin credential is none. */
    static final int MIN_SECRET_CHARS = 16;

    enum Verdict {
        /** Let in. */
        ALLOWED,
        /** No credential at all: neither header, nor a trusted peer. */
        MISSING,
        /** A credential that does not match, or the proxy header from an address that is not the proxy. */
        WRONG
    }

    private final List<byte[]> tokenDigests;
    private final List<byte[]> proxySecretDigests;
    private final List<AddressRange> trustedProxies;

    /** @throws IllegalArgumentException naming the property that holds a value the kit cannot use (never the value) */
    AdminAccess(AdminConfig config) {
        this(config.token().orElse(List.of()), config.proxySecret().orElse(List.of()),
                config.trustedProxies().orElse(List.of()));
    }

    AdminAccess(List<String> tokens, List<String> proxySecrets, List<String> trustedProxies) {
        this.tokenDigests = digests("hoody.tunnel.admin.token", tokens);
        this.proxySecretDigests = digests("hoody.tunnel.admin.proxy-secret", proxySecrets);
        List<AddressRange> ranges = new ArrayList<>();
        for (String spec : trustedProxies) {
            try {
                ranges.add(AddressRange.parse(spec));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("hoody.tunnel.admin.trusted-proxies: " + e.getMessage(), e);
            }
        }
        this.trustedProxies = List.copyOf(ranges);
    }

    /**
     * @param peer          the TCP peer (not a forwarded-for header, which any client can write); null if unknown
     * @param authorization the {@code Authorization} header, or null
     * @param proxySecret   the {@value #PROXY_SECRET_HEADER} header, or null
     */
    Verdict check(InetAddress peer, String authorization, String proxySecret) {
        String token = bearer(authorization);
        if (token != null && matches(token, tokenDigests)) {
            return Verdict.ALLOWED;
        }
        boolean proxyConfigured = !trustedProxies.isEmpty() || !proxySecretDigests.isEmpty();
        boolean fromProxy = trustedProxies.isEmpty() || (peer != null && trustedProxies.stream().anyMatch(r -> r.contains(peer)));
        boolean proxyProven = proxySecretDigests.isEmpty() || (proxySecret != null && matches(proxySecret, proxySecretDigests));
        if (proxyConfigured && fromProxy && proxyProven) {
            return Verdict.ALLOWED;
        }
        return authorization == null && proxySecret == null ? Verdict.MISSING : Verdict.WRONG;
    }

    /** What is configured, for the start-up log: counts and ranges, never a secret. */
    String describe() {
        if (tokenDigests.isEmpty() && proxySecretDigests.isEmpty() && trustedProxies.isEmpty()) {
            return null;
        }
        List<String> parts = new ArrayList<>();
        if (!tokenDigests.isEmpty()) {
            parts.add(tokenDigests.size() + " admin token(s) (Authorization: Bearer)");
        }
        if (!trustedProxies.isEmpty() || !proxySecretDigests.isEmpty()) {
            parts.add("the proxy: " + (trustedProxies.isEmpty() ? "any address" : "from " + trustedProxies)
                    + (proxySecretDigests.isEmpty() ? "" : (trustedProxies.isEmpty() ? "" : " and") + " with "
                    + PROXY_SECRET_HEADER + " (" + proxySecretDigests.size() + " secret(s))"));
        }
        return String.join("; ", parts);
    }

    /** The token of {@code Bearer <token>} (scheme in any case, RFC 9110), or null. */
    private static String bearer(String authorization) {
        if (authorization == null || authorization.length() < 7
                || !authorization.substring(0, 7).toLowerCase(Locale.ROOT).equals("bearer ")) {
            return null;
        }
        return authorization.substring(7).strip();
    }

    private static boolean matches(String presented, List<byte[]> digests) {
        byte[] d = sha256(presented);
        boolean any = false;
        for (byte[] expected : digests) {
            any |= MessageDigest.isEqual(d, expected); // no short cut: every digest is compared
        }
        return any;
    }

    private static List<byte[]> digests(String property, List<String> secrets) {
        List<byte[]> digests = new ArrayList<>();
        for (String s : secrets) {
            String secret = s.strip();
            if (secret.length() < MIN_SECRET_CHARS) {
                throw new IllegalArgumentException(property + ": every value must be at least " + MIN_SECRET_CHARS
                        + " characters long (one of the " + secrets.size() + " is " + secret.length()
                        + "); e.g. openssl rand -hex 32");
            }
            digests.add(sha256(secret));
        }
        return List.copyOf(digests);
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
