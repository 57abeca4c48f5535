package kurma.runtime.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import kurma.cgroups.Cgroup;
import kurma.cgroups.Hierarchy;
import kurma.spec.ConfigException;
import kurma.spec.DefaultSpec;
import kurma.spec.Spec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PlanCompilerTest {
    @TempDir
    Path tmp;

    private Plan compile(String json) throws Exception {
        Path rootfs = Files.createDirectories(tmp.resolve("bundle/rootfs"));
        Cgroup cg = new Cgroup(List.of(
                new Cgroup.Dir(new Hierarchy("/sys/fs/cgroup/memory", false, Set.of("memory"), "/"),
                        Path.of("/sys/fs/cgroup/memory/kurma/t")),
                new Cgroup.Dir(new Hierarchy("/sys/fs/cgroup/unified", true, Set.of(), "/"),
                        Path.of("/sys/fs/cgroup/unified/kurma/t"))));
        return PlanCompiler.compile(new PlanCompiler.Context(Spec.parse(json), tmp.resolve("bundle"), rootfs,
                tmp.resolve("state"), "exec.fifo", cg, false, false, 40, null, null, null, null));
    }

    private static int indexOf(List<Plan.Step> steps, Op op) {
        for (int i = 0; i < steps.size(); i++) if (steps.get(i).op() == op) return i;
        return -1;
    }

    @Test
    void ordersTheStepsAsTheKernelNeeds() throws Exception {
        List<Plan.Step> s = compile(DefaultSpec.JSON).steps();
        int unshare = indexOf(s, Op.UNSHARE), openCgroup = indexOf(s, Op.OPEN_CGROUP), fork = indexOf(s, Op.FORK),
                join = indexOf(s, Op.WRITE_FILE);
        assertTrue(unshare < openCgroup && openCgroup < fork && fork < join, "unshare, v2 cgroup, fork, then v1 join");
        assertEquals(new Plan.Str("/sys/fs/cgroup/unified/kurma/t"), s.get(openCgroup).args().getFirst());
        assertEquals(new Plan.Str("/sys/fs/cgroup/memory/kurma/t/tasks"), s.get(join).args().getFirst());
        long flags = ((Plan.U64) s.get(unshare).args().getFirst()).value();
        assertEquals(Linux.CLONE_NEWNS | Linux.CLONE_NEWNET | Linux.CLONE_NEWIPC | Linux.CLONE_NEWUTS, flags);
        int cgroupns = -1;
        for (int i = unshare + 1; i < s.size(); i++) if (s.get(i).op() == Op.UNSHARE) cgroupns = i;
        assertTrue(join < cgroupns, "the cgroup namespace is made once the init is in its cgroup");
        assertEquals(new Plan.U64(Linux.CLONE_NEWCGROUP), s.get(cgroupns).args().getFirst());
        long forkFlags = ((Plan.U64) s.get(fork).args().getFirst()).value();
        assertEquals(Linux.CLONE_NEWPID, forkFlags);
        assertEquals(new Plan.U64(0), s.get(fork).args().get(1), "create leaves no monitor behind");
        assertTrue(indexOf(s, Op.MKFIFO_AT_STATE) < indexOf(s, Op.READY), "the fifo exists when create returns");
        int pivot = indexOf(s, Op.PIVOT_ROOT), lastMountInRoot = -1;
        for (int i = 0; i < s.size(); i++) if (s.get(i).op() == Op.MOUNT_IN_ROOT) lastMountInRoot = i;
        assertTrue(lastMountInRoot < pivot, "all rootfs mounts before pivot_root");
        assertTrue(pivot < indexOf(s, Op.MASK) && pivot < indexOf(s, Op.READONLY), "masks after pivot_root");
        int ready = indexOf(s, Op.READY), wait = indexOf(s, Op.WAIT_START), find = indexOf(s, Op.FIND_EXEC);
        assertTrue(find < ready && ready < wait, "program checked before create returns");
        int setuid = indexOf(s, Op.SETUID);
        assertTrue(setuid < indexOf(s, Op.CAPSET) && indexOf(s, Op.CAPSET) < indexOf(s, Op.CHDIR) && find < ready,
                "user and capabilities, then cwd and program as that user, all before create returns (failures reported)");
        assertEquals(s.size() - 1, indexOf(s, Op.EXEC), "exec is the last step");
        assertTrue(s.stream().anyMatch(st -> st.op() == Op.MKNOD_IN_ROOT && st.args().getFirst().equals(new Plan.Str("dev/null"))));
    }

    @Test
    void aUserNamespaceIsMadeFirstAndMappedBeforeTheRest() throws Exception {
        String json = DefaultSpec.JSON.replace("{\n        \"type\": \"cgroup\"\n      }",
                "{\n        \"type\": \"cgroup\"\n      },\n      {\"type\": \"user\"}")
                .replace("\"maskedPaths\"", "\"uidMappings\": [{\"containerID\": 0, \"hostID\": 1000, \"size\": 1}],"
                        + " \"gidMappings\": [{\"containerID\": 0, \"hostID\": 1000, \"size\": 1}], \"maskedPaths\"");
        List<Plan.Step> s = compile(json).steps();
        int join = indexOf(s, Op.WRITE_FILE), user = indexOf(s, Op.UNSHARE), sync = indexOf(s, Op.SYNC);
        assertEquals(new Plan.U64(Linux.CLONE_NEWUSER), s.get(user).args().getFirst(), "the user namespace alone");
        assertTrue(join < user && user < sync && sync < indexOf(s, Op.SETUID), "cgroups as host root, then map, then root inside");
        assertEquals(new Plan.U64(PlanCompiler.SYNC_ID_MAPS), s.get(sync).args().getFirst());
        assertEquals(-1, indexOf(s, Op.OPEN_CGROUP), "already in its cgroups");
        assertEquals(-1, indexOf(s, Op.MKNOD_IN_ROOT), "no mknod in a user namespace");
        assertTrue(s.stream().anyMatch(st -> st.op() == Op.MOUNT_IN_ROOT && st.args().get(0).equals(new Plan.Str("/dev/null"))),
                "devices are bind mounts");
        assertTrue(indexOf(s, Op.MKFIFO_AT_STATE) < user, "the start fifo is made as host root");
    }

    @Test
    void execJoinsCgroupsThenNamespacesUserFirstMountLast() throws Exception {
        Spec.Process p = Spec.parse(DefaultSpec.JSON).process();
        Plan plan = PlanCompiler.compileExec(new PlanCompiler.ExecContext(p, 42,
                List.of("mnt", "net", "user", "pid"), List.of(tmp.resolve("v1cg")), true, 40, null, null, null));
        List<Plan.Step> s = plan.steps();
        assertEquals(Op.WRITE_FILE, s.get(0).op());
        assertEquals(new Plan.Str(tmp.resolve("v1cg/tasks").toString()), s.get(0).args().getFirst(), "v1: one thread by tasks");
        List<String> joined = new java.util.ArrayList<>();
        for (Plan.Step st : s) if (st.op() == Op.SETNS) joined.add(((Plan.Str) st.args().getFirst()).value());
        assertEquals(List.of("/proc/42/ns/user", "/proc/42/ns/net", "/proc/42/ns/pid", "/proc/42/ns/mnt"), joined);
        int fork = indexOf(s, Op.FORK);
        assertTrue(indexOf(s, Op.SETNS) < fork && fork < indexOf(s, Op.FIND_EXEC));
        assertEquals(new Plan.U64(1), s.get(fork).args().get(1), "foreground: a monitor reports the exit");
        assertEquals(-1, indexOf(s, Op.PIVOT_ROOT), "no filesystem work: the container has it");
        assertEquals(s.size() - 1, indexOf(s, Op.EXEC));
    }

    @Test
    void aTerminalConnectsBeforeTheNamespacesAndIsMadeAfterPivotRoot() throws Exception {
        String json = DefaultSpec.JSON.replace("\"terminal\": false", "\"terminal\": true");
        Path rootfs = Files.createDirectories(tmp.resolve("bundle/rootfs"));
        Cgroup cg = new Cgroup(List.of());
        List<Plan.Step> s = PlanCompiler.compile(new PlanCompiler.Context(Spec.parse(json), tmp.resolve("bundle"), rootfs,
                tmp.resolve("state"), "exec.fifo", cg, false, false, 40, null, "/run/c.sock", null, null)).steps();
        assertEquals(Op.CONSOLE_SOCKET, s.getFirst().op(), "the host path is reachable only at first");
        assertEquals(new Plan.Str("/run/c.sock"), s.getFirst().args().getFirst());
        int pivot = indexOf(s, Op.PIVOT_ROOT), console = indexOf(s, Op.CONSOLE);
        assertTrue(indexOf(s, Op.SETSID) < pivot && pivot < console && console < indexOf(s, Op.READY),
                "a session, the container's devpts, then the pty, before create returns");
        assertEquals(new Plan.Str("dev/console"), s.get(console).args().get(2));

        Spec.Process p = Spec.parse(json).process();
        List<Plan.Step> e = PlanCompiler.compileExec(new PlanCompiler.ExecContext(p, 42, List.of("mnt", "pid"),
                List.of(), false, 40, null, "/run/e.sock", null)).steps();
        assertEquals(Op.CONSOLE_SOCKET, e.getFirst().op());
        int fork = indexOf(e, Op.FORK), setsid = indexOf(e, Op.SETSID), pty = indexOf(e, Op.CONSOLE);
        assertTrue(indexOf(e, Op.SETNS) < fork && fork < setsid && setsid < pty, "joined, forked, own session, then the pty");
        assertEquals(new Plan.Str(""), e.get(pty).args().get(2), "exec leaves /dev/console alone");
    }

    @Test
    void aDetachedContainerGetsItsLogAndAMonitorThatRecordsTheExit() throws Exception {
        Path rootfs = Files.createDirectories(tmp.resolve("bundle/rootfs"));
        List<Plan.Step> s = PlanCompiler.compile(new PlanCompiler.Context(Spec.parse(DefaultSpec.JSON), tmp.resolve("bundle"),
                rootfs, tmp.resolve("state"), "exec.fifo", new Cgroup(List.of()), false, false, 40, null, null, null,
                new PlanCompiler.Detach("/dev/null", "/var/log/c.log", List.of("/bin/kurma", "rm", "c")))).steps();
        int stdio = indexOf(s, Op.STDIO), exit = indexOf(s, Op.EXIT_COMMAND), unshare = indexOf(s, Op.UNSHARE),
                fork = indexOf(s, Op.FORK);
        assertTrue(indexOf(s, Op.OPEN_STATE_DIR) < stdio && stdio < exit && exit < unshare && unshare < fork,
                "state dir, stdio and the exit command (host namespaces) come before the namespaces are made");
        assertEquals(List.of(new Plan.Str("/dev/null"), new Plan.Str("/var/log/c.log")), s.get(stdio).args());
        assertEquals(new Plan.U64(2), s.get(fork).args().get(1), "a detached monitor");
    }

    @Test
    void cgroupMountBindsEachHierarchy() throws Exception {
        List<Plan.Step> s = compile(DefaultSpec.JSON).steps();
        assertTrue(s.stream().anyMatch(st -> st.op() == Op.MOUNT_IN_ROOT
                && st.args().get(0).equals(new Plan.Str("/sys/fs/cgroup/memory/kurma/t"))
                && st.args().get(1).equals(new Plan.Str("sys/fs/cgroup/memory"))));
        assertTrue(s.stream().anyMatch(st -> st.op() == Op.MOUNT_IN_ROOT
                && st.args().get(1).equals(new Plan.Str("sys/fs/cgroup/unified"))));
    }

    @Test
    void encodesTheWireFormat() throws Exception {
        Plan p = compile(DefaultSpec.JSON);
        ByteBuffer b = ByteBuffer.wrap(p.encode(new int[] {7, 8, 2, 9})).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0x324d524b, b.getInt());
        assertEquals(3, b.getInt());
        assertEquals(4, b.getInt()); // the container's fds: our 7, 8, 2 and 9 become its 0, 1, 2 and 3
        assertEquals(7, b.getInt());
        assertEquals(8, b.getInt());
        assertEquals(2, b.getInt());
        assertEquals(9, b.getInt());
        assertEquals(p.steps().size(), b.getInt());
        assertEquals(b.remaining() - 4, b.getInt());
        assertEquals(Op.OPEN_STATE_DIR.code, b.getShort());
        assertEquals(1, b.getShort());
        byte[] path = new byte[b.getInt()];
        b.get(path);
        assertEquals(tmp.resolve("state").toString(), new String(path, java.nio.charset.StandardCharsets.UTF_8));
        assertEquals(Op.MKFIFO_AT_STATE.code, b.getShort());
    }

    private static String withMount(String dest) {
        return DefaultSpec.JSON.replace("\"mounts\": [", "\"mounts\": [{\"destination\": \"" + dest
                + "\", \"type\": \"tmpfs\", \"source\": \"tmpfs\"},");
    }

    @Test
    void rejectsAMountThatClimbsOutThroughASymlink() throws Exception {
        Path rootfs = Files.createDirectories(tmp.resolve("bundle/rootfs"));
        Files.createSymbolicLink(rootfs.resolve("esc"), Path.of("../../../../../tmp"));
        ConfigException e = assertThrows(ConfigException.class, () -> compile(withMount("/esc/x")));
        assertTrue(e.getMessage().contains("escapes the container's root filesystem through a symlink"), e.getMessage());
        assertThrows(ConfigException.class, () -> compile(withMount("/../x")));
    }

    @Test
    void absoluteSymlinksStayInsideTheRootfs() throws Exception {
        Path rootfs = Files.createDirectories(tmp.resolve("bundle/rootfs"));
        Files.createDirectories(rootfs.resolve("run"));
        Files.createSymbolicLink(rootfs.resolve("var-run"), Path.of("/run"));
        Plan p = compile(withMount("/var-run/x"));
        assertTrue(p.steps().stream().anyMatch(st -> st.op() == Op.MOUNT_IN_ROOT
                && st.args().get(1).equals(new Plan.Str("var-run/x"))));
    }

    @Test
    void rejectsBadConfigsClearly() throws Exception {
        assertEquals("linux.namespaces: unknown namespace type \"bogus\"", assertThrows(ConfigException.class,
                () -> compile(DefaultSpec.JSON.replace("\"type\": \"cgroup\"", "\"type\": \"bogus\""))).getMessage());
        assertTrue(assertThrows(ConfigException.class,
                () -> compile(DefaultSpec.JSON.replace("CAP_KILL", "CAP_NOPE"))).getMessage().contains("CAP_NOPE"));
        assertTrue(assertThrows(ConfigException.class,
                () -> compile(DefaultSpec.JSON.replace("RLIMIT_NOFILE", "RLIMIT_NOPE"))).getMessage().contains("RLIMIT_NOPE"));
        assertEquals("hooks.prestart: path \"true\" is not absolute", assertThrows(ConfigException.class,
                () -> compile(DefaultSpec.JSON.replace("\"hostname\"", "\"hooks\": {\"prestart\": [{\"path\": \"true\"}]},\n  \"hostname\""))).getMessage());
    }

    @Test
    void mountOptionsSplitIntoFlagsAndData() {
        MountOptions o = MountOptions.parse("tmpfs", List.of("nosuid", "strictatime", "mode=755", "size=65536k", "rprivate"));
        assertEquals(MountOptions.MS_NOSUID | MountOptions.MS_STRICTATIME, o.flags());
        assertEquals("mode=755,size=65536k", o.data());
        assertEquals(MountOptions.MS_PRIVATE | MountOptions.MS_REC, o.propagation());
        MountOptions b = MountOptions.parse("none", List.of("rbind", "ro"));
        assertTrue(b.bind() && b.recursive());
        assertEquals(MountOptions.MS_RDONLY, b.flags());
    }

    @Test
    void makedevMatchesGlibc() {
        assertEquals(0x103, PlanCompiler.makedev(1, 3));
        assertEquals(0x500, PlanCompiler.makedev(5, 0));
        assertEquals((259L << 8) | 1 | 0L, PlanCompiler.makedev(259, 1) & 0xfffff);
    }
}
