package ai.hoody.tunnel.kit;

import ai.hoody.tunnel.mux.Splice;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * The kit's own HTTP answers to a visitor it cannot forward (502, 503, 504): a visitor always gets a real response,
 * never a silent close.
 */
final class HttpAnswers {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int DRAIN_BYTES = 1 << 20;
    private static final int DRAIN_MILLIS = 1000;

    private HttpAnswers() {
    }

    /**
     * Writes a complete response with {@code Connection: close}, then reads (and drops) what the visitor is still
     * sending for a moment — at most {@value #DRAIN_BYTES} bytes or {@value #DRAIN_MILLIS} ms in all: closing with
     * unread bytes would make the kernel send RST, and the visitor could lose the response.
     */
    static void send(Socket socket, int status, String reason, String message, Integer retryAfterSeconds) {
        String body = JSON.createObjectNode().put("error", reason).put("message", message) + "\n";
        byte[] bodyBytes = body.getBytes(StandardCharsets.UTF_8);
        StringBuilder head = new StringBuilder(160)
                .append("HTTP/1.1 ").append(status).append(' ').append(reason).append("\r\n")
                .append("Content-Type: application/json\r\n")
                .append("Content-Length: ").append(bodyBytes.length).append("\r\n")
                .append("Connection: close\r\n");
        if (retryAfterSeconds != null) {
            head.append("Retry-After: ").append(retryAfterSeconds).append("\r\n");
        }
        head.append("X-Hoody-Tunnel-Error: ").append(status).append("\r\n\r\n");
        try {
            var out = socket.getOutputStream();
            out.write(head.toString().getBytes(StandardCharsets.US_ASCII));
            out.write(bodyBytes);
            out.flush();
            socket.shutdownOutput();
            // One deadline for the whole drain, not one per read: a visitor trickling a byte now and then must not
            // hold the socket (which the fd budget does not count here) any longer.
            long deadline = System.nanoTime() + DRAIN_MILLIS * 1_000_000L;
            InputStream in = socket.getInputStream();
            byte[] sink = new byte[8192];
            long drained = 0;
            while (drained < DRAIN_BYTES) {
                long left = (deadline - System.nanoTime()) / 1_000_000;
                if (left <= 0) {
                    break;
                }
                socket.setSoTimeout((int) left);
                int n = in.read(sink);
                if (n < 0) {
                    break;
                }
                drained += n;
            }
        } catch (IOException e) {
            // the visitor left; nothing more to tell it
        } finally {
            Splice.closeQuietly(socket);
        }
    }
}
