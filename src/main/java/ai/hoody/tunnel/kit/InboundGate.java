package ai.hoody.tunnel.kit;

import io.netty.channel.Channel;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Back-pressure on what a driver sends the kit. WebSockets Next hands each received message to the endpoint as a
 * task on the socket's event loop, and Netty runs those tasks for no longer than it spent reading: a driver sending
 * faster than the kit handles its messages (a flood of one-byte frames, say) would grow that task queue without
 * bound. The gate counts the messages handed on ({@link #delivered}, by {@link WebSocketEdgeGuard}) and those the
 * endpoint has handled ({@link #handled}, by {@link DriverSocket}); past {@value #MAX_PENDING_MESSAGES} messages or
 * {@value #MAX_PENDING_BYTES} bytes waiting it stops reading the socket, so TCP pushes back on the driver, and reads
 * again once half of that is handled. Threading: both ends run on the socket's event loop.
 */
final class InboundGate {

    static final int MAX_PENDING_MESSAGES = 1024;
    static final int MAX_PENDING_BYTES = 1 << 20;

    /** Gates by the remote address of their socket, from the upgrade check until the endpoint opens. */
    private static final Map<String, InboundGate> OPENING = new ConcurrentHashMap<>();

    private final Channel channel;
    /** Fails the socket the way {@link WebSocketEdgeGuard} does: close frame, then TCP closed, reading stopped. */
    private java.util.function.BiConsumer<Integer, String> failer;
    /** Sizes of the messages handed on and not handled yet, oldest first (a ring). */
    private int[] sizes = new int[64];
    private int head;
    private int count;
    private long bytes;
    private boolean paused;
    /** Set by {@link #stopReadingForGood}: the socket is being cut, and reading never resumes (a flood is not read on). */
    private boolean failed;

    private InboundGate(Channel channel) {
        this.channel = channel;
    }

    /** A gate for a socket about to be upgraded; the endpoint takes it with {@link #take}. */
    static InboundGate open(Channel channel, String remoteAddress) {
        InboundGate gate = new InboundGate(channel);
        OPENING.put(remoteAddress, gate);
        channel.closeFuture().addListener(f -> OPENING.remove(remoteAddress, gate));
        return gate;
    }

    /** The gate of the socket from {@code remoteAddress}, or null when none was opened for it. */
    static InboundGate take(String remoteAddress) {
        return remoteAddress == null ? null : OPENING.remove(remoteAddress);
    }

    /** A message (or a ping or pong) of {@code size} bytes goes to the endpoint. */
    void delivered(int size) {
        if (count == sizes.length) {
            int[] bigger = new int[sizes.length * 2];
            for (int i = 0; i < count; i++) {
                bigger[i] = sizes[(head + i) % sizes.length];
            }
            sizes = bigger;
            head = 0;
        }
        sizes[(head + count) % sizes.length] = size;
        count++;
        bytes += size;
        if (!paused && (count > MAX_PENDING_MESSAGES || bytes > MAX_PENDING_BYTES)) {
            paused = true;
            channel.config().setAutoRead(false);
        }
    }

    /** The endpoint handled the oldest message handed on. */
    void handled() {
        if (count == 0) {
            return;
        }
        bytes -= sizes[head];
        head = (head + 1) % sizes.length;
        count--;
        if (paused && !failed && count <= MAX_PENDING_MESSAGES / 2 && bytes <= MAX_PENDING_BYTES / 2) {
            paused = false;
            channel.config().setAutoRead(true);
        }
    }

    /** The socket is being failed (WebSocketEdgeGuard): what {@link #handled} frees must not turn reading back on. */
    void stopReadingForGood() {
        failed = true;
    }

    void failWith(java.util.function.BiConsumer<Integer, String> failer) {
        this.failer = failer;
    }

    /**
     * Ends the socket for good: a close frame with {@code code}, then the TCP connection closed even if the peer never
     * reads it, and nothing more read from it meanwhile. Any thread.
     */
    void fail(int code, String reason) {
        channel.eventLoop().execute(() -> failer.accept(code, reason));
    }

    /** Messages handed on and not handled yet (tests). */
    int pending() {
        return count;
    }
}
