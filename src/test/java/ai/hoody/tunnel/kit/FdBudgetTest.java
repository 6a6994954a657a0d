package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.protocol.BindErrorCode;
import ai.hoody.tunnel.protocol.ControlMessage;
import ai.hoody.tunnel.protocol.Frame;
import ai.hoody.tunnel.support.Ports;
import ai.hoody.tunnel.support.RawDriver;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.Test;

import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** A kit with a descriptor budget of 2 and a public URL pattern. */
@QuarkusTest
@TestProfile(FdBudgetTest.TinyBudget.class)
class FdBudgetTest {

    public static class TinyBudget implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("hoody.tunnel.fd-budget", "4", "hoody.tunnel.public-url-pattern", "https://p{port}.example.test/");
        }
    }

    @TestHTTPResource("/")
    URI kit;

    @Test
    void aSpentBudgetRefusesVisitorsWith503AndBindsWithInternal() throws Exception {
        int exposed = Ports.free();
        try (RawDriver d = RawDriver.connect(kit)) {
            d.hello(10);
            ControlMessage.BindOk ok = (ControlMessage.BindOk) d.bind("http", "expose", exposed, null, false); // permit 1: the listener
            assertThat(ok.publicUrl()).isEqualTo("https://p" + exposed + ".example.test/");

            // Permits 2..4: visitors the driver never answers. (Listeners may hold at most half the budget, 2 here.)
            try (Socket first = new Socket("127.0.0.1", exposed); Socket second = new Socket("127.0.0.1", exposed);
                 Socket third = new Socket("127.0.0.1", exposed)) {
                for (int i = 0; i < 3; i++) {
                    assertThat(d.nextFrame(Duration.ofSeconds(5))).isInstanceOf(Frame.Open.class);
                }

                HttpResponse<String> refused = HttpClient.newHttpClient().send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + exposed + "/")).build(), HttpResponse.BodyHandlers.ofString());
                assertThat(refused.statusCode()).isEqualTo(503);
                assertThat(refused.headers().firstValue("Retry-After")).isPresent();
                assertThat(refused.body()).contains("file descriptors");

                ControlMessage another = d.bind("http", "expose", Ports.free(), null, false);
                assertThat(another).isInstanceOf(ControlMessage.BindErr.class);
                assertThat(((ControlMessage.BindErr) another).code()).isEqualTo(BindErrorCode.INTERNAL);
            }
        }
    }

    /**
     * Issue #11: on a limit of 1,024 descriptors, 2,000 slow connections to the kit's HTTP port took every descriptor
     * while the budget still offered 727. The derived budget now leaves room for the port's connection cap, so the
     * budget, the cap, the reserve and what was open at start never add up to more than the limit.
     */
    @Test
    void theDerivedBudgetLeavesRoomForTheHttpPortsConnections() {
        int limit = 1024, openAtStart = 41, reserve = 256, httpCap = 256;
        int budget = FdBudget.derived(limit, openAtStart, reserve, httpCap);
        assertThat(budget).isEqualTo(471);
        assertThat(openAtStart + reserve + httpCap + budget).isEqualTo(limit);
        assertThat(FdBudget.derived(limit, openAtStart, reserve, 0)).as("without a cap, as before").isEqualTo(727);
        assertThat(FdBudget.derived(512, 100, 256, 256)).as("never negative").isZero();
    }
}
