package ai.hoody.tunnel.driver;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * When a tunnel that lost its socket tries again, and when it gives up. The default (the CLI's) never gives up and waits
 * a random time between half and all of min(30 s, 200 ms · 2^(n−1)) before attempt n: 100–200 ms, 200–400 ms, … up to
 * 15–30 s; never zero, so a reconnect loop cannot spin. The count starts again at 1 whenever a session opens.
 * Immutable.
 */
public final class ReconnectPolicy {

    private static final Duration DEFAULT_BASE = Duration.ofMillis(200);
    private static final ReconnectPolicy DEFAULT = new ReconnectPolicy(DEFAULT_BASE, Duration.ofSeconds(30), Integer.MAX_VALUE);

    private final long baseMillis;
    private final long capMillis;
    private final int maxAttempts;

    private ReconnectPolicy(Duration base, Duration cap, int maxAttempts) {
        if (base.toMillis() < 2 || cap.compareTo(base) < 0) {
            throw new IllegalArgumentException("reconnect backoff needs base ≥ 2 ms and cap ≥ base, was " + base + " / " + cap);
        }
        if (maxAttempts < 0) {
            throw new IllegalArgumentException("maxAttempts must be ≥ 0, was " + maxAttempts);
        }
        this.baseMillis = base.toMillis();
        this.capMillis = cap.toMillis();
        this.maxAttempts = maxAttempts;
    }

    /** Reconnect for ever with the backoff above. */
    public static ReconnectPolicy defaults() {
        return DEFAULT;
    }

    /** Never reconnect: a lost socket ends the tunnel ({@link TunnelEvent.Why#GAVE_UP}). */
    public static ReconnectPolicy never() {
        return new ReconnectPolicy(DEFAULT_BASE, DEFAULT_BASE, 0);
    }

    /** Backoff from {@code base}, doubling per attempt up to {@code cap} (each wait: half to all of it). */
    public static ReconnectPolicy exponential(Duration base, Duration cap) {
        return new ReconnectPolicy(base, cap, Integer.MAX_VALUE);
    }

    /** This policy, giving up after {@code attempts} failed attempts in a row. */
    public ReconnectPolicy withMaxAttempts(int attempts) {
        return new ReconnectPolicy(Duration.ofMillis(baseMillis), Duration.ofMillis(capMillis), attempts);
    }

    /**
     * @param attempt 1 for the first attempt after a loss
     * @return how long to wait before it, in ms, or -1 to give up
     */
    long delayMillis(int attempt) {
        if (attempt > maxAttempts) {
            return -1;
        }
        long ceiling = Math.min(capMillis, baseMillis << Math.min(attempt - 1, 30));
        return ceiling / 2 + ThreadLocalRandom.current().nextLong(ceiling / 2 + 1);
    }

    @Override
    public String toString() {
        return "ReconnectPolicy[" + baseMillis + " ms .. " + capMillis + " ms"
                + (maxAttempts == Integer.MAX_VALUE ? "" : ", at most " + maxAttempts + " attempts") + "]";
    }
}
