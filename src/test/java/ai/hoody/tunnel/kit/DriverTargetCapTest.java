package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.driver.BindSpec;
import ai.hoody.tunnel.protocol.BindMode;
import ai.hoody.tunnel.support.DriverProcess;
import ai.hoody.tunnel.support.LaptopTcpServer;
import ai.hoody.tunnel.support.Ports;
import ai.hoody.tunnel.support.TestDriver;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

import java.net.Socket;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The driver opens at most 256 connections to one laptop target at once (issue #11): a flood cannot make it open more.
 * The cap is the driver's to set ({@code --max-target-connections}, TunnelOptions.maxTargetConnections).
 */
@QuarkusTest
class DriverTargetCapTest {

    @TestHTTPResource("/")
    URI kit;

    /** A laptop service that holds every connection until the test ends, counting them. */
    private static final class HoldingService implements AutoCloseable {
        final CountDownLatch release = new CountDownLatch(1);
        final AtomicInteger accepted = new AtomicInteger();
        final LaptopTcpServer server;

        HoldingService() throws Exception {
            server = new LaptopTcpServer(s -> {
                accepted.incrementAndGet();
                try {
                    release.await();
                } catch (InterruptedException ignored) {
                    // closing
                }
            });
        }

        @Override
        public void close() throws Exception {
            release.countDown();
            server.close();
        }
    }

    /**
     * Opens {@code n} PULL clients on {@code port}, waits until {@code served} of them reached the service, and returns
     * how many of them the tunnel reset (the others stay open, held by the service).
     */
    private static int resetsAmong(int port, int n, HoldingService service, int served, int readTimeoutMillis) throws Exception {
        List<Socket> clients = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                clients.add(new Socket("127.0.0.1", port));
            }
            await().atMost(Duration.ofSeconds(20)).until(() -> service.accepted.get() >= served);
            int reset = 0;
            for (Socket c : clients) {
                c.setSoTimeout(readTimeoutMillis);
                try {
                    if (c.getInputStream().read() < 0) {
                        reset++;
                    }
                } catch (java.net.SocketTimeoutException stillOpen) {
                    // served: the laptop holds it
                } catch (Exception e) {
                    reset++;
                }
            }
            return reset;
        } finally {
            for (Socket c : clients) {
                c.close();
            }
        }
    }

    /** 300 visitors at a laptop service that holds every connection: the driver opens at most 256 of them. */
    @Test
    void theDriverOpensAtMostItsCapOfConnectionsToOneTarget() throws Exception {
        try (HoldingService holding = new HoldingService()) {
            int port = Ports.free();
            try (TestDriver d = TestDriver.start(kit, BindSpec.parseTarget(BindMode.PULL,
                    "127.0.0.1:" + holding.server.port(), port, null, false))) {
                d.await("bind_ok");
                int reset = resetsAmong(port, 300, holding, 256, 10);
                assertThat(holding.accepted.get()).isEqualTo(256);
                assertThat(reset).as("the 44 beyond the cap, reset").isEqualTo(44);
            }
        }
    }

    /** The CLI's --max-target-connections 3: five PULL clients at a service that holds them, three reach it. */
    @Test
    void theCapIsTheDriversToSet() throws Exception {
        try (HoldingService holding = new HoldingService()) {
            int port = Ports.free();
            String kitUrl = "http://127.0.0.1:" + kit.getPort();
            String target = "127.0.0.1:" + holding.server.port();
            try (DriverProcess d = DriverProcess.start("pull", target, "--port", Integer.toString(port), "--kit", kitUrl,
                    "--max-target-connections", "3")) {
                d.await("bind_ok");
                int reset = resetsAmong(port, 5, holding, 3, 2_000);
                assertThat(holding.accepted.get()).isEqualTo(3);
                assertThat(reset).isEqualTo(2);
            }
            try (DriverProcess bad = DriverProcess.start("pull", target, "--port", Integer.toString(port), "--kit", kitUrl,
                    "--max-target-connections", "0")) {
                assertThat(bad.awaitExit()).as("exit code of a cap of 0").isEqualTo(2);
            }
        }
    }
}
