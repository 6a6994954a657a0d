package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.mux.MemoryBudget;
import io.quarkus.runtime.configuration.MemorySize;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import org.jboss.logging.Logger;

/**
 * The kit's one {@link MemoryBudget}: the stream bytes all sessions together may hold for visitors and drivers that
 * have not taken them yet ({@code hoody.tunnel.stream-memory-budget}, default half the maximum heap).
 */
public class KitMemory {

    private static final Logger LOG = Logger.getLogger(KitMemory.class);

    /** Share of the maximum heap the budget defaults to: the rest is for everything else the kit keeps. */
    static final int DEFAULT_HEAP_PERCENT = 50;
    /** What {@link MemoryBudget} needs to carry a stream at all. */
    static final long MIN_BYTES = 4L * 65536;

    @Produces
    @Singleton
    MemoryBudget budget(KitConfig config) {
        long total = config.streamMemoryBudget().map(MemorySize::asLongValue)
                .orElseGet(() -> Runtime.getRuntime().maxMemory() / 100 * DEFAULT_HEAP_PERCENT);
        if (total < MIN_BYTES) {
            throw new IllegalArgumentException("hoody.tunnel.stream-memory-budget must be at least " + MIN_BYTES
                    + " bytes (four DATA frames), was " + total + (config.streamMemoryBudget().isEmpty()
                    ? ": half the maximum heap; give the JVM more heap or set it" : ""));
        }
        LOG.debugf("memory budget for buffered stream bytes: %d MiB", total >> 20);
        return new MemoryBudget(total);
    }
}
