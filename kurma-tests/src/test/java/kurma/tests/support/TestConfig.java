package kurma.tests.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * JVM-wide settings and fixtures: which runtime is under test, the busybox rootfs template
 * (built once with scripts/make-rootfs.sh) and the default config from {@code RUNTIME spec}.
 *
 * <p>System properties:
 * <ul>
 *   <li>{@code kurma.repo}: the repository root (surefire passes {@code ${project.basedir}/..});
 *       default: the parent of the working directory's {@code kurma-tests}, else the working directory.</li>
 *   <li>{@code kurma.runtime}: the runtime binary; default {@code <repo>/bin/kurma-runtime}.</li>
 *   <li>{@code kurma.runtime.kind}: {@code kurma} or {@code other}; default: {@code kurma} when the
 *       binary's file name starts with "kurma".</li>
 *   <li>{@code kurma.tests.runKurmaOnly}: {@code true} runs kurma-only tests on another runtime
 *       too (to see how it behaves; they may well fail there).</li>
 * </ul>
 */
public final class TestConfig {
    private TestConfig() {}

    private static Path rootfsTemplate;
    private static Map<String, Object> specTemplate;
    private static Path fixtureDir;

    public static Path repoRoot() {
        String p = System.getProperty("kurma.repo");
        if (p != null && !p.isBlank()) return Paths.get(p).toAbsolutePath().normalize();
        Path cwd = Paths.get("").toAbsolutePath();
        if (cwd.getFileName() != null && cwd.getFileName().toString().equals("kurma-tests")) return cwd.getParent();
        return cwd;
    }

    public static Path runtime() {
        String p = System.getProperty("kurma.runtime");
        if (p != null && !p.isBlank()) return Paths.get(p).toAbsolutePath().normalize();
        return repoRoot().resolve("bin/kurma-runtime");
    }

    /** True when the runtime under test is kurma (not runc, crun, ...). */
    public static boolean isKurma() {
        String kind = System.getProperty("kurma.runtime.kind");
        if (kind != null && !kind.isBlank()) return kind.trim().equalsIgnoreCase("kurma");
        return runtime().getFileName().toString().startsWith("kurma");
    }

    /** Whether kurma-only tests run: on kurma, or when forced with -Dkurma.tests.runKurmaOnly=true. */
    public static boolean runKurmaOnly() {
        return isKurma() || Boolean.getBoolean("kurma.tests.runKurmaOnly");
    }

    /** Fails (never skips) when the suite cannot run here at all. */
    public static synchronized void checkPrerequisites() {
        long euid = effectiveUid();
        if (euid != 0) {
            fail("kurma-tests create real containers and must run as root (uid 0); this JVM runs as euid "
                    + euid + ". Run the suite as root, e.g. `sudo mvn -pl kurma-tests test`.");
        }
        Path rt = runtime();
        if (!Files.isExecutable(rt)) {
            fail("runtime under test not found or not executable: " + rt
                    + " (build the CLI so bin/kurma-runtime exists, or pass -Dkurma.runtime=/path/to/runtime, e.g. /usr/sbin/runc)");
        }
    }

    static long effectiveUid() {
        try {
            for (String line : Files.readAllLines(Paths.get("/proc/self/status"))) {
                if (line.startsWith("Uid:")) return Long.parseLong(line.split("\\s+")[2]);
            }
        } catch (IOException | RuntimeException e) {
            fail("cannot read the effective uid from /proc/self/status: " + e);
        }
        fail("no Uid: line in /proc/self/status");
        return -1;
    }

    /** A JVM-wide scratch directory, removed at exit. */
    static synchronized Path fixtureDir() throws IOException {
        if (fixtureDir == null) {
            fixtureDir = Files.createTempDirectory("kurma-tests-fixture-");
            Path dir = fixtureDir;
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    SafeDelete.deleteTree(dir);
                } catch (IOException | RuntimeException e) {
                    System.err.println("kurma-tests: could not remove " + dir + ": " + e);
                }
            }));
        }
        return fixtureDir;
    }

    /** The busybox rootfs, built once per JVM with scripts/make-rootfs.sh. Never handed to a container directly. */
    public static synchronized Path rootfsTemplate() throws IOException, InterruptedException {
        if (rootfsTemplate == null) {
            Path script = repoRoot().resolve("scripts/make-rootfs.sh");
            if (!Files.isRegularFile(script)) fail("missing " + script + " (is kurma.repo right? it is " + repoRoot() + ")");
            Path dir = fixtureDir().resolve("rootfs");
            Result r = Proc.run(List.of("bash", script.toString(), dir.toString()), null, fixtureDir(), java.time.Duration.ofSeconds(120));
            if (r.exit() != 0) fail("make-rootfs.sh failed:\n" + r);
            if (!Files.isExecutable(dir.resolve("bin/busybox")) || !Files.isSymbolicLink(dir.resolve("bin/sh"))) {
                fail("make-rootfs.sh did not produce bin/busybox and bin/sh in " + dir);
            }
            rootfsTemplate = dir;
        }
        return rootfsTemplate;
    }

    /** The runtime's default config (from {@code RUNTIME spec --bundle DIR}), parsed once per JVM; callers get a deep copy. */
    public static synchronized Map<String, Object> specTemplate() throws IOException, InterruptedException {
        if (specTemplate == null) {
            Path dir = Files.createDirectory(fixtureDir().resolve("spec"));
            Path root = Files.createDirectory(fixtureDir().resolve("spec-root"));
            Result r = Proc.run(List.of(runtime().toString(), "--root", root.toString(), "spec", "--bundle", dir.toString()),
                    null, fixtureDir(), java.time.Duration.ofSeconds(60));
            if (r.exit() != 0) fail("`" + runtime() + " spec` failed:\n" + r);
            Path cfg = dir.resolve("config.json");
            if (!Files.isRegularFile(cfg)) fail("`spec --bundle " + dir + "` wrote no config.json\n" + r);
            specTemplate = Json.parseObject(Files.readString(cfg));
        }
        return Json.copy(specTemplate);
    }
}
