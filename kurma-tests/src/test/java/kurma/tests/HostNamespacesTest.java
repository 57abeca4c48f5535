package kurma.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import kurma.tests.support.Bundle;
import kurma.tests.support.ContainerTest;
import kurma.tests.support.Proc;
import kurma.tests.support.Result;
import kurma.tests.support.TestEnv;
import org.junit.jupiter.api.Test;

/**
 * A config with no namespaces at all (all the host's: the privileged case) runs, as runc and
 * crun run it: in the host's namespaces, chrooted into its root filesystem.
 */
class HostNamespacesTest extends ContainerTest {

    private Bundle hostNamespaces() throws Exception {
        Bundle b = env.bundle().set("linux.namespaces", new ArrayList<Object>()).set("hostname", null)
                .set("linux.maskedPaths", new ArrayList<Object>()).set("linux.readonlyPaths", new ArrayList<Object>());
        return b;
    }

    private static String link(String path) throws Exception {
        return Files.readSymbolicLink(Path.of(path)).toString();
    }

    /** Mount points under dir in the host's mount namespace (this test's). */
    private static List<String> mountsUnder(Path dir) throws Exception {
        List<String> out = new ArrayList<>();
        for (String l : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String p = l.split(" ")[4];
            if (p.equals(dir.toString()) || p.startsWith(dir + "/")) out.add(p);
        }
        return out;
    }

    /**
     * runc and crun leave the mounts of such a container on the host after delete; Kurma takes
     * them away with the container. On another runtime the test removes what it left under the
     * test's own bundle (nothing else), so that the suite's leak check stays meaningful.
     */
    private void mountsGone(Bundle b) throws Exception {
        List<String> left = mountsUnder(b.rootfs());
        if (!isKurma()) {
            left.sort((x, y) -> y.length() - x.length());
            for (String p : left) Proc.run(List.of("umount", "-l", p), null, Path.of("/"), Duration.ofSeconds(10));
            return;
        }
        assertEquals(List.of(), left, "the container's mounts were removed from the host with it");
    }

    @Test
    void aConfigWithNoNamespacesRunsInTheHostsNamespaces() throws Exception {
        Bundle b = hostNamespaces().sh("for n in pid net ipc uts mnt; do readlink /proc/self/ns/$n; done;"
                + " echo $$; ls /");
        Result r = env.runOk(b);
        List<String> lines = r.lines();
        assertEquals(List.of(link("/proc/self/ns/pid"), link("/proc/self/ns/net"), link("/proc/self/ns/ipc"),
                link("/proc/self/ns/uts"), link("/proc/self/ns/mnt")), lines.subList(0, 5),
                () -> "the container's namespaces are the host's\n" + r);
        assertNotEquals("1", lines.get(5), () -> "in the host's pid namespace the program is not pid 1\n" + r);
        assertTrue(lines.contains("bin") && lines.contains("proc"), () -> "its root is the bundle's rootfs\n" + r);
        assertTrue(!lines.contains("work") || Files.exists(b.rootfs().resolve("work")), () -> "not the host's /\n" + r);
        mountsGone(b);
    }

    @Test
    void execJoinsAContainerWithoutNamespacesInItsRoot() throws Exception {
        assumeKurma(); // runc 1.1.5 fails it: "error executing setns process: exit status 1"
        Bundle b = hostNamespaces().args("sleep", "60");
        Files.writeString(b.rootfs().resolve("only-in-the-rootfs"), "yes\n");
        String id = env.newId();
        env.rt("run", "--detach", "-b", b.write().toString(), id).ok();
        Result r = env.rt("exec", id, "cat", "/only-in-the-rootfs").ok();
        assertEquals("yes\n", r.stdout(), () -> "exec runs in the container's root\n" + r);
        env.rt("delete", "--force", id).ok();
        mountsGone(b);
    }

    @Test
    void maskedPathsWithoutAMountNamespaceAreRefused() throws Exception {
        // They would mask the host's own /proc files: runc refuses as well.
        Bundle b = hostNamespaces().set("linux.maskedPaths", new ArrayList<Object>(List.of("/proc/kcore"))).args("true");
        Result r = env.rt("create", "-b", b.write().toString(), env.newId());
        assertNotEquals(0, r.exit(), () -> "create must fail\n" + r);
        if (isKurma()) TestEnv.assertContains(r.stderr(), "linux.maskedPaths", "error names the field");
        env.assertNothingLeft();
        mountsGone(b);
    }
}
