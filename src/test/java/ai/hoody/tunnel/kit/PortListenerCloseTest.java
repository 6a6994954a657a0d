package ai.hoody.tunnel.kit;

import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfigBuilder;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Map;
import java.util.OptionalInt;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A closed listener refuses at once. The JDK closes a server socket whose {@code accept} a virtual thread is blocked in
 * only when that thread next runs, so without waiting for the accept loop the port kept listening for a moment after
 * {@code close()} returned — after the kit had sent BIND_REVOKED (TunnelLibraryTest's "close() waited for the kit's
 * BIND_REVOKED, the port refuses at once" failed once in a full build: a connect right after the revoke was accepted).
 * Plain JUnit, real sockets.
 */
class PortListenerCloseTest {

    private static KitContext kit() {
        KitConfig config = new SmallRyeConfigBuilder().withMapping(KitConfig.class)
                .withConverter(Duration.class, 200, new io.quarkus.runtime.configuration.DurationConverter())
                .withConverter(io.quarkus.runtime.configuration.MemorySize.class, 200, new io.quarkus.runtime.configuration.MemorySizeConverter())
                .withSources(new PropertiesConfigSource(Map.of("hoody.tunnel.fd-budget", "100"), "test", 500)).build()
                .getConfigMapping(KitConfig.class);
        return new KitContext(config, null, null, new FdBudget(config, OptionalInt.of(10)), null, null, null, null, null);
    }

    @Test
    void aClosedListenerRefusesAtOnce() throws Exception {
        KitContext kit = kit();
        InetAddress loopback = InetAddress.getLoopbackAddress();
        int accepted = 0;
        for (int i = 0; i < 300; i++) {
            ServerSocket server = new ServerSocket(0, 50, loopback);
            PortListener listener = new PortListener(server, null, kit);
            listener.start();
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (listener.acceptLoopState() != Thread.State.WAITING) { // blocked in accept(): the case that raced
                assertThat(System.nanoTime()).as("the accept loop blocks in accept within 5 s").isLessThan(deadline);
                Thread.onSpinWait();
            }
            listener.close();
            try (Socket s = new Socket(loopback, server.getLocalPort())) {
                accepted++;
            } catch (ConnectException expected) {
                // refused: the port is really closed
            }
        }
        assertThat(accepted).as("connections accepted by a listener after close() returned, of 300").isZero();
    }
}
