package kurma.runtime;

import java.nio.file.Path;
import java.util.List;

/**
 * A container nobody waits for (kurma's daemonless detached containers): stdin from /dev/null,
 * stdout and stderr appended to {@code log}, and a small stage2 monitor that records the exit
 * status (see {@link Container#exitCode}) and then runs {@code exitCommand} (empty: none), as
 * conmon does for podman.
 */
public record Detached(Path log, List<String> exitCommand) {
    public Detached {
        exitCommand = List.copyOf(exitCommand);
    }
}
