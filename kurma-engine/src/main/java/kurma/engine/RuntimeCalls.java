package kurma.engine;

import java.nio.file.Path;
import java.util.List;

import kurma.runtime.ContainerRuntime;
import kurma.runtime.CreateRequest;
import kurma.runtime.Detached;
import kurma.runtime.KurmaException;
import kurma.runtime.RuntimeOptions;

/**
 * Every call the engine makes into kurma-runtime, in one place; the runtime's errors come out
 * as {@link EngineException}s with the runtime's message, coded from the runtime's code.
 */
final class RuntimeCalls {
    private final ContainerRuntime runtime;

    RuntimeCalls(Path runRoot, Path stage2) {
        this.runtime = ContainerRuntime.open(RuntimeOptions.of(runRoot).withStage2(stage2));
    }

    /**
     * Creates and starts the container of {@code bundle} with nobody attached: stdin from
     * /dev/null, stdout and stderr appended to {@code log}, and a stage2 monitor that records
     * the exit status and then runs {@code onExit} (empty: nothing).
     */
    void startDetached(String id, Path bundle, Path log, List<String> onExit) {
        try {
            runtime.create(CreateRequest.of(id, bundle).withDetached(new Detached(log, onExit))).start();
        } catch (KurmaException e) {
            throw runtime(e);
        }
    }

    /**
     * Runs the container of {@code bundle} in this process's foreground until it exits, then
     * deletes the runtime's state; returns the exit code (128+signal when killed). How it is
     * attached is the caller's ({@link Attachment}).
     */
    int runAttached(String id, Path bundle, Attachment attachment) {
        try {
            return attachment.run(runtime, CreateRequest.of(id, bundle));
        } catch (KurmaException e) {
            throw runtime(e);
        }
    }

    /** The runtime's view of a container. */
    record Status(Container.State state, Integer exitCode) {}

    /** The container's status, or null when the runtime has no state for it (never started, or deleted). */
    Status status(String id) {
        try {
            kurma.runtime.Container c = runtime.container(id);
            return switch (c.state().status()) {
                case CREATING -> new Status(Container.State.CREATING, null);
                case CREATED -> new Status(Container.State.CREATED, null);
                case RUNNING -> new Status(Container.State.RUNNING, null);
                case PAUSED -> new Status(Container.State.PAUSED, null);
                case STOPPED -> new Status(Container.State.EXITED, c.exitCode());
            };
        } catch (KurmaException gone) {
            return null;
        }
    }

    /** Kills what is left of the container (with force) and deletes its state; one the runtime has no state for is fine. */
    void delete(String id, boolean force) {
        try {
            runtime.container(id).delete(force);
        } catch (KurmaException e) {
            if (e.code() != KurmaException.Code.NOT_FOUND) throw runtime(e);
        }
    }

    private static EngineException runtime(KurmaException e) {
        EngineException.Code code = switch (e.code()) {
            case PROGRAM_NOT_FOUND -> EngineException.Code.PROGRAM_NOT_FOUND;
            case NOT_EXECUTABLE -> EngineException.Code.NOT_EXECUTABLE;
            default -> EngineException.Code.RUNTIME;
        };
        return new EngineException(code, e.getMessage(), e);
    }
}
