package kurma.tests;

import kurma.tests.support.Bundle;
import kurma.tests.support.Cgroups;
import kurma.tests.support.ContainerTest;
import kurma.tests.support.Result;
import kurma.tests.support.TestEnv;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * linux.resources take effect: the kernel enforces memory, pids and device limits on the
 * container, and cpu/memory/pids/blkio values land in the container's cgroup files (read from
 * the host while it runs). Every container is deleted at the end and its cgroup directories
 * must be gone. The tests read v1 or v2 file names, whichever the host has.
 */
class ResourcesTest extends ContainerTest {
    private static final Duration WAIT = Duration.ofSeconds(30);

    // ------------------------------------------------------------------ memory

    @Test
    void aProcessOverItsMemoryLimitIsOomKilled() throws Exception {
        Path shared = env.newDir("shared");
        // No swap to escape to (memory+swap = memory). dd reads /dev/zero into a bs-sized buffer,
        // so it really touches that much memory: 8 MiB fits under 32 MiB, 64 MiB does not.
        Bundle b = env.bundle().bind(shared, "/shared")
                .set("linux.resources.memory.limit", 32L << 20)
                .set("linux.resources.memory.swap", 32L << 20)
                .sh("dd if=/dev/zero of=/dev/null bs=8M count=1 2>/dev/null; echo small=$? > /shared/rc;"
                        + " dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; echo big=$? >> /shared/rc;"
                        + " touch /shared/done");
        String id = env.create(b);
        List<Path> dirs = Cgroups.containerDirs(env.pid(id));
        Path limit = file(dirs, "memory.limit_in_bytes", "memory.max");
        assertEquals(Long.toString(32L << 20), read(limit), "memory limit in " + limit);

        env.rt("start", id).ok();
        env.waitForFile(shared.resolve("done"), id, WAIT);
        assertEquals("small=0\nbig=137\n", Files.readString(shared.resolve("rc")),
                "the 8 MiB dd must succeed and the 64 MiB one be SIGKILLed (137)");
        // The kernel's own count says it was the OOM killer, not some other SIGKILL.
        Path events = file(dirs, "memory.oom_control", "memory.events");
        long kills = counter(read(events), "oom_kill");
        assertTrue(kills >= 1, () -> "oom_kill in " + events + " is " + kills + ":\n" + readQuietly(events));

        env.waitForStatus(id, "stopped", WAIT);
        deleteAndCheckGone(id, dirs);
    }

    // ------------------------------------------------------------------ pids

    @Test
    void thePidsLimitStopsAForkBomb() throws Exception {
        Path shared = env.newDir("shared");
        // The subshell forks sleeps until fork fails; the init then reports how it ended and
        // becomes a sleep itself (exec: no fork needed, there is no pid left for one).
        Bundle b = env.bundle().bind(shared, "/shared")
                .set("linux.resources.pids.limit", 20L)
                .sh("( i=0; while [ $i -lt 100 ]; do sleep 1000 & i=$((i+1)); done ) 2>/shared/err;"
                        + " echo \"rc=$?\" > /shared/rc; exec sleep 1000");
        String id = env.create(b);
        long pid = env.pid(id);
        List<Path> dirs = Cgroups.containerDirs(pid);
        Path max = file(dirs, "pids.max");
        assertEquals("20", read(max), "pids.max in " + max);

        env.rt("start", id).ok();
        env.waitForFile(shared.resolve("rc"), id, WAIT);
        String rc = Files.readString(shared.resolve("rc")).strip();
        String err = Files.readString(shared.resolve("err"));
        assertTrue(!rc.equals("rc=0") && err.contains("fork"),
                () -> "the fork loop should have failed to fork; " + rc + ", stderr: " + err);
        long current = Long.parseLong(read(max.resolveSibling("pids.current")));
        assertTrue(current <= 20 && current > 10, () -> "pids.current is " + current);
        Path events = max.resolveSibling("pids.events");
        if (Files.exists(events)) {
            long refused = counter(read(events), "max");
            assertTrue(refused >= 1, () -> "pids.events says no fork was refused:\n" + readQuietly(events));
        }

        env.rt("kill", id, "KILL").ok();
        env.waitForStatus(id, "stopped", WAIT);
        TestEnv.waitGone(pid, WAIT);
        deleteAndCheckGone(id, dirs);
    }

    // ------------------------------------------------------------------ values land in the files

    @Test
    void cpuMemoryPidsAndBlkioValuesLandInTheContainersCgroup() throws Exception {
        Path shared = env.newDir("shared");
        Bundle b = env.bundle().bind(shared, "/shared")
                .set("linux.resources.cpu.shares", 512L)
                .set("linux.resources.cpu.quota", 50000L)
                .set("linux.resources.cpu.period", 100000L)
                .set("linux.resources.cpu.cpus", "0")
                .set("linux.resources.memory.limit", 64L << 20)
                .set("linux.resources.memory.reservation", 32L << 20)
                .set("linux.resources.pids.limit", 123L)
                .sh("touch /shared/started; exec sleep 1000");
        String disk = wholeDisk();
        if (disk != null) {
            String[] mm = disk.split(":");
            Map<String, Object> t = new LinkedHashMap<>();
            t.put("major", Long.parseLong(mm[0]));
            t.put("minor", Long.parseLong(mm[1]));
            t.put("rate", 1048576L);
            b.list("linux.resources.blockIO.throttleReadBpsDevice").add(t);
        }
        String id = env.create(b);
        long pid = env.pid(id);
        env.rt("start", id).ok();
        env.waitForFile(shared.resolve("started"), id, WAIT);
        // While it runs, from the host, through /proc/PID/cgroup.
        List<Path> dirs = Cgroups.containerDirs(pid);
        Path cpuDir = file(dirs, "cpu.shares", "cpu.weight").getParent();
        if (Files.exists(cpuDir.resolve("cpu.shares"))) {
            assertEquals("512", read(cpuDir.resolve("cpu.shares")));
            assertEquals("50000", read(cpuDir.resolve("cpu.cfs_quota_us")));
            assertEquals("100000", read(cpuDir.resolve("cpu.cfs_period_us")));
            assertEquals(Long.toString(64L << 20), read(file(dirs, "memory.limit_in_bytes")));
            assertEquals(Long.toString(32L << 20), read(file(dirs, "memory.soft_limit_in_bytes")));
        } else {
            assertEquals("20", read(cpuDir.resolve("cpu.weight")), "runc's conversion of 512 shares");
            assertEquals("50000 100000", read(cpuDir.resolve("cpu.max")));
            assertEquals(Long.toString(64L << 20), read(file(dirs, "memory.max")));
            assertEquals(Long.toString(32L << 20), read(file(dirs, "memory.low")));
        }
        assertEquals("0", read(file(dirs, "cpuset.cpus")));
        assertEquals("123", read(file(dirs, "pids.max")));
        if (disk != null) {
            Path throttle = file(dirs, "blkio.throttle.read_bps_device", "io.max");
            TestEnv.assertContains(read(throttle), disk + (throttle.endsWith("io.max") ? " rbps=1048576" : " 1048576"),
                    throttle.toString());
        }
        // And the kernel applies the cpuset to the process.
        assertEquals("Cpus_allowed_list:\t0", cpusAllowed(pid), "the container's init may only run on cpu 0");

        env.rt("kill", id, "KILL").ok();
        env.waitForStatus(id, "stopped", WAIT);
        TestEnv.waitGone(pid, WAIT);
        deleteAndCheckGone(id, dirs);
    }

    // ------------------------------------------------------------------ devices

    /**
     * /dev/kmsg (c 1:11), made by linux.devices, opened for writing only (no capability
     * needed, nothing written). Not /dev/null: runc (and crun, and Kurma with them) append
     * allow rules for the default devices after the config's, so "deny c 1:3" is undone.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            allow all, deny c 1:11       | a:allow:rwm, c 1 11:deny:rwm | open-denied
            deny all (the default spec)  | a:deny:rwm                   | open-denied
            deny all, allow c 1:11 w     | a:deny:rwm, c 1 11:allow:w   | open-ok
            allow all                    | a:allow:rwm                  | open-ok
            """)
    void theDevicesCgroupDecidesWhatCanBeOpened(String name, String rules, String expected) throws Exception {
        Assumptions.assumeTrue(hostHasV1Devices(),
                "this host has no v1 devices cgroup; on cgroup v2 the rules are an eBPF program, tested in kurma-cgroups"
                        + " (DeviceProgramAttachTest)");
        Bundle b = env.bundle();
        List<Object> list = new ArrayList<>();
        for (String rule : rules.split(",")) {
            String[] f = rule.strip().split(":");
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("allow", f[1].equals("allow"));
            String[] dev = f[0].split(" ");
            m.put("type", dev[0]);
            if (dev.length == 3) {
                m.put("major", Long.parseLong(dev[1]));
                m.put("minor", Long.parseLong(dev[2]));
            }
            m.put("access", f[2]);
            list.add(m);
        }
        b.set("linux.resources.devices", list);
        Map<String, Object> kmsg = new LinkedHashMap<>();
        kmsg.put("path", "/dev/kmsg");
        kmsg.put("type", "c");
        kmsg.put("major", 1L);
        kmsg.put("minor", 11L);
        kmsg.put("fileMode", 0200L);
        kmsg.put("uid", 0L);
        kmsg.put("gid", 0L);
        b.list("linux.devices").add(kmsg);
        // In a subshell: a failed redirection of a special builtin would end the shell itself.
        b.sh("if ( : > /dev/kmsg ); then echo open-ok; else echo open-denied; fi; cat /dev/null && echo null-ok");
        Result r = env.runOk(b);
        TestEnv.assertLines(r, expected, "null-ok");
        if (expected.equals("open-denied")) TestEnv.assertContains(r.stderr(), "Operation not permitted", "stderr");
    }

    // ------------------------------------------------------------------ refusals

    @Test
    void aMalformedLimitIsRefusedAndLeavesNothing() throws Exception {
        Bundle b = env.bundle().set("linux.resources.memory.limit", "64m").args("true");
        Result r = env.rt("create", "--bundle", b.write().toString(), env.newId()).failed();
        if (isKurma()) TestEnv.assertContains(r.stderr(), "linux.resources.memory.limit: expected an integer", "error");
        env.assertNothingLeft();
    }

    @Test
    void aLimitThisHostCannotApplyIsRefusedAndLeavesNothing() throws Exception {
        Assumptions.assumeTrue(v1Hierarchy("net_cls") == null && v1Hierarchy("memory") != null,
                "needs a cgroup v1 host without a net_cls hierarchy (like the build machine)");
        Bundle b = env.bundle().set("linux.resources.network.classID", 1048577L).args("true");
        Result r = env.rt("create", "--bundle", b.write().toString(), env.newId()).failed();
        if (isKurma()) {
            TestEnv.assertContains(r.stderr(), "linux.resources.network.classID: this host has no net_cls cgroup controller", "error");
        }
        env.assertNothingLeft();
    }

    // ------------------------------------------------------------------ helpers

    /** Deletes a stopped container and checks its cgroup directories went with it. */
    private void deleteAndCheckGone(String id, List<Path> dirs) throws Exception {
        assertTrue(!dirs.isEmpty(), "the container had no cgroup of its own");
        env.rt("delete", id).ok();
        List<Path> left = new ArrayList<>();
        for (Path d : dirs) if (Files.exists(d)) left.add(d);
        assertEquals(List.of(), left, "cgroup directories left after delete");
    }

    /** The first of {@code names} that exists in one of the container's cgroup directories. */
    private static Path file(List<Path> dirs, String... names) {
        for (String n : names) {
            for (Path d : dirs) if (Files.exists(d.resolve(n))) return d.resolve(n);
        }
        fail("none of " + List.of(names) + " in the container's cgroup directories " + dirs);
        return null;
    }

    private static String read(Path p) throws IOException {
        return Files.readString(p).strip();
    }

    private static String readQuietly(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return e.toString();
        }
    }

    /** The value of "NAME value" in a flat-keyed cgroup file (memory.oom_control, memory.events, pids.events). */
    private static long counter(String text, String name) {
        for (String line : text.split("\n")) {
            String[] f = line.strip().split("\\s+");
            if (f.length == 2 && f[0].equals(name)) return Long.parseLong(f[1]);
        }
        fail("no \"" + name + "\" in:\n" + text);
        return -1;
    }

    private static String cpusAllowed(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("Cpus_allowed_list:")) return line;
        }
        return "none";
    }

    /** "MAJOR:MINOR" of a whole disk for blkio throttling (throttles take disks, not partitions), or null. */
    private static String wholeDisk() throws IOException {
        try (var s = Files.list(Path.of("/sys/block"))) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String n = p.getFileName().toString();
                if (n.startsWith("loop") || n.startsWith("ram") || n.startsWith("zram") || n.startsWith("sr")) continue;
                if (Files.isRegularFile(p.resolve("dev"))) return read(p.resolve("dev"));
            }
        }
        return null;
    }

    private static boolean hostHasV1Devices() throws IOException {
        return v1Hierarchy("devices") != null;
    }

    /** The mount point of the v1 hierarchy with this controller, or null. */
    private static Path v1Hierarchy(String controller) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            int dash = line.indexOf(" - ");
            if (dash < 0) continue;
            String[] post = line.substring(dash + 3).split(" ");
            if (post.length < 3 || !post[0].equals("cgroup")) continue;
            for (String opt : post[2].split(",")) {
                if (opt.equals(controller)) return Path.of(line.substring(0, dash).split(" ")[4]);
            }
        }
        return null;
    }
}
