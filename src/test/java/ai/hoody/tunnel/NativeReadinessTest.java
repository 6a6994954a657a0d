package ai.hoody.tunnel;

import io.quarkus.runtime.annotations.RegisterForReflection;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.IOException;
import java.io.InputStream;
import java.lang.annotation.Annotation;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassModel;
import java.lang.classfile.CodeElement;
import java.lang.classfile.MethodModel;
import java.lang.classfile.constantpool.ClassEntry;
import java.lang.classfile.constantpool.StringEntry;
import java.lang.classfile.instruction.ConstantInstruction;
import java.lang.classfile.instruction.InvokeInstruction;
import java.lang.classfile.instruction.NewObjectInstruction;
import java.lang.reflect.AccessibleObject;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.lang.reflect.WildcardType;
import java.net.URISyntaxException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Keeps the code ready for {@code ./mvnw package -Dnative}, which cannot run on our machines (no GraalVM/Mandrel, no
 * container engine). A native executable only sees, by reflection, what was registered at build time, and runs every
 * static initializer at build time (Quarkus 3.33 initializes all classes at build time unless told otherwise); neither
 * mistake shows on the JVM. So this plain JUnit test reads the compiled classes ({@code target/classes}) with the
 * JDK's class-file API and reflection (loading without initializing) and fails when:
 * <ul>
 *   <li>a record of the admin API ({@code kit.admin}), or a class the code hands to Jackson as a class literal, or a
 *       type inside one of those, is not registered with {@code @RegisterForReflection};</li>
 *   <li>a class picocli reaches by reflection (commands, mixins, classes declaring options, version providers,
 *       converters, picocli's own help mixin) is missing from {@code @RegisterForReflection} (see
 *       {@code cli.CliReflection});</li>
 *   <li>a static initializer opens a socket, starts a thread or an executor, creates an HTTP client, or seeds a random
 *       number generator (it would run inside the image builder and its result would be frozen into the image);</li>
 *   <li>code loads a class by name ({@code Class.forName}, {@code ClassLoader.loadClass});</li>
 *   <li>a file under {@code src/main/resources} is not listed in {@code quarkus.native.resources.includes}.</li>
 * </ul>
 */
class NativeReadinessTest {

    private static final String PACKAGE = "ai.hoody.tunnel.";
    private static final String ADMIN_PACKAGE = "ai.hoody.tunnel.kit.admin";
    private static final String AUTO_HELP_MIXIN = "picocli.CommandLine$AutoHelpMixin";
    private static final Path RESOURCES = Path.of("src/main/resources");

    private static final List<Class<? extends Annotation>> PICOCLI_MEMBER_ANNOTATIONS = List.of(
            CommandLine.Option.class, CommandLine.Parameters.class, CommandLine.Mixin.class, CommandLine.Spec.class,
            CommandLine.ParentCommand.class, CommandLine.ArgGroup.class, CommandLine.Unmatched.class);
    private static final List<Class<?>> PICOCLI_CALLBACKS = List.of(
            CommandLine.IVersionProvider.class, CommandLine.ITypeConverter.class,
            CommandLine.IDefaultValueProvider.class, CommandLine.IParameterConsumer.class,
            CommandLine.IParameterPreprocessor.class, CommandLine.IModelTransformer.class);

    /**
     * Calls that must not run in a static initializer: owner (internal name; a trailing {@code *} matches nested
     * classes such as {@code Thread$Builder$OfVirtual}) to method names ({@code *}: any).
     */
    private static final Map<String, Set<String>> FORBIDDEN_IN_STATIC_INIT = Map.ofEntries(
            Map.entry("java/lang/Thread", Set.of("start", "startVirtualThread", "<init>")),
            Map.entry("java/lang/Thread$Builder*", Set.of("start", "unstarted", "factory")),
            Map.entry("java/util/concurrent/Executors", Set.of("*")),
            Map.entry("java/util/concurrent/ThreadPoolExecutor", Set.of("<init>")),
            Map.entry("java/util/concurrent/ScheduledThreadPoolExecutor", Set.of("<init>")),
            Map.entry("java/util/concurrent/ForkJoinPool", Set.of("<init>")),
            Map.entry("java/util/concurrent/CompletableFuture", Set.of("runAsync", "supplyAsync")),
            Map.entry("java/util/Timer", Set.of("<init>")),
            Map.entry("java/net/Socket", Set.of("<init>")),
            Map.entry("java/net/ServerSocket", Set.of("<init>")),
            Map.entry("java/net/DatagramSocket", Set.of("<init>")),
            Map.entry("java/nio/channels/SocketChannel", Set.of("open")),
            Map.entry("java/nio/channels/ServerSocketChannel", Set.of("open")),
            Map.entry("java/nio/channels/DatagramChannel", Set.of("open")),
            Map.entry("java/nio/channels/AsynchronousSocketChannel", Set.of("open")),
            Map.entry("java/nio/channels/AsynchronousServerSocketChannel", Set.of("open")),
            Map.entry("java/nio/channels/Selector", Set.of("open")),
            Map.entry("java/net/http/HttpClient", Set.of("newHttpClient")),
            Map.entry("java/net/http/HttpClient$Builder", Set.of("build")),
            Map.entry("java/util/Random", Set.of("<init>")),
            Map.entry("java/security/SecureRandom", Set.of("<init>", "getInstance", "getInstanceStrong")),
            Map.entry("java/util/SplittableRandom", Set.of("<init>")),
            Map.entry("java/util/concurrent/ThreadLocalRandom", Set.of("current")),
            Map.entry("java/util/random/RandomGenerator", Set.of("of", "getDefault")),
            Map.entry("java/util/UUID", Set.of("randomUUID")),
            Map.entry("java/lang/Math", Set.of("random")),
            Map.entry("java/lang/ProcessBuilder", Set.of("start")),
            Map.entry("java/lang/Runtime", Set.of("exec")),
            Map.entry("io/vertx/core/Vertx", Set.of("vertx", "builder")));

    /** Calls that load a class by name, which the native image cannot follow. */
    private static final Map<String, Set<String>> CLASS_LOADING_BY_NAME = Map.of(
            "java/lang/Class", Set.of("forName"),
            "java/lang/ClassLoader", Set.of("loadClass"),
            "java/lang/invoke/MethodHandles$Lookup", Set.of("findClass"));

    /** Methods that take a class literal and have Jackson bind JSON to it by reflection. */
    private static final Map<String, Set<String>> JACKSON_BINDING = Map.of(
            "com/fasterxml/jackson/databind/ObjectMapper", Set.of("readValue", "treeToValue", "convertValue", "readerFor", "readValues"),
            "com/fasterxml/jackson/databind/json/JsonMapper", Set.of("readValue", "treeToValue", "convertValue", "readerFor", "readValues"),
            "com/fasterxml/jackson/databind/ObjectReader", Set.of("readValue", "forType", "treeToValue"),
            "ai/hoody/tunnel/cli/AdminClient", Set.of("read"));

    private static final Map<String, ClassModel> models = new TreeMap<>();
    private static final Map<String, Class<?>> classes = new TreeMap<>();
    private static final Set<String> registered = new TreeSet<>();

    @BeforeAll
    static void readCompiledClasses() throws IOException, URISyntaxException, ClassNotFoundException {
        // target/classes/ai/hoody/tunnel, found from a class that is surely there (a plain test: no Quarkus class loader).
        Path root = Path.of(NativeReadinessTest.class.getClassLoader()
                .getResource(PACKAGE.replace('.', '/') + "cli/Main.class").toURI())
                .getParent().getParent();
        assertThat(root.resolve("kit/admin")).as("compiled classes").isDirectory();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".class")).toList()) {
                ClassModel model = ClassFile.of().parse(file);
                String name = model.thisClass().asInternalName().replace('/', '.');
                models.put(name, model);
                classes.put(name, Class.forName(name, false, NativeReadinessTest.class.getClassLoader()));
            }
        }
        for (Class<?> c : classes.values()) {
            RegisterForReflection r = c.getAnnotation(RegisterForReflection.class);
            if (r == null) {
                continue;
            }
            if (r.targets().length == 0 && r.classNames().length == 0) {
                registered.add(c.getName());
            }
            Arrays.stream(r.targets()).map(Class::getName).forEach(registered::add);
            registered.addAll(Arrays.asList(r.classNames()));
        }
    }

    @Test
    void theScanSeesTheWholeCodeBase() {
        assertThat(classes).containsKeys(PACKAGE + "cli.Main", PACKAGE + "kit.admin.HealthResponse",
                PACKAGE + "protocol.ControlCodec", PACKAGE + "kit.KitLifecycle");
    }

    @Test
    void adminApiRecordsAreRegistered() {
        List<Class<?>> records = classes.values().stream()
                .filter(c -> c.getPackageName().equals(ADMIN_PACKAGE) && c.isRecord())
                .toList();
        assertThat(records).as("records in " + ADMIN_PACKAGE).isNotEmpty();
        Map<String, String> missing = new TreeMap<>();
        records.forEach(r -> requireRegisteredWithComponents(r, "admin API record", missing));
        assertThat(missing)
                .as("JSON types of the admin API without @RegisterForReflection (a native kit would answer with "
                        + "empty objects or fail to read them)")
                .isEmpty();
    }

    @Test
    void classesBoundByJacksonAreRegistered() {
        Map<String, String> missing = new TreeMap<>();
        Set<String> bound = new TreeSet<>();
        for (ClassModel model : models.values()) {
            for (MethodModel method : model.methods()) {
                List<String> literals = new ArrayList<>();
                method.code().ifPresent(code -> {
                    for (CodeElement e : code) {
                        if (e instanceof ConstantInstruction.LoadConstantInstruction ldc
                                && ldc.constantEntry() instanceof ClassEntry ce) {
                            literals.add(ce.asInternalName().replace('/', '.'));
                        } else if (e instanceof InvokeInstruction call && matches(JACKSON_BINDING, call)) {
                            literals.stream().filter(n -> n.startsWith(PACKAGE)).forEach(bound::add);
                            literals.clear();
                        }
                    }
                });
            }
        }
        assertThat(bound).as("classes handed to Jackson").isNotEmpty();
        for (String name : bound) {
            requireRegisteredWithComponents(classes.get(name), "read by Jackson", missing);
        }
        assertThat(missing).as("classes Jackson binds by reflection without @RegisterForReflection").isEmpty();
    }

    @Test
    void everythingPicocliReflectsOnIsRegistered() {
        Map<String, String> needed = new TreeMap<>();
        for (Class<?> c : classes.values()) {
            CommandLine.Command command = c.getAnnotation(CommandLine.Command.class);
            if (command != null) {
                needed.putIfAbsent(c.getName(), "@Command");
                if (command.mixinStandardHelpOptions()) {
                    needed.putIfAbsent(AUTO_HELP_MIXIN, "mixinStandardHelpOptions on " + c.getSimpleName());
                }
                own(needed, command.versionProvider(), "versionProvider of " + c.getSimpleName());
                own(needed, command.defaultValueProvider(), "defaultValueProvider of " + c.getSimpleName());
                own(needed, command.modelTransformer(), "modelTransformer of " + c.getSimpleName());
                own(needed, command.preprocessor(), "preprocessor of " + c.getSimpleName());
                for (Class<?> sub : command.subcommands()) {
                    own(needed, sub, "subcommand of " + c.getSimpleName());
                }
            }
            List<AccessibleObject> members = new ArrayList<>(Arrays.asList(c.getDeclaredFields()));
            members.addAll(Arrays.asList(c.getDeclaredMethods()));
            for (AccessibleObject member : members) {
                for (Class<? extends Annotation> a : PICOCLI_MEMBER_ANNOTATIONS) {
                    if (member.isAnnotationPresent(a)) {
                        needed.putIfAbsent(c.getName(), "declares @" + a.getSimpleName() + " " + member);
                    }
                }
                if (member instanceof Field f
                        && (f.isAnnotationPresent(CommandLine.Mixin.class) || f.isAnnotationPresent(CommandLine.ArgGroup.class))) {
                    own(needed, f.getType(), "type of " + c.getSimpleName() + "." + f.getName());
                }
                CommandLine.Option option = member.getAnnotation(CommandLine.Option.class);
                if (option != null) {
                    Arrays.stream(option.converter()).forEach(k -> own(needed, k, "converter of " + member));
                    own(needed, option.completionCandidates(), "completionCandidates of " + member);
                    own(needed, option.parameterConsumer(), "parameterConsumer of " + member);
                    own(needed, option.preprocessor(), "preprocessor of " + member);
                }
                CommandLine.Parameters parameters = member.getAnnotation(CommandLine.Parameters.class);
                if (parameters != null) {
                    Arrays.stream(parameters.converter()).forEach(k -> own(needed, k, "converter of " + member));
                    own(needed, parameters.completionCandidates(), "completionCandidates of " + member);
                    own(needed, parameters.parameterConsumer(), "parameterConsumer of " + member);
                    own(needed, parameters.preprocessor(), "preprocessor of " + member);
                }
            }
            if (!c.isInterface() && !Modifier.isAbstract(c.getModifiers())
                    && PICOCLI_CALLBACKS.stream().anyMatch(i -> i.isAssignableFrom(c))) {
                needed.putIfAbsent(c.getName(), "picocli instantiates it");
            }
        }
        assertThat(needed).as("classes picocli reaches by reflection").containsKey(PACKAGE + "cli.TunnelCli");
        Map<String, String> missing = new TreeMap<>(needed);
        missing.keySet().removeAll(registered);
        assertThat(missing)
                .as("classes picocli reaches by reflection that a native executable would not know: add them to "
                        + "@RegisterForReflection(targets = ...) in cli.CliReflection (picocli's own, by name, to classNames)")
                .isEmpty();
    }

    @Test
    void staticInitializersStartNothing() {
        List<String> problems = new ArrayList<>();
        for (ClassModel model : models.values()) {
            String owner = model.thisClass().asInternalName();
            Deque<MethodModel> todo = new ArrayDeque<>();
            Set<String> seen = new HashSet<>();
            model.methods().stream().filter(m -> m.methodName().equalsString("<clinit>")).forEach(todo::add);
            while (!todo.isEmpty()) {
                MethodModel method = todo.pop();
                if (!seen.add(method.methodName().stringValue() + method.methodType().stringValue())) {
                    continue;
                }
                method.code().ifPresent(code -> {
                    for (CodeElement e : code) {
                        if (e instanceof InvokeInstruction call) {
                            if (matches(FORBIDDEN_IN_STATIC_INIT, call)) {
                                problems.add(owner.replace('/', '.') + ": static initialization calls "
                                        + call.owner().asInternalName() + "." + call.name().stringValue());
                            }
                            // Follow helpers of the same class that the initializer calls (e.g. a private static
                            // method computing a constant).
                            if (call.owner().asInternalName().equals(owner)) {
                                model.methods().stream()
                                        .filter(m -> m.methodName().equalsString(call.name().stringValue())
                                                && m.methodType().equalsString(call.type().stringValue())
                                                && !m.methodName().equalsString("<init>"))
                                        .forEach(todo::add);
                            }
                        } else if (e instanceof NewObjectInstruction n
                                && forbidden(FORBIDDEN_IN_STATIC_INIT, n.className().asInternalName(), "<init>")) {
                            problems.add(owner.replace('/', '.') + ": static initialization creates "
                                    + n.className().asInternalName());
                        }
                    }
                });
            }
        }
        assertThat(problems)
                .as("static initializers run inside the native image builder; move this work to start-up (a CDI "
                        + "bean, a method called from main)")
                .isEmpty();
    }

    @Test
    void noClassIsLoadedByName() {
        List<String> problems = new ArrayList<>();
        for (ClassModel model : models.values()) {
            for (MethodModel method : model.methods()) {
                method.code().ifPresent(code -> {
                    for (CodeElement e : code) {
                        if (e instanceof InvokeInstruction call && matches(CLASS_LOADING_BY_NAME, call)) {
                            problems.add(model.thisClass().asInternalName().replace('/', '.') + "."
                                    + method.methodName().stringValue() + " calls " + call.owner().asInternalName()
                                    + "." + call.name().stringValue());
                        }
                    }
                });
            }
        }
        assertThat(problems).as("classes loaded by name are invisible to the native image's analysis").isEmpty();
    }

    @Test
    void resourcesAreDeclaredForTheNativeImage() throws IOException {
        Properties config = new Properties();
        try (InputStream in = Files.newInputStream(RESOURCES.resolve("application.properties"))) {
            config.load(in);
        }
        String includes = config.getProperty("quarkus.native.resources.includes", "");
        List<PathMatcher> globs = Arrays.stream(includes.split(","))
                .map(String::strip).filter(s -> !s.isEmpty())
                .map(g -> FileSystems.getDefault().getPathMatcher("glob:" + g))
                .toList();
        Set<String> needed = new TreeSet<>();
        try (Stream<Path> files = Files.walk(RESOURCES)) {
            files.filter(Files::isRegularFile)
                    .map(f -> RESOURCES.relativize(f).toString().replace('\\', '/'))
                    // application.properties is read at build time; META-INF/resources is served and included by Quarkus.
                    .filter(r -> !r.equals("application.properties") && !r.startsWith("META-INF/resources/"))
                    .forEach(needed::add);
        }
        // And every resource the code names (e.g. "/META-INF/hoody-tunnel.properties").
        for (ClassModel model : models.values()) {
            for (var entry : model.constantPool()) {
                if (entry instanceof StringEntry s) {
                    String r = s.stringValue().startsWith("/") ? s.stringValue().substring(1) : s.stringValue();
                    if (!r.isEmpty() && !r.equals("application.properties") && r.contains(".")
                            && Files.isRegularFile(RESOURCES.resolve(r))) {
                        needed.add(r);
                    }
                }
            }
        }
        assertThat(needed).as("resources").contains("META-INF/hoody-tunnel.properties");
        List<String> missing = needed.stream()
                .filter(r -> globs.stream().noneMatch(g -> g.matches(Path.of(r))))
                .toList();
        assertThat(missing)
                .as("resources a native executable would not contain: list them in quarkus.native.resources.includes "
                        + "(application.properties)")
                .isEmpty();
    }

    /** Requires {@code type} and every type of ours inside it (record components, fields, generic arguments). */
    private static void requireRegisteredWithComponents(Class<?> type, String why, Map<String, String> missing) {
        Deque<Class<?>> todo = new ArrayDeque<>(List.of(type));
        Set<Class<?>> seen = new HashSet<>();
        while (!todo.isEmpty()) {
            Class<?> c = todo.pop();
            if (!seen.add(c) || !c.getName().startsWith(PACKAGE) || c.isEnum()) {
                continue; // enums are handled by Jackson without reflection on members
            }
            if (!registered.contains(c.getName())) {
                missing.putIfAbsent(c.getName(), c == type ? why : "inside " + type.getSimpleName() + " (" + why + ")");
            }
            List<Type> inner = new ArrayList<>();
            if (c.isRecord()) {
                Arrays.stream(c.getRecordComponents()).map(RecordComponent::getGenericType).forEach(inner::add);
            } else {
                Arrays.stream(c.getDeclaredFields()).filter(f -> !Modifier.isStatic(f.getModifiers()))
                        .map(Field::getGenericType).forEach(inner::add);
            }
            inner.forEach(t -> collect(t, todo));
        }
    }

    private static void collect(Type t, Deque<Class<?>> into) {
        switch (t) {
            case Class<?> c -> into.add(c.isArray() ? c.getComponentType() : c);
            case ParameterizedType p -> {
                collect(p.getRawType(), into);
                Arrays.stream(p.getActualTypeArguments()).forEach(a -> collect(a, into));
            }
            case WildcardType w -> Arrays.stream(w.getUpperBounds()).forEach(a -> collect(a, into));
            default -> {
            }
        }
    }

    private static void own(Map<String, String> needed, Class<?> type, String why) {
        if (type.getName().startsWith(PACKAGE)) {
            needed.putIfAbsent(type.getName(), why);
        }
    }

    private static boolean matches(Map<String, Set<String>> table, InvokeInstruction call) {
        return forbidden(table, call.owner().asInternalName(), call.name().stringValue());
    }

    private static boolean forbidden(Map<String, Set<String>> table, String owner, String method) {
        for (var entry : table.entrySet()) {
            String key = entry.getKey();
            boolean ownerMatches = key.endsWith("*") ? owner.startsWith(key.substring(0, key.length() - 1)) : owner.equals(key);
            if (ownerMatches && (entry.getValue().contains("*") || entry.getValue().contains(method))) {
                return true;
            }
        }
        return false;
    }
}
