package kurma.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import kurma.tests.support.Bundle;
import kurma.tests.support.ContainerTest;
import kurma.tests.support.Proc;
import kurma.tests.support.Result;
import kurma.tests.support.TestEnv;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Mount propagation between a container and the host, as Kubernetes uses it: a Bidirectional
 * volume (an rshared bind with rootfsPropagation rshared, which CSI node plugins rely on)
 * carries mounts both ways; the default (HostToContainer at most) carries none out; and no
 * mount the runtime makes for the container ever appears on the host.
 */
class PropagationTest extends ContainerTest {
    private static final Duration WAIT = Duration.ofSeconds(20);

    /** A directory of the test's own, made a shared mount (the host's / may well be private). */
    private Path shared;
    private final List<Path> hostMounts = new ArrayList<>();

    @BeforeEach
    void sharedMount() throws Exception {
        shared = env.newDir("shared");
        Files.createDirectories(shared.resolve("vol/fromhost"));
        Files.createDirectories(shared.resolve("vol/fromc"));
        sh("mount --bind " + shared + " " + shared + " && mount --make-shared " + shared);
        hostMounts.add(shared);
    }

    @AfterEach
    void unmount() throws Exception {
        // Only what this test made: whatever reached the shared dir, deepest first, then the dir.
        List<String> under = new ArrayList<>();
        for (String p : mountPoints()) if (p.startsWith(shared + "/")) under.add(p);
        under.sort((a, b) -> b.length() - a.length());
        for (String p : under) sh("umount -l " + p);
        for (Path p : hostMounts.reversed()) sh("umount -l " + p);
    }

    private static void sh(String cmd) throws Exception {
        Result r = Proc.run(List.of("sh", "-c", cmd), null, Path.of("/"), Duration.ofSeconds(10));
        if (r.exit() != 0) throw new AssertionError(cmd + "\n" + r);
    }

    /** The host's mount points now (in this test's mount namespace: the host's). */
    private static Set<String> mountPoints() throws Exception {
        Set<String> out = new TreeSet<>();
        for (String l : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            out.add(l.split(" ")[4].replace("\\040", " "));
        }
        return out;
    }

    /**
     * A container with CAP_SYS_ADMIN (to mount) and the shared volume on /vol: it waits for the
     * host's mount on /vol/fromhost, reports whether it saw it, mounts a tmpfs on /vol/fromc
     * with a file in it, and waits to be told to go.
     */
    private Bundle container(String volumePropagation, String rootfsPropagation) throws Exception {
        Bundle b = env.bundle().mount("/vol", "bind", shared.resolve("vol").toString(), "rbind", volumePropagation);
        if (rootfsPropagation != null) b.set("linux.rootfsPropagation", rootfsPropagation);
        for (String set : List.of("bounding", "effective", "permitted")) {
            b.set("process.capabilities." + set, new ArrayList<Object>(List.of("CAP_SYS_ADMIN")));
        }
        return b.sh("for i in $(seq 200); do grep -q ' /vol/fromhost ' /proc/self/mountinfo && break; sleep 0.05; done;"
                + " grep -q ' /vol/fromhost ' /proc/self/mountinfo && echo saw-host-mount > /vol/report || echo no-host-mount > /vol/report;"
                + " mount -t tmpfs fromc /vol/fromc && echo made-in-container > /vol/fromc/marker;"
                + " echo done >> /vol/report; while [ ! -e /vol/go ]; do sleep 0.05; done");
    }

    /** Runs the container, mounts on the host once it runs, and returns the host's new mount points. */
    private Set<String> exercise(Bundle b) throws Exception {
        Set<String> before = mountPoints();
        String id = env.newId();
        env.rt("run", "--detach", "-b", b.write().toString(), id).ok();
        sh("mount -t tmpfs fromhost " + shared.resolve("vol/fromhost"));
        Path report = shared.resolve("vol/report");
        long end = System.nanoTime() + WAIT.toNanos();
        while (!(Files.exists(report) && Files.readString(report).contains("done")) && System.nanoTime() < end) Thread.sleep(20);
        assertTrue(Files.readString(report).contains("done"), "the container finished its mounts");
        Set<String> during = mountPoints();
        during.removeAll(before);
        Files.writeString(shared.resolve("vol/go"), "");
        env.waitForStatus(id, "stopped", WAIT);
        env.rt("delete", id).ok();
        return during;
    }

    @Test
    void aBidirectionalVolumeCarriesMountsBothWaysAndNothingElseLeaks() throws Exception {
        Set<String> added = exercise(container("rshared", "rshared"));
        String report = Files.readString(shared.resolve("vol/report"));
        assertTrue(report.startsWith("saw-host-mount"), () -> "a mount made on the host reaches the container\n" + report);
        assertTrue(Files.exists(shared.resolve("vol/fromc/marker")),
                "a mount made in the container reaches the host (its file is visible there)");
        assertEquals(Set.of(shared.resolve("vol/fromhost").toString(), shared.resolve("vol/fromc").toString()), added,
                "the host got the container's volume mount and nothing else of the container's");
        assertTrue(mountPoints().stream().noneMatch(p -> p.startsWith(env.tmp().resolve("bundle").toString())),
                "nothing is left mounted under the bundles");
    }

    @Test
    void byDefaultNoMountOfTheContainerReachesTheHost() throws Exception {
        Set<String> added = exercise(container("rslave", null));
        String report = Files.readString(shared.resolve("vol/report"));
        assertTrue(report.startsWith("saw-host-mount"), () -> "an rslave volume still sees the host's new mounts\n" + report);
        assertEquals(Set.of(shared.resolve("vol/fromhost").toString()), added,
                "only the host's own mount: the container's stayed in the container");
        assertTrue(!Files.exists(shared.resolve("vol/fromc/marker")), "the container's tmpfs is not on the host");
        TestEnv.assertContains(report, "done", "the container ran its mounts");
    }
}
