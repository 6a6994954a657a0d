package ai.hoody.tunnel.mux;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;

/**
 * The bytes a stream received and its reader has not taken yet, with what they cost in heap. Large payloads are kept
 * as views of the message they came in (no copy); small ones are copied into a shared chunk, so that a peer sending
 * one-byte DATA frames costs about a byte of heap per byte, not a buffer object per frame. Not thread-safe: guarded by
 * its stream's lock.
 */
final class ReceiveBuffer {

    /** Payloads below this are copied into a chunk of their own; larger ones are kept as they came. */
    static final int COALESCE_BELOW = 1024;
    /** Size of a chunk small payloads are copied into. */
    static final int CHUNK_BYTES = 2048;
    /** Heap a queued entry costs beyond its bytes: the entry, its ByteBuffer, the deque slot, the frame header. */
    static final int ENTRY_OVERHEAD = 80;

    /** A queued piece: its bytes (position..limit unread) and what it was charged. */
    private static final class Entry {
        final ByteBuffer bytes;
        final int charge;
        final boolean appendable;

        Entry(ByteBuffer bytes, int charge, boolean appendable) {
            this.bytes = bytes;
            this.charge = charge;
            this.appendable = appendable;
        }
    }

    private final ArrayDeque<Entry> entries = new ArrayDeque<>(4);
    private long retained;
    private long unread;

    /** @return heap newly retained by this payload, to be charged */
    int add(ByteBuffer payload) {
        int n = payload.remaining();
        unread += n;
        if (n >= COALESCE_BELOW) {
            int charge = n + ENTRY_OVERHEAD;
            entries.add(new Entry(payload, charge, false));
            retained += charge;
            return charge;
        }
        Entry last = entries.peekLast();
        if (last != null && last.appendable && last.bytes.capacity() - last.bytes.limit() >= n) {
            ByteBuffer b = last.bytes;
            int at = b.limit();
            b.limit(at + n);
            payload.duplicate().get(b.array(), b.arrayOffset() + at, n);
            return 0; // the chunk was charged whole when it was made
        }
        ByteBuffer chunk = ByteBuffer.allocate(CHUNK_BYTES);
        chunk.put(payload.duplicate()).flip();
        int charge = CHUNK_BYTES + ENTRY_OVERHEAD;
        entries.add(new Entry(chunk, charge, true));
        retained += charge;
        return charge;
    }

    /** The oldest unread bytes, or null; {@link #lastCharge()} then tells what they had been charged. */
    ByteBuffer poll() {
        Entry e = entries.poll();
        if (e == null) {
            lastCharge = 0;
            return null;
        }
        retained -= e.charge;
        unread -= e.bytes.remaining();
        lastCharge = e.charge;
        return e.bytes;
    }

    private int lastCharge;

    /** What the entry returned by the last {@link #poll} had been charged (released when it is handed out). */
    int lastCharge() {
        return lastCharge;
    }

    boolean isEmpty() {
        return entries.isEmpty();
    }

    /** Drops everything. @return the heap it had retained, to be released */
    long clear() {
        long r = retained;
        entries.clear();
        retained = 0;
        unread = 0;
        return r;
    }

    /** Heap held now, as charged. */
    long retained() {
        return retained;
    }

    /** Payload bytes not read yet. */
    long unread() {
        return unread;
    }
}
