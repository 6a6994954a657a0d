package ai.hoody.tunnel.support;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

/** A real TCP server on the laptop side, one virtual thread per connection, running a small behaviour. */
public final class LaptopTcpServer implements AutoCloseable {

    /** What the server does with each connection. */
    @FunctionalInterface
    public interface Behaviour {
        void serve(Socket socket) throws IOException;
    }

    /** Echoes every byte until the client half-closes, then half-closes too. */
    public static final Behaviour ECHO = s -> {
        InputStream in = s.getInputStream();
        OutputStream out = s.getOutputStream();
        byte[] buf = new byte[1 << 16];
        int n;
        while ((n = in.read(buf)) >= 0) {
            out.write(buf, 0, n);
        }
        s.shutdownOutput();
    };

    /** Reads to EOF, then answers with the number of bytes read: needs half-close to work. */
    public static final Behaviour COUNT_THEN_ANSWER = s -> {
        long total = 0;
        byte[] buf = new byte[1 << 16];
        int n;
        while ((n = s.getInputStream().read(buf)) >= 0) {
            total += n;
        }
        s.getOutputStream().write(("got " + total + " bytes\n").getBytes(StandardCharsets.US_ASCII));
        s.shutdownOutput();
    };

    /** Speaks first, like SMTP, MySQL or SSH servers, then echoes. */
    public static final Behaviour BANNER_THEN_ECHO = s -> {
        s.getOutputStream().write("220 laptop ready\r\n".getBytes(StandardCharsets.US_ASCII));
        ECHO.serve(s);
    };

    private final ServerSocket server;

    public LaptopTcpServer(Behaviour behaviour) throws IOException {
        this(behaviour, e -> {
        });
    }

    public LaptopTcpServer(Behaviour behaviour, Consumer<Exception> errors) throws IOException {
        server = new ServerSocket(0, 1024, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().name("laptop-tcp-accept").start(() -> {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    Thread.ofVirtual().start(() -> {
                        try (s) {
                            behaviour.serve(s);
                        } catch (Exception e) {
                            errors.accept(e);
                        }
                    });
                } catch (IOException e) {
                    return;
                }
            }
        });
    }

    public int port() {
        return server.getLocalPort();
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
