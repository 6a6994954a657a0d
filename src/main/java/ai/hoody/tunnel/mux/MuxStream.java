package ai.hoody.tunnel.mux;

import ai.hoody.tunnel.protocol.FrameCodec;
import ai.hoody.tunnel.protocol.ResetCode;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One stream of a session: a byte pipe in each direction with credit-based flow control (docs/PROTOCOL.md §5).
 *
 * <p>Threading: the {@code on*} methods are called by the session's reader and never block; {@link #read},
 * {@link #write} and {@link #awaitOpened} block and are called by the stream's own virtual threads (one reads,
 * one writes; see {@link Splice}). Everything mutable is guarded by {@link #lock}.
 *
 * <p>A stream never buffers more than its window: the peer may only send what it was granted, and a peer that sends
 * more is reset with FLOW_CONTROL_ERROR instead of being buffered.
 */
public final class MuxStream {

    private final Multiplexer mux;
    private final int id;
    private final int bindId;
    private final int window;
    /** What we let the peer have in flight: {@link #window}, plus what {@link #accept} grants on top. */
    private final int receiveWindow;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();

    private boolean opened;
    private long sendCredit;
    private boolean finSent;
    private boolean finReceived;
    private ResetCode resetCode;
    private String resetReason;
    private boolean resetByPeer;

    private final ArrayDeque<ByteBuffer> inbound = new ArrayDeque<>(4);
    /** Bytes the peer may still send before it needs more credit. */
    private long receiveAllowance;
    /** Bytes consumed by our reader and not yet returned to the peer as credit. */
    private int unacknowledged;

    MuxStream(Multiplexer mux, int id, int bindId, int window, int receiveWindow) {
        this.mux = mux;
        this.id = id;
        this.bindId = bindId;
        this.window = window;
        this.receiveWindow = receiveWindow;
        this.sendCredit = window;
        this.receiveAllowance = window;
    }

    public int id() {
        return id;
    }

    public int bindId() {
        return bindId;
    }

    // --- the open handshake ---

    /** Kit side: waits for the driver's OPEN_OK. */
    public void awaitOpened(Duration timeout) throws StreamResetException, TimeoutException, InterruptedException {
        long nanos = timeout.toNanos();
        lock.lock();
        try {
            while (true) {
                // Reset wins over OPEN_OK: a stream reset before its caller saw it opened never carries bytes.
                throwIfReset();
                if (opened) {
                    return;
                }
                if (nanos <= 0) {
                    throw new TimeoutException("no OPEN_OK within " + timeout.toMillis() + " ms");
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
        } finally {
            lock.unlock();
        }
        mux.send(FrameCodec.openOk(id));
        if (extra > 0) {
            mux.send(FrameCodec.window(id, extra));
        }
    }

    // --- receiving ---

    /**
     * Blocks until bytes arrive. Call {@link #consumed} once they have been written on, so that credit flows back.
     *
     * @return the next chunk, or {@code null} once the peer has half-closed and everything was read
     */
    public ByteBuffer read() throws StreamResetException, InterruptedException {
        lock.lock();
        try {
            while (true) {
                throwIfReset();
                ByteBuffer chunk = inbound.poll();
                if (chunk != null) {
                    return chunk;
                }
                if (finReceived) {
                    return null;
                }
                changed.await();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Returns credit for {@code n} bytes read; a WINDOW goes out once half the window has been consumed. */
    public void consumed(int n) {
        int increment;
        lock.lock();
        try {
            if (resetCode != null || finReceived) {
                return; // the peer sends no more: credit would be wasted
            }
            unacknowledged += n;
            if (unacknowledged < receiveWindow / 2) {
                return;
            }
            increment = unacknowledged;
            unacknowledged = 0;
            receiveAllowance += increment;
        } finally {
            lock.unlock();
        }
        mux.send(FrameCodec.window(id, increment));
    }

    // --- sending ---

    /** Sends bytes, blocking while the peer has granted no credit. Only one thread may write. */
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
            mux.send(FrameCodec.data(id, b, off, n));
            mux.sent(n);
            off += n;
            len -= n;
        }
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
            done = finReceived;
        } finally {
            lock.unlock();
        }
        mux.send(FrameCodec.fin(id));
        if (done) {
            mux.remove(this);
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
        mux.send(FrameCodec.reset(id, code, reason));
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

    // --- called by the Multiplexer on the session's reader ---

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
                inbound.add(payload);
                changed.signalAll();
                return;
            }
        } finally {
            lock.unlock();
        }
        reset(code, violation);
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
            done = finSent;
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

    /** The session is gone: wake everyone, send nothing. */
    void terminate(String reason) {
        markReset(ResetCode.SESSION_CLOSING, reason, false);
        mux.remove(this);
    }

    private boolean markReset(ResetCode code, String reason, boolean byPeer) {
        lock.lock();
        try {
            if (resetCode != null || (finSent && finReceived && inbound.isEmpty())) {
                return false;
            }
            resetCode = code;
            resetReason = reason;
            resetByPeer = byPeer;
            inbound.clear();
            changed.signalAll();
            return true;
        } finally {
            lock.unlock();
        }
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
