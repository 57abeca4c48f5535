package kurma.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import kurma.cgroups.Cgroup;
import kurma.cgroups.CgroupHost;
import kurma.cgroups.Resources;
import kurma.runtime.KurmaException.Code;
import kurma.runtime.plan.Plan;
import kurma.runtime.plan.PlanCompiler;
import kurma.spec.ConfigException;
import kurma.spec.Quote;
import kurma.spec.Spec;
import kurma.sys.LockedFile;

/**
 * One create, in stages: the config read and adjusted, the rootfs and cgroup resolved and the
 * plan compiling on a second thread, then the container made under its lock (state directory,
 * cgroup and limits, stage2 run to READY, device rules, state). On failure all of it is undone.
 * An instance is used once, by one thread.
 */
final class Create {
    /** A created container, and for a foreground one the stage2 monitor that reports its exit. */
    record Launched(StateRecord state, Stage2 stage2) {}

    private final RuntimeContext ctx;
    private final CreateRequest req;
    private final String id;
    private Path bundleDir;
    private Spec spec;
    private Path rootfs;
    private Cgroup cgroup;
    private Resources resources;

    Create(RuntimeContext ctx, CreateRequest req) {
        this.ctx = ctx;
        this.req = req;
        this.id = req.id();
    }

    Launched run() {
        StateStore.checkId(id);
        // The stage2 the launcher started, or else one spawned on a second thread (the JDK's
        // spawn costs ~13 ms of CPU) while this one parses and plans; stage2 prepares itself
        // until its plan arrives. On bad input it is killed.
        Stage2.Pending stage2 = Stage2.spawnAsync(ctx.options().stage2(), ctx.options().spares());
        try {
            readConfig();
            return resolveAndPlan(stage2);
        } catch (RuntimeException e) {
            stage2.abort();
            throw e;
        }
    }

    /** The config, adjusted for socket activation and NOTIFY_SOCKET. */
    private void readConfig() {
        bundleDir = req.bundle().toAbsolutePath().normalize();
        spec = req.spec() != null ? req.spec() : Specs.load(bundleDir);
        if (req.listenFds() > 0 && spec.process() != null) {
            spec = spec.withProcess(spec.process().withEnv(List.of("LISTEN_FDS=" + req.listenFds(), "LISTEN_PID=1")));
        }
        if (notifies()) {
            // The container gets a socket of its own (see NotifySocket), not the caller's.
            spec = spec.withProcess(spec.process().withVariable("NOTIFY_SOCKET", NotifySocket.CONTAINER_PATH));
        }
        if (spec.process() != null) checkConsole(spec.process().terminal(), req.consoleSocket());
    }

    private boolean notifies() {
        return req.notifySocket() != null && spec.process() != null;
    }

    /**
     * runc's rules: a terminal's master goes to the caller through a console socket (a caller in
     * the foreground relays it itself), and a console socket without a terminal is a mistake.
     */
    static void checkConsole(boolean terminal, String consoleSocket) {
        if (terminal && consoleSocket == null) {
            throw new KurmaException(Code.INVALID_ARGUMENT,
                    "process.terminal is true: a terminal needs --console-socket to send its master to");
        }
        if (!terminal && consoleSocket != null) {
            throw new KurmaException(Code.INVALID_ARGUMENT,
                    "--console-socket is given but process.terminal is false: there is no terminal to send");
        }
    }

    /** The rootfs and cgroup resolved, the config checked, the plan compiling on a second thread. */
    private Launched resolveAndPlan(Stage2.Pending pending) {
        rootfs = bundleDir.resolve(spec.root().path()).normalize();
        if (!Files.isDirectory(rootfs)) {
            throw new KurmaException(Code.INVALID_CONFIG, "root filesystem " + Quote.cut(rootfs.toString())
                    + " does not exist or is not a directory");
        }
        try {
            rootfs = rootfs.toRealPath();
        } catch (IOException e) {
            throw new KurmaException(Code.SYSTEM_ERROR, "root filesystem " + Quote.cut(rootfs.toString()) + ": " + e.getMessage(), e);
        }
        try {
            String path = spec.linux().cgroupsPath();
            // Only a relative cgroupsPath is taken from our own cgroup.
            boolean relative = path != null && !path.isEmpty() && !path.startsWith("/");
            cgroup = Cgroup.resolve(CgroupHost.detect(), path, id,
                    relative ? kurma.sys.ProcFs.read(Path.of("/proc/self/cgroup")) : "");
        } catch (IllegalArgumentException e) {
            throw new KurmaException(Code.INVALID_CONFIG, e.getMessage(), e);
        } catch (IOException e) {
            throw new KurmaException(Code.SYSTEM_ERROR, e.getMessage(), e);
        }
        try {
            resources = Resources.parse(spec.linux().resources());
        } catch (IllegalArgumentException e) {
            throw Specs.invalid(e);
        }
        Path dir = ctx.store().dir(id);
        PlanCompiler.Seccomp seccomp = Specs.seccomp(spec, ctx.store().root().resolve(".seccomp"));
        // Compiling the plan (which looks up paths in the rootfs) and making the cgroup (a
        // directory in every hierarchy) do not depend on each other: two threads.
        Detached d = req.detached();
        PlanCompiler.Detach detach = d == null ? null
                : new PlanCompiler.Detach("/dev/null", d.log().toAbsolutePath().toString(), d.exitCommand());
        Compiling compiling = Compiling.start(req.stdio().numbers(),
                new PlanCompiler.Context(spec, bundleDir, rootfs, dir, StateStore.FIFO, cgroup, req.noPivot(), req.foreground(),
                        Capabilities.lastCap(), seccomp, absolute(req.consoleSocket()), notifies() ? NotifySocket.dir(dir) : null,
                        detach));
        try {
            // The capability check reads /proc while the plan compiles.
            Spec.Namespace userns = spec.linux().namespace("user");
            Capabilities.checkAttainable(spec.process(), userns != null && (userns.path() == null || userns.path().isEmpty()),
                    "config.json: ");
            return make(pending, compiling);
        } finally {
            compiling.await(); // on failure too: nothing of this create outlives it
        }
    }

    /** A console socket path as stage2 gets it (it resolves nothing against our cwd). */
    static String absolute(String path) {
        return path == null ? null : Path.of(path).toAbsolutePath().toString();
    }

    /**
     * The container made: state directory (locked), cgroup and limits, stage2 run to READY,
     * device rules, state written. On failure all of it is undone.
     */
    private Launched make(Stage2.Pending pending, Compiling compiling) {
        StateStore store = ctx.store();
        Path dir = store.dir(id);
        // A process sharing our pid namespace could reach this process's binary through
        // /proc/PID/exe: the caller decides what to do about it (the runtime CLI makes itself
        // non-dumpable; only then is that native call, and its start-up cost, needed).
        Spec.Namespace pidns = spec.linux().namespace("pid");
        if ((pidns == null || (pidns.path() != null && !pidns.path().isEmpty())) && ctx.options().onSharedPidNamespace() != null) {
            ctx.options().onSharedPidNamespace().run();
        }

        // The default parent kurma/ stays, as Docker's docker/ does: making and removing it with
        // each container would double the cgroup work of a start (one directory per hierarchy,
        // ten on a v1 host).
        boolean sharedParent = spec.linux().cgroupsPath() == null || spec.linux().cgroupsPath().isEmpty();
        List<String> dirs = new ArrayList<>();
        for (Cgroup.Dir d : cgroup.dirs()) dirs.add(d.path().toString());
        // The first record, in place before anything else of the container exists: engines
        // SIGKILL a runtime that overruns its timeout, at any moment, and whatever this create
        // made by then must be found by delete --force and shown by list. It names the cgroup
        // directories about to be made; stage2's first process and the init follow as they come.
        int self = (int) ProcessHandle.current().pid();
        StateRecord record = new StateRecord(id, 0, -1, bundleDir.toString(), rootfs.toString(), kurma.sys.Clock.now(),
                spec.annotations(), dirs, strings(toCreate(cgroup, sharedParent)), List.of(), List.of(), 0,
                new StateRecord.Creating(self, ProcStat.startTime(self), 0, -1));

        List<Path> createdCgroups = List.of();
        boolean planned = false;
        boolean ok = false;
        // No mount namespace of its own: its mounts go into ours, on a bind of the rootfs that
        // stage2 makes on top of whatever is mounted there now.
        boolean hostMounts = spec.linux().namespace("mount") == null;
        long mountedBefore = hostMounts ? HostMounts.topMountId(rootfs) : 0;
        try (LockedFile lock = store.create(record)) {
            try {
                if (notifies()) {
                    try {
                        Files.createDirectory(NotifySocket.dir(dir));
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException("NOTIFY_SOCKET: " + e.getMessage(), e);
                    }
                }
                createdCgroups = cgroup.create();
                if (sharedParent) createdCgroups = withoutParents(createdCgroups, cgroup);
                Plan plan = compiling.plan(); // a config error: reported before any limit is checked
                planned = true;
                // Limits before any process of the container joins: none ever runs unlimited.
                cgroup.apply(resources);
                ctx.debugPlan("plan", plan);
                Stage2 launched = pending.get();
                ctx.debugStage2(launched);
                // Recorded before the plan goes: from then on stage2 acts, and killing it is how a
                // delete --force stops it (its death takes an init not yet ready along: PLAN.md).
                int stage2 = (int) launched.pid();
                record = record.withStage2(stage2, ProcStat.startTime(stage2), strings(createdCgroups),
                        spec.hooks().poststart(), spec.hooks().poststop());
                store.write(record);
                SyncPoints sync = new SyncPoints(launched.pid(), record);
                launched.run(plan, compiling.wire(), sync);
                // Device rules once the init has made its device nodes (a rule may deny mknod),
                // before the program runs.
                cgroup.applyDevices(resources);
                long hostMountId = hostMounts ? HostMounts.topMountId(rootfs) : 0;
                if (hostMountId == mountedBefore) hostMountId = 0; // (not ours: nothing to detach)
                // Only now "created" (runc's meaning: the init waits for start and the create is
                // done): until this replaces the create's record, state and list say "creating".
                StateRecord state = sync.record.createdState().withHostMountId(hostMountId);
                store.write(state);
                if (req.pidFile() != null) {
                    StateStore.writeAtomically(req.pidFile().toAbsolutePath(), Integer.toString(launched.initPid()));
                }
                if (!req.foreground()) launched.close();
                ok = true;
                return new Launched(state, launched);
            } finally {
                if (!ok) undo(createdCgroups, planned, hostMounts, mountedBefore);
            }
        } catch (kurma.sys.SysException | java.io.UncheckedIOException e) {
            throw new KurmaException(Code.SYSTEM_ERROR, e.getMessage(), e);
        }
    }

    /** A failed create: everything it made goes, and (once it got that far) the poststop hooks run. */
    private void undo(List<Path> createdCgroups, boolean planned, boolean hostMounts, long mountedBefore) {
        for (int pid : pidsOf(cgroup)) Processes.killForcibly(pid);
        if (hostMounts) {
            long top = HostMounts.topMountId(rootfs);
            if (top != mountedBefore) HostMounts.detach(rootfs.toString(), top);
        }
        Cgroup.remove(createdCgroups, cgroup.leaves());
        ctx.store().remove(id);
        // A failed create continues the lifecycle at destroy, then poststop (runtime-spec); a
        // config that does not compile never started one.
        if (planned && !spec.hooks().poststop().isEmpty()) {
            ctx.runHooksWarning("poststop", spec.hooks().poststop(),
                    Hooks.state(id, Status.STOPPED, 0, bundleDir.toString(), spec.annotations()));
        }
    }

    /**
     * The launch plan, compiled on a second thread (a class, not a lambda: a lambda costs a
     * bootstrap at start-up).
     */
    private static final class Compiling extends Thread {
        private final int[] fds;
        private final PlanCompiler.Context ctx;
        private Plan plan;
        private byte[] wire;
        private Throwable failure; // what stopped the compile, an Error included: never a null plan

        private Compiling(int[] fds, PlanCompiler.Context ctx) {
            super("compile-plan");
            this.fds = fds;
            this.ctx = ctx;
            setDaemon(true);
        }

        static Compiling start(int[] fds, PlanCompiler.Context ctx) {
            Compiling c = new Compiling(fds, ctx);
            c.start();
            return c;
        }

        @Override
        public void run() {
            try {
                plan = PlanCompiler.compile(ctx);
                wire = plan.encode(fds); // what goes down stage2's pipe, encoded here too
            } catch (RuntimeException | Error e) {
                failure = e;
            }
        }

        /** The encoded plan, once {@link #plan()} returned. */
        byte[] wire() {
            return wire;
        }

        void await() {
            Processes.joinFully(this);
        }

        /** The plan, or the config error that stopped it (join: the thread's writes are visible). */
        Plan plan() {
            await();
            if (failure instanceof ConfigException e) throw Specs.invalid(e);
            if (failure instanceof RuntimeException e) throw e;
            if (failure instanceof Error e) throw e;
            return plan;
        }
    }

    /**
     * The cgroup directories {@link Cgroup#create()} is about to make: those missing now, parents
     * first (less the shared default parent).
     */
    private static List<Path> toCreate(Cgroup cgroup, boolean sharedParent) {
        List<Path> out = new ArrayList<>();
        for (Cgroup.Dir d : cgroup.dirs()) {
            Path mount = Path.of(d.hierarchy().mountPoint());
            List<Path> missing = new ArrayList<>();
            // java.io.File: a missing directory is the common case, and NIO would build an exception.
            for (Path p = d.path(); p != null && p.startsWith(mount) && !p.toFile().isDirectory(); p = p.getParent()) {
                missing.addFirst(p);
            }
            out.addAll(missing);
        }
        return sharedParent ? withoutParents(out, cgroup) : out;
    }

    private static List<String> strings(List<Path> paths) {
        List<String> out = new ArrayList<>();
        for (Path p : paths) out.add(p.toString());
        return out;
    }

    /** created, less the parents of the container's own directories. */
    private static List<Path> withoutParents(List<Path> created, Cgroup cgroup) {
        List<Path> out = new ArrayList<>();
        for (Path p : created) {
            boolean parent = false;
            for (Path leaf : cgroup.leaves()) parent |= p.equals(leaf.getParent());
            if (!parent) out.add(p);
        }
        return out;
    }

    private static List<Integer> pidsOf(Cgroup cgroup) {
        try {
            return new ArrayList<>(cgroup.pids());
        } catch (RuntimeException e) {
            return List.of();
        }
    }

    /**
     * What the JVM does when stage2 stops at a SYNC point: write the id maps of a new user
     * namespace (the process in it may not), or (namespaces and mounts ready, root not pivoted)
     * run prestart and createRuntime in the runtime's namespaces, the container-side hooks
     * getting the same state. And when stage2 names the init: record it.
     */
    private final class SyncPoints implements Stage2.SyncHandler {
        private final long stage2Pid;
        private StateRecord record;

        SyncPoints(long stage2Pid, StateRecord record) {
            this.stage2Pid = stage2Pid;
            this.record = record;
        }

        @Override
        public void onInit(int initPid) {
            // Recorded at once, with its start time: a delete --force after this process dies
            // must find the init (it may be waiting for start already) and never a recycled pid.
            long start = ProcStat.startTime(initPid);
            if (start < 0) return; // gone already: its failure is what stage2 says next
            record = record.withInit(initPid, start);
            ctx.store().write(record);
        }

        @Override
        public byte[] onSync(int point, int initPid) {
            if (point == PlanCompiler.SYNC_ID_MAPS) {
                // Each map in one write, as the kernel requires; gid_map needs no setgroups
                // "deny" since we are privileged in the parent namespace.
                writeMap(Path.of("/proc", Long.toString(stage2Pid), "uid_map"), spec.linux().uidMappings());
                writeMap(Path.of("/proc", Long.toString(stage2Pid), "gid_map"), spec.linux().gidMappings());
                return new byte[0];
            }
            byte[] state = Hooks.state(id, Status.CREATING, initPid, bundleDir.toString(), spec.annotations());
            ctx.runHooks("prestart", spec.hooks().prestart(), state);
            ctx.runHooks("createRuntime", spec.hooks().createRuntime(), state);
            return state;
        }
    }

    private static void writeMap(Path file, List<Spec.IdMapping> mappings) {
        StringBuilder sb = new StringBuilder();
        for (Spec.IdMapping m : mappings) {
            sb.append(m.containerId()).append(' ').append(m.hostId()).append(' ').append(m.size()).append('\n');
        }
        try {
            Files.writeString(file, sb.toString());
        } catch (IOException e) {
            throw new KurmaException(Code.SYSTEM_ERROR, "writing " + file + ": " + e.getMessage(), e);
        }
    }
}
