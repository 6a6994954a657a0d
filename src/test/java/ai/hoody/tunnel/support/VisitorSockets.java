package ai.hoody.tunnel.support;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicReference;

/** A visitor or container client on one fresh TCP connection to a tunnelled port (127.0.0.1). */
public final class VisitorSockets {

    private VisitorSockets() {
    }

    /**
     * Writes {@code payload} and half-closes while reading everything that comes back until the other end closes:
     * one echo round trip, both directions at once so that neither side's buffers can block the other.
     */
    public static byte[] roundTrip(int port, byte[] payload, int timeoutMillis) throws IOException, InterruptedException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(timeoutMillis);
            AtomicReference<IOException> uploadFailure = new AtomicReference<>();
            Thread writer = Thread.ofVirtual().start(() -> {
                try {
                    s.getOutputStream().write(payload);
                    s.shutdownOutput();
                } catch (IOException e) {
                    uploadFailure.set(e);
                }
            });
            byte[] back;
            try {
                back = s.getInputStream().readAllBytes();
            } catch (IOException e) {
                if (uploadFailure.get() != null) {
                    e.addSuppressed(uploadFailure.get());
                }
                throw e;
            }
            writer.join();
            if (uploadFailure.get() != null) { // an echo cut short would otherwise hide why
                throw new IOException("the upload failed after " + back.length + " bytes came back", uploadFailure.get());
            }
            return back;
        }
    }

    /** One HTTP GET on a fresh connection; the whole answer as text, with any read error appended in brackets. */
    public static String httpGet(int port) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            ByteArrayOutputStream answer = new ByteArrayOutputStream();
            try {
                s.getInputStream().transferTo(answer);
            } catch (IOException e) {
                answer.writeBytes(("\n[" + e + "]").getBytes(StandardCharsets.UTF_8));
            }
            return answer.toString(StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "[" + e + "]";
        }
    }
}
