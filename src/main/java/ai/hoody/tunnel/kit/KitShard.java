package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.mux.MuxListener;
import ai.hoody.tunnel.mux.TunnelConnection;

import java.util.concurrent.atomic.LongAdder;

/**
 * One socket of a session on the kit: the primary (index 0, the HELLO socket and the only one that carries control
 * messages) or a {@code hoody-tunnel.v2} secondary (index ≥ 1, joined with JOIN). Each is its own
 * {@link TunnelConnection} with its own streams, writer and heartbeat clock: every frame of a stream stays on the shard
 * that opened it (docs/PROTOCOL.md §12). Counts the stream bytes it carried, for the admin API.
 */
public final class KitShard {

    private final int index;
    private final String peerAddr;
    private final LongAdder bytesIn = new LongAdder();
    private final LongAdder bytesOut = new LongAdder();
    private TunnelConnection connection;

    KitShard(int index, String peerAddr) {
        this.index = index;
        this.peerAddr = peerAddr;
    }

    /** The meter of this shard's bytes; it adds to the kit-wide counters too. */
    MuxListener listener(KitMetrics metrics) {
        return new MuxListener() {
            @Override
            public void bytesReceived(int n) {
                bytesIn.add(n);
                metrics.bytesFromDriver(n);
            }

            @Override
            public void bytesSent(int n) {
                bytesOut.add(n);
                metrics.bytesToDriver(n);
            }
        };
    }

    /** Set once, right after the connection is made with this shard's listener. */
    void connectedAs(TunnelConnection c) {
        this.connection = c;
    }

    public int index() {
        return index;
    }

    public boolean isPrimary() {
        return index == 0;
    }

    TunnelConnection connection() {
        return connection;
    }

    public String peerAddr() {
        return peerAddr;
    }

    public int activeStreams() {
        return connection.activeStreams();
    }

    public long bytesFromDriver() {
        return bytesIn.sum();
    }

    public long bytesToDriver() {
        return bytesOut.sum();
    }

    /** Room on its writer for more DATA: a shard whose socket is backed up is not given new streams. */
    boolean isWritable(int queuedDataLimit) {
        return connection.writer().queuedDataBytes() < queuedDataLimit / 2;
    }
}
