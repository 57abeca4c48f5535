package kurma.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import kurma.runtime.KurmaException.Code;
import kurma.runtime.plan.Plan;
import kurma.runtime.plan.PlanCompiler;
import kurma.spec.ConfigException;
import kurma.spec.Spec;
import kurma.sys.LockedFile;

/**
 * exec: a new process in a running container. It joins the container's cgroups and the
 * namespaces the container has apart from ours, and is set up like the container's process.
 */
final class Exec {
    private Exec() {}

    private static final String[] NAMESPACES = {"user", "ipc", "uts", "net", "pid", "cgroup", "time", "mnt"};

    static ExecProcess exec(RuntimeContext ctx, String id, ExecRequest req) {
        Stage2 stage2;
        StateStore store = ctx.store();
        try (LockedFile lock = store.lock(id)) {
            StateRecord s = store.read(id);
            Status st = ctx.status(s);
            if (st != Status.RUNNING) {
                throw new KurmaException(st == Status.STOPPED ? Code.NOT_RUNNING : Code.WRONG_STATE,
                        "cannot exec in container \"" + id + "\": it is " + st.text() + ", not running");
            }
            Spec spec = Specs.load(Path.of(s.bundle()));
            Spec.Process process = req.process();
            Create.checkConsole(process.terminal(), req.consoleSocket());
            List<String> namespaces = namespacesOf(id, s.pid());
            Capabilities.checkAttainable(process, namespaces.contains("user"), "exec: ");
            Plan plan;
            try {
                plan = PlanCompiler.compileExec(new PlanCompiler.ExecContext(process, s.pid(), namespaces,
                        s.cgroupDirPaths(), !req.detach(), Capabilities.lastCap(),
                        Specs.seccomp(spec, store.root().resolve(".seccomp")), Create.absolute(req.consoleSocket()),
                        s.hostMountId() != 0 ? s.rootfs() : null));
            } catch (ConfigException e) {
                throw new KurmaException(Code.INVALID_CONFIG, "exec: " + e.getMessage(), e);
            }
            ctx.debugPlan("exec plan", plan);
            stage2 = ctx.stage2();
            ctx.debugStage2(stage2);
            stage2.run(plan, plan.encode(req.stdio().numbers()), null);
        }
        if (req.pidFile() != null) {
            StateStore.writeAtomically(req.pidFile().toAbsolutePath(), Integer.toString(stage2.initPid()));
        }
        if (req.detach()) stage2.close();
        return new ExecProcess(stage2.initPid(), req.detach() ? null : stage2);
    }

    /** The namespaces of the init that are not ours: those the container was given. */
    private static List<String> namespacesOf(String id, int pid) {
        List<String> out = new ArrayList<>();
        for (String n : NAMESPACES) {
            try {
                Path theirs = Path.of("/proc", Integer.toString(pid), "ns", n);
                if (!Files.readSymbolicLink(theirs).equals(Files.readSymbolicLink(Path.of("/proc/self/ns", n)))) out.add(n);
            } catch (java.nio.file.NoSuchFileException kernelLacksIt) {
                // e.g. no time namespaces on this kernel
            } catch (IOException e) {
                throw new KurmaException(Code.SYSTEM_ERROR, "reading the namespaces of " + id + ": " + e.getMessage(), e);
            }
        }
        return out;
    }
}
