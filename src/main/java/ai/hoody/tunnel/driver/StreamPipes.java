package ai.hoody.tunnel.driver;

import ai.hoody.tunnel.mux.MuxStream;
import ai.hoody.tunnel.mux.StreamResetException;
import ai.hoody.tunnel.protocol.ResetCode;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Objects;

/**
 * A stream as the {@link InputStream} and {@link OutputStream} of an in-process handler: reads return credit to the
 * kit as each chunk is used up, writes wait for credit (back-pressure) and {@code close()} of the output is FIN.
 * Threading: the handler's virtual thread reads and writes; nothing else touches them.
 */
final class StreamPipes {

    /** How long the peer may take to close its side once ours is done, before the stream is reset. */
    static final Duration PEER_CLOSE_GRACE = Duration.ofSeconds(5);

    private final MuxStream stream;
    private final Input in = new Input();
    private final Output out = new Output();
    private ByteBuffer chunk;
    private int chunkSize;
    private boolean eof;

    StreamPipes(MuxStream stream) {
        this.stream = stream;
    }

    InputStream in() {
        return in;
    }

    OutputStream out() {
        return out;
    }

    /**
     * The next bytes from the kit as they came (the caller owns them), or null at the peer's FIN. Credit for them is
     * returned at once: whoever takes chunks this way holds at most one at a time.
     */
    ByteBuffer nextChunk() throws IOException {
        if (chunk != null) { // what the input left of its chunk
            ByteBuffer rest = chunk;
            chunk = null;
            stream.consumed(chunkSize);
            if (rest.hasRemaining()) {
                return rest;
            }
        }
        if (eof) {
            return null;
        }
        ByteBuffer next = take();
        if (next != null) {
            stream.consumed(next.remaining());
        }
        return next;
    }

    private ByteBuffer take() throws IOException {
        try {
            ByteBuffer next = stream.read();
            if (next == null) {
                eof = true;
            }
            return next;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while reading " + stream);
        }
    }

    /**
     * The handler is done: FIN our side (if not yet), then read and drop what the peer still sends until its FIN, for
     * at most {@link #PEER_CLOSE_GRACE}; a peer still sending then is reset. Never throws: the connection is over.
     */
    void finish() {
        stream.finish();
        if (stream.isFinished() || eof) {
            return;
        }
        Thread timer = Thread.ofVirtual().name("close-grace-" + stream.id()).start(() -> {
            try {
                Thread.sleep(PEER_CLOSE_GRACE);
                stream.reset(ResetCode.CANCEL, "the peer did not close its side within " + PEER_CLOSE_GRACE.toSeconds() + " s");
            } catch (InterruptedException e) {
                // the peer closed in time
            }
        });
        try {
            while (nextChunk() != null) {
                // dropped
            }
        } catch (IOException e) {
            // reset, by the peer or by the timer: nothing more to do
        } finally {
            timer.interrupt();
        }
    }

    /** The handler failed: reset the stream so that the peer sees an abort, not a clean end. */
    void abort(String why) {
        stream.reset(ResetCode.CANCEL, why);
    }

    private final class Input extends InputStream {
        private boolean closed;

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xFF;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            Objects.checkFromIndexSize(off, len, b.length);
            if (closed) {
                throw new IOException("the input of " + stream + " is closed");
            }
            if (len == 0) {
                return 0;
            }
            while (chunk == null || !chunk.hasRemaining()) {
                if (chunk != null) {
                    stream.consumed(chunkSize);
                    chunk = null;
                }
                if (eof) {
                    return -1;
                }
                ByteBuffer next = take();
                if (next == null) {
                    return -1;
                }
                chunk = next;
                chunkSize = next.remaining();
            }
            int n = Math.min(len, chunk.remaining());
            chunk.get(b, off, n);
            return n;
        }

        @Override
        public int available() {
            return chunk == null ? 0 : chunk.remaining();
        }

        /** Stops reading; what the peer still sends is dropped when the handler returns. */
        @Override
        public void close() {
            closed = true;
        }
    }

    private final class Output extends OutputStream {
        private boolean closed;

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            Objects.checkFromIndexSize(off, len, b.length);
            if (closed) {
                throw new IOException("the output of " + stream + " is closed");
            }
            try {
                stream.write(b, off, len);
            } catch (StreamResetException e) {
                throw e;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while writing to " + stream);
            }
        }

        /** Half-closes our side (FIN). */
        @Override
        public void close() {
            if (!closed) {
                closed = true;
                stream.finish();
            }
        }
    }
}
