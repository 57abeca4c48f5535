package kurma.tests;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import kurma.tests.support.Bundle;
import kurma.tests.support.ContainerTest;
import kurma.tests.support.Result;
import kurma.tests.support.TestEnv;
import org.junit.jupiter.api.Test;

/** Configs runc and crun refuse, for the host's sake, are refused here too. */
class StrictConfigTest extends ContainerTest {

    private void refused(Bundle b, String kurmaWords) throws Exception {
        Result r = env.rt("create", "-b", b.write().toString(), env.newId());
        assertNotEquals(0, r.exit(), () -> "create must fail\n" + r);
        if (isKurma()) TestEnv.assertContains(r.stderr(), kurmaWords, "error");
        env.assertNothingLeft();
    }

    /**
     * /proc as an absolute symlink in the image: proc would be mounted where the link points, and
     * the masks and read-only paths meant for /proc would miss it.
     */
    @Test
    void aProcDestinationThatIsASymlinkIsRefused() throws Exception {
        Bundle b = env.bundle().args("true");
        Path proc = b.rootfs().resolve("proc");
        Files.delete(proc);
        Files.createDirectories(b.rootfs().resolve("elsewhere"));
        Files.createSymbolicLink(proc, Path.of("/elsewhere"));
        refused(b, "mount destination \"/proc\"");
        assertFalse(Files.exists(b.rootfs().resolve("elsewhere/self")), "nothing was mounted through the link");
    }

    @Test
    void aSysDestinationThatIsASymlinkIsRefused() throws Exception {
        Bundle b = env.bundle().args("true");
        Path sys = b.rootfs().resolve("sys");
        Files.delete(sys);
        Files.createSymbolicLink(sys, Path.of("tmp"));
        refused(b, "mount destination \"/sys\"");
    }

    /** A sysctl outside every namespace the container has would be the host's. */
    @Test
    void aSysctlOfTheHostIsRefused() throws Exception {
        Map<String, Object> sysctl = new LinkedHashMap<>();
        sysctl.put("vm.swappiness", "10");
        refused(env.bundle().args("true").set("linux.sysctl", sysctl), "linux.sysctl: \"vm.swappiness\"");
        Map<String, Object> net = new LinkedHashMap<>();
        net.put("net.ipv4.ip_forward", "1");
        refused(env.bundle().args("true").removeNamespace("network").set("linux.sysctl", net),
                "needs a network namespace");
    }
}
