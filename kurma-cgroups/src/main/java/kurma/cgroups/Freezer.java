package kurma.cgroups;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import kurma.sys.ProcFs;

/**
 * Freezing a container's processes (pause / resume): the v1 freezer controller where the host
 * has one (freezer.state), else cgroup v2's own freezer (cgroup.freeze, which every non-root
 * v2 cgroup has). Freezing takes a moment; each call waits until the kernel reports the state
 * reached.
 */
public final class Freezer {
    private Freezer() {}

    private static final int WAIT_MS = 5000;

    /** True if the container's processes are frozen (or being frozen). */
    public static boolean frozen(List<Path> dirs) {
        try {
            Path v1 = v1(dirs);
            if (v1 != null) return !ProcFs.read(v1.resolve("freezer.state")).trim().equals("THAWED");
            Path v2 = v2(dirs);
            return v2 != null && ProcFs.read(v2.resolve("cgroup.freeze")).trim().equals("1");
        } catch (IOException gone) {
            return false; // the cgroup is gone: nothing is frozen
        }
    }

    /** Freezes or thaws, and waits until done. */
    public static void set(List<Path> dirs, boolean freeze) {
        try {
            Path v1 = v1(dirs);
            if (v1 != null) {
                String want = freeze ? "FROZEN" : "THAWED";
                for (int waited = 0; ; waited++) {
                    // Re-written each round: a v1 freeze can stall in FREEZING while a task is busy in the kernel.
                    Files.writeString(v1.resolve("freezer.state"), want);
                    if (ProcFs.read(v1.resolve("freezer.state")).trim().equals(want)) return;
                    if (waited >= WAIT_MS) throw new UncheckedIOException(new IOException("freezer did not reach " + want));
                    sleep();
                }
            }
            Path v2 = v2(dirs);
            if (v2 == null) throw new UncheckedIOException(new IOException("this host has no cgroup freezer"));
            Files.writeString(v2.resolve("cgroup.freeze"), freeze ? "1" : "0");
            String want = "frozen " + (freeze ? "1" : "0");
            for (int waited = 0; !ProcFs.read(v2.resolve("cgroup.events")).contains(want); waited++) {
                if (waited >= WAIT_MS) throw new UncheckedIOException(new IOException("cgroup did not reach " + want));
                sleep();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("freezer: " + e.getMessage(), e);
        }
    }

    private static Path v1(List<Path> dirs) {
        for (Path d : dirs) if (Files.exists(d.resolve("freezer.state"))) return d;
        return null;
    }

    private static Path v2(List<Path> dirs) {
        for (Path d : dirs) if (Files.exists(d.resolve("cgroup.freeze"))) return d;
        return null;
    }

    private static void sleep() {
        try {
            Thread.sleep(1);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
