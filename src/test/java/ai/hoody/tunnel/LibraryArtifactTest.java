package ai.hoody.tunnel;

import com.fasterxml.jackson.databind.cfg.PackageVersion;
import com.sun.source.tree.ClassTree;
import com.sun.source.tree.CompilationUnitTree;
import com.sun.source.tree.ImportTree;
import com.sun.source.tree.Tree;
import com.sun.source.util.DocTrees;
import com.sun.source.util.JavacTask;
import com.sun.source.util.TreePathScanner;
import io.netty.util.Version;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;

import javax.lang.model.element.Modifier;
import javax.tools.JavaCompiler;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.xpath.XPathFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The driver library (driver-lib/pom.xml) compiles the protocol, mux and driver packages of src/main/java: this keeps
 * them fit for it — every public type documented, nothing imported from the kit, the CLI or a framework — and keeps
 * its pom's versions those of this build (its own version, Jackson, Netty) and the example's.
 */
class LibraryArtifactTest {

    static final List<String> LIBRARY_PACKAGES = List.of("protocol", "mux", "driver");
    static final Path SOURCES = Path.of("src/main/java/ai/hoody/tunnel");

    private static List<Path> librarySources() throws IOException {
        List<Path> files = new ArrayList<>();
        for (String p : LIBRARY_PACKAGES) {
            try (Stream<Path> s = Files.walk(SOURCES.resolve(p))) {
                s.filter(f -> f.toString().endsWith(".java")).forEach(files::add);
            }
        }
        return files;
    }

    @Test
    void everyPublicTypeOfTheLibraryHasJavadocAndNoForbiddenImport() throws Exception {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        List<String> undocumented = new ArrayList<>();
        List<String> forbidden = new ArrayList<>();
        try (StandardJavaFileManager files = javac.getStandardFileManager(null, null, null)) {
            JavacTask task = (JavacTask) javac.getTask(null, files, null, List.of("-proc:none"), null,
                    files.getJavaFileObjectsFromPaths(librarySources()));
            DocTrees docs = DocTrees.instance(task);
            for (CompilationUnitTree unit : task.parse()) {
                for (ImportTree i : unit.getImports()) {
                    String name = i.getQualifiedIdentifier().toString();
                    boolean allowed = name.startsWith("java.") || name.startsWith("javax.") || name.startsWith("com.fasterxml.jackson.")
                            || name.startsWith("ai.hoody.tunnel.protocol.") || name.startsWith("ai.hoody.tunnel.mux.")
                            || name.startsWith("ai.hoody.tunnel.driver.")
                            || (name.startsWith("io.netty.") && unit.getSourceFile().getName().endsWith("HttpTarget.java"));
                    if (!allowed) {
                        forbidden.add(unit.getSourceFile().getName() + ": import " + name);
                    }
                }
                new TreePathScanner<Void, Void>() {
                    @Override
                    public Void visitClass(ClassTree c, Void v) {
                        boolean isPublic = c.getModifiers().getFlags().contains(Modifier.PUBLIC) || isInterfaceMember();
                        if (isPublic && isVisibleChain() && docs.getDocCommentTree(getCurrentPath()) == null) {
                            undocumented.add(unit.getSourceFile().getName() + ": " + c.getSimpleName());
                        }
                        return super.visitClass(c, v);
                    }

                    private boolean isInterfaceMember() {
                        Tree parent = getCurrentPath().getParentPath().getLeaf();
                        return parent instanceof ClassTree p && (p.getKind() == Tree.Kind.INTERFACE);
                    }

                    /** Public, and every enclosing type public: part of the API a user sees. */
                    private boolean isVisibleChain() {
                        for (var path = getCurrentPath().getParentPath(); path != null; path = path.getParentPath()) {
                            if (path.getLeaf() instanceof ClassTree outer && !outer.getModifiers().getFlags().contains(Modifier.PUBLIC)
                                    && outer.getKind() != Tree.Kind.INTERFACE) {
                                return false;
                            }
                        }
                        return true;
                    }
                }.scan(unit, null);
            }
        }
        assertThat(forbidden).as("imports the library cannot have").isEmpty();
        assertThat(undocumented).as("public types without Javadoc").isEmpty();
    }

    private static String xpath(Path pom, String expression) throws Exception {
        Document doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(pom.toFile());
        return XPathFactory.newInstance().newXPath().evaluate(expression, doc).strip();
    }

    @Test
    void theLibraryAndTheExampleHaveThisBuildsVersions() throws Exception {
        String version = xpath(Path.of("pom.xml"), "/project/version");
        Path lib = Path.of("driver-lib/pom.xml");
        assertThat(xpath(lib, "/project/version")).isEqualTo(version);
        assertThat(xpath(lib, "/project/properties/jackson.version")).isEqualTo(PackageVersion.VERSION.toString());
        String netty = Version.identify().get("netty-codec-http").artifactVersion();
        assertThat(xpath(lib, "/project/properties/netty.version")).isEqualTo(netty);
        try (Stream<Path> examples = Files.list(Path.of("examples"))) {
            for (Path e : examples.filter(Files::isDirectory).toList()) {
                Path pom = e.resolve("pom.xml");
                assertThat(xpath(pom, "/project/properties/hoody-tunnel.version")).as(pom.toString()).isEqualTo(version);
                assertThat(xpath(pom, "/project/dependencies/dependency[artifactId='netty-codec-http']/version"))
                        .as(pom.toString()).isEqualTo(netty);
                assertThat(Files.readString(pom)).as(pom + " must not pull Quarkus").doesNotContain("io.quarkus");
            }
        }
    }

    /** README "Use it from Java" shows code that CI runs: each snippet marked with its file must appear in it, line for line. */
    @Test
    void theReadmesJavaSnippetIsTheExamplesCode() throws Exception {
        String readme = Files.readString(Path.of("README.md"));
        java.util.regex.Matcher m = java.util.regex.Pattern
                .compile("<!-- snippet: (\\S+) -->\\s*```java\\n(.*?)```", java.util.regex.Pattern.DOTALL).matcher(readme);
        int found = 0;
        while (m.find()) {
            found++;
            String source = String.join("\n", Files.readString(Path.of(m.group(1))).lines().map(String::strip).toList());
            String snippet = String.join("\n", m.group(2).lines().map(String::strip).toList());
            assertThat(source).as("README snippet in " + m.group(1)).contains(snippet);
        }
        assertThat(found).isPositive();
    }
}
