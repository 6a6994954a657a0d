package ai.hoody.tunnel.driver;

import ai.hoody.tunnel.mux.MuxStream;
import ai.hoody.tunnel.mux.StreamResetException;

import java.io.InputStream;

/** The streams of a {@link Tunnel#serve} binding: each one goes to the {@link StreamHandler}, on its own thread. */
final class HandlerTarget implements StreamTarget {

    private final StreamHandler handler;

    HandlerTarget(StreamHandler handler) {
        this.handler = handler;
    }

    @Override
    public void serve(MuxStream stream, String origin, TunnelListener events) {
        stream.accept();
        StreamPipes pipes = new StreamPipes(stream);
        run(handler, pipes, pipes.in(), origin, events);
    }

    /** Runs {@code handler} on {@code in} and the pipes' output, then finishes (or, if it threw, resets) the stream. */
    static void run(StreamHandler handler, StreamPipes pipes, InputStream in, String origin, TunnelListener events) {
        try {
            handler.handle(in, pipes.out());
        } catch (StreamResetException e) {
            return; // the peer or the tunnel ended it: nothing to report, nothing to finish
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            events.onEvent(new TunnelEvent.Warning("the in-process handler failed on a connection from " + origin + ": " + e, e));
            pipes.abort("the handler failed: " + e);
            return;
        }
        pipes.finish();
    }

    @Override
    public String describe() {
        return "an in-process handler";
    }
}
