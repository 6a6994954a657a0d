package ai.hoody.tunnel.driver;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Locale;

/**
 * An HTTP proxy the driver reaches the kit through: it asks the proxy for a TCP tunnel with {@code CONNECT host:port}
 * (RFC 9110 §9.3.6), with basic authentication when the proxy URL carries {@code user:password}, and then speaks to the
 * kit inside the tunnel as it would directly — TLS for {@code wss} included, so the kit's certificate and host name
 * are checked end to end and the proxy sees only ciphertext.
 *
 * @param username null without credentials
 */
record HttpProxy(String host, int port, String username, String password) {

    /** curl's default proxy port, for a proxy URL without one. */
    static final int DEFAULT_PORT = 1080;
    private static final int MAX_ANSWER_BYTES = 16 * 1024;

    /**
     * Parses {@code http://[user[:password]@]host[:port]} as curl does: no scheme means {@code http://}, no port means
     * {@value #DEFAULT_PORT}; user and password are percent-decoded.
     *
     * @param source where the URL came from ({@code --proxy}, {@code HTTPS_PROXY}, …), for the error message
     * @throws IllegalArgumentException when it is not such a URL
     */
    static HttpProxy parse(String url, String source) {
        String text = url.strip();
        if (!text.contains("://")) {
            text = "http://" + text;
        }
        URI u;
        try {
            u = new URI(text);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException(source + ": '" + url + "' is not a URL: " + e.getReason());
        }
        String scheme = u.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http")) {
            throw new IllegalArgumentException(source + ": '" + url + "' is a " + scheme + ":// proxy; only http:// proxies "
                    + "(HTTP CONNECT) are supported");
        }
        String host = u.getHost();
        if (host == null || host.isEmpty()) {
            throw new IllegalArgumentException(source + ": '" + url + "' names no proxy host");
        }
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        String user = null;
        String password = null;
        String userInfo = u.getRawUserInfo();
        if (userInfo != null) {
            int colon = userInfo.indexOf(':');
            user = percentDecode(colon < 0 ? userInfo : userInfo.substring(0, colon));
            password = colon < 0 ? "" : percentDecode(userInfo.substring(colon + 1));
        }
        return new HttpProxy(host, u.getPort() > 0 ? u.getPort() : DEFAULT_PORT, user, password);
    }

    private static String percentDecode(String s) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '%' && i + 2 < s.length()) {
                out.write(HexFormat.fromHexDigits(s, i + 1, i + 3));
                i += 2;
            } else {
                out.writeBytes(String.valueOf(c).getBytes(StandardCharsets.UTF_8));
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /**
     * Connects to the proxy and asks it for a tunnel to {@code targetHost:targetPort}.
     *
     * @return the socket, carrying the tunnel once the proxy answered 2xx
     * @throws ProxyException when the proxy cannot be reached or refuses; the message names the proxy and its answer
     */
    Socket openTunnel(String targetHost, int targetPort, int timeoutMillis) throws IOException {
        String target = (targetHost.indexOf(':') >= 0 && !targetHost.startsWith("[") ? "[" + targetHost + "]" : targetHost)
                + ":" + targetPort;
        Socket socket = new Socket();
        try {
            try {
                socket.connect(new InetSocketAddress(host, port), timeoutMillis);
            } catch (ConnectException e) {
                throw new ProxyException("the proxy " + this + " refused the connection (is it running there?)", e);
            } catch (UnknownHostException e) {
                throw new ProxyException("the proxy host " + host + " is unknown", e);
            }
            socket.setSoTimeout(timeoutMillis);
            StringBuilder request = new StringBuilder()
                    .append("CONNECT ").append(target).append(" HTTP/1.1\r\n")
                    .append("Host: ").append(target).append("\r\n")
                    .append("User-Agent: hoody-tunnel-driver\r\n");
            if (username != null) {
                String credentials = Base64.getEncoder().encodeToString((username + ":" + password).getBytes(StandardCharsets.UTF_8));
                request.append("Proxy-Authorization: Basic ").append(credentials).append("\r\n");
            }
            request.append("\r\n");
            OutputStream out = socket.getOutputStream();
            out.write(request.toString().getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            String status = readAnswerHead(socket.getInputStream(), target);
            String[] parts = status.split(" ", 3);
            if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) {
                throw new ProxyException("the proxy " + this + " answered CONNECT " + target + " with something that is not HTTP: " + status);
            }
            if (!parts[1].startsWith("2")) {
                boolean unauthorized = parts[1].equals("407") || parts[1].equals("401"); // tinyproxy: 401 for wrong ones
                String hint = !unauthorized ? ""
                        : username == null ? " (give credentials in the proxy URL: http://user:password@host:port)"
                        : " (it refused the credentials of user " + username + ")";
                throw new ProxyException("the proxy " + this + " refused CONNECT " + target + ": HTTP " + parts[1]
                        + (parts.length > 2 ? " " + parts[2] : "") + hint);
            }
            return socket;
        } catch (SocketTimeoutException e) {
            closeQuietly(socket);
            throw new ProxyException("the proxy " + this + " did not answer within " + timeoutMillis + " ms", e);
        } catch (IOException e) {
            closeQuietly(socket);
            throw e instanceof ProxyException ? e : new ProxyException("through the proxy " + this + ": " + e, e);
        }
    }

    /** Reads the answer's head byte by byte, so that nothing of the tunnel after it is consumed. @return its status line */
    private String readAnswerHead(InputStream in, String target) throws IOException {
        StringBuilder head = new StringBuilder(128);
        while (head.length() < 4 || !head.substring(head.length() - 4).equals("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new EOFException("the proxy " + this + " closed the connection instead of answering CONNECT " + target);
            }
            if (head.length() >= MAX_ANSWER_BYTES) {
                throw new ProxyException("the proxy " + this + " answered CONNECT with a head above " + MAX_ANSWER_BYTES + " bytes");
            }
            head.append((char) b);
        }
        int eol = head.indexOf("\r\n");
        return head.substring(0, eol);
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // nothing left to do with a socket that will not close
        }
    }

    /** The proxy as a URL, with the user name but never the password. */
    @Override
    public String toString() {
        return "http://" + (username == null ? "" : username + "@") + (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }

    /** The proxy could not be reached, or refused the tunnel; the message says which and why. */
    static final class ProxyException extends IOException {
        ProxyException(String message) {
            super(message);
        }

        ProxyException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
