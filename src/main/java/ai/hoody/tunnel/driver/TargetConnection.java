package ai.hoody.tunnel.driver;

import ai.hoody.tunnel.mux.MuxStream;
import ai.hoody.tunnel.mux.Splice;
import ai.hoody.tunnel.protocol.ResetCode;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;

/**
 * The driver's end of one stream: connects to the laptop's target, answers OPEN_OK (or RESET CONNECT_FAILED when it
 * cannot), then splices. Threading: runs on its own virtual thread from OPEN to close. It connects at once and sends
 * nothing first, so protocols where the server speaks first work.
 */
final class TargetConnection implements Runnable {

    static final int CONNECT_TIMEOUT_MILLIS = 5000;

    private final MuxStream stream;
    private final BindSpec spec;
    private final String origin;
    private final DriverEvents events;

    TargetConnection(MuxStream stream, BindSpec spec, String origin, DriverEvents events) {
        this.stream = stream;
        this.spec = spec;
        this.origin = origin;
        this.events = events;
    }

    @Override
    public void run() {
        Socket socket = new Socket();
        try {
            socket.connect(new InetSocketAddress(spec.targetHost(), spec.targetPort()), CONNECT_TIMEOUT_MILLIS);
            socket.setTcpNoDelay(true);
        } catch (IOException e) {
            Splice.closeQuietly(socket);
            String why = spec.target() + ": " + e.getMessage();
            events.log("cannot reach " + why + " for a connection from " + origin);
            stream.reset(ResetCode.CONNECT_FAILED, why);
            return;
        }
        stream.accept();
        Splice.run(stream, socket);
    }
}
