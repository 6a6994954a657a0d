package ai.hoody.tunnel.driver;

import ai.hoody.tunnel.mux.TunnelConnection;

import java.nio.ByteBuffer;

/**
 * What a driver socket's reader gets, handed to that socket's {@link TunnelConnection}: the same for the primary and
 * for every v2 shard. Runs on the socket's reader thread.
 */
final class ConnectionReceiver implements WebSocketClient.Receiver {

    private final TunnelConnection connection;
    private final TunnelListener events;
    /** Where a WebSocket error is said to be in the warning, e.g. " on shard 2"; empty for the primary. */
    private final String where;
    private volatile int closeCode;

    ConnectionReceiver(TunnelConnection connection, TunnelListener events, String where) {
        this.connection = connection;
        this.events = events;
        this.where = where;
    }

    /** The code of the kit's close frame, 0 while none came. */
    int closeCode() {
        return closeCode;
    }

    @Override
    public void onText(String text) {
        connection.onText(text);
    }

    @Override
    public void onBinary(ByteBuffer frame) {
        connection.onBinary(frame);
    }

    @Override
    public void onCloseFrame(int code, String reason) {
        closeCode = code;
        connection.closedByPeer(code, reason);
    }

    @Override
    public void onViolation(int code, String reason) {
        events.onEvent(new TunnelEvent.Warning("the kit broke the WebSocket protocol" + where + ": " + reason, null));
        connection.close(code, reason);
    }

    @Override
    public void onClosed(int code, String reason) {
        connection.onSocketClosed("closed with " + code + (reason == null || reason.isEmpty() ? "" : " " + reason));
    }
}
