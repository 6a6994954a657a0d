package ai.hoody.tunnel.protocol;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** The artifact's version, from {@code META-INF/hoody-tunnel.properties} (filled in by Maven). */
public final class Version {

    public static final String VERSION = version();
    public static final String USER_AGENT = "hoody-tunnel/" + VERSION;

    private Version() {
    }

    private static String version() {
        try (InputStream in = Version.class.getResourceAsStream("/META-INF/hoody-tunnel.properties")) {
            Properties p = new Properties();
            if (in != null) {
                p.load(in);
            }
            return p.getProperty("version", "dev");
        } catch (IOException e) {
            return "dev";
        }
    }
}
