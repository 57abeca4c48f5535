package kurma.runtime;

import java.nio.file.Path;

import kurma.spec.Spec;

/**
 * A new process in a running container, with its own fds.
 *
 * @param detach the caller does not wait for its exit (no monitor stays)
 * @param pidFile a file to write its pid to, or null
 * @param consoleSocket where its terminal's master goes (process.terminal), or null
 */
public record ExecRequest(Spec.Process process, Stdio stdio, boolean detach, Path pidFile, String consoleSocket) {
    public ExecRequest {
        if (process == null || stdio == null) throw new IllegalArgumentException("process and stdio are required");
    }

    /** The process with this process's stdio, waited for. */
    public static ExecRequest of(Spec.Process process) {
        return new ExecRequest(process, Stdio.inherited(0), false, null, null);
    }
}
