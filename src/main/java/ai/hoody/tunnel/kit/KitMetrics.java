package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.mux.MemoryBudget;
import ai.hoody.tunnel.protocol.BindMode;
import ai.hoody.tunnel.protocol.BindErrorCode;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.Startup;
import jakarta.enterprise.context.ApplicationScoped;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The kit's meters, named {@code hoody_tunnel_*} in Prometheus. Gauges read live state through this long-lived bean
 * (Micrometer holds gauge state weakly).
 */
@Startup // gauges must exist from the first scrape, not from the first driver
@ApplicationScoped
public class KitMetrics {

    private final MeterRegistry registry;
    /** Per-frame counts go to plain adders, read by Micrometer at scrape time: no meter lookup on the data path. */
    private final LongAdder bytesToDriver = new LongAdder();
    private final LongAdder bytesFromDriver = new LongAdder();
    private final LongAdder streamsOpened = new LongAdder();
    private final Map<BindErrorCode, Counter> bindErrors = new EnumMap<>(BindErrorCode.class);
    private final Map<String, Counter> helloRejections = new ConcurrentHashMap<>();
    private final Map<Integer, Counter> visitorRejections = new ConcurrentHashMap<>();
    private final AtomicInteger preAuth = new AtomicInteger();

    KitMetrics(MeterRegistry registry, SessionRegistry sessions, FdBudget fds, MemoryBudget memory) {
        this.registry = registry;
        Gauge.builder("hoody.tunnel.memory.buffered", memory, MemoryBudget::used).baseUnit("bytes")
                .description("Stream bytes held for visitors and drivers that have not taken them yet").register(registry);
        Gauge.builder("hoody.tunnel.memory.budget", memory, MemoryBudget::total).baseUnit("bytes")
                .description("The most stream bytes the kit holds before it resets the streams holding the most").register(registry);
        FunctionCounter.builder("hoody.tunnel.memory.streams.shed", memory, MemoryBudget::streamsShed)
                .description("Streams reset because the memory budget was spent").register(registry);
        Gauge.builder("hoody.tunnel.sessions.active", sessions, s -> s.size())
                .description("Sessions known to the kit: attached, parked (orphaned) or ending").register(registry);
        for (BindMode mode : BindMode.values()) {
            Gauge.builder("hoody.tunnel.bindings.active", sessions, s -> s.bindingCount(mode))
                    .tag("mode", mode.mode).description("Bindings held, by mode").register(registry);
        }
        Gauge.builder("hoody.tunnel.streams.active", sessions, s -> s.streamCount())
                .description("Streams open across all sessions").register(registry);
        Gauge.builder("hoody.tunnel.shards.active", sessions, s -> s.secondaryShardCount())
                .description("v2 secondary shard sockets joined now (primaries are one per session)").register(registry);
        Gauge.builder("hoody.tunnel.fd.permits.available", fds, FdBudget::available)
                .description("Descriptors the kit may still open for listeners and visitors").register(registry);
        Gauge.builder("hoody.tunnel.pre.auth.connections", preAuth, AtomicInteger::get)
                .description("WebSockets that have not completed HELLO").register(registry);
        FunctionCounter.builder("hoody.tunnel.bytes", bytesToDriver, LongAdder::sum).tag("direction", "to_driver")
                .description("Stream payload bytes, by direction").baseUnit("bytes").register(registry);
        FunctionCounter.builder("hoody.tunnel.bytes", bytesFromDriver, LongAdder::sum).tag("direction", "from_driver")
                .description("Stream payload bytes, by direction").baseUnit("bytes").register(registry);
        FunctionCounter.builder("hoody.tunnel.streams.opened", streamsOpened, LongAdder::sum)
                .description("Streams opened for visitors and container clients").register(registry);
        for (BindErrorCode code : BindErrorCode.values()) {
            bindErrors.put(code, Counter.builder("hoody.tunnel.bind.errors").tag("code", code.name())
                    .description("BIND requests refused, by code").register(registry));
        }
    }

    void bytesToDriver(int n) {
        bytesToDriver.add(n);
    }

    void bytesFromDriver(int n) {
        bytesFromDriver.add(n);
    }

    void streamOpened() {
        streamsOpened.increment();
    }

    void bindError(BindErrorCode code) {
        bindErrors.get(code).increment();
    }

    /** @param reason a short word: timeout, malformed, version, pre_auth_cap, shutting_down, subprotocol, origin */
    void helloRejected(String reason) {
        helloRejections.computeIfAbsent(reason, r -> Counter.builder("hoody.tunnel.hello.rejections").tag("reason", r)
                .description("Sockets closed before or at HELLO, by reason").register(registry)).increment();
    }

    void streamIdleReset() {
        count("hoody.tunnel.streams.idle.reset", "Streams reset after carrying no byte either way for stream-idle-timeout");
    }

    void memoryRefusal() {
        count("hoody.tunnel.memory.refusals", "Visitors refused because their session held more than its share of a short memory budget");
    }

    void visitorRefused(int status) {
        visitorRejections.computeIfAbsent(status, s -> Counter.builder("hoody.tunnel.visitor.refusals")
                .tag("status", Integer.toString(s))
                .description("Visitors answered by the kit itself (502/503/504) or reset (pull)").register(registry)).increment();
    }

    void goAway(String sender, ai.hoody.tunnel.protocol.GoAwayCode code) {
        count("hoody.tunnel.goaways", "GOAWAY messages, by sender (kit, driver) and code", "sender", sender, "code", code.name());
    }

    void shardJoined() {
        count("hoody.tunnel.shards.joined", "v2 secondary shard sockets joined to their session (JOIN_OK)");
    }

    void shardLost() {
        count("hoody.tunnel.shards.lost", "v2 secondary shard sockets lost; their streams were reset, the session went on");
    }

    void resumed() {
        count("hoody.tunnel.sessions.resumed", "Sessions resumed on a new socket");
    }

    void resumeRefused() {
        count("hoody.tunnel.resumes.refused", "HELLOs whose resume was refused (unknown session or wrong token)");
    }

    void orphaned() {
        count("hoody.tunnel.sessions.orphaned", "Sessions whose socket dropped without GOAWAY");
    }

    void orphanReaped() {
        count("hoody.tunnel.orphans.reaped", "Orphans released after the takeover grace");
    }

    void killed() {
        count("hoody.tunnel.sessions.killed", "Sessions killed through the admin API");
    }

    void takeover() {
        count("hoody.tunnel.takeovers", "EXPOSE bindings taken over by another session");
    }

    void idleReaped() {
        count("hoody.tunnel.sessions.idle.reaped", "Sessions closed for heartbeat silence or for having nothing to do", "why", "idle");
    }

    void heartbeatTimeout() {
        count("hoody.tunnel.sessions.idle.reaped", "Sessions closed for heartbeat silence or for having nothing to do", "why", "heartbeat");
    }

    private void count(String name, String description, String... tags) {
        Counter.builder(name).tags(tags).description(description).register(registry).increment();
    }

    AtomicInteger preAuthGauge() {
        return preAuth;
    }
}
