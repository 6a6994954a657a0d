package ai.hoody.tunnel.cli;

import ai.hoody.tunnel.driver.KitUrl;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** How {@code --kit} values become the admin client's base URL. */
class AdminKitUrlTest {

    @Test
    void httpAndHttpsStayAsTheyAre() {
        assertThat(KitUrl.parse("http://127.0.0.1:9771")).hasToString("http://127.0.0.1:9771");
        assertThat(KitUrl.parse("https://kit.example.com")).hasToString("https://kit.example.com");
    }

    @Test
    void webSocketSchemesMapToHttp() {
        assertThat(KitUrl.parse("ws://127.0.0.1:9771")).hasToString("http://127.0.0.1:9771");
        assertThat(KitUrl.parse("WSS://kit.example.com:443")).hasToString("https://kit.example.com:443");
    }

    @Test
    void theDriversConnectUrlAndTrailingSlashesAreTrimmed() {
        assertThat(KitUrl.parse("ws://h:9771/api/v1/tunnel/connect")).hasToString("http://h:9771");
        assertThat(KitUrl.parse("http://h:9771/api/v1/tunnel/")).hasToString("http://h:9771");
        assertThat(KitUrl.parse("http://h:9771/")).hasToString("http://h:9771");
        assertThat(KitUrl.parse("https://h/prefix/")).hasToString("https://h/prefix"); // behind a path-routing proxy
    }

    @Test
    void aBareHostAndPortMeansHttp() {
        assertThat(KitUrl.parse(" 10.0.0.5:9771 ")).hasToString("http://10.0.0.5:9771");
        assertThat(KitUrl.parse("[::1]:9771")).hasToString("http://[::1]:9771");
    }

    @Test
    void otherSchemesAndHostlessUrlsAreRefused() {
        assertThatThrownBy(() -> KitUrl.parse("ftp://h")).hasMessageContaining("use http://, https://, ws:// or wss://");
        assertThatThrownBy(() -> KitUrl.parse("http://")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> KitUrl.parse("")).hasMessageContaining("empty");
        assertThatThrownBy(() -> KitUrl.parse("http://h h")).hasMessageContaining("not a URL");
    }
}
