package kurma.cgroups;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Loads and attaches real device programs to cgroup2 directories made under this host's
 * cgroup2 mount (on a hybrid host, /sys/fs/cgroup/unified: a device program there applies to
 * its processes even though the devices controller is v1), and checks what a shell moved into
 * the cgroup may open. Root only; skipped without a cgroup2 mount.
 */
class DeviceProgramAttachTest {
    private final List<Path> made = new ArrayList<>();
    private Path mount;

    @BeforeEach
    void needsRootAndCgroup2() throws IOException {
        assumeTrue(Files.readString(Path.of("/proc/self/status")).contains("\nUid:\t0\t"), "needs root");
        for (String line : Files.readAllLines(Path.of("/proc/self/mounts"))) {
            String[] f = line.split(" ");
            if (f.length > 2 && f[2].equals("cgroup2")) {
                mount = Path.of(f[1]);
                break;
            }
        }
        assumeTrue(mount != null, "no cgroup2 mount on this host");
    }

    @AfterEach
    void removeCgroups() throws InterruptedException {
        for (Path d : made.reversed()) {
            for (int i = 0; i < 500 && Files.exists(d); i++) {
                try {
                    Files.delete(d); // empty: the shells have exited
                } catch (IOException busy) {
                    Thread.sleep(10);
                }
            }
            assertTrue(!Files.exists(d), "cgroup " + d + " left behind");
        }
    }

    private Path cgroup() throws IOException {
        Path d = mount.resolve("kurma-devtest-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1));
        Files.createDirectory(d);
        made.add(d);
        return d;
    }

    private record Result(int exit, String out, String err) {}

    /** sh joins the cgroup, then execs {@code command}. */
    private static Result runIn(Path cg, String command) throws Exception {
        Process p = new ProcessBuilder("sh", "-c", "echo $$ > " + cg.resolve("cgroup.procs") + "; exec " + command)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        assertTrue(p.waitFor(20, TimeUnit.SECONDS), command + " did not finish");
        return new Result(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1),
                new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    @Test
    void aDeniedDeviceCannotBeOpenedAndTheRestCan() throws Exception {
        Path cg = cgroup();
        // Control: without the program the open succeeds (head then fails its 1-byte read with EINVAL).
        Result before = runIn(cg, "head -c1 /dev/kmsg");
        assertTrue(!before.err().contains("Operation not permitted"), before.toString());
        DeviceProgram.attach(cg, DeviceProgram.compile(List.of(
                new Resources.DeviceRule(true, 'a', -1, -1, "rwm"),
                new Resources.DeviceRule(false, 'c', 1, 11, "rwm")))); // /dev/kmsg
        Result kmsg = runIn(cg, "head -c1 /dev/kmsg");
        assertTrue(kmsg.exit() != 0 && kmsg.err().contains("Operation not permitted"), kmsg.toString());
        Result zero = runIn(cg, "head -c1 /dev/zero");
        assertEquals(new Result(0, "\0", ""), zero);
    }

    @Test
    void runcsDefaultListLoadsAndIsEnforced() throws Exception {
        Path cg = cgroup();
        DeviceRules emu = new DeviceRules();
        for (Resources.DeviceRule r : Resources.DeviceRule.RUNC_DEFAULTS) emu.apply(r, "test");
        DeviceProgram.attach(cg, DeviceProgram.compile(emu.transition()));
        assertEquals(0, runIn(cg, "head -c1 /dev/null").exit());
        assertEquals(new Result(0, "\0", ""), runIn(cg, "head -c1 /dev/zero"));
        Result kmsg = runIn(cg, "head -c1 /dev/kmsg");
        assertTrue(kmsg.exit() != 0 && kmsg.err().contains("Operation not permitted"), kmsg.toString());
    }

    @Test
    void aDirectoryThatIsNoCgroupIsRefusedInOneLine(@TempDir Path notCgroup) {
        kurma.sys.SysException e = assertThrows(kurma.sys.SysException.class,
                () -> DeviceProgram.attach(notCgroup, DeviceProgram.compile(List.of())));
        assertTrue(e.getMessage().startsWith("attaching the cgroup device program to " + notCgroup + ": "), e.getMessage());
        assertTrue(!e.getMessage().contains("\n"), e.getMessage());
    }

    @Test
    void aVerifierRefusalQuotesTheVerifier() throws IOException {
        Path cg = cgroup();
        byte[] exitWithR0Unset = {(byte) 0x95, 0, 0, 0, 0, 0, 0, 0};
        kurma.sys.SysException e = assertThrows(kurma.sys.SysException.class, () -> DeviceProgram.attach(cg, exitWithR0Unset));
        assertTrue(e.getMessage().startsWith("loading the cgroup device program (verifier: "), e.getMessage());
        assertTrue(!e.getMessage().contains("\n"), e.getMessage());
    }

    @Test
    void aMissingDirectoryNamesIt() {
        Path missing = mount.resolve("kurma-devtest-missing-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1));
        kurma.sys.SysException e = assertThrows(kurma.sys.SysException.class,
                () -> DeviceProgram.attach(missing, DeviceProgram.compile(List.of())));
        assertEquals("open " + missing + ": No such file or directory (ENOENT)", e.getMessage());
    }
}
