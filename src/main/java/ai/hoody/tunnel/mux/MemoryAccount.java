package ai.hoody.tunnel.mux;

/**
 * What a connection's buffered stream bytes are charged to: a share of a {@link MemoryBudget}, or nothing. Charging
 * never blocks (the bytes are already here); pressure is answered by smaller receive windows, by refusing new
 * streams and, past the budget, by resetting the streams that hold the most unread bytes.
 */
public interface MemoryAccount {

    /** Counts nothing and never feels pressure: for tests and for ends without a budget. */
    MemoryAccount UNLIMITED = new MemoryAccount() {
    };

    /** Bytes a stream of this connection now holds for a reader that has not taken them yet. */
    default void chargeInbound(MuxStream stream, long bytes) {
    }

    default void releaseInbound(long bytes) {
    }

    /** Bytes queued towards the peer. */
    default void chargeOutbound(long bytes) {
    }

    default void releaseOutbound(long bytes) {
    }

    /** True while the whole budget is spent: senders wait before queueing more DATA. */
    default boolean exhausted() {
        return false;
    }

    /**
     * The receive window a stream should aim for now: {@code full} without pressure, less (never below one DATA frame)
     * as the budget fills up.
     */
    default int targetWindow(int full) {
        return full;
    }
}
