package ai.hoody.tunnel.kit;

import io.netty.buffer.AdaptiveByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.WebSocket;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link VertxWireSocket#received}: the kit keeps received DATA payloads until the local socket takes them, so it may
 * wrap a message's array only when no pool can hand that memory out again.
 */
class VertxWireSocketReceivedTest {

    private static final byte[] BYTES = {1, 2, 3, 4, 5, 6, 7, 8};

    @Test
    void pooledMemoryIsCopiedSoThatItsReuseCannotChangeWhatAStreamHolds() {
        ByteBuf pooled = PooledByteBufAllocator.DEFAULT.heapBuffer(64);
        pooled.writeBytes(BYTES);
        ByteBuffer kept = VertxWireSocket.received(Buffer.buffer(pooled));
        pooled.setByte(0, 99); // what a pool's next user of this memory would do
        pooled.release();
        assertThat(bytes(kept)).containsExactly(BYTES);
    }

    @Test
    void memoryOfNettysAdaptivePoolIsCopiedToo() {
        // Not a PooledByteBufAllocator, and Vert.x does not copy out of it: only a list of what is safe to keep holds.
        ByteBuf adaptive = new AdaptiveByteBufAllocator(false, false).heapBuffer(64);
        adaptive.writeBytes(BYTES);
        ByteBuffer kept = VertxWireSocket.received(Buffer.buffer(adaptive));
        adaptive.setByte(0, 99);
        adaptive.release();
        assertThat(bytes(kept)).containsExactly(BYTES);
    }

    @Test
    void anArrayMuchLargerThanItsMessageIsCopiedToTheMessagesSize() {
        ByteBuf large = Unpooled.buffer(64 * 1024).writeBytes(BYTES); // e.g. a message Vert.x put together from fragments
        ByteBuffer kept = VertxWireSocket.received(Buffer.buffer(large));
        assertThat(kept.array()).isNotSameAs(large.array()).hasSize(BYTES.length);
        assertThat(bytes(kept)).containsExactly(BYTES);
    }

    @Test
    void directMemoryIsCopied() {
        ByteBuf direct = Unpooled.directBuffer(64).writeBytes(BYTES);
        ByteBuffer kept = VertxWireSocket.received(Buffer.buffer(direct));
        direct.setByte(0, 99);
        assertThat(bytes(kept)).containsExactly(BYTES);
        direct.release();
    }

    @Test
    void anUnpooledHeapBufferIsWrappedFromItsArrayOffset() {
        byte[] array = new byte[2 + BYTES.length];
        array[0] = 42;
        array[1] = 42;
        System.arraycopy(BYTES, 0, array, 2, BYTES.length);
        ByteBuf heap = Unpooled.wrappedBuffer(array, 2, BYTES.length); // a slice of an unpooled heap buffer
        ByteBuffer kept = VertxWireSocket.received(Buffer.buffer(heap));
        assertThat(kept.hasArray()).isTrue();
        assertThat(kept.array()).isSameAs(heap.array());
        assertThat(kept.position()).isZero();
        assertThat(bytes(kept)).containsExactly(BYTES);
    }

    /**
     * The premise, checked against the Vert.x the kit runs on (WebSockets Next delivers through the same
     * {@code binaryMessageHandler}): a message arrives in an unpooled heap buffer, so the kit does not copy it again.
     * If a Vert.x upgrade changes that, this fails and the copy comes back only where it is needed.
     */
    @Test
    void vertxDeliversAWebSocketMessageInMemoryTheKitMayKeepWithoutACopy() throws Exception {
        Vertx vertx = Vertx.vertx();
        try {
            byte[] sent = new byte[70_000];
            Arrays.fill(sent, (byte) 7);
            CompletableFuture<Buffer> arrived = new CompletableFuture<>();
            CompletableFuture<Boolean> wrapped = new CompletableFuture<>();
            HttpServer server = vertx.createHttpServer().webSocketHandler(ws -> ws.binaryMessageHandler(m -> {
                ByteBuffer kept = VertxWireSocket.received(m);
                wrapped.complete(kept.hasArray() && kept.array() == m.getByteBuf().array());
                arrived.complete(m);
            }));
            server.listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
            WebSocket client = vertx.createHttpClient().webSocket(server.actualPort(), "127.0.0.1", "/")
                    .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
            client.writeBinaryMessage(Buffer.buffer(sent));
            Buffer m = arrived.get(10, TimeUnit.SECONDS);
            assertThat(m.getBytes()).isEqualTo(sent);
            assertThat(wrapped.get()).as("an arriving message is wrapped, not copied").isTrue();
        } finally {
            vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }

    private static byte[] bytes(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }
}
