package ai.hoody.tunnel.mux;

import ai.hoody.tunnel.protocol.FrameCodec;
import ai.hoody.tunnel.protocol.ResetCode;

import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * The bytes of stream data one process may hold for readers and writers that have not taken them yet, shared by all
 * its connections. Each connection charges an {@link Account}. The budget answers pressure in three steps:
 * <ol>
 *   <li>from half full, streams aim for smaller receive windows (credit is withheld as readers consume), down to one
 *       DATA frame when full;</li>
 *   <li>from {@value #ADMISSION_PERCENT}% full, {@link #admits} refuses new streams to connections holding more than
 *       their fair share (the budget divided among the connections), so one connection's slow readers cannot lock
 *       the others out;</li>
 *   <li>past the budget, the streams holding the most unread bytes — preferring readers that have taken nothing for
 *       {@value #STALLED_MILLIS} ms — are reset (RESET {@code CANCEL}) until the total fits again.</li>
 * </ol>
 * A stream can never hold more than its window (a peer that sends more is reset), so between two sheds the total
 * exceeds the budget by at most a few frames.
 */
public final class MemoryBudget {

    static final int ADMISSION_PERCENT = 90;
    static final long STALLED_MILLIS = 500;
    private static final int MIN_WINDOW = FrameCodec.MAX_DATA_BYTES;

    private final long total;
    private final AtomicLong used = new AtomicLong();
    private final AtomicLong shed = new AtomicLong();
    private final Set<Account> accounts = ConcurrentHashMap.newKeySet();
    /** One shedder at a time: two would both pick victims for the same excess. */
    private final ReentrantLock shedding = new ReentrantLock();

    public MemoryBudget(long totalBytes) {
        if (totalBytes < 4L * MIN_WINDOW) {
            throw new IllegalArgumentException("a memory budget below " + 4 * MIN_WINDOW + " bytes cannot carry a stream");
        }
        this.total = totalBytes;
    }

    /** An account for one connection; {@code streams} lists its streams (for shedding), once it has some. */
    public Account open(Supplier<Collection<MuxStream>> streams) {
        Account a = new Account(streams);
        accounts.add(a);
        return a;
    }

    public long total() {
        return total;
    }

    /** Bytes held now, across every account. */
    public long used() {
        return used.get();
    }

    /** Streams reset so far because the budget was spent. */
    public long streamsShed() {
        return shed.get();
    }

    /** Whether {@code account} may open another stream now (step 2 above). */
    public boolean admits(Account account) {
        if (used.get() * 100 < total * ADMISSION_PERCENT) {
            return true;
        }
        return account.used.get() <= total / Math.max(1, accounts.size());
    }

    private void shedDownToBudget() {
        if (!shedding.tryLock()) {
            return; // someone is already at it
        }
        try {
            long now = System.nanoTime();
            while (used.get() > total) {
                MuxStream victim = largestHolder(now, true);
                if (victim == null) {
                    victim = largestHolder(now, false);
                }
                if (victim == null) {
                    return; // nothing left to take: what is held is queued for writing
                }
                shed.incrementAndGet();
                victim.reset(ResetCode.CANCEL, "the memory budget for buffered stream bytes is spent and this "
                        + "stream held the most unread bytes");
            }
        } finally {
            shedding.unlock();
        }
    }

    private MuxStream largestHolder(long now, boolean stalledOnly) {
        MuxStream best = null;
        long most = 0;
        for (Account a : accounts) {
            Collection<MuxStream> streams = a.streams.get();
            if (streams == null) {
                continue;
            }
            for (MuxStream s : List.copyOf(streams)) {
                if (stalledOnly && s.nanosSinceRead(now) < STALLED_MILLIS * 1_000_000) {
                    continue;
                }
                long held = s.retainedBytes();
                if (held > most) {
                    most = held;
                    best = s;
                }
            }
        }
        return best;
    }

    /** One connection's share of the budget. */
    public final class Account implements MemoryAccount {
        private final Supplier<Collection<MuxStream>> streams;
        private final AtomicLong used = new AtomicLong();

        private Account(Supplier<Collection<MuxStream>> streams) {
            this.streams = streams;
        }

        /** Bytes this connection holds now. */
        public long used() {
            return used.get();
        }

        /** The connection is gone; what it still holds is released by its streams and writer as they end. */
        public void close() {
            accounts.remove(this);
        }

        @Override
        public void chargeInbound(MuxStream stream, long bytes) {
            used.addAndGet(bytes);
            if (MemoryBudget.this.used.addAndGet(bytes) > total) {
                shedDownToBudget();
            }
        }

        @Override
        public void releaseInbound(long bytes) {
            used.addAndGet(-bytes);
            MemoryBudget.this.used.addAndGet(-bytes);
        }

        @Override
        public void chargeOutbound(long bytes) {
            used.addAndGet(bytes);
            MemoryBudget.this.used.addAndGet(bytes);
        }

        @Override
        public void releaseOutbound(long bytes) {
            used.addAndGet(-bytes);
            MemoryBudget.this.used.addAndGet(-bytes);
        }

        @Override
        public boolean exhausted() {
            return MemoryBudget.this.used.get() >= total;
        }

        @Override
        public int targetWindow(int full) {
            long u = MemoryBudget.this.used.get();
            long half = total / 2;
            if (u <= half || full <= MIN_WINDOW) {
                return full;
            }
            if (u >= total) {
                return MIN_WINDOW;
            }
            return (int) (full - (full - MIN_WINDOW) * (u - half) / (total - half));
        }
    }
}
