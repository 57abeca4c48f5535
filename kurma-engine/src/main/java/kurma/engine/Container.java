package kurma.engine;

import java.nio.file.Path;

/**
 * A container as the engine sees it: its record, its bundle directory (config.json, rootfs,
 * the overlay's dirs, /etc files, log) and its state now.
 *
 * @param exitCode once {@link State#EXITED}: the code (128+signal when killed), or null when
 *     nothing was recorded
 */
public record Container(ContainerRecord record, Path bundle, State state, Integer exitCode) {

    public enum State {
        /** Made (bundle, root filesystem) and not started, or set up by the runtime and waiting for start. */
        CREATED,
        /** The runtime's create is under way (or died half-way: remove with force undoes it). */
        CREATING,
        RUNNING,
        PAUSED,
        EXITED;

        /** A container in this state has (or is about to have) processes: removing it takes force. */
        public boolean active() {
            return this == CREATED || this == RUNNING || this == PAUSED;
        }
    }

    public String id() {
        return record.id();
    }

    public String name() {
        return record.name();
    }
}
