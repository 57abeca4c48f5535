package kurma.runtime;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
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
import kurma.sys.LockedFile;

/**
 * The OCI lifecycle over one state root: create, start, state, kill, delete. Each method
 * is one CLI invocation's worth of work and holds the container's lock while it works.
 */
public final class Containers {
    private final StateStore store;
    private final RuntimeLog log;
    private final boolean debug;
    private final Stage2Spares spares;

    public Containers(Path root) {
        this(root, RuntimeLog.STDERR, false, Stage2Spares.none());
    }

    /**
     * With debug set, create writes the launch plan to the log. spares: stage2 processes
     * already started (by the CLI's launcher), used before spawning new ones.
     */
    public Containers(Path root, RuntimeLog log, boolean debug, Stage2Spares spares) {
        this.store = new StateStore(root);
        this.log = log;
        this.debug = debug;
        this.spares = spares;
    }

    public StateStore store() {
        return store;
    }

    /** Options of {@code create} besides the bundle and id. */
    /**
     * Options of {@code create} besides the bundle and id. listenFds: socket-activation fds
     * (LISTEN_FDS) at 3..3+listenFds-1, passed to the container before the --preserve-fds ones,
     * with LISTEN_FDS and LISTEN_PID=1 in its environment, as runc does.
     */
    public record CreateOptions(Path pidFile, int preserveFds, boolean noPivot, String consoleSocket, int listenFds,
            Detached detached) {}

    /**
     * A container nobody waits for (kurma's daemonless detached containers): stdin from
     * /dev/null, stdout and stderr appended to {@code log}, and a small stage2 monitor that
     * records the exit status (see {@link #exitCode}) and then runs {@code exitCommand} (empty:
     * none), as conmon does for podman.
     */
    public record Detached(Path log, List<String> exitCommand) {}

    // ------------------------------------------------------------------ create

    /**
     * Creates a container: everything is set up and its init waits for {@link #start}. On
     * failure nothing is left behind: no process, cgroup or state directory.
     */
    public ContainerState create(String id, Path bundle, CreateOptions opts) {
        return launch(id, bundle, opts, false).state();
    }

    /** A created container, and for {@code run} the stage2 monitor that reports its exit. */
    private record Launched(ContainerState state, Stage2 stage2, TerminalRelay relay) {}

    private Launched launch(String id, Path bundle, CreateOptions opts, boolean monitor) {
        StateStore.checkId(id);
        // The stage2 the launcher started, or else one spawned on a second thread (the JDK's
        // spawn costs ~13 ms of CPU) while this one parses and plans; stage2 prepares itself
        // until its plan arrives. On bad input it is killed.
        Stage2.Pending stage2 = Stage2.spawnAsync(opts.listenFds() + opts.preserveFds(), spares);
        try {
            return launchBundle(id, bundle, opts, monitor, stage2);
        } catch (RuntimeException e) {
            stage2.abort();
            throw e;
        }
    }

    /** The config read and adjusted (LISTEN_FDS, NOTIFY_SOCKET, a foreground terminal's relay). */
    private Launched launchBundle(String id, Path bundle, CreateOptions opts, boolean monitor, Stage2.Pending pending) {
        Path bundleDir = bundle.toAbsolutePath().normalize();
        Spec spec = loadSpec(bundleDir);
        if (opts.listenFds() > 0 && spec.process() != null) {
            spec = spec.withProcess(spec.process().withEnv(List.of("LISTEN_FDS=" + opts.listenFds(), "LISTEN_PID=1")));
        }
        boolean notify = NotifySocket.host() != null && spec.process() != null;
        if (notify) {
            // The container gets a socket of its own (see NotifySocket), not the caller's.
            spec = spec.withProcess(spec.process().withVariable("NOTIFY_SOCKET", NotifySocket.CONTAINER_PATH));
        }
        TerminalRelay relay = null;
        if (monitor && spec.process() != null && spec.process().terminal() && opts.consoleSocket() == null) {
            // runc relays a foreground terminal itself: the same here, through a socket of our
            // own that stage2 connects to (so it must listen before the plan goes out).
            relay = TerminalRelay.listen(store.root().resolve(".console-" + id + ".sock"));
            opts = new CreateOptions(opts.pidFile(), opts.preserveFds(), opts.noPivot(), relay.socket().toString(),
                    opts.listenFds(), opts.detached());
        }
        try {
            return launchSpec(id, bundleDir, spec, opts, monitor, notify, pending, relay);
        } catch (RuntimeException e) {
            if (relay != null) relay.close();
            throw e;
        }
    }

    /** The rootfs and cgroup resolved, the config checked, the plan compiling on a second thread. */
    private Launched launchSpec(String id, Path bundleDir, Spec spec, CreateOptions opts, boolean monitor, boolean notify,
            Stage2.Pending pending, TerminalRelay relay) {
        if (spec.process() != null) checkConsole(spec.process().terminal(), opts.consoleSocket(), monitor);
        Path rootfs = bundleDir.resolve(spec.root().path()).normalize();
        if (!Files.isDirectory(rootfs)) {
            throw new KurmaException("root filesystem " + kurma.spec.Quote.cut(rootfs.toString()) + " does not exist or is not a directory");
        }
        try {
            rootfs = rootfs.toRealPath();
        } catch (IOException e) {
            throw new KurmaException("root filesystem " + kurma.spec.Quote.cut(rootfs.toString()) + ": " + e.getMessage(), e);
        }
        Cgroup cgroup;
        try {
            String path = spec.linux().cgroupsPath();
            // Only a relative cgroupsPath is taken from our own cgroup.
            boolean relative = path != null && !path.isEmpty() && !path.startsWith("/");
            cgroup = Cgroup.resolve(CgroupHost.detect(), path, id,
                    relative ? kurma.sys.ProcFs.read(Path.of("/proc/self/cgroup")) : "");
        } catch (IllegalArgumentException | IOException e) {
            throw new KurmaException(e.getMessage(), e);
        }
        kurma.cgroups.Resources resources;
        try {
            resources = kurma.cgroups.Resources.parse(spec.linux().resources());
        } catch (IllegalArgumentException e) {
            throw new KurmaException("config.json: " + e.getMessage(), e);
        }
        Path dir = store.dir(id);
        PlanCompiler.Seccomp seccomp = seccomp(spec);
        // Compiling the plan (which looks up paths in the rootfs) and making the cgroup (a
        // directory in every hierarchy) do not depend on each other: two threads.
        PlanCompiler.Detach detach = opts.detached() == null ? null : new PlanCompiler.Detach("/dev/null",
                opts.detached().log().toAbsolutePath().toString(), opts.detached().exitCommand());
        Compiling compiling = Compiling.start(opts.listenFds() + opts.preserveFds(),
                new PlanCompiler.Context(spec, bundleDir, rootfs, dir, StateStore.FIFO, cgroup, opts.noPivot(), monitor,
                        lastCap(), seccomp, absolute(opts.consoleSocket()), notify ? NotifySocket.dir(dir) : null, detach));
        try {
            // The capability check reads /proc while the plan compiles.
            Spec.Namespace userns = spec.linux().namespace("user");
            checkCapabilitiesAttainable(spec.process(), userns != null && (userns.path() == null || userns.path().isEmpty()),
                    "config.json: ");
            return launchPlanned(id, bundleDir, spec, opts, monitor, notify, pending, relay, rootfs, cgroup, resources,
                    compiling);
        } finally {
            compiling.await(); // on failure too: nothing of this create outlives it
        }
    }

    /**
     * The container made: state directory (locked), cgroup and limits, stage2 run to READY,
     * device rules, state written. On failure all of it is undone.
     */
    private Launched launchPlanned(String id, Path bundleDir, Spec spec, CreateOptions opts, boolean monitor,
            boolean notify, Stage2.Pending pending, TerminalRelay relay, Path rootfs, Cgroup cgroup,
            kurma.cgroups.Resources resources, Compiling compiling) {
        Path dir = store.dir(id);
        // A process in the container must not reach this JVM's binary through /proc/PID/exe.
        // Only one sharing our pid namespace can see this process at all; only then is the
        // native call (and its start-up cost) needed.
        Spec.Namespace pidns = spec.linux().namespace("pid");
        if (pidns == null || (pidns.path() != null && !pidns.path().isEmpty())) {
            Libc.prctl(Libc.PR_SET_DUMPABLE, 0);
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
        ContainerState record = new ContainerState(id, 0, -1, bundleDir.toString(), rootfs.toString(), kurma.sys.Clock.now(),
                spec.annotations(), dirs, strings(toCreate(cgroup, sharedParent)), List.of(), List.of(), 0,
                new ContainerState.Creating(self, ProcStat.startTime(self), 0, -1));

        List<Path> createdCgroups = List.of();
        boolean planned = false;
        boolean ok = false;
        // No mount namespace of its own: its mounts go into ours, on a bind of the rootfs that
        // stage2 makes on top of whatever is mounted there now.
        boolean hostMounts = spec.linux().namespace("mount") == null;
        long mountedBefore = hostMounts ? topMountId(rootfs) : 0;
        try (LockedFile lock = store.create(record)) {
            try {
                if (notify) {
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
                debugPlan("plan", plan);
                Stage2 launched = pending.get();
                debugStage2(launched);
                // Recorded before the plan goes: from then on stage2 acts, and killing it is how a
                // delete --force stops it (its death takes an init not yet ready along: PLAN.md).
                int stage2 = (int) launched.pid();
                record = record.withStage2(stage2, ProcStat.startTime(stage2), strings(createdCgroups),
                        spec.hooks().poststart(), spec.hooks().poststop());
                store.write(record);
                SyncPoints sync = new SyncPoints(id, spec, bundleDir, launched.pid(), store, record);
                launched.run(plan, compiling.wire(), sync);
                // Device rules once the init has made its device nodes (a rule may deny mknod),
                // before the program runs.
                cgroup.applyDevices(resources);
                long hostMountId = hostMounts ? topMountId(rootfs) : 0;
                if (hostMountId == mountedBefore) hostMountId = 0; // (not ours: nothing to detach)
                // Only now "created" (runc's meaning: the init waits for start and the create is
                // done): until this replaces the create's record, state and list say "creating".
                ContainerState state = sync.record().createdState().withHostMountId(hostMountId);
                store.write(state);
                if (opts.pidFile() != null) {
                    StateStore.writeAtomically(opts.pidFile().toAbsolutePath(), Integer.toString(launched.initPid()));
                }
                if (!monitor) launched.close();
                ok = true;
                return new Launched(state, launched, relay);
            } finally {
                if (!ok) {
                    for (int pid : pidsOf(cgroup)) killForcibly(pid);
                    if (hostMounts) {
                        long top = topMountId(rootfs);
                        if (top != mountedBefore) detachHostMounts(rootfs.toString(), top);
                    }
                    Cgroup.remove(createdCgroups, cgroup.leaves());
                    store.remove(id);
                    // A failed create continues the lifecycle at destroy, then poststop
                    // (runtime-spec); a config that does not compile never started one.
                    if (planned && !spec.hooks().poststop().isEmpty()) {
                        runWarning("poststop", spec.hooks().poststop(),
                                Hooks.state(id, Status.STOPPED, 0, bundleDir.toString(), spec.annotations()));
                    }
                }
            }
        } catch (kurma.sys.SysException | java.io.UncheckedIOException e) {
            throw new KurmaException(e.getMessage(), e);
        }
    }

    /**
     * The launch plan, compiled on a second thread (a class, not a lambda: a lambda costs a
     * bootstrap at start-up).
     */
    private static final class Compiling extends Thread {
        private final int preserveFds;
        private final PlanCompiler.Context ctx;
        private Plan plan;
        private byte[] wire;
        private Throwable failure; // what stopped the compile, an Error included: never a null plan

        private Compiling(int preserveFds, PlanCompiler.Context ctx) {
            super("compile-plan");
            this.preserveFds = preserveFds;
            this.ctx = ctx;
            setDaemon(true);
        }

        static Compiling start(int preserveFds, PlanCompiler.Context ctx) {
            Compiling c = new Compiling(preserveFds, ctx);
            c.start();
            return c;
        }

        @Override
        public void run() {
            try {
                plan = PlanCompiler.compile(ctx);
                wire = plan.encode(preserveFds); // what goes down stage2's pipe, encoded here too
            } catch (RuntimeException | Error e) {
                failure = e;
            }
        }

        /** The encoded plan, once {@link #plan()} returned. */
        byte[] wire() {
            return wire;
        }

        void await() {
            joinFully(this);
        }

        /** The plan, or the config error that stopped it (join: the thread's writes are visible). */
        Plan plan() {
            await();
            if (failure instanceof ConfigException e) throw new KurmaException("config.json: " + e.getMessage(), e);
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

    /**
     * What the JVM does when stage2 stops at a SYNC point: write the id maps of a new user
     * namespace (the process in it may not), or (namespaces and mounts ready, root not pivoted)
     * run prestart and createRuntime in the runtime's namespaces, the container-side hooks
     * getting the same state. And when stage2 names the init: record it.
     */
    private static final class SyncPoints implements Stage2.SyncHandler {
        private final String id;
        private final Spec spec;
        private final Path bundle;
        private final long stage2Pid;
        private final StateStore store;
        private ContainerState record;

        SyncPoints(String id, Spec spec, Path bundle, long stage2Pid, StateStore store, ContainerState record) {
            this.id = id;
            this.spec = spec;
            this.bundle = bundle;
            this.stage2Pid = stage2Pid;
            this.store = store;
            this.record = record;
        }

        /** The create's record, with the init once stage2 reported it. */
        ContainerState record() {
            return record;
        }

        @Override
        public void onInit(int initPid) {
            // Recorded at once, with its start time: a delete --force after this process dies
            // must find the init (it may be waiting for start already) and never a recycled pid.
            long start = ProcStat.startTime(initPid);
            if (start < 0) return; // gone already: its failure is what stage2 says next
            record = record.withInit(initPid, start);
            store.write(record);
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
            byte[] state = Hooks.state(id, Status.CREATING, initPid, bundle.toString(), spec.annotations());
            Hooks.run("prestart", spec.hooks().prestart(), state);
            Hooks.run("createRuntime", spec.hooks().createRuntime(), state);
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
            throw new KurmaException("writing " + file + ": " + e.getMessage(), e);
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
            text = kurma.spec.Json.utf8(Files.readAllBytes(config), "config.json");
        } catch (NoSuchFileException e) {
            throw new KurmaException("bundle " + kurma.spec.Quote.cut(bundle.toString()) + " has no config.json");
        } catch (IOException e) {
            throw new KurmaException("cannot read " + kurma.spec.Quote.cut(config.toString()) + ": " + e.getMessage(), e);
        } catch (JsonException e) {
            throw new KurmaException(e.getMessage(), e); // config.json is not valid UTF-8 (at byte offset N)
        }
        try {
            return Spec.parse(text);
        } catch (JsonException e) {
            throw new KurmaException("config.json is not valid JSON: " + e.getMessage(), e);
        } catch (ConfigException e) {
            throw new KurmaException("config.json: " + e.getMessage(), e);
        }
    }

    /** The config's seccomp filter, compiled (or from the cache under --root), or null. */
    private PlanCompiler.Seccomp seccomp(Spec spec) {
        kurma.seccomp.Profile profile;
        try {
            profile = kurma.seccomp.Profile.parse(spec.linux().seccomp());
        } catch (IllegalArgumentException e) {
            throw new KurmaException("config.json: " + e.getMessage(), e);
        }
        if (profile == null) return null;
        try {
            byte[] program = kurma.seccomp.Seccomp.program(profile, spec.linux().seccomp(), store.root().resolve(".seccomp"));
            return new PlanCompiler.Seccomp(program, profile.flags());
        } catch (IllegalArgumentException e) {
            throw new KurmaException("config.json: " + e.getMessage(), e);
        } catch (IllegalStateException e) {
            throw new KurmaException("compiling the seccomp filter: " + e.getMessage(), e);
        }
    }

    /**
     * Refuses a process that is to hold a capability outside this runtime's own bounding set
     * (e.g. CAP_SYS_RESOURCE on a host whose bounding set lacks it, as with Docker's
     * --privileged): no process here can get it. runc fails create the same way ("unable to
     * apply caps"); kurma sets capabilities after start, where a failure can no longer be
     * reported and the container would just exit 1. In a new (or another) user namespace the
     * process gets a full bounding set there, so nothing is checked.
     */
    private static void checkCapabilitiesAttainable(Spec.Process p, boolean ownUserNamespace, String prefix) {
        if (p == null || p.capabilities() == null || ownUserNamespace) return;
        long bounding;
        try {
            bounding = boundingSet(kurma.sys.ProcFs.read(Path.of("/proc/self/status")));
        } catch (IOException | NumberFormatException e) {
            return; // not knowable: stage2 will meet the kernel's answer
        }
        Spec.Capabilities c = p.capabilities();
        int last = lastCap();
        String[] sets = {"effective", "permitted", "inheritable", "ambient"};
        List<List<String>> names = Arrays.asList(c.effective(), c.permitted(), c.inheritable(), c.ambient());
        for (int i = 0; i < sets.length; i++) {
            if (names.get(i) == null) continue;
            String field = "process.capabilities." + sets[i];
            long missing;
            try {
                missing = kurma.runtime.plan.Linux.capMask(names.get(i), last, field) & ~bounding;
            } catch (ConfigException e) {
                throw new KurmaException(prefix + e.getMessage(), e);
            }
            if (missing != 0) {
                String cap = kurma.runtime.plan.Linux.CAPABILITIES.get(Long.numberOfTrailingZeros(missing));
                throw new KurmaException(prefix + field + ": " + cap + " is not in this host's capability bounding set,"
                        + " so no process here can have it");
            }
        }
    }

    /** The CapBnd mask of a /proc/PID/status text. */
    static long boundingSet(String status) {
        for (String line : status.split("\n")) {
            if (line.startsWith("CapBnd:")) return Long.parseUnsignedLong(line.substring(7).strip(), 16);
        }
        throw new NumberFormatException("no CapBnd line");
    }

    private static int lastCap() {
        try {
            return Integer.parseInt(kurma.sys.ProcFs.read(Path.of("/proc/sys/kernel/cap_last_cap")).trim());
        } catch (IOException | NumberFormatException e) {
            return 40;
        }
    }

    // ------------------------------------------------------------------ start

    /**
     * Releases a created container's init to exec the program: opening the fifo for reading
     * completes the init's blocked open for writing, and it writes one byte.
     */
    public void start(String id) {
        start(id, null);
    }

    /** start, with the state already in hand (run): no need to read it back. */
    private void start(String id, ContainerState known) {
        NotifySocket notify = null;
        ContainerState started;
        try (LockedFile lock = store.lock(id)) {
            ContainerState s = known != null ? known : store.read(id);
            Status st = status(s);
            if (st != Status.CREATED) {
                throw new KurmaException("cannot start container \"" + id + "\": it is " + st.text() + ", not created");
            }
            Path fifo = store.dir(id).resolve(StateStore.FIFO);
            // Bound before the program runs, so that no early message is lost.
            notify = NotifySocket.bind(store.dir(id));
            // A blocking open (no native call needed) on a helper thread, so that we can keep
            // checking the init is still alive instead of waiting forever.
            FifoReader reader = new FifoReader(fifo);
            reader.start();
            while (!join(reader, 20)) {
                if (!ProcStat.alive(s.pid(), s.pidStartTime())) {
                    // The init is gone: either it never wrote (the reader may still be blocked in
                    // its open) or it was released and its program already ended. An open of our
                    // own lets a blocked reader through to end-of-file; read-write, because that
                    // never blocks on a fifo, even when the reader has already finished.
                    try (var unblock = new java.io.RandomAccessFile(fifo.toFile(), "rw")) {
                        // opened and closed: no byte written
                    }
                    join(reader, 1000);
                    break;
                }
            }
            if (reader.got < 0) throw new KurmaException("container \"" + id + "\" exited before it could be started");
            Files.deleteIfExists(fifo);
            // poststart hooks: their failure is reported, but the container runs (runtime-spec).
            if (!s.poststart().isEmpty()) {
                runWarning("poststart", s.poststart(), Hooks.state(id, Status.RUNNING, s.pid(), s.bundle(), s.annotations()));
            }
            started = s;
        } catch (IOException e) {
            if (notify != null) notify.close();
            throw new KurmaException("starting \"" + id + "\": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            if (notify != null) notify.close();
            throw e;
        }
        if (notify != null) {
            // As runc: start returns once the container says READY=1 (or is gone); not under the lock.
            try (NotifySocket n = notify) {
                n.relayUntilReady(started.pid(), started.pidStartTime());
            }
        }
    }

    /** Opens the start fifo and reads the init's byte (a class, not a lambda: a lambda costs a bootstrap at start-up). */
    private static final class FifoReader extends Thread {
        private final Path fifo;
        volatile int got = -2;

        FifoReader(Path fifo) {
            super("start-fifo");
            this.fifo = fifo;
            setDaemon(true);
        }

        @Override
        public void run() {
            try (var in = new java.io.FileInputStream(fifo.toFile())) {
                got = in.read();
                // The init keeps the fifo open until it execs the program (after the
                // startContainer hooks): end-of-file means the program runs (or the init died).
                while (got >= 0 && in.read() >= 0) {
                    // a second byte is not part of the protocol: read to the end
                }
            } catch (IOException e) {
                got = -3;
            }
        }
    }

    /** Waits until t has ended, an interrupt kept for later (what t holds must not be abandoned). */
    static void joinFully(Thread t) {
        boolean interrupted = false;
        while (t.isAlive()) {
            try {
                t.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    private static boolean join(Thread t, long ms) {
        try {
            t.join(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return !t.isAlive();
    }

    // ------------------------------------------------------------------ state

    public Status status(ContainerState s) {
        ContainerState.Creating c = s.creating();
        if (c != null) {
            // A create's own record: "creating" while that create runs, and once it has died
            // (killed half-way) "stopped": nothing of it will ever run, delete removes what it made.
            return ProcStat.alive(c.creatorPid(), c.creatorStartTime()) ? Status.CREATING : Status.STOPPED;
        }
        if (!ProcStat.alive(s.pid(), s.pidStartTime())) return Status.STOPPED;
        // java.io.File: for a running container the fifo is gone, which NIO reports by an exception.
        if (store.dir(s.id()).resolve(StateStore.FIFO).toFile().exists()) return Status.CREATED;
        return kurma.cgroups.Freezer.frozen(s.cgroupDirPaths()) ? Status.PAUSED : Status.RUNNING;
    }

    // ------------------------------------------------------------------ exec

    /** Options of exec besides the process. */
    public record ExecOptions(boolean detach, Path pidFile, int preserveFds, String consoleSocket) {}

    /**
     * runc's rules: a terminal's master goes to the caller through --console-socket, and a
     * console socket without a terminal is a mistake. In the foreground without a socket, runc
     * would relay the terminal itself; Kurma does not (yet), and says so.
     */
    private static void checkConsole(boolean terminal, String consoleSocket, boolean foreground) {
        if (terminal && consoleSocket == null) {
            throw new KurmaException(foreground
                    ? "process.terminal is true: relaying a terminal in the foreground is not implemented; pass --console-socket"
                    : "process.terminal is true: a terminal needs --console-socket to send its master to");
        }
        if (!terminal && consoleSocket != null) {
            throw new KurmaException("--console-socket is given but process.terminal is false: there is no terminal to send");
        }
    }

    private static String absolute(String path) {
        return path == null ? null : Path.of(path).toAbsolutePath().toString();
    }

    /**
     * Runs a new process in a running container. {@code process} is null for "the container's
     * own process with these args" (runc's exec without --process); {@code edit} then applies
     * the command line's --env/--cwd/--user/--cap. Returns the exit code, or 0 when detached.
     */
    public int exec(String id, Spec.Process process, ExecOptions opts) {
        Stage2 stage2;
        ContainerState s;
        try (LockedFile lock = store.lock(id)) {
            s = store.read(id);
            Status st = status(s);
            if (st != Status.RUNNING) {
                throw new KurmaException("cannot exec in container \"" + id + "\": it is " + st.text() + ", not running");
            }
            Spec spec = loadSpec(Path.of(s.bundle()));
            checkConsole(process.terminal(), opts.consoleSocket(), !opts.detach());
            List<String> namespaces = new ArrayList<>();
            for (String n : new String[] {"user", "ipc", "uts", "net", "pid", "cgroup", "time", "mnt"}) {
                // Join where the init's namespace is not ours (what the container was given).
                try {
                    Path theirs = Path.of("/proc", Integer.toString(s.pid()), "ns", n);
                    if (!Files.readSymbolicLink(theirs).equals(Files.readSymbolicLink(Path.of("/proc/self/ns", n)))) {
                        namespaces.add(n);
                    }
                } catch (java.nio.file.NoSuchFileException kernelLacksIt) {
                    // e.g. no time namespaces on this kernel
                } catch (IOException e) {
                    throw new KurmaException("reading the namespaces of " + id + ": " + e.getMessage(), e);
                }
            }
            checkCapabilitiesAttainable(process, namespaces.contains("user"), "exec: ");
            Plan plan;
            try {
                plan = PlanCompiler.compileExec(new PlanCompiler.ExecContext(process, s.pid(), namespaces,
                        s.cgroupDirPaths(), !opts.detach(), lastCap(), seccomp(spec), absolute(opts.consoleSocket()),
                        s.hostMountId() != 0 ? s.rootfs() : null));
            } catch (ConfigException e) {
                throw new KurmaException("exec: " + e.getMessage(), e);
            }
            debugPlan("exec plan", plan);
            stage2 = spares.take(opts.preserveFds());
            if (stage2 == null) stage2 = Stage2.spawn(opts.preserveFds());
            debugStage2(stage2);
            stage2.run(plan, null);
        }
        if (opts.pidFile() != null) {
            StateStore.writeAtomically(opts.pidFile().toAbsolutePath(), Integer.toString(stage2.initPid()));
        }
        if (opts.detach()) {
            stage2.close();
            return 0;
        }
        SignalForwarder.forwardTo(stage2.initPid());
        return ProcStat.exitCode(stage2.awaitExit());
    }

    // ------------------------------------------------------------------ update, events

    /**
     * Changes the resource limits of a container that is not stopped: {@code resources} has the
     * shape of config.json's linux.resources. As with runc, device rules are not updated.
     */
    public void update(String id, Map<String, Object> resources) {
        kurma.cgroups.Resources r;
        try {
            r = kurma.cgroups.Resources.parse(resources);
        } catch (IllegalArgumentException e) {
            throw new KurmaException("update: " + e.getMessage(), e);
        }
        try (LockedFile lock = store.lock(id)) {
            ContainerState s = store.read(id);
            if (status(s) == Status.STOPPED) throw new KurmaException("cannot update container \"" + id + "\": it is stopped");
            try {
                hostCgroupOf(s).apply(r);
            } catch (java.io.UncheckedIOException e) {
                throw new KurmaException("update: " + e.getMessage(), e);
            }
        }
    }

    /** Resource usage of a container, in the shape of runc's stats event data; null when it has stopped. */
    public Map<String, Object> stats(String id) {
        try (LockedFile lock = store.lock(id)) {
            ContainerState s = store.read(id);
            if (status(s) == Status.STOPPED) return null;
            return kurma.cgroups.Stats.read(hostCgroupOf(s));
        }
    }

    /**
     * The exit code of a detached container that has exited (as recorded by its monitor:
     * 128+signal when killed), or null while it runs or when nothing was recorded.
     */
    public Integer exitCode(String id) {
        try (LockedFile lock = store.lock(id)) {
            ContainerState s = store.read(id);
            if (status(s) != Status.STOPPED) return null;
            try {
                return ProcStat.exitCode(Integer.parseInt(Files.readString(store.dir(id).resolve("exit")).trim()));
            } catch (NoSuchFileException none) {
                return null;
            } catch (IOException | NumberFormatException e) {
                throw new KurmaException("reading the exit status of \"" + id + "\": " + e.getMessage(), e);
            }
        }
    }

    /** OOM kills so far in the container's cgroup (-1: not counted here, or stopped). */
    public long oomKills(String id) {
        try (LockedFile lock = store.lock(id)) {
            ContainerState s = store.read(id);
            return status(s) == Status.STOPPED ? -1 : kurma.cgroups.Stats.oomKills(hostCgroupOf(s));
        }
    }

    /** The container's cgroup with each directory's host hierarchy (the state keeps only paths). */
    private static Cgroup hostCgroupOf(ContainerState s) {
        CgroupHost host = CgroupHost.detect();
        List<Cgroup.Dir> dirs = new ArrayList<>();
        for (Path d : s.cgroupDirPaths()) {
            for (kurma.cgroups.Hierarchy h : host.hierarchies()) {
                if (d.startsWith(Path.of(h.mountPoint()))) {
                    dirs.add(new Cgroup.Dir(h, d));
                    break;
                }
            }
        }
        return new Cgroup(dirs);
    }

    // ------------------------------------------------------------------ pause, resume, ps

    /** Freezes every process of a running container. */
    public void pause(String id) {
        freeze(id, Status.RUNNING, true);
    }

    /** Thaws a paused container. */
    public void resume(String id) {
        freeze(id, Status.PAUSED, false);
    }

    private void freeze(String id, Status from, boolean frozen) {
        try (LockedFile lock = store.lock(id)) {
            ContainerState s = store.read(id);
            Status st = status(s);
            if (st != from) {
                throw new KurmaException("cannot " + (frozen ? "pause" : "resume") + " container \"" + id + "\": it is "
                        + st.text() + ", not " + from.text());
            }
            kurma.cgroups.Freezer.set(s.cgroupDirPaths(), frozen);
        } catch (java.io.UncheckedIOException e) {
            throw new KurmaException((frozen ? "pause " : "resume ") + id + ": " + e.getMessage(), e);
        }
    }

    /** The process of the container's config.json (the base of exec without --process). */
    public Spec.Process configProcess(String id) {
        ContainerState s;
        try (LockedFile lock = store.lock(id)) {
            s = store.read(id);
        }
        Spec spec = loadSpec(Path.of(s.bundle()));
        if (spec.process() == null) throw new KurmaException("config.json of \"" + id + "\" has no process");
        return spec.process();
    }

    /** The host pids of every process of the container. */
    public List<Integer> pids(String id) {
        try (LockedFile lock = store.lock(id)) {
            return new ArrayList<>(cgroupOf(store.read(id)).pids());
        }
    }

    /** The OCI state of one container. */
    public Map<String, Object> state(String id) {
        // No lock, as runc takes none: state.json is replaced atomically, so this reads a whole
        // one; a container still being created has its create's record ("creating", or
        // "stopped" once that create has died). Engines ask for state often, and the lock (a
        // FileChannel: the JDK loads libnet and libnio for it) was most of this command's own time.
        ContainerState s = store.read(id);
        return s.toOci(status(s));
    }

    /** States of every container (one being created too); one being deleted right now may be skipped. */
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
        try (LockedFile lock = store.lock(id)) {
            ContainerState s = store.read(id);
            if (all) {
                for (int pid : cgroupOf(s).pids()) Libc.kill(pid, signal);
                return;
            }
            // Engines recognise a container that has already exited by runc's words "container
            // not running" (containerd's shim then reports "process already finished", podman
            // ignores the error); other words turn a harmless race with the exit into a failure.
            Status st = status(s);
            if (st == Status.STOPPED) throw new KurmaException("kill " + id + ": container not running (it has stopped)");
            if (s.pid() <= 0) throw new KurmaException("kill " + id + ": container not running (it is " + st.text() + ")");
            int r = Libc.kill(s.pid(), signal);
            if (r != 0 && r != Errno.ESRCH) {
                throw new KurmaException("kill " + id + ": " + Errno.describe(r) + " (" + Errno.name(r) + ")");
            }
        }
    }

    private static Cgroup cgroupOf(ContainerState s) {
        List<Cgroup.Dir> dirs = new ArrayList<>();
        for (Path d : s.cgroupDirPaths()) dirs.add(new Cgroup.Dir(null, d));
        return new Cgroup(dirs);
    }

    /** poststart and poststop hooks: a failure is a warning, the command goes on (runtime-spec). */
    private void runWarning(String kind, List<Spec.Hook> hooks, byte[] state) {
        try {
            Hooks.run(kind, hooks, state);
        } catch (KurmaException e) {
            log.warn(e.getMessage());
        }
    }

    /** --debug: the launch plan, step by step. */
    private void debugStage2(Stage2 s) {
        if (debug) log.debug("stage2: pid " + s.pid() + (s.fromLauncher() ? ", started by the launcher" : ", spawned"));
    }

    private void debugPlan(String name, Plan plan) {
        if (!debug) return;
        List<Plan.Step> steps = plan.steps();
        for (int i = 0; i < steps.size(); i++) log.debug(name + "[" + i + "] " + steps.get(i).description());
    }

    // ------------------------------------------------------------------ delete

    /**
     * Deletes a container: kills what is left of it, removes the cgroups it created and its
     * state. A running container needs force; a missing one is an error unless forced.
     */
    public void delete(String id, boolean force) {
        delete(id, force, null);
    }

    private void delete(String id, boolean force, ContainerState known) {
        kurma.sys.LockedFile lock;
        try {
            lock = store.lock(id);
        } catch (KurmaException e) {
            if (force && !Files.isDirectory(store.dir(id))) {
                store.removeAbandoned(id); // a create killed before its directory was in place
                return;
            }
            throw e;
        }
        try (lock) {
            ContainerState s;
            try {
                s = known != null ? known : store.read(id);
            } catch (KurmaException unreadable) {
                if (!force) throw unreadable;
                store.remove(id); // a state dir without state: a delete that died half-way
                return;
            }
            Status st = status(s);
            if ((st == Status.RUNNING || st == Status.PAUSED || st == Status.CREATING) && !force) {
                throw new KurmaException("cannot delete container \"" + id + "\" that is " + st.text() + " (use --force)");
            }
            Cgroup cg = cgroupOf(s);
            // A create's record (a create killed half-way): its stage2 first, before the plan
            // goes further (its death also takes an init not yet ready: PLAN.md), then the init.
            ContainerState.Creating c = s.creating();
            if (c != null) killIfAlive(c.stage2Pid(), c.stage2StartTime());
            killIfAlive(s.pid(), s.pidStartTime());
            // A frozen process only dies once thawed.
            if (st == Status.PAUSED) kurma.cgroups.Freezer.set(s.cgroupDirPaths(), false);
            // Everything else still in the container's cgroup goes too.
            for (int round = 0; round < 100; round++) {
                boolean any = ProcStat.alive(s.pid(), s.pidStartTime())
                        || (c != null && killIfAlive(c.stage2Pid(), c.stage2StartTime()));
                for (int p : cg.pids()) {
                    if (ProcStat.alive(p, -1)) {
                        any = true;
                        killForcibly(p);
                    }
                }
                if (!any) break;
                sleep(10);
            }
            if (s.hostMountId() != 0) detachHostMounts(s.rootfs(), s.hostMountId());
            List<String> left = Cgroup.remove(s.cgroupCreatedPaths(), cg.leaves());
            left.retainAll(s.cgroupDirs()); // shared parents may stay
            store.remove(id);
            // poststop hooks: after the container is gone; a failure is reported, not fatal.
            if (!s.poststop().isEmpty()) {
                runWarning("poststop", s.poststop(), Hooks.state(id, Status.STOPPED, 0, s.bundle(), s.annotations()));
            }
            if (!left.isEmpty()) throw new KurmaException("container \"" + id + "\" deleted, but cgroup " + left + " could not be removed");
        }
    }

    /** The id of the mount on top at path in our mount namespace, -1 for none. */
    private static long topMountId(Path path) {
        try {
            return kurma.sys.ProcFs.topMountId(path.toString());
        } catch (IOException e) {
            throw new KurmaException("reading /proc/self/mountinfo: " + e.getMessage(), e);
        }
    }

    /**
     * Detaches the rootfs bind a container without a mount namespace made in ours, and with it
     * every mount below it, if it is still the one on top there.
     */
    private static void detachHostMounts(String rootfs, long id) {
        if (topMountId(Path.of(rootfs)) != id) return;
        int r = kurma.sys.Fs.umount2(rootfs, kurma.sys.Fs.MNT_DETACH);
        if (r < 0 && r != -Errno.EINVAL) {
            throw new KurmaException("unmounting " + rootfs + ": " + Errno.describe(-r) + " (" + Errno.name(-r) + ")");
        }
    }

    /** SIGKILLs pid if it is still the process that started at startTime; whether it was alive. */
    private static boolean killIfAlive(int pid, long startTime) {
        if (pid <= 0 || startTime < 0 || !ProcStat.alive(pid, startTime)) return false;
        killForcibly(pid);
        return true;
    }

    /** SIGKILL without a native call of ours (ProcessHandle checks the pid is still that process). */
    static void killForcibly(int pid) {
        var h = ProcessHandle.of(pid);
        if (h.isPresent()) h.get().destroyForcibly();
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
        Launched l = launch(id, bundle, opts, true);
        TerminalRelay relay = l.relay();
        try {
            SignalForwarder.forwardTo(l.state().pid());
            try {
                if (relay != null) relay.start(System.in, System.out);
                start(id, l.state());
                int code = ProcStat.exitCode(l.stage2().awaitExit());
                if (relay != null) relay.drain();
                return code;
            } finally {
                delete(id, true, l.state());
            }
        } finally {
            if (relay != null) relay.close();
        }
    }
}
