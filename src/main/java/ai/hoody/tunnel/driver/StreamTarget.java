package ai.hoody.tunnel.driver;

import ai.hoody.tunnel.mux.MuxStream;

/**
 * Where the streams of a binding go on the laptop: a TCP service ({@link TargetConnection}) or an in-process handler
 * ({@link StreamHandler}, {@link HttpHandler}).
 */
interface StreamTarget {

    /**
     * Serves one stream the kit opened, from OPEN to the end: OPEN_OK ({@link MuxStream#accept()}) or a RESET, then the
     * bytes. Runs on the stream's own virtual thread; must end the stream (finish or reset) before returning.
     */
    void serve(MuxStream stream, String origin, TunnelListener events);

    /** What the events call it: {@code localhost:3000}, {@code an in-process HTTP handler}. */
    String describe();
}
