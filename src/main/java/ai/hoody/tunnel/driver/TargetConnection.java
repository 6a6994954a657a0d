package ai.hoody.tunnel.driver;

import ai.hoody.tunnel.mux.MuxStream;
import ai.hoody.tunnel.mux.Splice;
import ai.hoody.tunnel.protocol.ResetCode;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;

/**
 * The driver's end of one stream whose binding targets a laptop TCP service: connects to it, answers OPEN_OK (or RESET
 * CONNECT_FAILED when it cannot), then splices. Threading: runs on the stream's own virtual thread from OPEN to close.
 * It connects at once and sends nothing first, so protocols where the server speaks first work.
 */
final class TargetConnection implements StreamTarget {

    static final int CONNECT_TIMEOUT_MILLIS = 5000;

    private final String host;
    private final int port;

    TargetConnection(String host, int port) {
        this.host = host;
        this.port = port;
    }

    static TargetConnection of(BindSpec spec) {
        return new TargetConnection(spec.targetHost(), spec.targetPort());
    }

    @Override
    public void serve(MuxStream stream, String origin, TunnelListener events) {
        Socket socket = new Socket();
        try {
            socket.connect(new InetSocketAddress(host, port), CONNECT_TIMEOUT_MILLIS);
            socket.setTcpNoDelay(true);
        } catch (IOException e) {
            Splice.closeQuietly(socket);
            String why = describe() + ": " + e.getMessage();
            events.onEvent(new TunnelEvent.Warning("cannot reach " + why + " for a connection from " + origin, e));
            stream.reset(ResetCode.CONNECT_FAILED, why);
            return;
        }
        stream.accept();
        // Bytes the kit sent before OPEN_OK (early data) wait in the stream: this thread writes them first.
        Splice.runDeliveringFirst(stream, socket);
    }

    @Override
    public String describe() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
}
