package kurma.runtime;

import java.nio.file.Files;
import java.util.List;

import kurma.cgroups.Cgroup;
import kurma.runtime.KurmaException.Code;
import kurma.sys.LockedFile;

/**
 * delete: kills what is left of a container, removes what it made (cgroups, host mounts) and
 * its state, then runs its poststop hooks. A running container needs force; a missing one is an
 * error unless forced. A create's own record (a create killed half-way) is undone the same way.
 */
final class Delete {
    private Delete() {}

    /** known: the state already in hand (a foreground run), or null to read it. */
    static void delete(RuntimeContext ctx, String id, boolean force, StateRecord known) {
        StateStore store = ctx.store();
        LockedFile lock;
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
            StateRecord s;
            try {
                s = known != null ? known : store.read(id);
            } catch (KurmaException unreadable) {
                if (!force) throw unreadable;
                store.remove(id); // a state dir without state: a delete that died half-way
                return;
            }
            Status st = ctx.status(s);
            if ((st == Status.RUNNING || st == Status.PAUSED || st == Status.CREATING) && !force) {
                throw new KurmaException(Code.WRONG_STATE, "cannot delete container \"" + id + "\" that is " + st.text()
                        + " (use --force)");
            }
            killAll(s, st);
            if (s.hostMountId() != 0) HostMounts.detach(s.rootfs(), s.hostMountId());
            Cgroup cg = RuntimeContext.cgroupOf(s);
            List<String> left = Cgroup.remove(s.cgroupCreatedPaths(), cg.leaves());
            left.retainAll(s.cgroupDirs()); // shared parents may stay
            store.remove(id);
            // poststop hooks: after the container is gone; a failure is reported, not fatal.
            if (!s.poststop().isEmpty()) {
                ctx.runHooksWarning("poststop", s.poststop(), Hooks.state(id, Status.STOPPED, 0, s.bundle(), s.annotations()));
            }
            if (!left.isEmpty()) {
                throw new KurmaException(Code.SYSTEM_ERROR, "container \"" + id + "\" deleted, but cgroup " + left
                        + " could not be removed");
            }
        }
    }

    /** The init, a create's stage2, and everything else in the container's cgroups. */
    private static void killAll(StateRecord s, Status st) {
        Cgroup cg = RuntimeContext.cgroupOf(s);
        // A create's record (a create killed half-way): its stage2 first, before the plan goes
        // further (its death also takes an init not yet ready: PLAN.md), then the init.
        StateRecord.Creating c = s.creating();
        if (c != null) Processes.killIfAlive(c.stage2Pid(), c.stage2StartTime());
        Processes.killIfAlive(s.pid(), s.pidStartTime());
        // A frozen process only dies once thawed.
        if (st == Status.PAUSED) kurma.cgroups.Freezer.set(s.cgroupDirPaths(), false);
        for (int round = 0; round < 100; round++) {
            boolean any = ProcStat.alive(s.pid(), s.pidStartTime())
                    || (c != null && Processes.killIfAlive(c.stage2Pid(), c.stage2StartTime()));
            for (int p : cg.pids()) {
                if (ProcStat.alive(p, -1)) {
                    any = true;
                    Processes.killForcibly(p);
                }
            }
            if (!any) break;
            Processes.sleep(10);
        }
    }
}
