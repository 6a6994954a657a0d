package ai.hoody.tunnel.kit;

import com.sun.management.UnixOperatingSystemMXBean;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import java.lang.management.ManagementFactory;
import java.util.OptionalInt;
import java.util.concurrent.Semaphore;

/**
 * The descriptors the kit may still open for listeners and accepted sockets. A permit is taken before a listener is
 * bound or a visitor is served and given back when that socket closes, so running out means a clean refusal (503,
 * BIND_ERR) instead of EMFILE somewhere random.
 */
@ApplicationScoped
public class FdBudget {

    private static final Logger LOG = Logger.getLogger(FdBudget.class);
    private final int total;
    private final Semaphore permits;

    /**
     * @param httpConnections {@code quarkus.http.limits.max-connections}: the connections the kit's own HTTP port may
     *                        hold, each a descriptor this budget must leave room for (they are not counted one by one)
     */
    FdBudget(KitConfig config,
             @ConfigProperty(name = "quarkus.http.limits.max-connections") OptionalInt httpConnections) {
        if (httpConnections.isEmpty()) {
            LOG.warn("quarkus.http.limits.max-connections is not set: connections to the kit's HTTP port are not capped, "
                    + "and may take descriptors the budget counts on");
        }
        this.total = config.fdBudget().orElseGet(() -> {
            if (!(ManagementFactory.getOperatingSystemMXBean() instanceof UnixOperatingSystemMXBean unix)) {
                return 4096;
            }
            return derived(unix.getMaxFileDescriptorCount(), unix.getOpenFileDescriptorCount(), config.fdReserve(),
                    httpConnections.orElse(0));
        });
        this.permits = new Semaphore(total);
    }

    /**
     * The process limit, less what is open now, less the HTTP port's connection cap, less a reserve for everything
     * else that is not a tunnel socket.
     */
    static int derived(long limit, long open, int reserve, int httpConnections) {
        long free = limit - open - reserve - httpConnections;
        return (int) Math.max(0, Math.min(free, Integer.MAX_VALUE / 2));
    }

    public boolean tryAcquire() {
        return permits.tryAcquire();
    }

    public void release() {
        permits.release();
    }

    public int available() {
        return permits.availablePermits();
    }

    public int total() {
        return total;
    }

    /** Descriptors open in this process now, or -1 where the platform does not say. */
    public static long openDescriptors() {
        return ManagementFactory.getOperatingSystemMXBean() instanceof UnixOperatingSystemMXBean unix
                ? unix.getOpenFileDescriptorCount() : -1;
    }
}
