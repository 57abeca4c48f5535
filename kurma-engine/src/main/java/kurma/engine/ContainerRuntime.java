package kurma.engine;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import kurma.runtime.Containers;
import kurma.runtime.KurmaException;

/**
 * Every call the engine makes into kurma-runtime, in one place: the runtime's API is changing
 * (caller-owned stdio, typed results, a handle per container), and switching to it should
 * touch only this class. The runtime's errors come out as {@link EngineException}s with code
 * RUNTIME and the runtime's own message.
 */
final class ContainerRuntime {
    private final Path runRoot;

    ContainerRuntime(Path runRoot) {
        this.runRoot = runRoot;
    }

    /** A handle per call, as the runtime CLI has one per process: it holds no state of its own but the root. */
    private Containers containers() {
        return new Containers(runRoot);
    }

    /**
     * Creates and starts the container of {@code bundle} with nobody attached: stdin from
     * /dev/null, stdout and stderr appended to {@code log}, and a stage2 monitor that records
     * the exit status and then runs {@code onExit} (empty: nothing).
     */
    void startDetached(String id, Path bundle, Path log, List<String> onExit) {
        try {
            Containers c = containers();
            c.create(id, bundle, new Containers.CreateOptions(null, 0, false, null, 0, new Containers.Detached(log, onExit)));
            c.start(id);
        } catch (KurmaException e) {
            throw runtime(e);
        }
    }

    /**
     * Runs the container of {@code bundle} on this process's stdin, stdout and stderr (a
     * terminal relayed through them when the spec asks for one) until it exits, then deletes
     * the runtime's state; returns the exit code (128+signal when killed). While it runs, the
     * runtime passes the signals this process gets on to the container: this is the one call
     * that touches process-wide state, which is why it is for a foreground command only.
     */
    int runAttached(String id, Path bundle) {
        try {
            return containers().run(id, bundle, new Containers.CreateOptions(null, 0, false, null, 0, null));
        } catch (KurmaException e) {
            throw runtime(e);
        }
    }

    /** The runtime's view of a container. */
    record Status(Container.State state, Integer exitCode) {}

    /** The container's status, or null when the runtime has no state for it (never started, or deleted). */
    Status status(String id) {
        try {
            Containers c = containers();
            Map<String, Object> st = c.state(id);
            return switch ((String) st.get("status")) {
                case "creating" -> new Status(Container.State.CREATING, null);
                case "created" -> new Status(Container.State.CREATED, null);
                case "running" -> new Status(Container.State.RUNNING, null);
                case "paused" -> new Status(Container.State.PAUSED, null);
                default -> new Status(Container.State.EXITED, c.exitCode(id));
            };
        } catch (KurmaException gone) {
            return null;
        }
    }

    /** Kills what is left of the container (with force) and deletes its state; one the runtime has no state for is fine. */
    void delete(String id, boolean force) {
        try {
            containers().delete(id, force);
        } catch (KurmaException e) {
            if (!e.getMessage().contains("does not exist")) throw runtime(e);
        }
    }

    private static EngineException runtime(KurmaException e) {
        return new EngineException(EngineException.Code.RUNTIME, e.getMessage(), e);
    }
}
