package kurma.runtime.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import kurma.cgroups.Cgroup;
import kurma.cgroups.CgroupHost;
import kurma.runtime.Stage2Spares;
import kurma.runtime.plan.PlanCompiler;
import kurma.spec.DefaultSpec;
import kurma.spec.Spec;

/**
 * The AOT training run, executed once at package time with -XX:AOTCacheOutput: the cache
 * then holds, already loaded and linked, the classes and lambdas this run used.
 *
 * <p>The best training is the real workload, so when the build runs as root and Debian's
 * busybox-static is there (as in CI), this runs real containers through the CLI's own entry
 * point: run, create/start/state/kill/delete, list, and a failing create. Otherwise it walks
 * the same code as far as it goes without root: parse, plan, spawn, the read-only commands.
 */
public final class Train {
    private Train() {}

    public static void main(String[] args) throws Exception {
        // Not createTempDirectory: its SecureRandom would put the security providers in the cache.
        Path tmp = Files.createDirectories(Path.of(System.getProperty("java.io.tmpdir"),
                "kurma-train-" + ProcessHandle.current().pid()));
        // The launcher started a stage2 for each container this starts (KURMA_TRAIN=1), so
        // that the cache holds the path every real create takes.
        Stage2Spares spares = Stage2Spares.parse(System.getProperty("kurma.stage2.spawned"), "kurma.stage2.spawned");
        try {
            Path bundle = tmp.resolve("bundle");
            Path rootfs = Files.createDirectories(bundle.resolve("rootfs"));
            String root = tmp.resolve("root").toString();
            Main.runForTraining(spares, "spec", "--bundle", bundle.toString());
            Spec spec = Spec.parse(Files.readString(bundle.resolve("config.json")));
            Cgroup cg = Cgroup.resolve(CgroupHost.detect(), null, "train", Files.readString(Path.of("/proc/self/cgroup")));
            PlanCompiler.compile(new PlanCompiler.Context(spec, bundle, rootfs, tmp.resolve("state"), "exec.fifo", cg,
                    false, true, 40, null, null, null, null)).encode(new int[] {0, 1, 2});

            Path busybox = Path.of("/bin/busybox");
            if (isRoot() && Files.isExecutable(busybox)) {
                Files.createDirectories(rootfs.resolve("bin"));
                Files.copy(busybox, rootfs.resolve("bin/busybox"));
                for (String applet : new String[] {"true", "sh", "sleep"}) {
                    Files.createSymbolicLink(rootfs.resolve("bin").resolve(applet), Path.of("busybox"));
                }
                for (String d : new String[] {"proc", "dev", "sys", "tmp"}) Files.createDirectories(rootfs.resolve(d));
                Path config = bundle.resolve("config.json");
                String text = Files.readString(config);
                Files.writeString(config, text.replace("\"sh\"", "\"/bin/true\""));
                for (int i = 0; i < 3; i++) Main.runForTraining(spares, "--root", root, "run", "--bundle", bundle.toString(), "train-run-" + i);
                Files.writeString(config, text.replace("\"sh\"", "\"sleep\", \"10\""));
                for (int i = 0; i < 2; i++) {
                    String id = "train-" + i;
                    Main.runForTraining(spares, "--root", root, "create", "--bundle", bundle.toString(), "--pid-file",
                            tmp.resolve("pid").toString(), id);
                    Main.runForTraining(spares, "--root", root, "state", id);
                    Main.runForTraining(spares, "--root", root, "start", id);
                    Main.runForTraining(spares, "--root", root, "list", "--format", "json");
                    Main.runForTraining(spares, "--root", root, "delete", "--force", id);
                }
                Files.writeString(config, text.replace("\"sh\"", "\"no-such-program\""));
                Main.runForTraining(spares, "--root", root, "--log-format", "json", "create", "--bundle", bundle.toString(), "train-bad");
            } else {
                // Without root: the spawn path (stage2 fails to take our fds, or is missing) and its errors.
                Main.runForTraining(spares, "--root", root, "run", "--bundle", bundle.toString(), "train-run");
            }
            Main.runForTraining(spares, "--root", root, "list");
            Main.runForTraining(spares, "--root", root, "state", "missing");
            Main.runForTraining(spares, "--root", root, "--log-format", "json", "delete", "--force", "missing");
            Main.runForTraining(spares, "features");
        } finally {
            removeTree(tmp);
        }
    }

    // No native call and no streams here: whatever training touches, every CLI start loads
    // (the cache links its classes eagerly). kill, the one FFM user, is left out for that reason.
    private static boolean isRoot() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("Uid:")) return line.split("\t")[2].equals("0"); // real, effective, ...
        }
        return false;
    }

    private static void removeTree(Path p) throws IOException {
        if (Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            try (var children = Files.newDirectoryStream(p)) {
                for (Path c : children) removeTree(c);
            }
        }
        Files.deleteIfExists(p);
    }
}
