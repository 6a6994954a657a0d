package ai.hoody.tunnel.kit.admin;

import io.smallrye.config.ConfigMapping;

import java.util.List;
import java.util.Optional;

/**
 * Who may use the admin API ({@code /api/v1/tunnel/*} but the driver's WebSocket, {@code /q/metrics},
 * {@code /q/openapi}): properties {@code hoody.tunnel.admin.*}, environment {@code HOODY_TUNNEL_ADMIN_*}. With none
 * set, every admin call is refused with 403: a kit must be told whom to trust. README "Security" explains the choices.
 */
@ConfigMapping(prefix = "hoody.tunnel.admin")
public interface AdminConfig {

    /** Tokens accepted in {@code Authorization: Bearer <token>}, from anywhere; several at once for rotation. */
    Optional<List<String>> token();

    /**
     * Secrets accepted in the {@value AdminAccess#PROXY_SECRET_HEADER} header, which the platform's proxy sets on every
     * request it forwards (and strips from what clients send it); several at once for rotation.
     */
    Optional<List<String>> proxySecret();

    /** Addresses or CIDR blocks of the proxy: a request from one of them comes through the proxy. */
    Optional<List<String>> trustedProxies();
}
