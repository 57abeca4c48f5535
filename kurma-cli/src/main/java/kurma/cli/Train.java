package kurma.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import kurma.cgroups.Cgroup;
import kurma.cgroups.CgroupHost;
import kurma.runtime.plan.Plan;
import kurma.runtime.plan.PlanCompiler;
import kurma.spec.DefaultSpec;
import kurma.spec.Spec;
import kurma.sys.Libc;

/**
 * The AOT training run, executed once at package time with -XX:AOTCacheOutput. It walks the
 * code every container start walks (parse config, plan, bind the native calls, spawn a
 * process, write state) without needing root or a rootfs, so the cache holds those classes
 * already loaded and linked.
 */
public final class Train {
    private Train() {}

    public static void main(String[] args) throws Exception {
        Path tmp = Files.createTempDirectory("kurma-train");
        try {
            Path rootfs = Files.createDirectories(tmp.resolve("bundle/rootfs"));
            Spec spec = Spec.parse(DefaultSpec.JSON);
            Cgroup cg = Cgroup.resolve(CgroupHost.detect(), null, "train", Files.readString(Path.of("/proc/self/cgroup")));
            Plan plan = PlanCompiler.compile(new PlanCompiler.Context(spec, tmp.resolve("bundle"), rootfs,
                    tmp.resolve("state"), "exec.fifo", cg, false, 40));
            plan.encode();
            plan.describe(3);

            int[] sp = Libc.socketpair();
            int pid = Libc.spawn("/bin/true", List.of("true"), new int[][] {{sp[1], 3}});
            Libc.waitpid(pid, 0);
            Libc.pollOne(sp[0], Libc.POLLIN, 0);
            Libc.close(sp[0]);
            Libc.close(sp[1]);
            Libc.mkfifo(tmp.resolve("fifo").toString(), 0622);
            int fd = Libc.open(tmp.resolve("fifo").toString(), Libc.O_RDONLY | Libc.O_NONBLOCK | Libc.O_CLOEXEC);
            Libc.close(fd);
            Libc.kill(pid, 0);
            Libc.strerror(2);
            Libc.geteuid();

            String root = tmp.resolve("root").toString();
            Main.runForTraining("spec", "--bundle", tmp.resolve("bundle").toString());
            Main.runForTraining("--root", root, "list");
            Main.runForTraining("--root", root, "list", "--format", "json");
            Main.runForTraining("--root", root, "state", "missing");
            Main.runForTraining("--root", root, "--log-format", "json", "delete", "--force", "missing");
            Main.runForTraining("--root", root, "kill", "missing", "KILL");
            Main.runForTraining("features");
        } finally {
            try (var s = Files.walk(tmp)) {
                for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
            }
        }
    }
}
