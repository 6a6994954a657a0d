package ai.hoody.tunnel.kit;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.config.MeterFilterReply;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

import java.lang.management.ManagementFactory;
import java.util.Map;

/**
 * The meters that come with Quarkus' binders (JVM, process, system, Netty), made to pass Prometheus' own lint,
 * {@code promtool check metrics} (MetricsLintTest): every meter has help text, units are base units named in the
 * meter's name, and only histograms and summaries end in {@code _count}. What the binders get wrong is mended here,
 * meter by meter, rather than dropped: an operator wants Netty's direct memory and the process' CPU time.
 */
@Singleton
public class PlatformMeters {

    /** Netty's allocator and event loop gauges have no description (Micrometer's Netty binder sets none). */
    private static final Map<String, Described> NETTY = Map.of(
            "netty.allocator.memory.used", new Described("Memory an allocator has reserved, by allocator and memory type", "bytes"),
            "netty.allocator.memory.pinned", new Described("Memory of an allocator held by buffers in use, by allocator and memory type", "bytes"),
            "netty.allocator.pooled.arenas", new Described("Arenas of a pooled allocator, by memory type", null),
            "netty.allocator.pooled.cache.size", new Described("Entries each thread-local cache of a pooled allocator may hold, by cache type", null),
            "netty.allocator.pooled.chunk.size", new Described("Size of the chunks a pooled allocator reserves memory in", "bytes"),
            "netty.allocator.pooled.threadlocal.caches", new Described("Thread-local caches of a pooled allocator", null),
            "netty.eventexecutor.tasks.pending", new Described("Tasks waiting in an event loop's queue", null));

    /** Micrometer's process CPU counter counts nanoseconds ({@code process_cpu_time_ns_total}: not a base unit). */
    private static final String PROCESS_CPU_NANOS = "process.cpu.time";
    /** A gauge named {@code system_cpu_count} reads as part of a histogram in Prometheus. */
    private static final String SYSTEM_CPU_COUNT = "system.cpu.count";

    private record Described(String description, String baseUnit) {
    }

    @Produces
    @Singleton
    MeterFilter lintCleanPlatformMeters() {
        return new MeterFilter() {
            @Override
            public Meter.Id map(Meter.Id id) {
                Described d = NETTY.get(id.getName());
                if (d != null && id.getDescription() == null) {
                    return new Meter.Id(id.getName(), Tags.of(id.getTagsAsIterable()),
                            d.baseUnit() != null ? d.baseUnit() : id.getBaseUnit(), d.description(), id.getType());
                }
                if (id.getName().equals(SYSTEM_CPU_COUNT)) {
                    return id.withName("system.cpus");
                }
                return id;
            }

            @Override
            public MeterFilterReply accept(Meter.Id id) {
                return id.getName().equals(PROCESS_CPU_NANOS)
                        ? MeterFilterReply.DENY // replaced by processCpuSeconds()
                        : MeterFilterReply.NEUTRAL;
            }
        };
    }

    /** {@code process_cpu_seconds_total}, the name Prometheus' own client libraries give the process' CPU time. */
    @Produces
    @Singleton
    MeterBinder processCpuSeconds() {
        return registry -> {
            if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
                FunctionCounter.builder("process.cpu", os, b -> b.getProcessCpuTime() / 1e9).baseUnit("seconds")
                        .description("CPU time used by the kit's process, all threads").register(registry);
            }
        };
    }
}
