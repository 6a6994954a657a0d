package ai.hoody.tunnel;

import ai.hoody.tunnel.kit.KitConfig;
import ai.hoody.tunnel.kit.admin.AdminConfig;
import ai.hoody.tunnel.kit.admin.TunnelAdminResource;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.smallrye.config.WithDefault;
import jakarta.ws.rs.GET;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Checks what an operator applies ({@code deployment/*.yaml}) and builds ({@code src/main/docker/Dockerfile.*})
 * against the kit itself, without starting anything: the probes must name paths the kit serves (SmallRye Health's
 * paths as configured, and the admin resource's JAX-RS paths), every port must be {@code quarkus.http.port} from
 * {@code application.properties}, the security context must stay locked down, the metrics must be scraped with the
 * admin token (a PodMonitor, no scrape annotations), admin credentials must come from a Secret, every
 * {@code HOODY_TUNNEL_*} variable must be a setting the kit has, and the grace period must outlast the kit's shutdown
 * drain.
 */
class DeploymentManifestsTest {

    private static final Path DEPLOYMENT = Path.of("deployment");
    private static final Path DOCKER = Path.of("src/main/docker");
    private static final String KIT_IMAGE = "hoody-tunnel";
    /** Measured in bench/STARTUP.md (JVM kit, Serial GC): idle RSS, and RSS beyond the heap under traffic. */
    private static final long IDLE_RSS_MIB = 120;
    private static final long BEYOND_HEAP_UNDER_LOAD_MIB = 135;

    private static Properties config;
    private static int httpPort;
    private static final Map<String, JsonNode> documents = new LinkedHashMap<>();

    @BeforeAll
    static void read() throws IOException {
        config = new Properties();
        try (InputStream in = Files.newInputStream(Path.of("src/main/resources/application.properties"))) {
            config.load(in);
        }
        httpPort = Integer.parseInt(config.getProperty("quarkus.http.port", "8080"));
        ObjectMapper yaml = new YAMLMapper();
        try (Stream<Path> files = Files.list(DEPLOYMENT)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".yaml") || f.toString().endsWith(".yml")).sorted().toList()) {
                List<JsonNode> docs = yaml.readValues(new YAMLFactory().createParser(file.toFile()), JsonNode.class).readAll();
                for (int i = 0; i < docs.size(); i++) {
                    if (docs.get(i) != null && !docs.get(i).isNull()) {
                        documents.put(file.getFileName() + "#" + i + " " + docs.get(i).path("kind").asText(), docs.get(i));
                    }
                }
            }
        }
    }

    @Test
    void theManifestsAreThere() {
        assertThat(httpPort).isEqualTo(9771);
        assertThat(documents.keySet()).anyMatch(k -> k.startsWith("kit.yaml") && k.endsWith("Deployment"))
                .anyMatch(k -> k.startsWith("kit.yaml") && k.endsWith("Service"))
                .anyMatch(k -> k.startsWith("sidecar-snippet.yaml") && k.endsWith("Deployment"))
                .anyMatch(k -> k.startsWith("privileged-expose-patch.yaml"))
                .anyMatch(k -> k.startsWith("kustomization.yaml"))
                .anyMatch(k -> k.startsWith("podmonitor.yaml"));
        documents.forEach((where, doc) -> assertThat(doc.path("apiVersion").asText()).as(where + " apiVersion").isNotEmpty());
    }

    @Test
    void probesUseThePathsAndThePortTheKitServes() {
        String root = "/" + strip(config.getProperty("quarkus.http.non-application-root-path", "q")) + "/"
                + strip(config.getProperty("quarkus.smallrye-health.root-path", "health"));
        Map<String, String> expected = Map.of(
                "startupProbe", root + "/" + strip(config.getProperty("quarkus.smallrye-health.startup-path", "started")),
                "readinessProbe", root + "/" + strip(config.getProperty("quarkus.smallrye-health.readiness-path", "ready")),
                "livenessProbe", root + "/" + strip(config.getProperty("quarkus.smallrye-health.liveness-path", "live")));
        assertThat(expected).containsEntry("readinessProbe", "/q/health/ready");
        List<JsonNode> kits = kitContainers();
        assertThat(kits).hasSizeGreaterThanOrEqualTo(2); // kit.yaml and the sidecar snippet
        for (JsonNode kit : kits) {
            String name = kit.path("name").asText();
            assertThat(kit.path("ports")).as(name + " ports").hasSize(1);
            assertThat(kit.path("ports").get(0).path("containerPort").asInt()).as(name + " containerPort").isEqualTo(httpPort);
            expected.forEach((probe, path) -> {
                JsonNode get = kit.path(probe).path("httpGet");
                assertThat(get.path("path").asText()).as(name + " " + probe + " path").isEqualTo(path);
                assertThat(resolvePort(kit, get.path("port"))).as(name + " " + probe + " port").isEqualTo(httpPort);
            });
        }
    }

    @Test
    void kitContainersAreLockedDown() {
        for (Map.Entry<String, JsonNode> pod : podSpecs().entrySet()) {
            JsonNode spec = pod.getValue();
            for (JsonNode kit : containersOf(spec)) {
                if (!isKit(kit)) {
                    continue;
                }
                String where = pod.getKey() + " " + kit.path("name").asText();
                JsonNode sc = kit.path("securityContext");
                boolean nonRoot = sc.path("runAsNonRoot").asBoolean(false)
                        || spec.path("securityContext").path("runAsNonRoot").asBoolean(false);
                assertThat(nonRoot).as(where + " runAsNonRoot").isTrue();
                assertThat(sc.path("allowPrivilegeEscalation").isBoolean() && !sc.path("allowPrivilegeEscalation").asBoolean())
                        .as(where + " allowPrivilegeEscalation: false").isTrue();
                assertThat(sc.path("readOnlyRootFilesystem").asBoolean(false)).as(where + " readOnlyRootFilesystem").isTrue();
                assertThat(texts(sc.path("capabilities").path("drop"))).as(where + " capabilities.drop").contains("ALL");
                assertThat(sc.path("privileged").asBoolean(false)).as(where + " privileged").isFalse();
                // A read-only root filesystem needs a writable /tmp (JVM perf data, Vert.x file cache).
                assertThat(texts(kit.path("volumeMounts"), "mountPath")).as(where + " /tmp mount").contains("/tmp");
                JsonNode resources = kit.path("resources");
                assertThat(mebibytes(resources.path("requests").path("memory").asText())).as(where + " memory request")
                        .isPositive()
                        .isLessThanOrEqualTo(mebibytes(resources.path("limits").path("memory").asText()));
                assertThat(resources.path("requests").path("cpu").asText()).as(where + " cpu request").isNotEmpty();
                // Under traffic the heap grows to its maximum: heap + the rest of the JVM must fit the limit.
                long limit = mebibytes(resources.path("limits").path("memory").asText());
                long heap = limit * Long.parseLong(env(kit).getOrDefault("JAVA_MAX_MEM_RATIO", "50")) / 100;
                assertThat(heap + BEYOND_HEAP_UNDER_LOAD_MIB).as(where + " heap + JVM under load fits the memory limit")
                        .isLessThanOrEqualTo(limit - 32);
                assertThat(mebibytes(resources.path("requests").path("memory").asText())).as(where + " request >= idle RSS")
                        .isGreaterThanOrEqualTo(IDLE_RSS_MIB);
            }
        }
        // No manifest, the privileged variant included, adds a capability: see privileged-expose-patch.yaml for why.
        documents.forEach((where, doc) -> containersOf(podSpec(doc)).forEach(c ->
                assertThat(c.path("securityContext").path("capabilities").path("add")).as(where + " capabilities.add").isEmpty()));
    }

    @Test
    void privilegedExposeOnlyLowersTheUnprivilegedPortStart() {
        JsonNode patch = documents.entrySet().stream().filter(e -> e.getKey().startsWith("privileged-expose-patch.yaml"))
                .findFirst().orElseThrow().getValue();
        JsonNode spec = podSpec(patch);
        assertThat(spec.path("securityContext").path("sysctls")).hasSize(1);
        JsonNode sysctl = spec.path("securityContext").path("sysctls").get(0);
        assertThat(sysctl.path("name").asText()).isEqualTo("net.ipv4.ip_unprivileged_port_start");
        assertThat(sysctl.path("value").asInt()).as("the kit never binds below 80").isEqualTo(80);
        assertThat(env(containersOf(spec).getFirst())).containsEntry("HOODY_TUNNEL_ALLOW_PRIVILEGED_EXPOSE", "true");
        assertThat(patch.path("metadata").path("name").asText()).isEqualTo(deployment("kit.yaml").path("metadata").path("name").asText());
    }

    @Test
    void environmentNamesSettingsTheKitHas() {
        Set<String> known = new TreeSet<>();
        for (Method m : KitConfig.class.getDeclaredMethods()) {
            known.add("HOODY_TUNNEL_" + m.getName().replaceAll("([a-z0-9])([A-Z])", "$1_$2").toUpperCase(Locale.ROOT));
        }
        for (Method m : AdminConfig.class.getDeclaredMethods()) {
            known.add("HOODY_TUNNEL_ADMIN_" + m.getName().replaceAll("([a-z0-9])([A-Z])", "$1_$2").toUpperCase(Locale.ROOT));
        }
        known.add("HOODY_TUNNEL_RESERVED_PORTS"); // read by ReservedPorts through the Config API, not KitConfig
        assertThat(known).contains("HOODY_TUNNEL_PUBLIC_URL_PATTERN", "HOODY_TUNNEL_MAX_PRE_AUTH_CONNECTIONS",
                "HOODY_TUNNEL_ALLOW_PRIVILEGED_EXPOSE");
        for (JsonNode kit : allKitContainers()) {
            Map<String, String> env = env(kit);
            env.keySet().stream().filter(n -> n.startsWith("HOODY_TUNNEL_"))
                    .forEach(n -> assertThat(known).as("env " + n + " is a hoody.tunnel.* setting").contains(n));
        }
        for (JsonNode kit : kitContainers()) {
            assertThat(env(kit)).as(kit.path("name").asText() + " env")
                    .containsKeys("HOODY_TUNNEL_PUBLIC_URL_PATTERN", "HOODY_TUNNEL_MAX_PRE_AUTH_CONNECTIONS", "JAVA_MAX_MEM_RATIO");
            assertThat(env(kit).get("HOODY_TUNNEL_PUBLIC_URL_PATTERN")).contains("{port}");
        }
    }

    @Test
    void gracePeriodOutlastsTheShutdownDrain() throws NoSuchMethodException {
        String drain = config.getProperty("hoody.tunnel.shutdown-drain",
                KitConfig.class.getMethod("shutdownDrain").getAnnotation(WithDefault.class).value());
        Duration d = Duration.parse("PT" + drain.toUpperCase(Locale.ROOT));
        assertThat(d).isEqualTo(Duration.ofSeconds(10));
        for (Map.Entry<String, JsonNode> pod : podSpecs().entrySet()) {
            if (containersOf(pod.getValue()).stream().noneMatch(DeploymentManifestsTest::isKit)) {
                continue;
            }
            // The drain, then Quarkus' own stop, with room to spare.
            assertThat(pod.getValue().path("terminationGracePeriodSeconds").asLong())
                    .as(pod.getKey() + " terminationGracePeriodSeconds").isGreaterThanOrEqualTo(d.toSeconds() + 10);
        }
    }

    /**
     * The metrics need the admin token (README "Security"): no kit pod asks to be scraped by annotation (Prometheus
     * would get 403), and the PodMonitor scrapes the metrics endpoint with the token the kit reads from its secret.
     */
    @Test
    void prometheusScrapesTheMetricsEndpointWithTheAdminToken() throws NoSuchMethodException {
        String base = TunnelAdminResource.class.getAnnotation(jakarta.ws.rs.Path.class).value();
        Method metrics = TunnelAdminResource.class.getMethod("metrics");
        assertThat(metrics.isAnnotationPresent(GET.class)).isTrue();
        String metricsPath = base + "/" + metrics.getAnnotation(jakarta.ws.rs.Path.class).value();
        assertThat(metricsPath).isEqualTo("/api/v1/tunnel/metrics");
        for (Map.Entry<String, JsonNode> e : documents.entrySet()) {
            JsonNode template = e.getValue().path("spec").path("template");
            if (containersOf(template.path("spec")).stream().noneMatch(DeploymentManifestsTest::isKit)) {
                continue;
            }
            assertThat(template.path("metadata").path("annotations").path("prometheus.io/scrape").asText())
                    .as(e.getKey() + ": an annotation scrape carries no token").isNotEqualTo("true");
        }
        JsonNode monitor = documents.entrySet().stream().filter(e -> e.getKey().startsWith("podmonitor.yaml"))
                .findFirst().orElseThrow().getValue();
        assertThat(monitor.path("kind").asText()).isEqualTo("PodMonitor");
        JsonNode labels = deployment("kit.yaml").path("spec").path("template").path("metadata").path("labels");
        monitor.path("spec").path("selector").path("matchLabels").properties().forEach(l ->
                assertThat(labels.path(l.getKey()).asText()).as("selector " + l.getKey()).isEqualTo(l.getValue().asText()));
        JsonNode endpoint = monitor.path("spec").path("podMetricsEndpoints").get(0);
        JsonNode kit = containersOf(podSpec(deployment("kit.yaml"))).stream().filter(DeploymentManifestsTest::isKit)
                .findFirst().orElseThrow();
        assertThat(endpoint.path("path").asText()).isEqualTo(metricsPath);
        assertThat(resolvePort(kit, endpoint.path("port"))).isEqualTo(httpPort);
        assertThat(endpoint.path("authorization").path("type").asText()).isEqualTo("Bearer");
        JsonNode tokenRef = secretRef(kit, "HOODY_TUNNEL_ADMIN_TOKEN");
        assertThat(endpoint.path("authorization").path("credentials").path("name").asText()).isEqualTo(tokenRef.path("name").asText());
        assertThat(endpoint.path("authorization").path("credentials").path("key").asText()).isEqualTo(tokenRef.path("key").asText());
    }

    /** Admin credentials come from a Secret, never from a value written into a manifest. */
    @Test
    void adminCredentialsComeFromASecret() {
        for (JsonNode kit : kitContainers()) {
            for (String name : List.of("HOODY_TUNNEL_ADMIN_TOKEN", "HOODY_TUNNEL_ADMIN_PROXY_SECRET")) {
                JsonNode ref = secretRef(kit, name);
                assertThat(ref.path("name").asText()).as(kit.path("name").asText() + " " + name).isEqualTo("hoody-tunnel-admin");
                assertThat(ref.path("optional").asBoolean()).as(name + ": the kit starts (refusing every admin call) without it").isTrue();
            }
            kit.path("env").forEach(e -> assertThat(e.path("name").asText().startsWith("HOODY_TUNNEL_ADMIN_") && e.has("value"))
                    .as(e.path("name").asText() + " written in the manifest").isFalse());
        }
    }

    @Test
    void theServiceSendsToTheKitPort() {
        JsonNode deployment = deployment("kit.yaml");
        JsonNode service = documents.entrySet().stream().filter(e -> e.getKey().startsWith("kit.yaml") && e.getKey().endsWith("Service"))
                .findFirst().orElseThrow().getValue();
        JsonNode labels = deployment.path("spec").path("template").path("metadata").path("labels");
        service.path("spec").path("selector").properties().forEach(s ->
                assertThat(labels.path(s.getKey()).asText()).as("selector " + s.getKey()).isEqualTo(s.getValue().asText()));
        JsonNode kit = containersOf(podSpec(deployment)).stream().filter(DeploymentManifestsTest::isKit).findFirst().orElseThrow();
        assertThat(service.path("spec").path("ports")).hasSize(1);
        JsonNode port = service.path("spec").path("ports").get(0);
        assertThat(resolvePort(kit, port.path("targetPort"))).as("Service targetPort").isEqualTo(httpPort);
        assertThat(port.path("port").asInt()).isEqualTo(httpPort);
    }

    @Test
    void kustomizationListsFilesThatExist() {
        JsonNode k = documents.entrySet().stream().filter(e -> e.getKey().startsWith("kustomization.yaml"))
                .findFirst().orElseThrow().getValue();
        texts(k.path("resources")).forEach(r -> assertThat(DEPLOYMENT.resolve(r)).exists());
        // The PodMonitor needs the Prometheus Operator's CRDs: applied on its own, where they exist.
        assertThat(texts(k.path("resources"))).contains("kit.yaml").doesNotContain("sidecar-snippet.yaml", "podmonitor.yaml");
    }

    @Test
    void dockerfilesExposeOnlyTheKitPortAndRunAsNonRoot() throws IOException {
        String pomVersion = pomVersion();
        List<Path> dockerfiles;
        try (Stream<Path> files = Files.list(DOCKER)) {
            dockerfiles = files.filter(f -> f.getFileName().toString().startsWith("Dockerfile.")
                    && !f.getFileName().toString().endsWith(".dockerignore")).sorted().toList();
        }
        assertThat(dockerfiles.stream().map(f -> f.getFileName().toString()))
                .containsExactlyInAnyOrder("Dockerfile.jvm", "Dockerfile.native-micro", "Dockerfile.native-build");
        for (Path file : dockerfiles) {
            List<String[]> all = instructions(file);
            // The image that ships is the last stage.
            int lastFrom = 0;
            for (int i = 0; i < all.size(); i++) {
                if (all.get(i)[0].equals("FROM")) {
                    lastFrom = i;
                }
            }
            List<String[]> stage = all.subList(lastFrom, all.size());
            String name = file.getFileName().toString();
            assertThat(all).as(name + ": no HEALTHCHECK (orchestrated)").noneMatch(i -> i[0].equals("HEALTHCHECK"));
            List<String> exposed = new ArrayList<>();
            all.stream().filter(i -> i[0].equals("EXPOSE")).forEach(i -> exposed.addAll(List.of(i[1].split("\\s+"))));
            assertThat(exposed).as(name + " EXPOSE").containsExactly(Integer.toString(httpPort));
            String user = stage.stream().filter(i -> i[0].equals("USER")).reduce((a, b) -> b).map(i -> i[1].strip()).orElse("root");
            assertThat(user).as(name + " USER").isNotIn("root", "0", "0:0").doesNotStartWith("root:").doesNotStartWith("0:");
            String labels = String.join(" ", stage.stream().filter(i -> i[0].equals("LABEL")).map(i -> i[1]).toList());
            assertThat(labels).as(name + " labels").contains("org.opencontainers.image.version=", "org.opencontainers.image.source=");
            String args = String.join("\n", all.stream().filter(i -> i[0].equals("ARG")).map(i -> i[1]).toList());
            assertThat(args).as(name + ": the version label defaults to the pom's version").contains("VERSION=" + pomVersion);
            String entrypoint = stage.stream().filter(i -> i[0].equals("ENTRYPOINT")).reduce((a, b) -> b).map(i -> i[1]).orElse("");
            assertThat(entrypoint).as(name + " ENTRYPOINT in exec form (no shell)").startsWith("[");
            if (name.contains("native")) {
                assertThat(entrypoint).as(name + " runs the executable itself").contains("./application")
                        .doesNotContain("sh\"");
            }
        }
    }

    // ---- helpers

    /** Kit containers of the Deployments (not of the patch, which is partial). */
    private static List<JsonNode> kitContainers() {
        List<JsonNode> kits = new ArrayList<>();
        documents.forEach((where, doc) -> {
            if (!where.startsWith("privileged-expose-patch")) {
                containersOf(podSpec(doc)).stream().filter(DeploymentManifestsTest::isKit).forEach(kits::add);
            }
        });
        return kits;
    }

    private static List<JsonNode> allKitContainers() {
        List<JsonNode> kits = new ArrayList<>();
        documents.values().forEach(doc -> containersOf(podSpec(doc)).stream()
                .filter(c -> isKit(c) || c.path("name").asText().equals("kit")).forEach(kits::add));
        return kits;
    }

    private static Map<String, JsonNode> podSpecs() {
        Map<String, JsonNode> specs = new LinkedHashMap<>();
        documents.forEach((where, doc) -> {
            if (!where.startsWith("privileged-expose-patch") && !podSpec(doc).isMissingNode()) {
                specs.put(where, podSpec(doc));
            }
        });
        return specs;
    }

    private static JsonNode deployment(String file) {
        return documents.entrySet().stream().filter(e -> e.getKey().startsWith(file) && e.getKey().endsWith("Deployment"))
                .findFirst().orElseThrow().getValue();
    }

    private static JsonNode podSpec(JsonNode doc) {
        return doc.path("spec").path("template").path("spec");
    }

    private static List<JsonNode> containersOf(JsonNode podSpec) {
        List<JsonNode> all = new ArrayList<>();
        podSpec.path("containers").forEach(all::add);
        podSpec.path("initContainers").forEach(all::add);
        return all;
    }

    private static boolean isKit(JsonNode container) {
        String image = container.path("image").asText();
        return image.startsWith(KIT_IMAGE + ":") || image.contains("/" + KIT_IMAGE + ":");
    }

    private static int resolvePort(JsonNode container, JsonNode port) {
        if (port.isInt() || port.asText().matches("\\d+")) {
            return port.asInt();
        }
        for (JsonNode p : container.path("ports")) {
            if (p.path("name").asText().equals(port.asText())) {
                return p.path("containerPort").asInt();
            }
        }
        return -1;
    }

    private static Map<String, String> env(JsonNode container) {
        Map<String, String> env = new LinkedHashMap<>();
        container.path("env").forEach(e -> env.put(e.path("name").asText(), e.path("value").asText()));
        return env;
    }

    /** The {@code secretKeyRef} an environment variable of the container is read from; missing if none. */
    private static JsonNode secretRef(JsonNode container, String name) {
        for (JsonNode e : container.path("env")) {
            if (e.path("name").asText().equals(name)) {
                return e.path("valueFrom").path("secretKeyRef");
            }
        }
        throw new AssertionError(container.path("name").asText() + " has no env " + name);
    }

    private static List<String> texts(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    private static List<String> texts(JsonNode array, String field) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.path(field).asText()));
        return out;
    }

    private static long mebibytes(String quantity) {
        Matcher m = Pattern.compile("(\\d+)(Mi|Gi|M|G)?").matcher(quantity);
        if (!m.matches()) {
            return -1;
        }
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2) == null ? "" : m.group(2)) {
            case "Gi", "G" -> n * 1024;
            case "Mi", "M" -> n;
            default -> n / (1024 * 1024);
        };
    }

    private static String strip(String path) {
        return path.replaceAll("^/+|/+$", "");
    }

    /** Instructions of a Dockerfile as {keyword, rest}, continuation lines joined, comments dropped. */
    private static List<String[]> instructions(Path dockerfile) throws IOException {
        List<String[]> out = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        for (String line : Files.readAllLines(dockerfile)) {
            String t = line.strip();
            if (t.startsWith("#") || (t.isEmpty() && current.isEmpty())) {
                continue;
            }
            if (t.endsWith("\\")) {
                current.append(t, 0, t.length() - 1).append(' ');
                continue;
            }
            current.append(t);
            String text = current.toString().strip();
            current.setLength(0);
            if (text.isEmpty()) {
                continue;
            }
            int space = text.indexOf(' ');
            out.add(new String[]{text.substring(0, space < 0 ? text.length() : space).toUpperCase(Locale.ROOT),
                    space < 0 ? "" : text.substring(space + 1).strip()});
        }
        return out;
    }

    private static String pomVersion() throws IOException {
        String pom = Files.readString(Path.of("pom.xml"));
        // The project's own <version>, the first one after </parent> or after <artifactId>hoody-tunnel</artifactId>.
        Matcher m = Pattern.compile("<artifactId>hoody-tunnel</artifactId>\\s*<version>([^<]+)</version>").matcher(pom);
        assertThat(m.find()).as("project version in pom.xml").isTrue();
        return m.group(1);
    }
}
