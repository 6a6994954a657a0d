package ai.hoody.tunnel.mux;

import ai.hoody.tunnel.protocol.FrameCodec;
import ai.hoody.tunnel.protocol.ResetCode;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;

/**
 * Joins a stream to a TCP socket, both directions, until both are finished; used by the kit (visitor or container
 * client socket) and the driver (target socket) alike.
 *
 * <p>Threading: the calling virtual thread pumps socket → stream; a second virtual thread pumps stream → socket.
 * A FIN becomes {@code shutdownOutput()} and an EOF becomes a FIN, so half-close travels both ways. Every abnormal end
 * — a RESET either way, the connection's end, a socket error — aborts the socket with a TCP reset, through the
 * stream's abort hook, so a pump blocked in socket I/O is freed at once; only a stream finished cleanly both ways
 * closes the socket normally. Nothing here is ever interrupted.
 */
public final class Splice {

    private Splice() {
    }

    /**
     * Blocks until both directions are done; always closes the socket (a TCP reset unless the stream finished). The
     * calling thread reads the socket, a new one writes it: for a socket whose peer speaks first (a visitor).
     */
    public static void run(MuxStream stream, Socket socket) {
        splice(stream, socket, true);
    }

    /**
     * As {@link #run}, but the calling thread writes the socket and a new one reads it: what the stream already holds
     * (early data the kit sent before OPEN_OK) goes to a freshly connected target at once, with no hand-off to another
     * thread first.
     */
    public static void runDeliveringFirst(MuxStream stream, Socket socket) {
        splice(stream, socket, false);
    }

    private static void splice(MuxStream stream, Socket socket, boolean callerReads) {
        stream.onAbort(() -> abort(socket));
        Thread other = Thread.ofVirtual().name(callerReads ? "stream-" + stream.id() + "-to-socket" : "stream-" + stream.id() + "-from-socket")
                .start(callerReads ? () -> streamToSocket(stream, socket) : () -> socketToStream(stream, socket));
        try {
            if (callerReads) {
                socketToStream(stream, socket);
            } else {
                streamToSocket(stream, socket);
            }
            other.join();
        } catch (InterruptedException e) {
            stream.reset(ResetCode.CANCEL, "shutting down");
            Thread.currentThread().interrupt();
        } finally {
            if (stream.isFinished()) {
                closeQuietly(socket);
            } else {
                abort(socket);
            }
        }
    }

    /**
     * Reads the socket straight into DATA frames. Reads start at {@link MuxStream#SMALL_READ_BYTES} and grow (×4 per full
     * read, up to a DATA frame) while the socket keeps filling them, shrinking back when it does not: an idle or
     * interactive stream holds a small array, a bulk one reads whole frames.
     */
    private static void socketToStream(MuxStream stream, Socket socket) {
        int wanted = MuxStream.SMALL_READ_BYTES;
        try {
            InputStream in = socket.getInputStream();
            while (true) {
                MuxStream.SendSlot slot = stream.awaitSendSlot(wanted);
                int n;
                try {
                    n = in.read(slot.array(), slot.offset(), slot.capacity());
                } catch (IOException e) {
                    stream.release(slot);
                    throw e;
                }
                if (n < 0) {
                    stream.release(slot);
                    stream.finish();
                    return;
                }
                stream.send(slot, n);
                wanted = n == slot.capacity() ? Math.min(slot.capacity() * 4, FrameCodec.MAX_DATA_BYTES)
                        : Math.max(MuxStream.SMALL_READ_BYTES, n);
            }
        } catch (StreamResetException e) {
            // the abort hook closed the socket
        } catch (IOException e) {
            // The socket broke, or the abort hook closed it after a reset; the stream must not outlive it.
            stream.reset(ResetCode.CANCEL, "socket closed: " + e.getMessage());
        } catch (InterruptedException e) {
            stream.reset(ResetCode.CANCEL, "shutting down");
            Thread.currentThread().interrupt();
        }
    }

    private static void streamToSocket(MuxStream stream, Socket socket) {
        try {
            OutputStream out = socket.getOutputStream();
            ByteBuffer chunk;
            while ((chunk = stream.read()) != null) {
                int n = chunk.remaining();
                out.write(chunk.array(), chunk.arrayOffset() + chunk.position(), n);
                stream.consumedByPump(n);
            }
            socket.shutdownOutput();
        } catch (StreamResetException e) {
            // the abort hook closed the socket
        } catch (IOException e) {
            stream.reset(ResetCode.CANCEL, "socket closed: " + e.getMessage());
        } catch (InterruptedException e) {
            stream.reset(ResetCode.CANCEL, "shutting down");
        }
    }

    /** Closes with RST so that the local peer sees an abort, not a clean end of data. Idempotent, never blocks. */
    public static void abort(Socket socket) {
        try {
            if (!socket.isClosed()) {
                socket.setSoLinger(true, 0);
            }
        } catch (IOException ignored) {
            // already gone
        }
        closeQuietly(socket);
    }

    public static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception ignored) {
            // nothing left to do with a socket that will not close
        }
    }
}
