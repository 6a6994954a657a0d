package ai.hoody.tunnel.kit.admin;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.RestAssured;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A kit that trusts its proxy by address: {@code hoody.tunnel.admin.trusted-proxies=127.0.0.0/8}, and no proxy
 * secret (the test profile's is cleared). The tests call from 127.0.0.1, so they play the proxy here.
 */
@QuarkusTest
@TestProfile(TrustedProxyTest.LoopbackIsTheProxy.class)
class TrustedProxyTest {

    public static class LoopbackIsTheProxy implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("hoody.tunnel.admin.trusted-proxies", "10.0.0.0/8, 127.0.0.0/8", "hoody.tunnel.admin.proxy-secret", "");
        }
    }

    @Test
    void aRequestFromATrustedAddressNeedsNoCredential() {
        assertThat(RestAssured.given().get("/api/v1/tunnel/sessions").statusCode()).isEqualTo(200);
        assertThat(RestAssured.given().get("/q/metrics").statusCode()).isEqualTo(200);
    }
}
