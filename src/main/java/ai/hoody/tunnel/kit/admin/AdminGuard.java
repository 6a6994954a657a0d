package ai.hoody.tunnel.kit.admin;

import ai.hoody.tunnel.protocol.Protocol;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.vertx.http.runtime.filters.Filters;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.net.SocketAddress;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import java.net.InetAddress;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;

/**
 * The admin API's door: every request to the kit's HTTP port passes here first, as a Vert.x route filter on the main
 * router, so that the guard covers the REST resources, {@code /q/metrics}, {@code /q/openapi} and paths nobody
 * serves alike (deny by default: a path the guard does not know is an admin path). Two kinds of path stay open:
 * the driver's WebSocket ({@value Protocol#CONNECT_PATH}, which has its own handshake rules) and the health probes
 * under {@code /q/health} (for the orchestrator). Everything else needs what {@link AdminAccess} accepts, else 403
 * {@code {"error":"forbidden","message":"not via Hoody Proxy"}}, the platform's answer to an admin call that did not
 * come through its proxy (e.g. a program in the container calling {@code http://127.0.0.1:9771/...}: the SSRF case).
 * Runs on the event loop: the check is a few hashes, no I/O.
 */
@ApplicationScoped
public class AdminGuard {

    static final String FORBIDDEN_MESSAGE = "not via Hoody Proxy";
    private static final String FORBIDDEN_BODY = "{\"error\":\"forbidden\",\"message\":\"" + FORBIDDEN_MESSAGE + "\"}";
    /** Before every other filter and route. */
    private static final int PRIORITY = 10_000;
    private static final Logger LOG = Logger.getLogger(AdminGuard.class);

    private final AdminAccess access;
    private final String healthPath;
    private final Map<AdminAccess.Verdict, Counter> refusals = new EnumMap<>(AdminAccess.Verdict.class);

    AdminGuard(AdminConfig config, MeterRegistry registry,
               @ConfigProperty(name = "quarkus.http.root-path", defaultValue = "/") String rootPath,
               @ConfigProperty(name = "quarkus.http.non-application-root-path", defaultValue = "q") String nonApplicationRoot,
               @ConfigProperty(name = "quarkus.smallrye-health.root-path", defaultValue = "health") String healthRoot) {
        this.access = new AdminAccess(config);
        this.healthPath = below(below(rootPath, nonApplicationRoot), healthRoot);
        for (AdminAccess.Verdict v : new AdminAccess.Verdict[]{AdminAccess.Verdict.MISSING, AdminAccess.Verdict.WRONG}) {
            refusals.put(v, Counter.builder("hoody.tunnel.admin.refusals").tag("reason", v.name().toLowerCase(Locale.ROOT))
                    .description("Admin API requests refused with 403, by reason (missing or wrong credential)")
                    .register(registry));
        }
        String trusted = access.describe();
        if (trusted == null) {
            LOG.warn("admin API: no hoody.tunnel.admin.token, proxy-secret or trusted-proxies set: every admin call is "
                    + "refused with 403 (health probes under " + healthPath + " stay open)");
        } else {
            LOG.infof("admin API open to %s", trusted);
        }
    }

    void register(@Observes Filters filters) {
        filters.register(this::filter, PRIORITY);
    }

    private void filter(RoutingContext rc) {
        String path = rc.normalizedPath(); // what the router matches routes against, dot segments resolved
        if (isOpen(path)) {
            rc.next();
            return;
        }
        AdminAccess.Verdict verdict = access.check(peer(rc), rc.request().getHeader(HttpHeaders.AUTHORIZATION),
                rc.request().getHeader(AdminAccess.PROXY_SECRET_HEADER));
        if (verdict == AdminAccess.Verdict.ALLOWED) {
            rc.next();
            return;
        }
        refusals.get(verdict).increment();
        LOG.debugf("admin call %s %s from %s refused: %s credential", rc.request().method(), path,
                rc.request().connection().remoteAddress(), verdict.name().toLowerCase(Locale.ROOT));
        rc.response().setStatusCode(403).putHeader(HttpHeaders.CONTENT_TYPE, "application/json").end(FORBIDDEN_BODY);
    }

    private boolean isOpen(String path) {
        return Protocol.CONNECT_PATH.equals(path) || path.equals(healthPath) || path.startsWith(healthPath + "/");
    }

    /** The TCP peer: {@code request().remoteAddress()} may be rewritten from X-Forwarded-For, which anyone can send. */
    private static InetAddress peer(RoutingContext rc) {
        SocketAddress a = rc.request().connection().remoteAddress();
        if (a == null || a.hostAddress() == null) {
            return null; // a Unix domain socket: no address to trust
        }
        try {
            return InetAddress.ofLiteral(a.hostAddress());
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** {@code child} resolved against {@code parent}, as Quarkus resolves its paths: absolute wins. */
    private static String below(String parent, String child) {
        String p = parent.endsWith("/") ? parent.substring(0, parent.length() - 1) : parent;
        String c = child.endsWith("/") ? child.substring(0, child.length() - 1) : child;
        return c.startsWith("/") ? c : p + "/" + c;
    }
}
