package ai.hoody.tunnel.cli;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import javax.tools.ToolProvider;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The {@code hoody-tunnel} launcher at the repository's root, run by {@code sh} with a controlled environment: it picks
 * Java 25 from JAVA_HOME, else from PATH, refuses Java 17 with an error naming the version it needs and what it found,
 * and gives driver and admin commands their fast-start flags. The jar it runs is a stand-in ({@code HOODY_TUNNEL_JAR})
 * that prints the Java version, its JVM flags and its arguments, so that the test needs no packaged kit; the old JDK
 * is a stand-in too (a {@code release} file, and a {@code java} that only answers {@code -version}), so that the test
 * does not depend on which JDKs the machine has.
 */
class LauncherTest {

    static final Path LAUNCHER = Path.of("hoody-tunnel").toAbsolutePath();
    static final Path JAVA_25 = Path.of(System.getProperty("java.home"));

    static Path work;
    static Path echoJar;
    static Path jdk17;
    static Path jdk17WithoutRelease;

    @BeforeAll
    static void standIns() throws Exception {
        assertThat(Runtime.version().feature()).isGreaterThanOrEqualTo(25);
        work = Files.createTempDirectory("launcher-test");
        echoJar = echoJar();
        jdk17 = fakeJdk("jdk17", true);
        jdk17WithoutRelease = fakeJdk("jdk17-bare", false);
    }

    /** A jar whose main prints {@code java=<feature> flags=<JVM flags> args=<args>}. */
    private static Path echoJar() throws Exception {
        Path src = work.resolve("src/Echo.java");
        Files.createDirectories(src.getParent());
        Files.writeString(src, """
                public class Echo {
                    public static void main(String[] args) {
                        System.out.println("java=" + Runtime.version().feature()
                                + " flags=" + java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()
                                + " args=" + java.util.List.of(args));
                    }
                }
                """);
        Path classes = work.resolve("classes");
        Files.createDirectories(classes);
        int rc = ToolProvider.getSystemJavaCompiler().run(null, null, null, "-d", classes.toString(), src.toString());
        assertThat(rc).isZero();
        Manifest manifest = new Manifest();
        manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        manifest.getMainAttributes().put(Attributes.Name.MAIN_CLASS, "Echo");
        Path jar = work.resolve("echo.jar");
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar), manifest)) {
            out.putNextEntry(new JarEntry("Echo.class"));
            out.write(Files.readAllBytes(classes.resolve("Echo.class")));
            out.closeEntry();
        }
        return jar;
    }

    /** A JDK 17 that can say its version and nothing else. */
    private static Path fakeJdk(String name, boolean withRelease) throws IOException {
        Path home = work.resolve(name);
        Path bin = Files.createDirectories(home.resolve("bin"));
        if (withRelease) {
            Files.writeString(home.resolve("release"), "IMPLEMENTOR=\"Debian\"\nJAVA_VERSION=\"17.0.15\"\n");
        }
        Path java = bin.resolve("java");
        Files.writeString(java, """
                #!/bin/sh
                if [ "$1" = "-version" ]; then echo 'openjdk version "17.0.15" 2025-04-15' >&2; exit 0; fi
                echo "this Java 17 must not run the jar" >&2
                exit 99
                """);
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
        return home;
    }

    /** A directory for PATH holding only {@code java}, a symlink to the given JDK's. */
    private static Path pathWithJava(Path jdk) throws IOException {
        Path dir = Files.createTempDirectory(work, "path");
        Files.createSymbolicLink(dir.resolve("java"), jdk.resolve("bin/java"));
        return dir;
    }

    private record Run(int exit, String out, String err) {
    }

    /** Runs the launcher with exactly this environment (plus the tools sh needs from /usr/bin and /bin). */
    private static Run launch(String javaHome, Path javaOnPath, String... args) throws Exception {
        return launch(Map.of(), javaHome, javaOnPath, args);
    }

    /** As {@link #launch(String, Path, String...)}, with these variables added to the environment. */
    private static Run launch(Map<String, String> extraEnv, String javaHome, Path javaOnPath, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("/bin/sh", LAUNCHER.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        Map<String, String> env = pb.environment();
        env.clear();
        // Tools only: a directory with just the shell utilities, so that /usr/bin's java (17 here) is out of the way.
        env.put("PATH", (javaOnPath == null ? "" : javaOnPath + ":") + toolsOnly());
        env.put("HOME", work.toString());
        env.put("XDG_CACHE_HOME", work.resolve("cache").toString());
        env.put("HOODY_TUNNEL_JAR", echoJar.toString());
        if (javaHome != null) {
            env.put("JAVA_HOME", javaHome);
        }
        env.putAll(extraEnv);
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Run(p.exitValue(), out, err);
    }

    private static Path tools;

    /** sed, readlink, dirname, ... linked into a directory of their own (no java there). */
    private static synchronized String toolsOnly() throws IOException {
        if (tools == null) {
            tools = Files.createDirectories(work.resolve("tools"));
            for (String t : List.of("sed", "readlink", "dirname", "head", "mkdir", "wc", "tr", "cksum", "cut", "printf", "cat")) {
                for (String dir : List.of("/usr/bin", "/bin")) {
                    Path p = Path.of(dir, t);
                    if (Files.isExecutable(p) && !Files.exists(tools.resolve(t))) {
                        Files.createSymbolicLink(tools.resolve(t), p);
                    }
                }
            }
        }
        return tools.toString();
    }

    @Test
    void java17OnPathAloneIsAClearErrorNamingJava25() throws Exception {
        Run r = launch(null, pathWithJava(jdk17), "expose", "3000");
        assertThat(r.exit()).isEqualTo(127);
        assertThat(r.err()).contains("needs Java 25 or newer").contains("java on PATH (").contains("is Java 17")
                .contains("set JAVA_HOME");
        assertThat(r.out()).isEmpty();
    }

    @Test
    void java17InJavaHomeAndOnPathIsNamedTwiceEvenWithoutAReleaseFile() throws Exception {
        Run r = launch(jdk17.toString(), pathWithJava(jdk17WithoutRelease), "--version");
        assertThat(r.exit()).isEqualTo(127);
        assertThat(r.err()).contains("JAVA_HOME=" + jdk17 + " is Java 17").contains("is Java 17; ").doesNotContain("must not run");
    }

    @Test
    void noJavaAtAllSaysSo() throws Exception {
        Run r = launch(null, null, "health");
        assertThat(r.exit()).isEqualTo(127);
        assertThat(r.err()).contains("no java on PATH").contains("Java 25");
    }

    @Test
    void java25InJavaHomeWinsOverJava17OnPath() throws Exception {
        Run r = launch(JAVA_25.toString(), pathWithJava(jdk17), "expose", "3000", "--port", "8080");
        assertThat(r.err()).isEmpty();
        assertThat(r.exit()).isZero();
        assertThat(r.out()).startsWith("java=" + Runtime.version().feature()).contains("args=[expose, 3000, --port, 8080]");
    }

    @Test
    void java25OnPathIsFoundWhenJavaHomeIsOld() throws Exception {
        Run r = launch(jdk17.toString(), pathWithJava(JAVA_25), "list");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).startsWith("java=" + Runtime.version().feature());
    }

    @Test
    void driverAndAdminCommandsGetTheFastStartFlagsAndTheKitItsImageHeapFlags() throws Exception {
        Run driver = launch(JAVA_25.toString(), null, "pull", "5432");
        assertThat(driver.out()).contains("-XX:TieredStopAtLevel=1").contains("-XX:+UseSerialGC")
                .contains("-XX:+AutoCreateSharedArchive").contains("-XX:SharedArchiveFile=" + work.resolve("cache/hoody-tunnel/cds-"));
        Run kit = launch(JAVA_25.toString(), null);
        assertThat(kit.exit()).as(kit.err()).isZero();
        // The image's Serial GC and bounded heap (bench/PROFILE-NOTES: level with G1 under load, 26 MiB less idle);
        // never C1 only, which cuts the kit's laptop -> container throughput to a third.
        assertThat(kit.out()).contains("-XX:+UseSerialGC").contains("-XX:MaxRAM=384m").contains("-XX:MaxRAMPercentage=50")
                .contains("-XX:MaxHeapFreeRatio=20").doesNotContain("TieredStopAtLevel").contains("args=[]");
    }

    @Test
    void aCollectorTheUserPicksInJdkJavaOptionsIsKeptAndTheKitStillStarts() throws Exception {
        // JDK_JAVA_OPTIONS comes first on the JVM's command line: adding the Serial GC after a user's G1 would make the
        // JVM refuse to start ("multiple garbage collectors selected").
        Run kit = launch(Map.of("JDK_JAVA_OPTIONS", "-XX:+UseG1GC"), JAVA_25.toString(), null);
        assertThat(kit.exit()).as(kit.err()).isZero();
        assertThat(kit.out()).contains("-XX:+UseG1GC").doesNotContain("-XX:+UseSerialGC").contains("-XX:MaxRAM=384m");
        Run driver = launch(Map.of("JAVA_TOOL_OPTIONS", "-XX:+UseParallelGC"), JAVA_25.toString(), null, "pull", "5432");
        assertThat(driver.exit()).as(driver.err()).isZero();
        assertThat(driver.out()).contains("-XX:+UseParallelGC").doesNotContain("-XX:+UseSerialGC");
    }

    @Test
    void aHeapOptionTheUserSetsIsNotReplacedByTheLaunchersOwn() throws Exception {
        Run kit = launch(Map.of("JDK_JAVA_OPTIONS", "-XX:MaxRAMPercentage=75 -XX:MaxRAM=1g"), JAVA_25.toString(), null);
        assertThat(kit.exit()).as(kit.err()).isZero();
        assertThat(kit.out()).contains("-XX:MaxRAMPercentage=75").doesNotContain("-XX:MaxRAMPercentage=50")
                .contains("-XX:MaxRAM=1g").doesNotContain("-XX:MaxRAM=384m")
                .contains("-XX:+UseSerialGC").contains("-XX:MaxHeapFreeRatio=20");
    }

    @Test
    void aMissingJarIsAClearError() throws Exception {
        Path copy = work.resolve("alone/hoody-tunnel");
        Files.createDirectories(copy.getParent());
        Files.copy(LAUNCHER, copy);
        ProcessBuilder pb = new ProcessBuilder("/bin/sh", copy.toString(), "--version");
        pb.environment().remove("HOODY_TUNNEL_JAR");
        pb.environment().put("JAVA_HOME", JAVA_25.toString());
        Process p = pb.start();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).isEqualTo(127);
        assertThat(err).contains("no quarkus-run.jar in " + copy.getParent()).contains("./mvnw -B package")
                .contains("HOODY_TUNNEL_JAR");
    }
}
