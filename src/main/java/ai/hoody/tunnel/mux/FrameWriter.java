package ai.hoody.tunnel.mux;

import ai.hoody.tunnel.protocol.FrameCodec;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * The one writer of a connection: every message to the peer goes through it, so frame order is a property of this
 * class, not a promise between callers. Messages are queued, and batches of them are taken from the queue under its
 * lock and handed to the {@link WireSocket}, which writes each batch with one flush; one {@code writing} flag lets a
 * single thread write at a time, so batches go out in the order they were taken.
 *
 * <p>A combining writer. Most senders only queue, and one virtual thread per connection ({@code writer-…}) drains
 * the queue. A {@link Splice} pump — a thread nobody ever interrupts — writes its own message itself when no one is
 * writing and nothing else is queued: a bulk DATA frame (at least {@link #DIRECT_DATA_BYTES}), or a WINDOW. A bulk
 * stream then costs no hand-off to the writer thread per frame (two virtual-thread wake-ups; the driver's writer
 * thread took 43% of its CPU on a one-stream transfer), while small frames and anything queued behind others still
 * go to the writer thread, which batches many streams into one flush (bench/PROFILE-NOTES.md). Threads that may be
 * interrupted (handler threads, socket readers) never write: an interrupt landing on a virtual thread blocked in a
 * socket write closes the socket, which here is the shared WebSocket.
 *
 * <p>Two lanes. The <em>urgent</em> lane (PING, PONG, WINDOW, OPEN_OK) is written before anything queued in the
 * <em>ordered</em> lane (control messages, OPEN, DATA, FIN, RESET, the close), so credit and liveness never wait
 * behind bulk data; an urgent message only ever overtakes, it is never overtaken. WINDOWs for a stream that still has
 * one queued are added to it (coalescing).
 *
 * <p>Bounded memory. A DATA sender waits while {@link Limits#queuedDataBytes} are queued (back-pressure reaches the
 * stream's socket reader and from there TCP), or while the memory budget is spent and this connection has DATA queued.
 * Everything else never waits — it is sent from socket readers that must not block — and is bounded instead: more than
 * {@link Limits#queuedControlBytes} of it queued means the peer does not read (a PING flood into a socket nobody
 * reads), and the connection fails.
 *
 * <p>Threading: send methods from any thread; {@link #run} on the writer thread only. It is never interrupted: it
 * stops when the queue says so ({@link #stop}) or when its socket write fails.
 */
public final class FrameWriter {

    /** How much may wait in the queue. */
    public record Limits(int queuedDataBytes, int queuedControlBytes, int batchBytes) {
        /** 1 MiB of DATA (about 16 full frames), 1 MiB of anything else, batches of up to 256 KiB. */
        public static final Limits DEFAULT = new Limits(1 << 20, 1 << 20, 256 * 1024);
    }

    private static final int WINDOW_FRAME_BYTES = FrameCodec.HEADER_BYTES + 4;
    /**
     * DATA frames at least this large (a bulk stream: {@link Splice} reads grow to full frames while the socket keeps
     * filling them) may be written by their pump; smaller ones (HTTP requests and responses) always go through the
     * writer thread, which batches many streams' frames into one flush. Measured: bench/PROFILE-NOTES.md.
     */
    static final int DIRECT_DATA_BYTES = 16 * 1024;

    /** A WINDOW waiting in the urgent lane; later increments for its stream are added to it. */
    private static final class PendingWindow {
        final int streamId;
        int increment;

        PendingWindow(int streamId, int increment) {
            this.streamId = streamId;
            this.increment = increment;
        }
    }

    private final WireSocket socket;
    private final Limits limits;
    private final MemoryAccount memory;
    private final Consumer<String> failed;
    private final ReentrantLock lock = new ReentrantLock();
    /** Signalled when something is queued (the writer waits on it). */
    private final Condition work = lock.newCondition();
    /** Signalled when queued DATA was taken (DATA senders wait on it). */
    private final Condition space = lock.newCondition();
    private final ArrayDeque<Object> urgent = new ArrayDeque<>();
    private final ArrayDeque<Outbound> ordered = new ArrayDeque<>();
    private final Map<Integer, PendingWindow> windows = new HashMap<>();
    private long queuedData;
    /** Room promised to senders that are reading a DATA payload from their socket now. */
    private long reservedData;
    private long queuedControl;
    private boolean closeQueued;
    private boolean stopped;
    /** A thread is writing a batch it took: nobody else may take one until it is done. */
    private boolean writing;

    /** Messages taken from the queue to be written together, and what they free once written. */
    private record Batch(List<Outbound> messages, long dataBytes, boolean closing) {
    }

    /**
     * @param failed told (once, on the writer's thread or a sender's) why the connection cannot go on: the socket
     *               write failed, or the peer does not read
     */
    public FrameWriter(String name, WireSocket socket, Limits limits, MemoryAccount memory, Consumer<String> failed) {
        this.socket = socket;
        this.limits = limits;
        this.memory = memory;
        this.failed = failed;
        Thread.ofVirtual().name("writer-" + name).start(this::run);
    }

    /**
     * Queues a DATA frame ({@code frame[0, length)}), waiting while the queue is full.
     *
     * @param writeIfIdle the caller is a pump that is never interrupted: a bulk frame it may write itself when no
     *                    one is writing and nothing else is queued
     * @return false when the connection is closing or gone: the frame was dropped
     */
    public boolean sendData(byte[] frame, int length, boolean writeIfIdle) throws InterruptedException {
        Batch taken;
        lock.lock();
        try {
            awaitRoom(() -> false);
            if (!enqueueData(frame, length)) {
                return false;
            }
            taken = takeOrWakeWriter(writeIfIdle && length >= DIRECT_DATA_BYTES);
        } finally {
            lock.unlock();
        }
        if (taken != null) {
            writeTaken(taken);
        }
        return true;
    }

    /**
     * Reserves room in the queue for a DATA payload of up to {@code wanted} bytes before it is read from a socket, so
     * that a stream waiting for room holds no buffer. Waits only while the queue itself is full (the peer does not
     * keep up), looking at {@code cancelled} now and then; room other readers hold does not make it wait, or streams
     * whose sockets are idle (a reader blocked with its reservation) would stop every other stream of the connection.
     * It grants what is left of the limit after queued and reserved bytes, at least {@code minimum}: what stream threads
     * hold for the peer stays within the limit plus {@code minimum} per stream.
     *
     * @return the bytes granted ({@code minimum}..{@code wanted}), or 0 when the connection is closing or
     *         {@code cancelled} said so
     */
    public int reserveData(int wanted, int minimum, BooleanSupplier cancelled) throws InterruptedException {
        lock.lock();
        try {
            if (!awaitRoom(cancelled)) {
                return 0;
            }
            long left = limits.queuedDataBytes() - queuedData - reservedData;
            int granted = (int) Math.max(Math.min(minimum, wanted), Math.min(wanted, left));
            reservedData += granted;
            return granted;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Queues a DATA frame read into room {@link #reserveData reserved} before; never waits for room. The caller is a
     * pump that is never interrupted: a bulk frame it writes itself when no one is writing and nothing else is queued.
     */
    public boolean sendReservedData(byte[] frame, int length, int reserved) {
        Batch taken;
        lock.lock();
        try {
            reservedData -= reserved;
            space.signalAll();
            if (!enqueueData(frame, length)) {
                return false;
            }
            taken = takeOrWakeWriter(length >= DIRECT_DATA_BYTES);
        } finally {
            lock.unlock();
        }
        if (taken != null) {
            writeTaken(taken);
        }
        return true;
    }

    /** Gives back room reserved and not used (the socket ended, or the stream was reset). */
    public void releaseReservation(int reserved) {
        if (reserved == 0) {
            return;
        }
        lock.lock();
        try {
            reservedData -= reserved;
            space.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** With the lock held. @return false when the connection is closing or {@code cancelled} */
    private boolean awaitRoom(BooleanSupplier cancelled) throws InterruptedException {
        while (!stopped && !closeQueued && !cancelled.getAsBoolean()) {
            // Only what is queued counts: it is what the peer has not taken yet. Room reserved by readers still
            // blocked in their sockets is not (reserveData grants around it).
            if (queuedData >= limits.queuedDataBytes()) {
                // Signalled as the writer takes frames; a cancelled sender must not wait for that forever.
                space.await(100, TimeUnit.MILLISECONDS);
            } else if (queuedData > 0 && memory.exhausted()) {
                // Another connection frees budget, not this one: no signal will come from here, so look again soon.
                space.await(10, TimeUnit.MILLISECONDS);
            } else {
                return true;
            }
        }
        return false;
    }

    /** With the lock held; the caller wakes the writer thread unless it writes the frame itself. */
    private boolean enqueueData(byte[] frame, int length) {
        if (stopped || closeQueued) {
            return false;
        }
        ordered.add(new Outbound.Binary(frame, length, true));
        queuedData += length;
        memory.chargeOutbound(length);
        return true;
    }

    /** Queues a stream frame other than DATA in order with DATA (OPEN, FIN, RESET). Never waits. */
    public void sendFrame(byte[] frame) {
        queue(new Outbound.Binary(frame, false), false);
    }

    /** Queues a frame that may overtake queued DATA (OPEN_OK). Never waits. */
    public void sendUrgentFrame(byte[] frame) {
        queue(new Outbound.Binary(frame, false), true);
    }

    /** Queues a control message in order. Never waits. */
    public void sendControl(String json) {
        queue(new Outbound.Text(json), false);
    }

    /** Queues a control message that may overtake queued DATA (PING, PONG). Never waits. */
    public void sendUrgentControl(String json) {
        queue(new Outbound.Text(json), true);
    }

    /** Queues a WebSocket pong ahead of queued DATA (the socket reader answering a ping). Never waits. */
    public void sendPong(byte[] payload) {
        queue(new Outbound.Pong(payload), true);
    }

    /** Queues credit for the peer, added to a WINDOW for the same stream still queued. Never waits. */
    public void sendWindow(int streamId, int increment) {
        sendWindow(streamId, increment, false);
    }

    /**
     * As {@link #sendWindow(int, int)}.
     *
     * @param writeIfIdle the caller is a pump that is never interrupted: when no one is writing and nothing else is
     *                    queued, it writes the WINDOW itself (so a pump delivering one direction never waits for the
     *                    other direction's bulk writes)
     */
    public void sendWindow(int streamId, int increment, boolean writeIfIdle) {
        boolean overflow;
        Batch taken = null;
        lock.lock();
        try {
            if (stopped || closeQueued) {
                return;
            }
            PendingWindow pending = windows.get(streamId);
            if (pending != null && (long) pending.increment + increment <= Integer.MAX_VALUE) {
                pending.increment += increment;
                return;
            }
            pending = new PendingWindow(streamId, increment);
            windows.put(streamId, pending);
            urgent.add(pending);
            queuedControl += WINDOW_FRAME_BYTES;
            overflow = queuedControl > limits.queuedControlBytes();
            if (overflow) {
                work.signal();
            } else {
                taken = takeOrWakeWriter(writeIfIdle);
            }
        } finally {
            lock.unlock();
        }
        if (overflow) {
            overflowed();
        } else if (taken != null) {
            writeTaken(taken);
        }
    }

    /** Queues the closing handshake after everything queued so far; later messages are dropped. Idempotent. */
    public void close(int code, String reason) {
        lock.lock();
        try {
            if (stopped || closeQueued) {
                return;
            }
            closeQueued = true;
            ordered.add(new Outbound.Close(code, reason));
            work.signal();
            space.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** The socket is gone: drops what is queued, wakes every waiting sender, ends the writer thread. Idempotent. */
    public void stop() {
        lock.lock();
        try {
            if (stopped) {
                return;
            }
            stopped = true;
            memory.releaseOutbound(queuedData);
            queuedData = 0;
            reservedData = 0;
            queuedControl = 0;
            urgent.clear();
            ordered.clear();
            windows.clear();
            work.signal();
            space.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Bytes of DATA waiting to be written (for metrics and tests). */
    public long queuedDataBytes() {
        lock.lock();
        try {
            return queuedData;
        } finally {
            lock.unlock();
        }
    }

    private void queue(Outbound message, boolean isUrgent) {
        boolean overflow;
        lock.lock();
        try {
            if (stopped || closeQueued) {
                return;
            }
            if (isUrgent) {
                urgent.add(message);
            } else {
                ordered.add(message);
            }
            queuedControl += message.size();
            overflow = queuedControl > limits.queuedControlBytes();
            work.signal();
        } finally {
            lock.unlock();
        }
        if (overflow) {
            overflowed();
        }
    }

    private void overflowed() {
        failed.accept("the peer does not read: more than " + limits.queuedControlBytes()
                + " bytes of messages other than DATA are waiting to be sent");
    }

    /**
     * With the lock held, after the caller queued one message: takes a batch (that message alone) for the calling
     * thread to write when it may, no one else is writing, and nothing else is queued; otherwise wakes the writer
     * thread and returns null. With others queued the writer thread takes them all in one batch (one flush for many
     * streams: what keeps HTTP's many small frames cheap).
     */
    private Batch takeOrWakeWriter(boolean mayWrite) {
        if (!mayWrite || writing || stopped || urgent.size() + ordered.size() != 1) {
            work.signal();
            return null;
        }
        writing = true;
        return takeBatch();
    }

    /**
     * With the lock held and {@code writing} just set: takes the urgent lane (it goes first) and up to
     * {@link Limits#batchBytes} of the ordered lane, stopping after a close.
     */
    private Batch takeBatch() {
        List<Outbound> messages = new ArrayList<>(urgent.size() + Math.min(ordered.size(), 16));
        for (Object o : urgent) {
            if (o instanceof PendingWindow w) {
                windows.remove(w.streamId);
                messages.add(new Outbound.Binary(FrameCodec.window(w.streamId, w.increment), false));
                queuedControl -= WINDOW_FRAME_BYTES;
            } else {
                Outbound m = (Outbound) o;
                messages.add(m);
                queuedControl -= m.size();
            }
        }
        urgent.clear();
        long dataBytes = 0;
        boolean closing = false;
        int bytes = 0;
        while (!ordered.isEmpty() && bytes < limits.batchBytes()) {
            Outbound m = ordered.poll();
            messages.add(m);
            bytes += m.size();
            if (m instanceof Outbound.Binary b && b.data()) {
                dataBytes += m.size();
                queuedData -= m.size();
            } else {
                queuedControl -= m.size();
            }
            if (m instanceof Outbound.Close) {
                closing = true;
                break;
            }
        }
        if (dataBytes > 0) {
            space.signalAll();
        }
        return new Batch(messages, dataBytes, closing);
    }

    /**
     * Writes a batch this thread took, then gives up the socket; what was queued meanwhile is the writer thread's.
     *
     * @return false when the connection is over (the write failed, or the batch held the close)
     */
    private boolean writeTaken(Batch batch) {
        try {
            socket.write(batch.messages());
        } catch (IOException e) {
            memory.releaseOutbound(batch.dataBytes());
            stop();
            failed.accept("writing to the socket failed: " + e.getMessage());
            return false;
        }
        memory.releaseOutbound(batch.dataBytes());
        if (batch.closing()) {
            stop(); // nothing may follow the closing handshake
            return false;
        }
        lock.lock();
        try {
            writing = false;
            if (!urgent.isEmpty() || !ordered.isEmpty()) {
                work.signal();
            }
        } finally {
            lock.unlock();
        }
        return true;
    }

    private void run() {
        while (true) {
            Batch batch;
            lock.lock();
            try {
                while ((writing || (urgent.isEmpty() && ordered.isEmpty())) && !stopped) {
                    work.awaitUninterruptibly();
                }
                if (stopped) {
                    return;
                }
                writing = true;
                batch = takeBatch();
            } finally {
                lock.unlock();
            }
            if (!writeTaken(batch)) {
                return;
            }
        }
    }
}
