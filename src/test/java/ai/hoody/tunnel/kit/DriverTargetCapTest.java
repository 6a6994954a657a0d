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

    /** 300 visitors at a laptop service that holds every connection: the driver opens at most 256 of them. */
    @Test
    void theDriverOpensAtMostItsCapOfConnectionsToOneTarget() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        java.util.concurrent.atomic.AtomicInteger accepted = new java.util.concurrent.atomic.AtomicInteger();
        try (LaptopTcpServer holding = new LaptopTcpServer(s -> {
            accepted.incrementAndGet();
            try {
                release.await();
            } catch (InterruptedException ignored) {
                // closing
            }
        })) {
            int port = Ports.free();
            try (TestDriver d = TestDriver.start(kit, BindSpec.parseTarget(BindMode.PULL,
                    "127.0.0.1:" + holding.port(), port, null, false))) {
                d.await("bind_ok");
                List<Socket> clients = new ArrayList<>();
                try {
                    for (int i = 0; i < 300; i++) {
                        clients.add(new Socket("127.0.0.1", port));
                    }
                    await().atMost(Duration.ofSeconds(20)).until(() -> accepted.get() >= 256);
                    // The 44 beyond the cap were reset: a PULL client sees its connection reset.
                    int reset = 0;
                    for (Socket c : clients) {
                        c.setSoTimeout(10);
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
                    assertThat(accepted.get()).isEqualTo(256);
                    assertThat(reset).isEqualTo(44);
                } finally {
                    release.countDown();
                    for (Socket c : clients) {
                        c.close();
                    }
                }
            }
        }
    }

    /** The CLI's --max-target-connections 3: five PULL clients at a service that holds them, three reach it. */
    @Test
    void theCapIsTheDriversToSet() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        java.util.concurrent.atomic.AtomicInteger accepted = new java.util.concurrent.atomic.AtomicInteger();
        try (LaptopTcpServer holding = new LaptopTcpServer(s -> {
            accepted.incrementAndGet();
            try {
                release.await();
            } catch (InterruptedException ignored) {
                // closing
            }
        })) {
            int port = Ports.free();
            try (DriverProcess d = DriverProcess.start("pull", "127.0.0.1:" + holding.port(), "--port", Integer.toString(port),
                    "--kit", "http://127.0.0.1:" + kit.getPort(), "--max-target-connections", "3")) {
                d.await("bind_ok");
                List<Socket> clients = new ArrayList<>();
                try {
                    for (int i = 0; i < 5; i++) {
                        clients.add(new Socket("127.0.0.1", port));
                    }
                    await().atMost(Duration.ofSeconds(20)).until(() -> accepted.get() >= 3);
                    int reset = 0;
                    for (Socket c : clients) {
                        c.setSoTimeout(2_000);
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
                    assertThat(accepted.get()).isEqualTo(3);
                    assertThat(reset).isEqualTo(2);
                } finally {
                    release.countDown();
                    for (Socket c : clients) {
                        c.close();
                    }
                }
            }
            try (DriverProcess bad = DriverProcess.start("pull", "127.0.0.1:" + holding.port(), "--port", Integer.toString(port),
                    "--kit", "http://127.0.0.1:" + kit.getPort(), "--max-target-connections", "0")) {
                assertThat(bad.awaitExit()).isEqualTo(2);
            }
        }
    }
}
