package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.protocol.Protocol;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.Utf8FrameValidator;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.impl.ConnectionBase;
import org.jboss.logging.Logger;

import java.util.concurrent.TimeUnit;

/**
 * Fails a driver WebSocket with the close code docs/PROTOCOL.md §2.1 gives, where Vert.x 4.5 would not: it closes TCP
 * without a close frame on a framing error or a frame over {@code max-frame-size} (Netty's decoder runs with
 * {@code closeOnProtocolViolation(false)} and Vert.x just closes the channel), drops a fragmented message over
 * {@code max-message-size} and carries on (it only reports an exception), and decodes invalid UTF-8 to U+FFFD.
 * <p>
 * A Netty handler because none of this reaches the WebSockets Next endpoint with the bytes or the cause still known.
 * It sits just before Vert.x's handler, behind the frame decoder, and costs a few comparisons per frame: no copy, no
 * allocation (text frames, the control messages, are also scanned for UTF-8 by the superclass). One instance per
 * socket; everything here runs on that socket's event loop.
 */
final class WebSocketEdgeGuard extends Utf8FrameValidator {

    private static final Logger LOG = Logger.getLogger(WebSocketEdgeGuard.class);
    static final int CLOSE_INVALID_PAYLOAD = 1007;
    static final int CLOSE_TOO_BIG = 1009;
    /** Vert.x's name for its own handler, the last in an HTTP/1.x pipeline; the WebSocket decoder replaces the HTTP one. */
    private static final String VERTX_HANDLER = "handler";
    private static final String NAME = "hoody-websocket-edge-guard";
    /** A peer that does not read our close frame does not keep the socket for longer than this. */
    private static final long CLOSE_TIMEOUT_SECONDS = 2;

    private final int maxFrameBytes;
    private final int maxMessageBytes;
    private final InboundGate gate;
    /** Bytes of the data message being received so far (the frames since its TEXT or BINARY frame). */
    private int messageBytes;
    /** Set once the connection is failed: nothing more is handed to Vert.x (RFC 6455 §7.1.7). */
    private boolean failed;

    private WebSocketEdgeGuard(int maxFrameBytes, int maxMessageBytes, InboundGate gate) {
        super(false); // report invalid UTF-8 to channelRead below instead of closing with Netty's own reason
        this.maxFrameBytes = maxFrameBytes;
        this.maxMessageBytes = maxMessageBytes;
        this.gate = gate;
    }

    /**
     * Puts a guard on the connection of a WebSocket upgrade that is about to be accepted. Called from the upgrade
     * check, so that it is in place before the handshake and sees the first frame.
     */
    static void install(HttpServerRequest upgrade, int maxFrameBytes, int maxMessageBytes) {
        ChannelPipeline pipeline = upgrade.connection() instanceof ConnectionBase c ? c.channel().pipeline() : null;
        if (pipeline == null || pipeline.get(VERTX_HANDLER) == null) {
            // A Vert.x whose pipeline looks different: refuse rather than serve sockets without the documented limits.
            throw new IllegalStateException("cannot guard the WebSocket: unexpected Vert.x connection "
                    + (pipeline == null ? upgrade.connection() : pipeline.names()));
        }
        if (pipeline.get(NAME) == null) { // a second upgrade attempt on one HTTP/1.1 connection
            var remote = upgrade.remoteAddress();
            InboundGate gate = InboundGate.open(pipeline.channel(), remote.hostAddress() + ":" + remote.port());
            WebSocketEdgeGuard guard = new WebSocketEdgeGuard(maxFrameBytes, maxMessageBytes, gate);
            pipeline.addBefore(VERTX_HANDLER, NAME, guard);
            ChannelHandlerContext ctx = pipeline.context(guard);
            gate.failWith((code, reason) -> guard.fail(ctx, code, reason));
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (!(msg instanceof WebSocketFrame frame)) {
            ctx.fireChannelRead(msg); // the HTTP request before the handshake
            return;
        }
        if (failed) {
            frame.release();
            return;
        }
        if (frame instanceof BinaryWebSocketFrame || frame instanceof TextWebSocketFrame) {
            messageBytes = frame.content().readableBytes();
        } else if (frame instanceof ContinuationWebSocketFrame) {
            messageBytes += frame.content().readableBytes(); // at most max-message-size + max-frame-size: no overflow
        }
        if (messageBytes > maxMessageBytes) {
            frame.release();
            fail(ctx, CLOSE_TOO_BIG, "WebSocket message over " + maxMessageBytes + " bytes");
            return;
        }
        boolean message = frame.isFinalFragment() && !(frame instanceof CloseWebSocketFrame);
        int size = frame instanceof PingWebSocketFrame || frame instanceof PongWebSocketFrame
                ? frame.content().readableBytes() : messageBytes;
        try {
            super.channelRead(ctx, msg); // checks UTF-8 across a text message's fragments, then passes the frame on
        } catch (CorruptedWebSocketFrameException e) { // the superclass has released the frame
            fail(ctx, CLOSE_INVALID_PAYLOAD, "text message is not valid UTF-8");
            return;
        }
        if (message) {
            gate.delivered(size); // a whole message, a ping or a pong: the endpoint will get a task for it
        }
    }

    /** The frame decoder's verdicts: a frame over max-frame-size, or any other RFC 6455 framing error. */
    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof TooLongFrameException
                || cause instanceof CorruptedWebSocketFrameException c && c.closeStatus().code() == CLOSE_TOO_BIG) {
            fail(ctx, CLOSE_TOO_BIG, "WebSocket frame over " + maxFrameBytes + " bytes");
        } else if (cause instanceof CorruptedWebSocketFrameException c) {
            fail(ctx, c.closeStatus().code(), c.getMessage() != null ? c.getMessage() : c.closeStatus().reasonText());
        } else {
            ctx.fireExceptionCaught(cause); // I/O errors: Vert.x reports them and closes the connection
        }
    }

    /**
     * Fails the WebSocket connection (RFC 6455 §7.1.7): a close frame with the code and reason, then TCP is closed.
     * Not handed to Vert.x as an exception: it would close the channel before the close frame is out.
     */
    private void fail(ChannelHandlerContext ctx, int code, String reason) {
        if (failed) {
            return;
        }
        failed = true;
        LOG.warnf("WebSocket from %s failed with %d: %s", ctx.channel().remoteAddress(), code, reason);
        ctx.channel().config().setAutoRead(false); // nothing it sends from now on is worth reading
        if (gate != null) {
            gate.stopReadingForGood(); // nor will the endpoint catching up on its messages turn reading back on
        }
        ctx.writeAndFlush(new CloseWebSocketFrame(code, Protocol.closeReason(reason))).addListener(ChannelFutureListener.CLOSE);
        ctx.executor().schedule(() -> ctx.close(), CLOSE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }
}
