package kurma.runtime;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import kurma.cgroups.Cgroup;
import kurma.cgroups.CgroupHost;
import kurma.runtime.plan.Plan;
import kurma.runtime.plan.PlanCompiler;
import kurma.spec.ConfigException;
import kurma.spec.JsonException;
import kurma.spec.Spec;
import kurma.sys.Errno;
import kurma.sys.Libc;

/**
 * The OCI lifecycle over one state root: create, start, state, kill, delete. Each method
 * is one CLI invocation's worth of work and holds the container's lock while it works.
 */
public final class Containers {
    private final StateStore store;

    public Containers(Path root) {
        this.store = new StateStore(root);
    }

    public StateStore store() {
        return store;
    }

    /** Options of {@code create} besides the bundle and id. */
    public record CreateOptions(Path pidFile, int preserveFds, boolean noPivot, String consoleSocket) {}

    // ------------------------------------------------------------------ create

    /**
     * Creates a container: everything is set up and its init waits for {@link #start}. On
     * failure nothing is left behind: no process, cgroup or state directory.
     */
    public ContainerState create(String id, Path bundle, CreateOptions opts) {
        StateStore.checkId(id);
        Path bundleDir = bundle.toAbsolutePath().normalize();
        Spec spec = loadSpec(bundleDir);
        if (spec.process() != null && spec.process().terminal()) {
            throw new KurmaException("config.json: process.terminal is true, but terminals are not implemented yet;"
                    + " set it to false");
        }
        Path rootfs = bundleDir.resolve(spec.root().path()).normalize();
        if (!Files.isDirectory(rootfs)) {
            throw new KurmaException("root filesystem " + rootfs + " does not exist or is not a directory");
        }
        try {
            rootfs = rootfs.toRealPath();
        } catch (IOException e) {
            throw new KurmaException("root filesystem " + rootfs + ": " + e.getMessage(), e);
        }
        Cgroup cgroup;
        try {
            cgroup = Cgroup.resolve(CgroupHost.detect(), spec.linux().cgroupsPath(), id,
                    Files.readString(Path.of("/proc/self/cgroup")));
        } catch (IllegalArgumentException | IOException e) {
            throw new KurmaException(e.getMessage(), e);
        }
        Path dir = store.dir(id);
        Plan plan;
        try {
            plan = PlanCompiler.compile(new PlanCompiler.Context(spec, bundleDir, rootfs, dir, StateStore.FIFO,
                    cgroup, opts.noPivot(), lastCap()));
        } catch (ConfigException e) {
            throw new KurmaException("config.json: " + e.getMessage(), e);
        }
        // A process in the container must not reach this JVM's binary through /proc/PID/exe.
        Libc.prctl(Libc.PR_SET_DUMPABLE, 0);

        List<Path> createdCgroups = List.of();
        boolean ok = false;
        try (StateStore.Lock lock = store.create(id)) {
            try {
                createdCgroups = cgroup.create();
                Libc.mkfifo(dir.resolve(StateStore.FIFO).toString(), 0622);
                Stage2.Launched launched = Stage2.launch(plan, opts.preserveFds());
                List<String> dirs = new ArrayList<>();
                for (Cgroup.Dir d : cgroup.dirs()) dirs.add(d.path().toString());
                List<String> created = new ArrayList<>();
                for (Path p : createdCgroups) created.add(p.toString());
                ContainerState state = new ContainerState(id, launched.pid(), ProcStat.startTime(launched.pid()),
                        bundleDir.toString(), rootfs.toString(), Instant.now().toString(), spec.annotations(),
                        dirs, created);
                store.write(state);
                if (opts.pidFile() != null) StateStore.writeAtomically(opts.pidFile().toAbsolutePath(), Integer.toString(launched.pid()));
                ok = true;
                return state;
            } finally {
                if (!ok) {
                    for (int pid : pidsOf(cgroup)) Libc.kill(pid, Libc.SIGKILL);
                    Cgroup.remove(createdCgroups);
                    store.remove(id);
                }
            }
        } catch (kurma.sys.SysException | java.io.UncheckedIOException e) {
            throw new KurmaException(e.getMessage(), e);
        }
    }

    private static List<Integer> pidsOf(Cgroup cgroup) {
        try {
            return new ArrayList<>(cgroup.pids());
        } catch (RuntimeException e) {
            return List.of();
        }
    }

    static Spec loadSpec(Path bundle) {
        Path config = bundle.resolve("config.json");
        String text;
        try {
            text = Files.readString(config);
        } catch (NoSuchFileException e) {
            throw new KurmaException("bundle " + bundle + " has no config.json");
        } catch (IOException e) {
            throw new KurmaException("cannot read " + config + ": " + e.getMessage(), e);
        }
        try {
            return Spec.parse(text);
        } catch (JsonException e) {
            throw new KurmaException("config.json is not valid JSON: " + e.getMessage(), e);
        } catch (ConfigException e) {
            throw new KurmaException("config.json: " + e.getMessage(), e);
        }
    }

    private static int lastCap() {
        try {
            return Integer.parseInt(Files.readString(Path.of("/proc/sys/kernel/cap_last_cap")).trim());
        } catch (IOException | NumberFormatException e) {
            return 40;
        }
    }

    // ------------------------------------------------------------------ start

    /** Releases a created container's init to exec the program. */
    public void start(String id) {
        try (StateStore.Lock lock = store.lock(id)) {
            ContainerState s = store.read(id);
            Status st = status(s);
            if (st != Status.CREATED) {
                throw new KurmaException("cannot start container \"" + id + "\": it is " + st.text() + ", not created");
            }
            Path fifo = store.dir(id).resolve(StateStore.FIFO);
            int fd = Libc.open(fifo.toString(), Libc.O_RDONLY | Libc.O_NONBLOCK | Libc.O_CLOEXEC);
            try (Arena a = Arena.ofConfined()) {
                // The init opens the fifo for writing and writes one byte; until then, keep
                // checking that it is still alive rather than waiting forever.
                while (true) {
                    int revents = Libc.pollOne(fd, Libc.POLLIN, 100);
                    if ((revents & Libc.POLLIN) != 0) {
                        MemorySegment b = a.allocate(1);
                        if (Libc.read(fd, b, 1) == 1) break;
                    }
                    if (!ProcStat.alive(s.pid(), s.pidStartTime())) {
                        throw new KurmaException("container \"" + id + "\" exited before it could be started");
                    }
                }
            } finally {
                Libc.close(fd);
            }
            Files.deleteIfExists(fifo);
        } catch (IOException e) {
            throw new KurmaException("starting \"" + id + "\": " + e.getMessage(), e);
        }
    }

    // ------------------------------------------------------------------ state

    public Status status(ContainerState s) {
        if (!ProcStat.alive(s.pid(), s.pidStartTime())) return Status.STOPPED;
        return Files.exists(store.dir(s.id()).resolve(StateStore.FIFO)) ? Status.CREATED : Status.RUNNING;
    }

    /** The OCI state of one container. */
    public Map<String, Object> state(String id) {
        try (StateStore.Lock lock = store.lock(id)) {
            ContainerState s = store.read(id);
            return s.toOci(status(s));
        }
    }

    /** States of every container; one being created or deleted right now is skipped. */
    public List<Map<String, Object>> list() {
        List<Map<String, Object>> out = new ArrayList<>();
        for (String id : store.ids()) {
            try {
                out.add(state(id));
            } catch (KurmaException gone) {
                // deleted between listing and reading
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ kill

    public void kill(String id, int signal, boolean all) {
        try (StateStore.Lock lock = store.lock(id)) {
            ContainerState s = store.read(id);
            if (all) {
                for (int pid : cgroupOf(s).pids()) Libc.kill(pid, signal);
                return;
            }
            if (status(s) == Status.STOPPED) throw new KurmaException("container \"" + id + "\" is not running");
            int r = Libc.kill(s.pid(), signal);
            if (r != 0 && r != Errno.ESRCH) {
                throw new KurmaException("kill " + id + ": " + Errno.describe(r) + " (" + Errno.name(r) + ")");
            }
        }
    }

    private static Cgroup cgroupOf(ContainerState s) {
        List<Cgroup.Dir> dirs = new ArrayList<>();
        for (String d : s.cgroupDirs()) dirs.add(new Cgroup.Dir(null, Path.of(d)));
        return new Cgroup(dirs);
    }

    // ------------------------------------------------------------------ delete

    /**
     * Deletes a container: kills what is left of it, removes the cgroups it created and its
     * state. A running container needs force; a missing one is an error unless forced.
     */
    public void delete(String id, boolean force) {
        StateStore.Lock lock;
        try {
            lock = store.lock(id);
        } catch (KurmaException e) {
            if (force && !Files.isDirectory(store.dir(id))) return;
            throw e;
        }
        try (lock) {
            ContainerState s;
            try {
                s = store.read(id);
            } catch (KurmaException unreadable) {
                if (!force) throw unreadable;
                store.remove(id); // a state dir without state: a create that died half-way
                return;
            }
            Status st = status(s);
            if (st == Status.RUNNING && !force) {
                throw new KurmaException("cannot delete container \"" + id + "\" that is running (use --force)");
            }
            Cgroup cg = cgroupOf(s);
            if (st != Status.STOPPED) Libc.kill(s.pid(), Libc.SIGKILL);
            // Everything else still in the container's cgroup goes too.
            for (int round = 0; round < 100; round++) {
                var pids = cg.pids();
                pids.removeIf(p -> !ProcStat.alive(p, -1));
                if (pids.isEmpty() && !ProcStat.alive(s.pid(), s.pidStartTime())) break;
                for (int p : pids) Libc.kill(p, Libc.SIGKILL);
                sleep(10);
            }
            List<String> left = Cgroup.remove(s.cgroupCreatedPaths());
            left.removeIf(p -> !s.cgroupDirs().contains(p)); // shared parents may stay
            store.remove(id);
            if (!left.isEmpty()) throw new KurmaException("container \"" + id + "\" deleted, but cgroup " + left + " could not be removed");
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ------------------------------------------------------------------ run

    /**
     * create + start + wait: returns the container's exit code (128+signal when killed), and
     * deletes it afterwards. Signals sent to this process are passed on to the container.
     */
    public int run(String id, Path bundle, CreateOptions opts) {
        ContainerState s = create(id, bundle, opts);
        SignalForwarder.forwardTo(s.pid());
        try {
            start(id);
            int status = Libc.waitpid(s.pid(), 0);
            return Libc.exitCode(status);
        } finally {
            delete(id, true);
        }
    }
}
