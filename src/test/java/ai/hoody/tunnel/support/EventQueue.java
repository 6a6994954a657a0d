package ai.hoody.tunnel.support;

import ai.hoody.tunnel.driver.TunnelEvent;
import ai.hoody.tunnel.driver.TunnelListener;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** A library listener that keeps a tunnel's or a binding's events, for tests to wait on in order. */
public final class EventQueue implements TunnelListener {

    private final BlockingQueue<TunnelEvent> queue = new LinkedBlockingQueue<>();
    private final List<TunnelEvent> all = new CopyOnWriteArrayList<>();

    @Override
    public void onEvent(TunnelEvent event) {
        queue.add(event);
        all.add(event);
    }

    /** Waits (up to 15 s) for the next event of {@code type}, skipping others. */
    public <T extends TunnelEvent> T await(Class<T> type) throws InterruptedException {
        return await(type, e -> true);
    }

    public <T extends TunnelEvent> T await(Class<T> type, Predicate<T> matching) throws InterruptedException {
        List<TunnelEvent> skipped = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (true) {
            TunnelEvent e = queue.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
            if (e == null) {
                throw new AssertionError("no " + type.getSimpleName() + " event within 15 s; saw " + skipped);
            }
            if (type.isInstance(e) && matching.test(type.cast(e))) {
                return type.cast(e);
            }
            skipped.add(e);
        }
    }

    /** Every event so far, in order. */
    public List<TunnelEvent> all() {
        return List.copyOf(all);
    }

    /** The names of every event so far, in order. */
    public List<String> names() {
        return all.stream().map(TunnelEvent::name).toList();
    }
}
