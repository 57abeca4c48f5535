package kurma.runtime;

import java.nio.file.Path;

/**
 * How a {@link ContainerRuntime} works: where its state lives and where stage2 is. Everything
 * the library would otherwise take from its process (system properties, the environment) is
 * decided by the caller and given here.
 *
 * @param root the state root (runc's --root): one directory per container
 * @param stage2 the stage2 executable
 * @param log where debug detail and warnings go
 * @param debug whether create writes its launch plan to the log
 * @param spares stage2 processes started ahead of this JVM (by the runtime CLI's launcher)
 * @param onSharedPidNamespace run before a container that shares this process's pid namespace
 *     is created (it could see this process in /proc): the runtime CLI makes itself non-dumpable
 *     there, so that /proc/PID/exe of the JVM stays out of reach; null: nothing
 */
public record RuntimeOptions(Path root, Path stage2, RuntimeLog log, boolean debug, Stage2Spares spares,
        Runnable onSharedPidNamespace) {

    /** Where a packaged Kurma puts stage2. */
    public static final Path DEFAULT_STAGE2 = Path.of("/usr/libexec/kurma/kurma-stage2");

    public RuntimeOptions {
        if (root == null) throw new IllegalArgumentException("root: null");
        root = root.toAbsolutePath();
        if (stage2 == null) stage2 = DEFAULT_STAGE2;
        if (log == null) log = RuntimeLog.STDERR;
        if (spares == null) spares = Stage2Spares.none();
    }

    /** Defaults for the rest: stage2 at {@link #DEFAULT_STAGE2}, warnings to stderr, no debug. */
    public static RuntimeOptions of(Path root) {
        return new RuntimeOptions(root, null, null, false, null, null);
    }

    public RuntimeOptions withStage2(Path path) {
        return new RuntimeOptions(root, path, log, debug, spares, onSharedPidNamespace);
    }

    public RuntimeOptions withLog(RuntimeLog l, boolean debugging) {
        return new RuntimeOptions(root, stage2, l, debugging, spares, onSharedPidNamespace);
    }

    public RuntimeOptions withSpares(Stage2Spares s) {
        return new RuntimeOptions(root, stage2, log, debug, s, onSharedPidNamespace);
    }

    public RuntimeOptions withOnSharedPidNamespace(Runnable r) {
        return new RuntimeOptions(root, stage2, log, debug, spares, r);
    }
}
