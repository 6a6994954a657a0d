package ai.hoody.tunnel.mux;

import ai.hoody.tunnel.protocol.FrameCodec;
import ai.hoody.tunnel.protocol.ResetCode;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One stream of a connection: a byte pipe in each direction with credit-based flow control (docs/PROTOCOL.md §5).
 *
 * <p>Threading: the {@code on*} methods are called by the connection's reader and never block; {@link #read},
 * {@link #write} and {@link #awaitOpened} block and are called by the stream's own virtual threads (one reads, one
 * writes; see {@link Splice}). Everything mutable is guarded by {@link #lock}.
 *
 * <p>Every stream ends: a reset (either side, or the connection's end) wakes whatever waits on the stream and runs its
 * abort hook, which closes the local socket — so a pump blocked in socket I/O is freed too, not only one waiting on
 * the stream.
 *
 * <p>Memory: a stream never buffers more than the credit it granted (a peer that sends more is reset with
 * FLOW_CONTROL_ERROR); what it buffers is charged to the connection's {@link MemoryAccount}, and under memory pressure
 * the credit it gives back shrinks towards one DATA frame.
 */
public final class MuxStream {

    private final Multiplexer mux;
    private final int id;
    private final int bindId;
    private final int window;
    /** What we let the peer have in flight at most: {@link #window}, plus what {@link #accept} grants on top. */
    private final int receiveWindow;
    private final MemoryAccount memory;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();

    private boolean opened;
    private long sendCredit;
    private boolean finSent;
    private boolean finReceived;
    private ResetCode resetCode;
    private String resetReason;
    private boolean resetByPeer;
    private Runnable abortHook;

    private final ReceiveBuffer inbound = new ReceiveBuffer();
    /** Bytes the peer may still send before it needs more credit. */
    private long receiveAllowance;
    /** Bytes consumed by our reader and not yet returned to the peer as credit. */
    private long unacknowledged;
    /**
     * The receive window kept up now: what the peer may have in flight plus what we hold. It starts at the stream
     * window, becomes the receive window at {@link #accept}, shrinks by withholding credit under memory pressure.
     */
    private long currentWindow;
    private volatile long lastReadNanos = System.nanoTime();
    /** When a byte last moved either way (for the idle timeout). */
    private volatile long lastActiveNanos = System.nanoTime();

    MuxStream(Multiplexer mux, int id, int bindId, int window, int receiveWindow, MemoryAccount memory) {
        this.mux = mux;
        this.id = id;
        this.bindId = bindId;
        this.window = window;
        this.receiveWindow = receiveWindow;
        this.memory = memory;
        this.sendCredit = window;
        this.receiveAllowance = window;
        this.currentWindow = window;
    }

    public int id() {
        return id;
    }

    /** The streams this one belongs to: which connection (which shard of a v2 session) carries it. */
    public Multiplexer multiplexer() {
        return mux;
    }

    public int bindId() {
        return bindId;
    }

    /**
     * Runs {@code hook} once when the stream is reset, or at once if it already was: the owner of the local socket
     * aborts it there. The hook must be quick and must not block (it may run on the connection's reader).
     */
    public void onAbort(Runnable hook) {
        boolean now;
        lock.lock();
        try {
            now = resetCode != null;
            if (!now) {
                abortHook = hook;
            }
        } finally {
            lock.unlock();
        }
        if (now) {
            hook.run();
        }
    }

    // --- the open handshake ---

    /** Kit side: waits for the driver's OPEN_OK. */
    public void awaitOpened(Duration timeout) throws StreamResetException, TimeoutException, InterruptedException {
        if (!awaitOpened(timeout.toNanos())) {
            throw new TimeoutException("no OPEN_OK within " + timeout.toMillis() + " ms");
        }
    }

    /** Kit side: waits up to {@code nanos} for the driver's OPEN_OK; false if it has not come by then. */
    public boolean awaitOpened(long nanos) throws StreamResetException, InterruptedException {
        lock.lock();
        try {
            while (true) {
                // Reset wins over OPEN_OK: a stream reset before its caller saw it opened never carries bytes.
                throwIfReset();
                if (opened) {
                    return true;
                }
                if (nanos <= 0) {
                    return false;
                }
                nanos = changed.awaitNanos(nanos);
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Driver side: the target is connected; tells the kit with OPEN_OK, followed by a WINDOW for the part of the
     * receive window above the stream window (PROTOCOL.md §5: a receiver may grant more than it must).
     */
    public void accept() {
        int extra = receiveWindow - window;
        lock.lock();
        try {
            if (resetCode != null) {
                return;
            }
            opened = true;
            receiveAllowance += extra;
            currentWindow += extra;
        } finally {
            lock.unlock();
        }
        mux.writer().sendUrgentFrame(FrameCodec.openOk(id));
        if (extra > 0) {
            mux.writer().sendWindow(id, extra);
        }
    }

    // --- receiving ---

    /**
     * Blocks until bytes arrive. Call {@link #consumed} once they have been written on, so that credit flows back.
     *
     * @return the next chunk, or {@code null} once the peer has half-closed and everything was read
     */
    public ByteBuffer read() throws StreamResetException, InterruptedException {
        ByteBuffer chunk;
        int charge;
        boolean done = false;
        lock.lock();
        try {
            while (true) {
                throwIfReset();
                chunk = inbound.poll();
                if (chunk != null) {
                    charge = inbound.lastCharge();
                    break;
                }
                if (finReceived) {
                    done = finSent;
                    chunk = null;
                    charge = 0;
                    break;
                }
                changed.await();
            }
        } finally {
            lock.unlock();
        }
        if (chunk == null) {
            if (done) {
                mux.remove(this); // both directions finished and everything read
            }
            return null;
        }
        lastReadNanos = System.nanoTime();
        memory.releaseInbound(charge);
        return chunk;
    }

    /**
     * Returns credit for {@code n} bytes read. A WINDOW goes out once half the window has been consumed; under memory
     * pressure the window aimed for shrinks (credit is withheld), and grows back when the pressure is gone.
     */
    public void consumed(int n) {
        consumed(n, false);
    }

    /**
     * As {@link #consumed(int)}, from a {@link Splice} pump, which nobody interrupts: it may write the WINDOW to the
     * connection's socket itself when no one else is writing ({@link FrameWriter}).
     */
    void consumedByPump(int n) {
        consumed(n, true);
    }

    private void consumed(int n, boolean byPump) {
        long increment;
        lock.lock();
        try {
            if (resetCode != null || finReceived) {
                return; // the peer sends no more: credit would be wasted
            }
            unacknowledged += n;
            long target = memory.targetWindow(receiveWindow);
            if (currentWindow > target) {
                long cut = Math.min(unacknowledged, currentWindow - target); // withheld for good
                unacknowledged -= cut;
                currentWindow -= cut;
            } else if (currentWindow < target) {
                unacknowledged += target - currentWindow; // the pressure is gone: grow back
                currentWindow = target;
            }
            if (unacknowledged == 0 || unacknowledged < currentWindow / 2) {
                return;
            }
            increment = unacknowledged;
            unacknowledged = 0;
            receiveAllowance += increment;
        } finally {
            lock.unlock();
        }
        mux.writer().sendWindow(id, (int) increment, byPump);
    }

    // --- sending ---

    /** Sends bytes, blocking while the peer has granted no credit or the connection's queue is full. One writer. */
    public void write(byte[] b, int off, int len) throws StreamResetException, InterruptedException {
        while (len > 0) {
            int n;
            lock.lock();
            try {
                while (sendCredit == 0) {
                    throwIfReset();
                    changed.await();
                }
                throwIfReset();
                if (finSent) {
                    throw new IllegalStateException("write after finish on stream " + id);
                }
                n = (int) Math.min(Math.min(len, sendCredit), FrameCodec.MAX_DATA_BYTES);
                sendCredit -= n;
            } finally {
                lock.unlock();
            }
            lastActiveNanos = System.nanoTime();
            byte[] frame = FrameCodec.data(id, b, off, n);
            mux.writer().sendData(frame, frame.length, false); // an interruptible caller: queue only
            mux.sent(n);
            off += n;
            len -= n;
        }
    }

    /**
     * Room to read the next DATA payload into, straight from a socket: an array with space for the frame header,
     * and what it may take ({@code capacity}: within the stream's credit and, for a large read, room reserved in the
     * connection's queue). Give it to {@link #send} with what was read, or back with {@link #release}.
     */
    public static final class SendSlot {
        final byte[] frame;
        final int capacity;
        final int reserved;

        private SendSlot(byte[] frame, int capacity, int reserved) {
            this.frame = frame;
            this.capacity = capacity;
            this.reserved = reserved;
        }

        /** The array to read into, at {@link #offset()}. */
        public byte[] array() {
            return frame;
        }

        public int offset() {
            return FrameCodec.HEADER_BYTES;
        }

        public int capacity() {
            return capacity;
        }
    }

    /** Reads up to this much without reserving room in the connection's queue: what an idle stream holds. */
    public static final int SMALL_READ_BYTES = 1024;

    /**
     * Waits for credit and, above {@link #SMALL_READ_BYTES}, for room in the connection's queue, and returns an array
     * to read up to {@code wanted} bytes into. A stream that waits here holds no buffer, so what stream threads hold
     * for the peer is bounded by the connection's queue limit plus one small read per stream. One writer.
     *
     * @throws StreamResetException when the stream is reset (or the connection ends) meanwhile
     */
    public SendSlot awaitSendSlot(int wanted) throws StreamResetException, InterruptedException {
        int n;
        lock.lock();
        try {
            while (sendCredit == 0) {
                throwIfReset();
                changed.await();
            }
            throwIfReset();
            if (finSent) {
                throw new IllegalStateException("write after finish on stream " + id);
            }
            n = (int) Math.min(Math.min(Math.max(1, wanted), sendCredit), FrameCodec.MAX_DATA_BYTES);
        } finally {
            lock.unlock();
        }
        int reserved = 0;
        if (n > SMALL_READ_BYTES) {
            reserved = mux.writer().reserveData(n, SMALL_READ_BYTES, this::isReset);
            if (reserved == 0) {
                lock.lock();
                try {
                    throwIfReset();
                } finally {
                    lock.unlock();
                }
                throw new StreamResetException(ResetCode.SESSION_CLOSING, "the connection is closing", false);
            }
        }
        if (reserved > 0) {
            n = reserved; // less room left than wanted: read less
        }
        return new SendSlot(FrameCodec.dataBuffer(n), n, reserved);
    }

    /**
     * Sends the {@code n} bytes read into {@code slot} as one DATA frame. For {@link Splice}'s pump, which nobody
     * interrupts: a bulk frame it may write to the connection's socket itself ({@link FrameWriter}).
     */
    public void send(SendSlot slot, int n) throws StreamResetException {
        lock.lock();
        try {
            if (resetCode != null) {
                mux.writer().releaseReservation(slot.reserved);
                throwIfReset();
            }
            sendCredit -= n; // within credit: the slot was sized by it and only this thread spends it
        } finally {
            lock.unlock();
        }
        lastActiveNanos = System.nanoTime();
        int length = FrameCodec.finishData(slot.frame, id, n);
        if (slot.reserved > 0) {
            mux.writer().sendReservedData(slot.frame, length, slot.reserved);
        } else {
            try {
                mux.writer().sendData(slot.frame, length, true);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        mux.sent(n);
    }

    /** Gives back a slot that was not used (the socket ended or failed). */
    public void release(SendSlot slot) {
        mux.writer().releaseReservation(slot.reserved);
    }

    /** Half-closes our direction with FIN. */
    public void finish() {
        boolean done;
        lock.lock();
        try {
            if (resetCode != null || finSent) {
                return;
            }
            finSent = true;
            done = finReceived && inbound.isEmpty();
        } finally {
            lock.unlock();
        }
        mux.writer().sendFrame(FrameCodec.fin(id));
        if (done) {
            mux.remove(this);
        }
    }

    /** True once both directions were finished cleanly and everything received was read: no reset can follow. */
    public boolean isFinished() {
        lock.lock();
        try {
            return resetCode == null && finSent && finReceived && inbound.isEmpty();
        } finally {
            lock.unlock();
        }
    }

    /** Aborts both directions and tells the peer. Idempotent; a finished stream is not reset. */
    public void reset(ResetCode code, String reason) {
        if (markReset(code, reason, false)) {
            tellPeerReset(code, reason);
        }
    }

    /** After a local reset was marked: RESET to the peer, and the stream leaves its multiplexer. */
    private void tellPeerReset(ResetCode code, String reason) {
        mux.writer().sendFrame(FrameCodec.reset(id, code, reason));
        mux.remove(this);
    }

    /**
     * Resets the stream only if OPEN_OK has not arrived yet, atomically with respect to OPEN_OK: afterwards the
     * stream is either opened (and will carry bytes) or reset (and never will), never opened-then-reset.
     *
     * @return true if this call reset it
     */
    public boolean resetIfNotOpened(ResetCode code, String reason) {
        boolean marked;
        lock.lock(); // held across the check and the mark (markReset re-enters it), so OPEN_OK cannot slip between
        try {
            marked = !opened && markReset(code, reason, false);
        } finally {
            lock.unlock();
        }
        if (marked) {
            tellPeerReset(code, reason);
        }
        return marked;
    }

    /** True once OPEN_OK was sent or received: the stream carries bytes. */
    public boolean isOpened() {
        lock.lock();
        try {
            return opened;
        } finally {
            lock.unlock();
        }
    }

    public boolean isReset() {
        lock.lock();
        try {
            return resetCode != null;
        } finally {
            lock.unlock();
        }
    }

    /** Heap held for the reader now (what memory pressure sheds first). */
    long retainedBytes() {
        lock.lock();
        try {
            return inbound.retained();
        } finally {
            lock.unlock();
        }
    }

    long nanosSinceRead(long now) {
        return now - lastReadNanos;
    }

    /** How long no byte moved either way on this stream. */
    public long nanosSinceActive(long now) {
        return now - lastActiveNanos;
    }

    // --- called by the Multiplexer on the connection's reader ---

    void onOpenOk() {
        lock.lock();
        try {
            if (resetCode != null) {
                return; // reset while OPEN_OK was in flight: it stays reset
            }
            opened = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    void onData(ByteBuffer payload) {
        String violation = null;
        ResetCode code = null;
        int charge = 0;
        lock.lock();
        try {
            if (resetCode != null) {
                return;
            }
            int n = payload.remaining();
            if (finReceived) {
                code = ResetCode.PROTOCOL_ERROR;
                violation = "DATA after FIN";
            } else if (n > receiveAllowance) {
                code = ResetCode.FLOW_CONTROL_ERROR;
                violation = "DATA of " + n + " bytes exceeds the " + receiveAllowance + " bytes of credit granted";
            } else {
                receiveAllowance -= n;
                lastActiveNanos = System.nanoTime();
                charge = inbound.add(payload);
                changed.signalAll();
            }
        } finally {
            lock.unlock();
        }
        if (violation != null) {
            reset(code, violation);
        } else if (charge > 0) {
            // Charged outside the lock: going over the budget may reset other streams, whose locks we must not
            // take while holding ours. A reset meanwhile released this charge already, so the sum stays right.
            memory.chargeInbound(this, charge);
        }
    }

    void onWindow(int increment) {
        boolean overflow;
        lock.lock();
        try {
            sendCredit += increment;
            overflow = sendCredit > Integer.MAX_VALUE;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        if (overflow) {
            reset(ResetCode.FLOW_CONTROL_ERROR, "send credit above 2^31-1");
        }
    }

    void onRemoteFin() {
        boolean done;
        lock.lock();
        try {
            if (resetCode != null || finReceived) {
                return;
            }
            finReceived = true;
            done = finSent && inbound.isEmpty();
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        if (done) {
            mux.remove(this);
        }
    }

    void onRemoteReset(ResetCode code, String reason) {
        if (markReset(code, reason, true)) {
            mux.remove(this);
        }
    }

    /** The connection is gone: wake everyone, abort the local socket, send nothing. */
    void terminate(String reason) {
        markReset(ResetCode.SESSION_CLOSING, reason, false);
        mux.remove(this);
    }

    /**
     * Marks the stream reset, wakes its threads and runs its abort hook; false when it was already reset or is
     * finished. A finished stream has nothing to reset, but it leaves its multiplexer here if its reader never came
     * back for the end (the last chunk could not be written on, say): a stream must not outlive both FINs.
     */
    private boolean markReset(ResetCode code, String reason, boolean byPeer) {
        Runnable hook;
        long released;
        boolean finished;
        lock.lock();
        try {
            finished = resetCode == null && finSent && finReceived && inbound.isEmpty();
            if (resetCode != null || finished) {
                hook = null;
                released = -1;
            } else {
                resetCode = code;
                resetReason = reason;
                resetByPeer = byPeer;
                released = inbound.clear();
                hook = abortHook;
                abortHook = null;
                changed.signalAll();
            }
        } finally {
            lock.unlock();
        }
        if (released < 0) {
            if (finished) {
                mux.remove(this);
            }
            return false;
        }
        memory.releaseInbound(released);
        if (hook != null) {
            hook.run();
        }
        return true;
    }

    private void throwIfReset() throws StreamResetException {
        if (resetCode != null) {
            throw new StreamResetException(resetCode, resetReason, resetByPeer);
        }
    }

    @Override
    public String toString() {
        return "stream " + id + " (bind " + bindId + ")";
    }
}
