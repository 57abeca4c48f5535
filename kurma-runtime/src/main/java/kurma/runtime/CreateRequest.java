package kurma.runtime;

import java.nio.file.Path;

import kurma.spec.Spec;

/**
 * What to create: a container from a bundle directory, with its config read from the bundle's
 * config.json or given in memory, and everything else the caller decides.
 *
 * @param spec the config; null: read {@code bundle}/config.json
 * @param stdio the process's fds (see {@link Stdio}); its first {@code listenFds} extra fds are
 *     socket-activation fds, announced as LISTEN_FDS with LISTEN_PID=1, as runc does
 * @param consoleSocket where a terminal's master goes (process.terminal), or null
 * @param pidFile a file to write the init's pid to, or null
 * @param noPivot chroot-like MS_MOVE instead of pivot_root (runc's --no-pivot)
 * @param notifySocket the caller's NOTIFY_SOCKET: the container gets a socket of its own, and
 *     {@link Container#start(String)} relays its messages there; null: none
 * @param detached a container with its own log and exit record, or null
 * @param foreground the caller waits for the container's exit ({@link Container#waitForExit}):
 *     a stage2 monitor reports it
 */
public record CreateRequest(String id, Path bundle, Spec spec, Stdio stdio, int listenFds, String consoleSocket, Path pidFile,
        boolean noPivot, String notifySocket, Detached detached, boolean foreground) {

    public CreateRequest {
        if (id == null || bundle == null || stdio == null) throw new IllegalArgumentException("id, bundle and stdio are required");
        if (listenFds < 0 || listenFds > stdio.extra().size()) {
            throw new IllegalArgumentException("listenFds: " + listenFds + " of " + stdio.extra().size() + " extra fds");
        }
    }

    /** The bundle's own config, this process's stdio, nothing else. */
    public static CreateRequest of(String id, Path bundle) {
        return new CreateRequest(id, bundle, null, Stdio.inherited(0), 0, null, null, false, null, null, false);
    }

    public CreateRequest withSpec(Spec s) {
        return new CreateRequest(id, bundle, s, stdio, listenFds, consoleSocket, pidFile, noPivot, notifySocket, detached, foreground);
    }

    public CreateRequest withStdio(Stdio s, int listen) {
        return new CreateRequest(id, bundle, spec, s, listen, consoleSocket, pidFile, noPivot, notifySocket, detached, foreground);
    }

    public CreateRequest withConsoleSocket(String path) {
        return new CreateRequest(id, bundle, spec, stdio, listenFds, path, pidFile, noPivot, notifySocket, detached, foreground);
    }

    public CreateRequest withPidFile(Path path) {
        return new CreateRequest(id, bundle, spec, stdio, listenFds, consoleSocket, path, noPivot, notifySocket, detached, foreground);
    }

    public CreateRequest withNoPivot(boolean on) {
        return new CreateRequest(id, bundle, spec, stdio, listenFds, consoleSocket, pidFile, on, notifySocket, detached, foreground);
    }

    public CreateRequest withNotifySocket(String path) {
        return new CreateRequest(id, bundle, spec, stdio, listenFds, consoleSocket, pidFile, noPivot, path, detached, foreground);
    }

    public CreateRequest withDetached(Detached d) {
        return new CreateRequest(id, bundle, spec, stdio, listenFds, consoleSocket, pidFile, noPivot, notifySocket, d, foreground);
    }

    public CreateRequest withForeground(boolean on) {
        return new CreateRequest(id, bundle, spec, stdio, listenFds, consoleSocket, pidFile, noPivot, notifySocket, detached, on);
    }
}
