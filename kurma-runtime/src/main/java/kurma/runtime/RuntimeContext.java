package kurma.runtime;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import kurma.cgroups.Cgroup;
import kurma.cgroups.CgroupHost;
import kurma.runtime.plan.Plan;
import kurma.spec.Spec;

/** What every operation of one {@link ContainerRuntime} shares: its store and its options. */
record RuntimeContext(StateStore store, RuntimeOptions options) {

    /** A stage2 started by this JVM, or else the next one the launcher started. */
    Stage2 stage2() {
        Stage2 s = options.spares().take();
        return s != null ? s : Stage2.spawn(options.stage2());
    }

    /** The status of a container from its record and what lives now. */
    Status status(StateRecord s) {
        StateRecord.Creating c = s.creating();
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

    /** The container's cgroup directories (enough to list and signal its processes). */
    static Cgroup cgroupOf(StateRecord s) {
        List<Cgroup.Dir> dirs = new ArrayList<>();
        for (Path d : s.cgroupDirPaths()) dirs.add(new Cgroup.Dir(null, d));
        return new Cgroup(dirs);
    }

    /** The container's cgroup with each directory's host hierarchy (the state keeps only paths). */
    static Cgroup hostCgroupOf(StateRecord s) {
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

    /** Runs hooks in the runtime's namespaces; the first failure throws. */
    void runHooks(String kind, List<Spec.Hook> hooks, byte[] state) {
        Hooks.run(options.stage2(), kind, hooks, state);
    }

    /** poststart and poststop hooks: a failure is a warning, the operation goes on (runtime-spec). */
    void runHooksWarning(String kind, List<Spec.Hook> hooks, byte[] state) {
        try {
            runHooks(kind, hooks, state);
        } catch (KurmaException e) {
            options.log().warn(e.getMessage());
        }
    }

    /** --debug: where stage2 came from. */
    void debugStage2(Stage2 s) {
        if (options.debug()) options.log().debug("stage2: pid " + s.pid() + (s.fromLauncher() ? ", started by the launcher" : ", spawned"));
    }

    /** --debug: the launch plan, step by step. */
    void debugPlan(String name, Plan plan) {
        if (!options.debug()) return;
        List<Plan.Step> steps = plan.steps();
        for (int i = 0; i < steps.size(); i++) options.log().debug(name + "[" + i + "] " + steps.get(i).description());
    }
}
