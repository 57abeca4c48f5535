package kurma.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import kurma.cgroups.Resources;
import kurma.cgroups.Stats;
import kurma.runtime.KurmaException.Code;
import kurma.spec.Spec;
import kurma.sys.Errno;
import kurma.sys.Libc;
import kurma.sys.LockedFile;

/**
 * A handle on one container of a {@link ContainerRuntime}. It holds no lock and no state of its
 * own (the state root does): any number of handles, in any threads or processes, may act on the
 * same container, and each operation takes the container's lock while it works. A handle from a
 * foreground create also holds the monitor that reports the container's exit.
 */
public final class Container {
    private final RuntimeContext ctx;
    private final String id;
    /** The state from a create of this handle's own (saves reading it back), or null. */
    private final StateRecord created;
    /** A foreground create's stage2 monitor, or null. */
    private final Stage2 monitor;

    Container(RuntimeContext ctx, String id, StateRecord created, Stage2 monitor) {
        this.ctx = ctx;
        this.id = id;
        this.created = created;
        this.monitor = monitor;
    }

    public String id() {
        return id;
    }

    /** The OCI state now. Takes no lock, as runc takes none: state.json is replaced atomically. */
    public ContainerState state() {
        // Engines ask for state often, and the lock (a FileChannel: the JDK loads libnet and
        // libnio for it) was most of this command's own time.
        StateRecord s = ctx.store().read(id);
        return s.toState(ctx.status(s));
    }

    /**
     * The init's pid as this process sees it: for a handle from create, the one it made (no
     * state to read back: a foreground command forwards signals to it before start); otherwise
     * as the state records it. 0 while a create has not got that far.
     */
    public int pid() {
        return created != null ? created.pid() : ctx.store().read(id).pid();
    }

    /** Releases a created container's program. */
    public void start() {
        start(null);
    }

    /**
     * start, relaying the container's sd_notify messages to notifySocket (the caller's
     * NOTIFY_SOCKET, for a container created with one) until it says READY=1.
     */
    public void start(String notifySocket) {
        Start.start(ctx, id, created, notifySocket);
    }

    /** Sends signal to the container's init. */
    public void kill(int signal) {
        try (LockedFile lock = ctx.store().lock(id)) {
            StateRecord s = ctx.store().read(id);
            // Engines recognise a container that has already exited by runc's words "container
            // not running" (containerd's shim then reports "process already finished", podman
            // ignores the error); other words turn a harmless race with the exit into a failure.
            Status st = ctx.status(s);
            if (st == Status.STOPPED) throw new KurmaException(Code.NOT_RUNNING, "kill " + id + ": container not running (it has stopped)");
            if (s.pid() <= 0) {
                throw new KurmaException(Code.NOT_RUNNING, "kill " + id + ": container not running (it is " + st.text() + ")");
            }
            int r = Libc.kill(s.pid(), signal);
            if (r != 0 && r != Errno.ESRCH) {
                throw new KurmaException(r == Errno.EPERM ? Code.PERMISSION_DENIED : Code.SYSTEM_ERROR,
                        "kill " + id + ": " + Errno.describe(r) + " (" + Errno.name(r) + ")", null, r, null);
            }
        }
    }

    /** Sends signal to every process of the container (runc's kill --all). */
    public void killAll(int signal) {
        try (LockedFile lock = ctx.store().lock(id)) {
            for (int pid : RuntimeContext.cgroupOf(ctx.store().read(id)).pids()) Libc.kill(pid, signal);
        }
    }

    /** Runs a new process in the running container. */
    public ExecProcess exec(ExecRequest request) {
        return Exec.exec(ctx, id, request);
    }

    /** Freezes every process of a running container. */
    public void pause() {
        freeze(Status.RUNNING, true);
    }

    /** Thaws a paused container. */
    public void resume() {
        freeze(Status.PAUSED, false);
    }

    private void freeze(Status from, boolean frozen) {
        try (LockedFile lock = ctx.store().lock(id)) {
            StateRecord s = ctx.store().read(id);
            Status st = ctx.status(s);
            if (st != from) {
                throw new KurmaException(st == Status.STOPPED ? Code.NOT_RUNNING : Code.WRONG_STATE, "cannot "
                        + (frozen ? "pause" : "resume") + " container \"" + id + "\": it is " + st.text() + ", not " + from.text());
            }
            kurma.cgroups.Freezer.set(s.cgroupDirPaths(), frozen);
        } catch (java.io.UncheckedIOException e) {
            throw new KurmaException(Code.SYSTEM_ERROR, (frozen ? "pause " : "resume ") + id + ": " + e.getMessage(), e);
        }
    }

    /** New resource limits for a container that has not stopped; as with runc, device rules stay. */
    public void update(Resources resources) {
        try (LockedFile lock = ctx.store().lock(id)) {
            StateRecord s = ctx.store().read(id);
            if (ctx.status(s) == Status.STOPPED) {
                throw new KurmaException(Code.NOT_RUNNING, "cannot update container \"" + id + "\": it is stopped");
            }
            try {
                RuntimeContext.hostCgroupOf(s).apply(resources);
            } catch (java.io.UncheckedIOException e) {
                throw new KurmaException(Code.SYSTEM_ERROR, "update: " + e.getMessage(), e);
            } catch (IllegalArgumentException e) {
                throw new KurmaException(Code.UNSUPPORTED, "update: " + e.getMessage(), e);
            }
        }
    }

    /** Resource usage now; null once the container has stopped. */
    public Stats stats() {
        try (LockedFile lock = ctx.store().lock(id)) {
            StateRecord s = ctx.store().read(id);
            if (ctx.status(s) == Status.STOPPED) return null;
            return Stats.read(RuntimeContext.hostCgroupOf(s));
        }
    }

    /**
     * Reports the container's events until it stops, or until sink returns false: its usage
     * every intervalMs, preceded by an {@link ContainerEvent.Oom} when the OOM killer struck in
     * between (as runc's {@code events}). Blocks the calling thread while it waits.
     */
    public void events(long intervalMs, java.util.function.Predicate<ContainerEvent> sink) throws InterruptedException {
        if (intervalMs <= 0) throw new IllegalArgumentException("events: interval must be positive, got " + intervalMs);
        long ooms = oomKills();
        while (true) {
            Stats stats = stats();
            if (stats == null) return;
            long now = oomKills();
            if (now > ooms && ooms >= 0 && !sink.test(new ContainerEvent.Oom(id))) return;
            ooms = now;
            if (!sink.test(new ContainerEvent.Usage(id, stats))) return;
            Thread.sleep(intervalMs);
        }
    }

    /** OOM kills so far in the container's cgroup (-1: not counted here, or stopped). */
    public long oomKills() {
        try (LockedFile lock = ctx.store().lock(id)) {
            StateRecord s = ctx.store().read(id);
            return ctx.status(s) == Status.STOPPED ? -1 : Stats.oomKills(RuntimeContext.hostCgroupOf(s));
        }
    }

    /**
     * The exit code of a detached container that has exited (as its monitor recorded it:
     * 128+signal when killed), or null while it runs or when nothing was recorded.
     */
    public Integer exitCode() {
        try (LockedFile lock = ctx.store().lock(id)) {
            StateRecord s = ctx.store().read(id);
            if (ctx.status(s) != Status.STOPPED) return null;
            try {
                return ProcStat.exitCode(Integer.parseInt(Files.readString(ctx.store().dir(id).resolve("exit")).trim()));
            } catch (NoSuchFileException none) {
                return null;
            } catch (IOException | NumberFormatException e) {
                throw new KurmaException(Code.SYSTEM_ERROR, "reading the exit status of \"" + id + "\": " + e.getMessage(), e);
            }
        }
    }

    /**
     * Waits for a foreground container to exit (see {@link CreateRequest#foreground()}) and
     * returns its exit code (128+signal when killed).
     */
    public synchronized int waitForExit() {
        if (monitor == null) throw new IllegalStateException("container " + id + " was not created in the foreground");
        return ProcStat.exitCode(monitor.awaitExit());
    }

    /** The process of the container's config.json (the base of exec without a process of its own). */
    public Spec.Process process() {
        StateRecord s;
        try (LockedFile lock = ctx.store().lock(id)) {
            s = ctx.store().read(id);
        }
        Spec spec = Specs.load(Path.of(s.bundle()));
        if (spec.process() == null) throw new KurmaException(Code.INVALID_CONFIG, "config.json of \"" + id + "\" has no process");
        return spec.process();
    }

    /** The host pids of every process of the container. */
    public List<Integer> pids() {
        try (LockedFile lock = ctx.store().lock(id)) {
            return new ArrayList<>(RuntimeContext.cgroupOf(ctx.store().read(id)).pids());
        }
    }

    /**
     * Deletes the container: what is left of it is killed, what it made is removed, its poststop
     * hooks run. A running (or paused, or being created) container needs force; so does a missing one.
     */
    public void delete(boolean force) {
        Delete.delete(ctx, id, force, created);
    }
}
