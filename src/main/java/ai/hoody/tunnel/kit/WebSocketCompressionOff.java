package ai.hoody.tunnel.kit;

import io.quarkus.vertx.http.HttpServerOptionsCustomizer;
import io.vertx.core.http.HttpServerOptions;
import jakarta.enterprise.context.Dependent;

/**
 * Turns off the per-frame WebSocket compression (the old {@code deflate-frame} / {@code x-webkit-deflate-frame}
 * extensions) that Vert.x 4.5 offers by default and Quarkus has no property for. Per-message compression is off in
 * application.properties. Both for the same reason: the 131072-byte limits count bytes on the wire, and Vert.x
 * inflates a compressed frame without bound before any limit applies. Drivers do not compress.
 */
@Dependent
public class WebSocketCompressionOff implements HttpServerOptionsCustomizer {

    @Override
    public void customizeHttpServer(HttpServerOptions options) {
        options.setPerFrameWebSocketCompressionSupported(false);
    }

    @Override
    public void customizeHttpsServer(HttpServerOptions options) {
        options.setPerFrameWebSocketCompressionSupported(false);
    }
}
