package ai.hoody.tunnel.kit;

import com.sun.management.UnixOperatingSystemMXBean;
import jakarta.enterprise.context.ApplicationScoped;

import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.util.concurrent.Semaphore;

/**
 * The descriptors the kit may still open for listeners and accepted sockets. A permit is taken before a listener is
 * bound or a visitor is served and given back when that socket closes, so running out means a clean refusal (503,
 * BIND_ERR) instead of EMFILE somewhere random.
 */
@ApplicationScoped
public class FdBudget {

    private final int total;
    private final Semaphore permits;

    FdBudget(KitConfig config) {
        this.total = config.fdBudget().orElseGet(() -> derived(config.fdReserve()));
        this.permits = new Semaphore(total);
    }

    /** The process limit, less what is open now, less a reserve for everything that is not a tunnel socket. */
    private static int derived(int reserve) {
        OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof UnixOperatingSystemMXBean unix) {
            long free = unix.getMaxFileDescriptorCount() - unix.getOpenFileDescriptorCount() - reserve;
            return (int) Math.max(0, Math.min(free, Integer.MAX_VALUE / 2));
        }
        return 4096;
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
