package kurma.runtime.plan;

import static kurma.runtime.plan.MountOptions.MS_BIND;
import static kurma.runtime.plan.MountOptions.MS_NODEV;
import static kurma.runtime.plan.MountOptions.MS_NOEXEC;
import static kurma.runtime.plan.MountOptions.MS_NOSUID;
import static kurma.runtime.plan.MountOptions.MS_RDONLY;
import static kurma.runtime.plan.MountOptions.MS_REC;
import static kurma.runtime.plan.MountOptions.MS_REMOUNT;
import static kurma.runtime.plan.MountOptions.MS_SLAVE;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import kurma.cgroups.Cgroup;
import kurma.spec.ConfigException;
import kurma.spec.Quote;
import kurma.spec.Spec;

/**
 * Compiles a container's config into the launch plan stage2 executes. All decisions live
 * here: ordering, defaults, which devices exist, how a cgroup mount is built. The order
 * follows what the kernel requires: join the cgroup before creating a cgroup namespace,
 * create namespaces before forking into the new pid namespace, mount before pivot_root,
 * resolve the program and wait for {@code start} while still root, switch user last.
 */
public final class PlanCompiler {

    /** Everything the plan depends on besides config.json. */
    public record Context(Spec spec, Path bundle, Path rootfs, Path stateDir, String fifoName, Cgroup cgroup,
            boolean noPivot, boolean monitor, int lastCap, Seccomp seccomp, String consoleSocket, Path notifyDir,
            Detach detach) {}

    /**
     * A container no caller waits for (a daemonless engine's detached container): stdin from
     * {@code stdin}, stdout and stderr appended to {@code log}, and a stage2 monitor that stays
     * to record the exit status in the state dir, then runs {@code exitCommand} (if not empty).
     */
    public record Detach(String stdin, String log, List<String> exitCommand) {}

    /**
     * What an exec plan depends on: the process to run, the container's init (whose namespaces
     * it joins), the container's cgroup directories, and its seccomp filter. chroot: the
     * container's root, for one without a mount namespace of its own (null otherwise).
     */
    public record ExecContext(Spec.Process process, int initPid, List<String> namespaces, List<Path> cgroupDirs,
            boolean foreground, int lastCap, Seccomp seccomp, String consoleSocket, String chroot) {}

    /**
     * Kurma's annotation for "set the loopback of the container's new network namespace up":
     * a kernel gives a new namespace its lo down, runc leaves it so, and engines bring it up
     * themselves (docker's libnetwork, CNI's loopback plugin); kurma run asks for it with this.
     */
    public static final String LOOPBACK_ANNOTATION = "io.kurma.network.loopback";

    /** A compiled seccomp filter: the BPF program and the seccomp(2) flags to install it with. */
    public record Seccomp(byte[] program, long flags) {}

    private static final String DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    private static final long S_IFCHR = 0020000, S_IFBLK = 0060000, S_IFIFO = 0010000;

    /** The devices every container gets unless /dev is bind-mounted from the host. */
    private static final List<Spec.Device> DEFAULT_DEVICES = List.of(
            new Spec.Device("c", "/dev/null", 1, 3, 0666L, 0L, 0L),
            new Spec.Device("c", "/dev/zero", 1, 5, 0666L, 0L, 0L),
            new Spec.Device("c", "/dev/full", 1, 7, 0666L, 0L, 0L),
            new Spec.Device("c", "/dev/random", 1, 8, 0666L, 0L, 0L),
            new Spec.Device("c", "/dev/urandom", 1, 9, 0666L, 0L, 0L),
            new Spec.Device("c", "/dev/tty", 5, 0, 0666L, 0L, 0L));

    private final Context ctx;
    private final Spec spec;
    private final Plan plan;
    /** Container paths checked against the rootfs (null for exec: no rootfs to set up). */
    private final RootPath paths;

    private PlanCompiler(Context ctx) {
        this(ctx, new Plan());
    }

    private PlanCompiler(Context ctx, Plan plan) {
        this.ctx = ctx;
        this.spec = ctx.spec();
        this.plan = plan;
        this.paths = ctx.rootfs() == null ? null : new RootPath(ctx.rootfs());
    }

    public static Plan compile(Context ctx) {
        return new PlanCompiler(ctx).build();
    }

    /**
     * The plan for exec: a new process in a running container. It joins the container's cgroups
     * (while still host root), then the init's namespaces (user first: it owns the others;
     * mount last: the other paths are host paths), forks into the pid namespace, and from there
     * is set up like the container's own process, minus the filesystem work already done.
     */
    public static Plan compileExec(ExecContext x) {
        Plan plan = new Plan();
        if (x.process().terminal()) {
            plan.add("connect to the console socket " + Quote.cut(x.consoleSocket()), Op.CONSOLE_SOCKET, x.consoleSocket());
        }
        for (Path d : x.cgroupDirs()) {
            // A v2 directory has cgroup.type; on v1, tasks moves the one thread we are.
            String file = Files.exists(d.resolve("cgroup.type")) ? "cgroup.procs" : "tasks";
            plan.add("join cgroup " + Quote.cut(d.toString()), Op.WRITE_FILE, d.resolve(file).toString(), "0");
        }
        List<String> order = new ArrayList<>();
        if (x.namespaces().contains("user")) order.add("user");
        for (String n : x.namespaces()) if (!n.equals("user") && !n.equals("mnt")) order.add(n);
        if (x.namespaces().contains("mnt")) order.add("mnt");
        for (String n : order) {
            String path = "/proc/" + x.initPid() + "/ns/" + n;
            plan.add("join the container's " + n + " namespace", Op.SETNS, path, PROC_NS.get(n));
        }
        if (x.chroot() != null) plan.add("change root to " + Quote.cut(x.chroot()), Op.CHROOT, x.chroot());
        plan.add("fork the exec process", Op.FORK, 0L, x.foreground() ? 1L : 0L);
        if (x.process().terminal()) {
            // A terminal needs a session of its own to become its controlling terminal.
            plan.add("create a new session", Op.SETSID);
            console(plan, x.process(), "");
        }
        // Only the process steps: the container's filesystem and namespaces are there already.
        PlanCompiler pc = new PlanCompiler(new Context(null, null, null, null, null, null, false, false, x.lastCap(), null,
                null, null, null), plan);
        pc.prepareProcess(x.process(), x.seccomp());
        plan.add("report ready", Op.READY);
        pc.execProcess(x.process(), x.seccomp());
        return plan;
    }

    /** The pty steps (after pivot_root or joining the mount namespace): see PLAN.md's CONSOLE. */
    private static void console(Plan plan, Spec.Process p, String consoleRel) {
        Spec.ConsoleSize size = p.consoleSize();
        plan.add("create the terminal and send it to the console socket", Op.CONSOLE,
                size == null ? 0L : size.height(), size == null ? 0L : size.width(), consoleRel);
    }

    /** /proc/PID/ns entry names → clone flag (setns's nstype). */
    public static final java.util.Map<String, Long> PROC_NS = java.util.Map.of(
            "user", Linux.CLONE_NEWUSER, "ipc", Linux.CLONE_NEWIPC, "uts", Linux.CLONE_NEWUTS, "net", Linux.CLONE_NEWNET,
            "pid", Linux.CLONE_NEWPID, "cgroup", Linux.CLONE_NEWCGROUP, "time", Linux.CLONE_NEWTIME, "mnt", Linux.CLONE_NEWNS);

    private Plan build() {
        Spec.Process process = spec.process();
        if (process == null) throw new ConfigException("process: is required to create a container");
        Spec.Linux linux = spec.linux();
        validateNamespaces(linux);
        // The hooks the JVM runs itself are planned later (kurma.runtime.Hooks); check them now,
        // so that bad ones fail create before anything exists.
        Plan scratch = new Plan();
        for (Spec.Hook h : spec.hooks().prestart()) addHook(scratch, "prestart", h);
        for (Spec.Hook h : spec.hooks().createRuntime()) addHook(scratch, "createRuntime", h);
        for (Spec.Hook h : spec.hooks().poststart()) addHook(scratch, "poststart", h);
        for (Spec.Hook h : spec.hooks().poststop()) addHook(scratch, "poststop", h);

        // 1. First process: the state dir and start fifo (host root's, so before any user
        // namespace), namespaces, then fork the init into the pid namespace and its cgroup.
        if (process.terminal()) {
            // The socket's host path is out of reach once the namespaces and the root change.
            plan.add("connect to the console socket " + Quote.cut(ctx.consoleSocket()), Op.CONSOLE_SOCKET, ctx.consoleSocket());
        }
        plan.add("open state directory " + ctx.stateDir(), Op.OPEN_STATE_DIR, ctx.stateDir().toString());
        // The fifo start opens; it exists exactly while the container is "created".
        plan.add("create the start fifo", Op.MKFIFO_AT_STATE, ctx.fifoName(), 0622L);
        Detach detach = ctx.detach();
        if (detach != null) {
            plan.add("open the container's stdio (" + detach.log() + ")", Op.STDIO, detach.stdin(), detach.log());
            if (!detach.exitCommand().isEmpty()) {
                Object[] args = new Object[3 + detach.exitCommand().size() + 1];
                args[0] = detach.exitCommand().getFirst();
                args[1] = 0L;
                args[2] = (long) detach.exitCommand().size();
                int i = 3;
                for (String a : detach.exitCommand()) args[i++] = a;
                args[i] = "PATH=" + DEFAULT_PATH;
                plan.add("keep the exit command " + detach.exitCommand(), Op.EXIT_COMMAND, args);
            }
        }
        long unshare = 0;
        List<Spec.Namespace> joins = new ArrayList<>();
        Spec.Namespace joinMount = null;
        for (Spec.Namespace ns : linux.namespaces()) {
            if (ns.path() != null && !ns.path().isEmpty()) {
                if (ns.type().equals("mount")) joinMount = ns;
                else if (ns.type().equals("user")) joins.addFirst(ns); // the others are owned by it
                else joins.add(ns);
            } else if (!ns.type().equals("pid")) {
                unshare |= Linux.NAMESPACES.get(ns.type());
            }
        }
        // The mount namespace is joined last: the other namespace paths are host paths.
        if (joinMount != null) joins.add(joinMount);
        boolean userns = (unshare & Linux.CLONE_NEWUSER) != 0;
        if (userns) {
            // Host cgroup files are host root's: join while we are that, by tasks (one thread)
            // for v1 and cgroup.procs for v2 (CLONE_INTO_CGROUP needs the same right).
            for (Cgroup.Dir d : ctx.cgroup().dirs()) {
                String file = d.hierarchy().unified() ? "cgroup.procs" : "tasks";
                plan.add("join cgroup " + Quote.cut(d.path().toString()), Op.WRITE_FILE, d.path().resolve(file).toString(), "0");
            }
            // The user namespace first, alone: the JVM writes its id maps, then the other
            // namespaces are created owned by it.
            plan.add("create the user namespace", Op.UNSHARE, Linux.CLONE_NEWUSER);
            plan.add("wait for the uid and gid maps", Op.SYNC, (long) SYNC_ID_MAPS);
            plan.add("become root in the user namespace", Op.SETGID, 0L);
            plan.add("become root in the user namespace", Op.SETUID, 0L);
            unshare &= ~Linux.CLONE_NEWUSER;
        }
        for (Spec.Namespace ns : joins) {
            plan.add("join " + ns.type() + " namespace " + Quote.cut(ns.path()), Op.SETNS, ns.path(), Linux.NAMESPACES.get(ns.type()));
        }
        // The cgroup namespace comes last, once the init is in its cgroup (its root is that cgroup).
        long cgroupns = unshare & Linux.CLONE_NEWCGROUP;
        unshare &= ~Linux.CLONE_NEWCGROUP;
        if (unshare != 0) plan.add("create namespaces", Op.UNSHARE, unshare);
        if ((unshare & Linux.CLONE_NEWNET) != 0 && "up".equals(spec.annotations().get(LOOPBACK_ANNOTATION))) {
            plan.add("set the loopback interface up", Op.LINK_UP, "lo");
        }
        // Joining a cgroup by writing cgroup.procs makes the kernel wait for an RCU grace
        // period (~15 ms here). The init avoids it: it is born in its v2 cgroup
        // (CLONE_INTO_CGROUP), and on v1 it moves by tasks, which is the whole process since
        // stage2 is single-threaded. The monitor stays outside the container's cgroup.
        List<Cgroup.Dir> v1 = new ArrayList<>();
        for (Cgroup.Dir d : userns ? List.<Cgroup.Dir>of() : ctx.cgroup().dirs()) {
            if (d.hierarchy().unified()) plan.add("open cgroup " + Quote.cut(d.path().toString()), Op.OPEN_CGROUP, d.path().toString());
            else v1.add(d);
        }
        Spec.Namespace pid = linux.namespace("pid");
        long fork = pid != null && (pid.path() == null || pid.path().isEmpty()) ? Linux.CLONE_NEWPID : 0;
        // With a monitor, the first process stays: to report the init's exit status (run), or
        // detached, to record it (see Detach).
        plan.add("fork the container process", Op.FORK, fork, detach != null ? 2L : ctx.monitor() ? 1L : 0L);

        // 2. The container's init: its cgroups, its own session, the state dir (for the start fifo), the rootfs.
        for (Cgroup.Dir d : v1) {
            plan.add("join cgroup " + Quote.cut(d.path().toString()), Op.WRITE_FILE, d.path().resolve("tasks").toString(), "0");
        }
        if (cgroupns != 0) plan.add("create the cgroup namespace", Op.UNSHARE, cgroupns);
        plan.add("create a new session", Op.SETSID);
        // The UTS names first: the createContainer hooks, run among the mounts, see them.
        if (spec.hostname() != null && !spec.hostname().isEmpty()) {
            plan.add("set hostname " + Quote.of(spec.hostname()), Op.SETHOSTNAME, spec.hostname());
        }
        if (spec.domainname() != null && !spec.domainname().isEmpty()) {
            plan.add("set domainname " + Quote.of(spec.domainname()), Op.SETDOMAINNAME, spec.domainname());
        }
        rootfs(linux);
        // 3. Become the configured user with its capabilities, check the cwd and the program,
        // tell create we are ready (anything failing so far fails create, with its reason),
        // wait for start, then the startContainer hooks (as the container's user, as runc).
        prepareProcess(process, ctx.seccomp());
        plan.add("report ready", Op.READY);
        plan.add("wait for start", Op.WAIT_START, ctx.fifoName());
        for (Spec.Hook hook : spec.hooks().startContainer()) addHook(plan, "startContainer", hook);

        // 4. The program.
        execProcess(process, ctx.seccomp());
        return plan;
    }

    /**
     * Process steps before READY (create and exec alike), so that a failure is reported while
     * the caller still listens: limits (they need privileges), then the user and capabilities,
     * no_new_privs, then the cwd (stage2 checks it lies inside the root) and the program as that
     * user sees them. The seccomp filter comes last of all (execProcess).
     */
    private void prepareProcess(Spec.Process p, Seccomp seccomp) {
        rlimits(p);
        if (p.oomScoreAdj() != null) {
            plan.add("set oom_score_adj " + p.oomScoreAdj(), Op.OOM_SCORE_ADJ, String.valueOf(p.oomScoreAdj()));
        }
        user(p, seccomp != null && !p.noNewPrivileges());
        if (p.noNewPrivileges()) plan.add("set no_new_privs", Op.NO_NEW_PRIVS);
        plan.add("change to working directory " + Quote.cut(p.cwd()), Op.CHDIR, p.cwd());
        String program = p.args().getFirst();
        plan.add("find program " + Quote.of(program) + " in the container", Op.FIND_EXEC, program, pathVar(p.env()));
    }

    /**
     * Process steps after READY (and start): the seccomp filter, which stage2 installs as the
     * last call before execve (PLAN.md "Seccomp last"), so that it constrains the program and
     * none of our set-up; then exec.
     */
    private void execProcess(Spec.Process p, Seccomp seccomp) {
        if (seccomp != null) {
            plan.add("install the seccomp filter", Op.SECCOMP, seccomp.program(), seccomp.flags());
        }
        Object[] exec = new Object[1 + p.args().size() + p.env().size()];
        exec[0] = (long) p.args().size();
        int i = 1;
        for (String a : p.args()) exec[i++] = a;
        for (String e : p.env()) exec[i++] = e;
        plan.add("exec " + Quote.cut(p.args().getFirst()), Op.EXEC, exec);
    }

    /** The SYNC point at which the JVM runs the prestart and createRuntime hooks. */
    public static final int SYNC_RUNTIME_HOOKS = 1;

    /** The SYNC point at which the JVM writes the uid and gid maps of the new user namespace. */
    public static final int SYNC_ID_MAPS = 2;

    /** RUN_HOOK for one hook: argv as given (its argv[0] may differ from the path), or the path. */
    public static void addHook(Plan plan, String kind, Spec.Hook hook) {
        if (!hook.path().startsWith("/")) {
            throw new ConfigException("hooks." + kind + ": path " + Quote.of(hook.path()) + " is not absolute");
        }
        if (hook.timeout() != null && hook.timeout() <= 0) {
            throw new ConfigException("hooks." + kind + ": timeout must be positive, got " + hook.timeout());
        }
        List<String> argv = hook.args().isEmpty() ? List.of(hook.path()) : hook.args();
        Object[] args = new Object[3 + argv.size() + hook.env().size()];
        args[0] = hook.path();
        args[1] = hook.timeout() == null ? 0L : hook.timeout();
        args[2] = (long) argv.size();
        int i = 3;
        for (String a : argv) args[i++] = a;
        for (String e : hook.env()) args[i++] = e;
        plan.add(kind + " hook " + Quote.cut(hook.path()), Op.RUN_HOOK, args);
    }

    private void validateNamespaces(Spec.Linux linux) {
        for (Spec.Namespace ns : linux.namespaces()) {
            if (!Linux.NAMESPACES.containsKey(ns.type())) {
                throw new ConfigException("linux.namespaces: unknown namespace type " + Quote.of(ns.type()));
            }
            if (ns.type().equals("user") && (ns.path() == null || ns.path().isEmpty())
                    && (linux.uidMappings().isEmpty() || linux.gidMappings().isEmpty())) {
                throw new ConfigException("linux.namespaces: a new user namespace needs linux.uidMappings and linux.gidMappings");
            }
        }
        if (linux.namespace("mount") == null) {
            // Without one the container's mounts are made in the host's mount namespace, as runc
            // and crun make them (delete takes them away again); what needs a private one is refused.
            if (!linux.maskedPaths().isEmpty()) {
                throw new ConfigException("linux.maskedPaths: masking paths needs a mount namespace of the container's own");
            }
            if (!linux.readonlyPaths().isEmpty()) {
                throw new ConfigException("linux.readonlyPaths: read-only paths need a mount namespace of the container's own");
            }
            if (linux.rootfsPropagation() != null && !linux.rootfsPropagation().isEmpty()) {
                throw new ConfigException("linux.rootfsPropagation: needs a mount namespace of the container's own");
            }
        }
        for (String key : linux.sysctl().keySet()) checkSysctlNamespace(linux, key);
        if (spec.hostname() != null && !spec.hostname().isEmpty() && linux.namespace("uts") == null) {
            throw new ConfigException("hostname: setting it needs a uts namespace");
        }
        if (spec.domainname() != null && !spec.domainname().isEmpty() && linux.namespace("uts") == null) {
            throw new ConfigException("domainname: setting it needs a uts namespace");
        }
    }

    /**
     * runc's rule: a sysctl is written only where it cannot change the host, inside a namespace
     * the container has (its own or one it joined): the IPC ones need an IPC namespace, net.* a
     * network namespace, the UTS names a UTS namespace; any other is the host's for everyone.
     */
    private static void checkSysctlNamespace(Spec.Linux linux, String key) {
        String ns;
        if (key.startsWith("fs.mqueue.") || key.startsWith("kernel.msg") || key.startsWith("kernel.sem")
                || key.startsWith("kernel.shm")) {
            ns = "ipc";
        } else if (key.startsWith("net.")) {
            ns = "network";
        } else if (key.equals("kernel.hostname") || key.equals("kernel.domainname")) {
            ns = "uts";
        } else {
            throw new ConfigException("linux.sysctl: " + Quote.of(key) + " is not in a namespace of the container: it would change the host's");
        }
        if (linux.namespace(ns) == null) {
            throw new ConfigException("linux.sysctl: " + Quote.of(key) + " needs a " + ns + " namespace, or it would change the host's");
        }
    }

    // ------------------------------------------------------------------ root filesystem

    private void rootfs(Spec.Linux linux) {
        String root = ctx.rootfs().toString();
        boolean mountns = linux.namespace("mount") != null;
        Long rootPropagation = rootPropagation(linux);
        if (mountns) {
            // As runc: the whole tree takes linux.rootfsPropagation (Kubernetes' Bidirectional
            // volumes need rshared), by default it becomes a recursive slave, so that nothing we
            // mount propagates back to the host. A shared mount holding the rootfs is made private,
            // so the rootfs bind and what is mounted below it stay ours (and pivot_root works).
            plan.add(rootPropagation == null ? "make / a recursive slave mount" : "set the propagation of / to "
                    + linux.rootfsPropagation(), Op.MOUNT, "", "/", "", rootPropagation == null ? MS_SLAVE | MS_REC
                    : rootPropagation, "");
            plan.add("make the mount holding " + Quote.cut(root) + " private if it is shared", Op.PRIVATE_PARENT, root);
        }
        plan.add("bind " + Quote.cut(root) + " onto itself", Op.MOUNT, root, root, "", MS_BIND | MS_REC, "");
        plan.add("open root " + Quote.cut(root), Op.OPEN_ROOT, root);

        boolean devFromHost = false;
        for (Spec.Mount m : spec.mounts()) {
            String dest = paths.relative(m.destination(), "mount destination");
            MountOptions o = MountOptions.parse(m.type(), m.options());
            checkKernelFsDestination(m, dest);
            if (dest.equals("dev") && o.bind()) devFromHost = true;
            mount(m, dest, o);
        }
        if (!devFromHost) devices(linux);
        if (ctx.notifyDir() != null) {
            // NOTIFY_SOCKET: the container's own socket directory, read-only, as runc mounts it.
            plan.add("create mount point /run/notify", Op.MKDIR_IN_ROOT, "run/notify", 0755L);
            plan.add("bind the notify socket directory on /run/notify", Op.MOUNT_IN_ROOT, ctx.notifyDir().toString(),
                    "run/notify", "", MS_BIND, "");
            plan.add("remount /run/notify read-only", Op.MOUNT_IN_ROOT, "", "run/notify", "",
                    MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "");
        }
        // The terminal is also the container's /dev/console, as runc makes it.
        boolean console = spec.process().terminal() && !devFromHost;
        if (console) plan.add("create mount point /dev/console", Op.MKFILE_IN_ROOT, "dev/console", 0666L);

        // Hooks (runtime-spec "lifecycle"): the container's namespaces and mounts exist, the
        // root is not pivoted yet. The JVM runs prestart and createRuntime in the runtime's
        // namespaces and answers with the state the container-side hooks read on stdin.
        Spec.Hooks hooks = spec.hooks();
        if (!hooks.prestart().isEmpty() || !hooks.createRuntime().isEmpty() || !hooks.createContainer().isEmpty()
                || !hooks.startContainer().isEmpty()) {
            plan.add("run the prestart and createRuntime hooks", Op.SYNC, (long) SYNC_RUNTIME_HOOKS);
        }
        for (Spec.Hook hook : hooks.createContainer()) addHook(plan, "createContainer", hook);

        if (!mountns) plan.add("change root to " + Quote.cut(root), Op.CHROOT, root); // pivot_root would move the host's
        else if (ctx.noPivot()) plan.add("move root " + Quote.cut(root) + " to /", Op.MOVE_ROOT, root);
        else plan.add("pivot_root to " + Quote.cut(root), Op.PIVOT_ROOT, root);
        // The container's own /dev/ptmx now: its pty lives in the container's devpts.
        if (spec.process().terminal()) console(plan, spec.process(), console ? "dev/console" : "");

        // Again on the new root (it was the rootfs bind, private until now), as runc does.
        if (rootPropagation != null) plan.add("set root propagation " + linux.rootfsPropagation(), Op.MOUNT, "", "/", "",
                rootPropagation, "");
        for (Map.Entry<String, String> s : linux.sysctl().entrySet()) {
            String key = s.getKey();
            if (key.contains("..") || key.startsWith("/") || key.isEmpty()) {
                throw new ConfigException("linux.sysctl: bad key " + Quote.of(key));
            }
            plan.add("set sysctl " + Quote.cut(key) + "=" + Quote.cut(s.getValue()), Op.WRITE_FILE, "/proc/sys/" + key.replace('.', '/'), s.getValue());
        }
        for (String p : linux.readonlyPaths()) plan.add("make " + Quote.cut(p) + " read-only", Op.READONLY, absolute(p, "linux.readonlyPaths"));
        for (String p : linux.maskedPaths()) plan.add("mask " + Quote.cut(p), Op.MASK, absolute(p, "linux.maskedPaths"));
        if (spec.root().readonly()) {
            plan.add("make the root filesystem read-only", Op.MOUNT, "", "/", "", MS_BIND | MS_REMOUNT | MS_RDONLY, "");
        }
    }

    /** linux.rootfsPropagation as mount flags; null when not given. */
    private static Long rootPropagation(Spec.Linux linux) {
        String name = linux.rootfsPropagation();
        if (name == null || name.isEmpty()) return null;
        Long p = MountOptions.propagation(name);
        if (p == null) throw new ConfigException("linux.rootfsPropagation: unknown value \"" + name + "\"");
        return p;
    }

    private static String absolute(String p, String field) {
        if (!p.startsWith("/")) throw new ConfigException(field + ": " + Quote.of(p) + " is not an absolute path");
        return p;
    }

    /**
     * proc and sysfs, and whatever goes on /proc, /sys or /dev, go on a real directory of the
     * rootfs, never through a symlink there (as runc and crun refuse it): the kernel's own files
     * must appear where the masks and read-only paths (and the container's users) expect them.
     */
    private void checkKernelFsDestination(Spec.Mount m, String dest) {
        boolean kernelFs = m.type().equals("proc") || m.type().equals("sysfs");
        if (!kernelFs && !dest.equals("proc") && !dest.equals("sys") && !dest.equals("dev")) return;
        if (paths.isSymlinkOrNotDirectory(dest)) {
            throw new ConfigException("mount destination " + Quote.of(m.destination()) + " (" + (m.type().isEmpty() ? "bind" : m.type())
                    + "): must be a directory in the root filesystem, not a symlink or another file");
        }
    }

    /** A mount of the config on dest (below the rootfs), with its parsed options. */
    private void mount(Spec.Mount m, String dest, MountOptions o) {
        if (m.type().equals("cgroup") || m.type().equals("cgroup2")) {
            cgroupMount(dest, o);
            return;
        }
        String what = "mount " + Quote.cut(m.source().isEmpty() ? m.type() : m.source()) + " on " + Quote.cut(m.destination());
        if (o.bind()) {
            Path source = ctx.bundle().resolve(m.source());
            if (!Files.exists(source)) {
                throw new ConfigException("mount source " + Quote.of(m.source()) + " for " + Quote.cut(m.destination()) + " does not exist");
            }
            if (Files.isDirectory(source)) plan.add("create mount point " + Quote.cut(m.destination()), Op.MKDIR_IN_ROOT, dest, 0755L);
            else plan.add("create mount point " + Quote.cut(m.destination()), Op.MKFILE_IN_ROOT, dest, 0644L);
            plan.add("bind " + what, Op.MOUNT_IN_ROOT, source.toString(), dest, "", MS_BIND | (o.recursive() ? MS_REC : 0), "");
            // A bind mount takes its flags only from a second, remounting call.
            if (o.flags() != 0 || o.clearFlags() != 0) {
                plan.add("remount " + Quote.cut(m.destination()) + " with " + Quote.cut(String.join(",", m.options())), Op.MOUNT_IN_ROOT,
                        "", dest, "", MS_BIND | MS_REMOUNT | o.flags(), "");
            }
        } else {
            plan.add("create mount point " + Quote.cut(m.destination()), Op.MKDIR_IN_ROOT, dest, 0755L);
            if (o.copyUp()) {
                // tmpcopyup: the image's files under the destination are copied into the new tmpfs.
                plan.add(what + " (type " + Quote.cut(m.type()) + ", copying up what it covers)", Op.MOUNT_COPY_UP, m.source(), dest,
                        m.type(), o.flags(), o.data());
            } else {
                plan.add(what + " (type " + Quote.cut(m.type()) + ")", Op.MOUNT_IN_ROOT, m.source(), dest, m.type(), o.flags(), o.data());
            }
        }
        if (o.propagation() != 0) {
            plan.add("set propagation of " + m.destination(), Op.MOUNT_IN_ROOT, "", dest, "", o.propagation(), "");
        }
    }

    /**
     * A "cgroup" mount shows the container its own cgroup: a tmpfs with one bind of the
     * container's directory per host hierarchy (v1 and hybrid), or the one v2 directory.
     */
    private void cgroupMount(String dest, MountOptions o) {
        long flags = o.flags() & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY);
        List<Cgroup.Dir> dirs = ctx.cgroup().dirs();
        plan.add("create mount point /" + Quote.cut(dest), Op.MKDIR_IN_ROOT, dest, 0755L);
        boolean single = dirs.size() == 1 && dirs.getFirst().hierarchy().unified();
        if (single) {
            bindCgroup(dirs.getFirst(), dest, flags);
            return;
        }
        plan.add("mount tmpfs for cgroups on /" + Quote.cut(dest), Op.MOUNT_IN_ROOT, "tmpfs", dest, "tmpfs",
                flags & ~MS_RDONLY, "mode=755");
        for (Cgroup.Dir d : dirs) {
            String sub = dest + "/" + d.hierarchy().name();
            plan.add("create cgroup mount point /" + Quote.cut(sub), Op.MKDIR_IN_ROOT, sub, 0755L);
            bindCgroup(d, sub, flags);
            if (d.hierarchy().name().contains(",")) {
                for (String c : d.hierarchy().controllers()) {
                    plan.add("link /" + Quote.cut(dest) + "/" + c, Op.SYMLINK_IN_ROOT, d.hierarchy().name(), dest + "/" + c);
                }
            }
        }
        if ((flags & MS_RDONLY) != 0) {
            plan.add("make /" + Quote.cut(dest) + " read-only", Op.MOUNT_IN_ROOT, "", dest, "", MS_REMOUNT | flags, "mode=755");
        }
    }

    private void bindCgroup(Cgroup.Dir d, String dest, long flags) {
        plan.add("bind cgroup " + Quote.cut(d.path().toString()) + " on /" + Quote.cut(dest), Op.MOUNT_IN_ROOT, d.path().toString(), dest, "", MS_BIND, "");
        plan.add("remount cgroup /" + Quote.cut(dest), Op.MOUNT_IN_ROOT, "", dest, "", MS_BIND | MS_REMOUNT | flags, "");
    }

    private void devices(Spec.Linux linux) {
        Map<String, Spec.Device> all = new LinkedHashMap<>();
        for (Spec.Device d : DEFAULT_DEVICES) all.put(d.path(), d);
        for (Spec.Device d : linux.devices()) all.put(d.path(), d);
        for (Spec.Device d : all.values()) {
            String rel = paths.relative(d.path(), "linux.devices path");
            long type = switch (d.type()) {
                case "c", "u" -> S_IFCHR;
                case "b" -> S_IFBLK;
                case "p" -> S_IFIFO;
                default -> throw new ConfigException("linux.devices: " + Quote.cut(d.path()) + " has unknown type " + Quote.of(d.type()));
            };
            long mode = d.fileMode() == null ? 0666 : d.fileMode() & 07777;
            int slash = rel.lastIndexOf('/');
            if (slash > 0) plan.add("create directory for " + Quote.cut(d.path()), Op.MKDIR_IN_ROOT, rel.substring(0, slash), 0755L);
            if (linux.namespace("user") != null) {
                // No mknod in a user namespace: the host's node is bind-mounted instead.
                plan.add("create mount point " + Quote.cut(d.path()), Op.MKFILE_IN_ROOT, rel, 0644L);
                plan.add("bind device " + Quote.cut(d.path()), Op.MOUNT_IN_ROOT, d.path(), rel, "", MS_BIND, "");
                continue;
            }
            plan.add("create device " + Quote.cut(d.path()), Op.MKNOD_IN_ROOT, rel, type | mode, makedev(d.major(), d.minor()),
                    d.uid() == null ? 0L : d.uid(), d.gid() == null ? 0L : d.gid());
        }
        String[][] links = {
            {"/proc/self/fd", "dev/fd"}, {"/proc/self/fd/0", "dev/stdin"}, {"/proc/self/fd/1", "dev/stdout"},
            {"/proc/self/fd/2", "dev/stderr"}, {"pts/ptmx", "dev/ptmx"}};
        for (String[] l : links) plan.add("link /" + l[1] + " -> " + l[0], Op.SYMLINK_IN_ROOT, l[0], l[1]);
    }

    /** glibc's makedev encoding. */
    static long makedev(long major, long minor) {
        return ((major & 0xfffff000L) << 32) | ((major & 0xfffL) << 8) | ((minor & 0xffffff00L) << 12) | (minor & 0xffL);
    }

    // ------------------------------------------------------------------ process

    private void rlimits(Spec.Process p) {
        List<String> seen = new ArrayList<>();
        for (Spec.Rlimit r : p.rlimits()) {
            int res = Linux.RLIMITS.indexOf(r.type());
            if (res < 0) throw new ConfigException("process.rlimits: unknown type " + Quote.of(r.type()));
            if (seen.contains(r.type())) throw new ConfigException("process.rlimits: " + r.type() + " is given twice");
            seen.add(r.type());
            if (Long.compareUnsigned(r.soft(), r.hard()) > 0) {
                throw new ConfigException("process.rlimits: " + r.type() + " soft limit is above its hard limit");
            }
            plan.add("set " + r.type() + " to " + Long.toUnsignedString(r.soft()) + ":" + Long.toUnsignedString(r.hard()),
                    Op.SETRLIMIT, (long) res, r.soft(), r.hard());
        }
    }

    /**
     * The user and its capabilities. A set that is absent (or the whole capabilities object) is
     * empty, as with runc: a config that names no capability gets none.
     *
     * <p>keepSysAdmin: a seccomp filter is to be installed without no_new_privs, which the kernel
     * allows only with CAP_SYS_ADMIN, and it goes in right before execve (see execProcess). So the
     * permitted and effective sets keep CAP_SYS_ADMIN until then: that costs nothing, because
     * execve computes the program's permitted and effective sets afresh from the inheritable,
     * bounding and ambient sets (and the file's), which are final here; the ones before execve
     * never reach it. Without it stage2 would need a capset after the filter, which a profile
     * allowing only the program's own calls denies.
     */
    private void user(Spec.Process p, boolean keepSysAdmin) {
        Spec.User u = p.user();
        if (u.umask() != null) plan.add("set umask " + Long.toOctalString(u.umask()), Op.UMASK, u.umask());
        Spec.Capabilities caps = p.capabilities() != null ? p.capabilities()
                : new Spec.Capabilities(null, null, null, null, null);
        plan.add("limit the capability bounding set", Op.CAP_BOUNDING, mask(caps.bounding(), "bounding"),
                (long) ctx.lastCap());
        // Cleared by execve: no need to switch it off again.
        if (u.uid() != 0) plan.add("keep capabilities across setuid", Op.KEEPCAPS, 1L);
        Object[] groups = u.additionalGids().toArray();
        plan.add("set supplementary groups " + Quote.cut(u.additionalGids().toString()), Op.SETGROUPS, groups);
        plan.add("set gid " + u.gid(), Op.SETGID, u.gid());
        plan.add("set uid " + u.uid(), Op.SETUID, u.uid());
        long eff = mask(caps.effective(), "effective"), perm = mask(caps.permitted(), "permitted"),
                inh = mask(caps.inheritable(), "inheritable");
        long sysAdmin = keepSysAdmin ? 1L << Linux.CAPABILITIES.indexOf("CAP_SYS_ADMIN") : 0;
        plan.add(sysAdmin != 0 && (eff & sysAdmin) == 0 ? "set capabilities (CAP_SYS_ADMIN kept until the seccomp filter is in)"
                : "set capabilities", Op.CAPSET, eff | sysAdmin, perm | sysAdmin, inh);
        // The kernel allows an ambient capability only if it is permitted and inheritable.
        long amb = mask(caps.ambient(), "ambient") & perm & inh;
        plan.add("set ambient capabilities", Op.CAP_AMBIENT, amb, (long) ctx.lastCap());
    }

    private long mask(List<String> names, String set) {
        return names == null ? 0 : Linux.capMask(names, ctx.lastCap(), "process.capabilities." + set);
    }

    private static String pathVar(List<String> env) {
        for (String e : env) if (e.startsWith("PATH=")) return e.substring(5);
        return DEFAULT_PATH;
    }
}
