package kurma.cgroups;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link ResourcesWriter} against fake cgroupfs trees: a hybrid host shaped like the build
 * machine (v1 controllers each in its own hierarchy, hugetlb alone on a cgroup2 mount, BFQ's
 * blkio files but no blkio.weight) and a pure v2 host. Each fake file exists where the kernel
 * would create it, so "the host has no such file" is tested by leaving one out; every write is
 * recorded in order, as "path-relative-to-the-fake-root=value".
 */
class ResourcesWriterTest {
    @TempDir
    Path tmp;

    private final List<String> writes = new ArrayList<>();

    /** Records each write (then performs it, so reading back works like the kernel's files). */
    private final class Recorder implements ResourcesWriter.Io {
        int failWritesTo = -1;

        @Override
        public String read(Path file) throws IOException {
            return Files.readString(file);
        }

        @Override
        public void write(Path file, String value) throws IOException {
            if (!Files.exists(file)) throw new java.nio.file.NoSuchFileException(file.toString());
            writes.add(tmp.relativize(file) + "=" + value);
            if (file.endsWith("cgroup.subtree_control") && value.startsWith("+")) {
                // as the kernel: "+name" adds to the list the file shows
                String old = Files.readString(file).trim();
                value = (old.isEmpty() ? "" : old + " ") + value.substring(1);
            }
            Files.writeString(file, value);
        }

        @Override
        public void attachDeviceProgram(Path dir, byte[] code) {
            attached.add(tmp.relativize(dir) + " <- " + code.length / 8 + " instructions");
            programs.add(code);
        }
    }

    /** Device programs "attached" (pure v2), apart from the file writes. */
    private final List<String> attached = new ArrayList<>();
    private final List<byte[]> programs = new ArrayList<>();

    private final Recorder io = new Recorder();

    // ---------------------------------------------------------------- fake hosts

    private Path mkdir(String rel, String... files) throws IOException {
        Path d = Files.createDirectories(tmp.resolve(rel));
        for (String f : files) {
            int eq = f.indexOf('=');
            Files.writeString(d.resolve(eq < 0 ? f : f.substring(0, eq)), eq < 0 ? "" : f.substring(eq + 1) + "\n");
        }
        return d;
    }

    private static Hierarchy v1(Path mount, String... controllers) {
        return new Hierarchy(mount.toString(), false, Set.of(controllers), "/");
    }

    /** This machine's shape; the container's cgroup is /kurma/c1 in every hierarchy. */
    private Cgroup hybrid() throws IOException {
        List<Hierarchy> hs = new ArrayList<>();
        hs.add(new Hierarchy(mkdir("unified", "cgroup.subtree_control").toString(), true, Set.of("hugetlb"), "/"));
        mkdir("unified/kurma", "cgroup.subtree_control");
        mkdir("unified/kurma/c1", "hugetlb.2MB.max", "hugetlb.2MB.rsvd.max", "cgroup.procs");
        hs.add(v1(mkdir("systemd"), "name=systemd"));
        mkdir("systemd/kurma/c1", "cgroup.procs");
        hs.add(v1(mkdir("cpu"), "cpu"));
        mkdir("cpu/kurma/c1", "cpu.shares=1024", "cpu.cfs_period_us=100000", "cpu.cfs_quota_us=-1", "cpu.cfs_burst_us=0",
                "cpu.rt_period_us=1000000", "cpu.rt_runtime_us=0", "cpu.idle=0");
        hs.add(v1(mkdir("cpuacct"), "cpuacct"));
        mkdir("cpuacct/kurma/c1", "cpuacct.usage");
        hs.add(v1(mkdir("cpuset"), "cpuset"));
        mkdir("cpuset/kurma/c1", "cpuset.cpus=0-1", "cpuset.mems=0");
        hs.add(v1(mkdir("memory"), "memory"));
        mkdir("memory/kurma/c1", "memory.limit_in_bytes=9223372036854771712", "memory.memsw.limit_in_bytes=9223372036854771712",
                "memory.soft_limit_in_bytes=9223372036854771712", "memory.swappiness=60", "memory.oom_control=oom_kill_disable 0");
        hs.add(v1(mkdir("devices"), "devices"));
        mkdir("devices/kurma/c1", "devices.allow", "devices.deny", "devices.list=a *:* rwm");
        hs.add(v1(mkdir("freezer"), "freezer"));
        mkdir("freezer/kurma/c1", "freezer.state=THAWED");
        hs.add(v1(mkdir("blkio"), "blkio"));
        mkdir("blkio/kurma/c1", "blkio.bfq.weight=default 100", "blkio.bfq.weight_device", "blkio.throttle.read_bps_device",
                "blkio.throttle.write_bps_device", "blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device");
        hs.add(v1(mkdir("pids"), "pids"));
        mkdir("pids/kurma/c1", "pids.max=max");
        return Cgroup.resolve(new CgroupHost(List.copyOf(hs)), "/kurma/c1", "c1", "");
    }

    /** cgroup2 alone at the fake root, with the usual controllers. */
    private Cgroup pureV2(String... extraLeafFiles) throws IOException {
        Path root = mkdir("v2", "cgroup.subtree_control=cpu memory pids");
        mkdir("v2/kurma", "cgroup.subtree_control");
        Path leaf = mkdir("v2/kurma/c1", "cgroup.procs", "cpu.weight=100", "cpu.max=max 100000", "cpu.max.burst=0",
                "cpu.idle=0", "cpuset.cpus", "cpuset.mems", "memory.max=max", "memory.low=0", "memory.high=max",
                "memory.swap.max=max", "io.max", "io.weight=default 100", "pids.max=max", "hugetlb.2MB.max=max",
                "hugetlb.2MB.rsvd.max=max", "rdma.max");
        for (String f : extraLeafFiles) Files.writeString(leaf.resolve(f), "");
        Hierarchy h = new Hierarchy(root.toString(), true,
                Set.of("cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc"), "/");
        return Cgroup.resolve(new CgroupHost(List.of(h)), "/kurma/c1", "c1", "");
    }

    private void apply(Cgroup cg, String json) {
        new ResourcesWriter(cg, io).apply(ResourcesParseTest.parse(json), ResourcesWriter.ALL);
    }

    private UncheckedIOException fails(Cgroup cg, String json) {
        UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> apply(cg, json));
        assertEquals(List.of(), writes, "nothing is written when the config cannot be honoured");
        return e;
    }

    /** The writes other than the devices cgroup's (which v1 always gets, as with runc). */
    private List<String> writesBesidesDevices() {
        List<String> out = new ArrayList<>();
        for (String w : writes) if (!w.startsWith("devices/")) out.add(w);
        return out;
    }

    // ---------------------------------------------------------------- v1 / hybrid

    @Test
    void v1MemoryWritesLimitBeforeSwapWhenSwapStaysAboveTheCurrentLimit() throws IOException {
        apply(hybrid(), "{\"memory\": {\"limit\": 67108864, \"reservation\": 33554432, \"swap\": 134217728,"
                + " \"swappiness\": 10, \"disableOOMKiller\": true, \"kernel\": 1000, \"kernelTCP\": 1000}}");
        assertEquals(List.of(
                "memory/kurma/c1/memory.limit_in_bytes=67108864",
                "memory/kurma/c1/memory.memsw.limit_in_bytes=134217728",
                "memory/kurma/c1/memory.soft_limit_in_bytes=33554432",
                "memory/kurma/c1/memory.oom_control=1",
                "memory/kurma/c1/memory.swappiness=10"), writesBesidesDevices());
    }

    @Test
    void v1UnlimitedMemoryMakesSwapUnlimitedFirst() throws IOException {
        apply(hybrid(), "{\"memory\": {\"limit\": -1}}");
        assertEquals(List.of("memory/kurma/c1/memory.memsw.limit_in_bytes=-1", "memory/kurma/c1/memory.limit_in_bytes=-1"),
                writesBesidesDevices());
    }

    @Test
    void v1SwapWithoutSwapAccountingFails() throws IOException {
        Cgroup cg = hybrid();
        Files.delete(tmp.resolve("memory/kurma/c1/memory.memsw.limit_in_bytes"));
        assertEquals("linux.resources.memory.swap: this host has no memory.memsw.limit_in_bytes (swap accounting is off)",
                fails(cg, "{\"memory\": {\"limit\": 1000000, \"swap\": 2000000}}").getMessage());
        apply(cg, "{\"memory\": {\"limit\": -1}}"); // and unlimited memory does not need it
        assertEquals(List.of("memory/kurma/c1/memory.limit_in_bytes=-1"), writesBesidesDevices());
    }

    @Test
    void v1CpuAndCpuset() throws IOException {
        apply(hybrid(), "{\"cpu\": {\"shares\": 512, \"quota\": 50000, \"period\": 100000, \"burst\": 1000,"
                + " \"realtimePeriod\": 1000000, \"realtimeRuntime\": 1000, \"idle\": 0, \"cpus\": \"1\", \"mems\": \"0\"}}");
        assertEquals(List.of(
                "cpuset/kurma/c1/cpuset.cpus=1",
                "cpuset/kurma/c1/cpuset.mems=0",
                "cpu/kurma/c1/cpu.shares=512",
                "cpu/kurma/c1/cpu.cfs_period_us=100000",
                "cpu/kurma/c1/cpu.cfs_quota_us=50000",
                "cpu/kurma/c1/cpu.cfs_burst_us=1000",
                "cpu/kurma/c1/cpu.rt_period_us=1000000",
                "cpu/kurma/c1/cpu.rt_runtime_us=1000",
                "cpu/kurma/c1/cpu.idle=0"), writesBesidesDevices());
    }

    @Test
    void v1UnlimitedQuota() throws IOException {
        apply(hybrid(), "{\"cpu\": {\"quota\": -1}}");
        assertEquals(List.of("cpu/kurma/c1/cpu.cfs_quota_us=-1"), writesBesidesDevices());
    }

    @Test
    void v1PeriodRefusedBeforeTheQuotaIsRetriedAfterIt() throws IOException {
        Cgroup cg = hybrid();
        ResourcesWriter.Io refusesPeriodOnce = new ResourcesWriter.Io() {
            boolean refused;

            @Override
            public String read(Path file) throws IOException {
                return io.read(file);
            }

            @Override
            public void write(Path file, String value) throws IOException {
                if (file.endsWith("cpu.cfs_period_us") && !refused) {
                    refused = true;
                    throw new IOException("Invalid argument");
                }
                io.write(file, value);
            }
        };
        new ResourcesWriter(cg, refusesPeriodOnce).apply(ResourcesParseTest.parse("{\"cpu\": {\"quota\": 5000, \"period\": 10000}}"), ResourcesWriter.ALL);
        assertEquals(List.of("cpu/kurma/c1/cpu.cfs_quota_us=5000", "cpu/kurma/c1/cpu.cfs_period_us=10000"), writesBesidesDevices());
    }

    @Test
    void v1SharesTheKernelClampsAreAnError() throws IOException {
        Cgroup cg = hybrid();
        ResourcesWriter.Io clamps = new ResourcesWriter.Io() {
            @Override
            public String read(Path file) throws IOException {
                return io.read(file);
            }

            @Override
            public void write(Path file, String value) throws IOException {
                io.write(file, file.endsWith("cpu.shares") ? "100000" : value);
            }
        };
        UncheckedIOException e = assertThrows(UncheckedIOException.class,
                () -> new ResourcesWriter(cg, clamps).apply(ResourcesParseTest.parse("{\"cpu\": {\"shares\": 200000}}"), ResourcesWriter.ALL));
        assertEquals("linux.resources.cpu.shares: the kernel set cpu.shares to 100000 instead of 200000 (its range is 2-262144)",
                e.getMessage());
    }

    @Test
    void v1Pids() throws IOException {
        Cgroup cg = hybrid();
        apply(cg, "{\"pids\": {\"limit\": 20}}");
        apply(cg, "{\"pids\": {\"limit\": -1}}");
        apply(cg, "{\"pids\": {\"limit\": 0}}");
        assertEquals(List.of("pids/kurma/c1/pids.max=20", "pids/kurma/c1/pids.max=max"), writesBesidesDevices());
    }

    @Test
    void v1BlkioUsesBfqFilesWithoutCfq() throws IOException {
        apply(hybrid(), "{\"blockIO\": {\"weight\": 500, \"weightDevice\": [{\"major\": 254, \"minor\": 0, \"weight\": 300}],"
                + " \"throttleReadBpsDevice\": [{\"major\": 254, \"minor\": 0, \"rate\": 1048576}],"
                + " \"throttleWriteBpsDevice\": [{\"major\": 254, \"minor\": 0, \"rate\": 2097152}],"
                + " \"throttleReadIOPSDevice\": [{\"major\": 254, \"minor\": 0, \"rate\": 100}],"
                + " \"throttleWriteIOPSDevice\": [{\"major\": 254, \"minor\": 0, \"rate\": 200}, {\"major\": 253, \"minor\": 0, \"rate\": 0}]}}");
        assertEquals(List.of(
                "blkio/kurma/c1/blkio.bfq.weight=500",
                "blkio/kurma/c1/blkio.bfq.weight_device=254:0 300",
                "blkio/kurma/c1/blkio.throttle.read_bps_device=254:0 1048576",
                "blkio/kurma/c1/blkio.throttle.write_bps_device=254:0 2097152",
                "blkio/kurma/c1/blkio.throttle.read_iops_device=254:0 100",
                "blkio/kurma/c1/blkio.throttle.write_iops_device=254:0 200",
                "blkio/kurma/c1/blkio.throttle.write_iops_device=253:0 0"), writesBesidesDevices());
    }

    @Test
    void v1BlkioPrefersCfq() throws IOException {
        Cgroup cg = hybrid();
        mkdir("blkio/kurma/c1", "blkio.weight=500", "blkio.weight_device", "blkio.leaf_weight", "blkio.leaf_weight_device");
        apply(cg, "{\"blockIO\": {\"weight\": 200, \"leafWeight\": 300,"
                + " \"weightDevice\": [{\"major\": 8, \"minor\": 0, \"weight\": 400, \"leafWeight\": 100}]}}");
        assertEquals(List.of(
                "blkio/kurma/c1/blkio.weight=200",
                "blkio/kurma/c1/blkio.leaf_weight=300",
                "blkio/kurma/c1/blkio.weight_device=8:0 400",
                "blkio/kurma/c1/blkio.leaf_weight_device=8:0 100"), writesBesidesDevices());
    }

    @Test
    void v1BlkioWithoutAWeightFileFailsOnlyWhenAWeightIsAsked() throws IOException {
        Cgroup cg = hybrid();
        Files.delete(tmp.resolve("blkio/kurma/c1/blkio.bfq.weight"));
        Files.delete(tmp.resolve("blkio/kurma/c1/blkio.bfq.weight_device"));
        assertEquals("linux.resources.blockIO.weight: this host has no blkio.weight (cgroup v1 blkio without CFQ/BFQ)",
                fails(cg, "{\"blockIO\": {\"weight\": 500}}").getMessage());
        assertEquals("linux.resources.blockIO.weightDevice[0].weight: this host has no blkio.weight_device (cgroup v1 blkio without CFQ/BFQ)",
                fails(cg, "{\"blockIO\": {\"weightDevice\": [{\"major\": 8, \"minor\": 0, \"weight\": 400}]}}").getMessage());
        assertEquals("linux.resources.blockIO.leafWeight: this host has no blkio.leaf_weight (cgroup v1 blkio without CFQ)",
                fails(cg, "{\"blockIO\": {\"leafWeight\": 500}}").getMessage());
        apply(cg, "{\"blockIO\": {\"throttleReadBpsDevice\": [{\"major\": 254, \"minor\": 0, \"rate\": 1}]}}");
        assertEquals(List.of("blkio/kurma/c1/blkio.throttle.read_bps_device=254:0 1"), writesBesidesDevices());
    }

    @Test
    void hybridHugetlbGoesToTheCgroup2MountAndEnablesTheControllerOnTheWay() throws IOException {
        apply(hybrid(), "{\"hugepageLimits\": [{\"pageSize\": \"2MB\", \"limit\": 4194304}]}");
        assertEquals(List.of(
                "unified/cgroup.subtree_control=+hugetlb",
                "unified/kurma/cgroup.subtree_control=+hugetlb",
                "unified/kurma/c1/hugetlb.2MB.max=4194304",
                "unified/kurma/c1/hugetlb.2MB.rsvd.max=4194304"), writesBesidesDevices());
    }

    @Test
    void hugetlbOfAPageSizeTheHostLacksFails() throws IOException {
        Cgroup cg = hybrid();
        assertEquals("linux.resources.hugepageLimits[1]: this host has no hugetlb.1GB.max (no 1GB huge pages on this host)",
                assertThrows(UncheckedIOException.class, () -> apply(cg, "{\"hugepageLimits\": [{\"pageSize\": \"2MB\", \"limit\": 0},"
                        + " {\"pageSize\": \"1GB\", \"limit\": 1073741824}]}")).getMessage());
        // Only enabling the controller happened before the check; no limit was written.
        assertEquals(List.of("unified/cgroup.subtree_control=+hugetlb", "unified/kurma/cgroup.subtree_control=+hugetlb"), writes);
    }

    @Test
    void v1HugetlbWithoutReservationAccounting() throws IOException {
        List<Hierarchy> hs = List.of(v1(mkdir("hugetlb"), "hugetlb"));
        mkdir("hugetlb/kurma/c1", "hugetlb.2MB.limit_in_bytes");
        Cgroup cg = Cgroup.resolve(new CgroupHost(hs), "/kurma/c1", "c1", "");
        apply(cg, "{\"hugepageLimits\": [{\"pageSize\": \"2MB\", \"limit\": 2097152}]}");
        assertEquals(List.of("hugetlb/kurma/c1/hugetlb.2MB.limit_in_bytes=2097152"), writes);
    }

    @Test
    void missingControllersFailOnlyWhenAsked() throws IOException {
        List<Hierarchy> hs = List.of(v1(mkdir("memory"), "memory"));
        mkdir("memory/kurma/c1", "memory.limit_in_bytes=9223372036854771712");
        Cgroup cg = Cgroup.resolve(new CgroupHost(hs), "/kurma/c1", "c1", "");
        assertEquals("linux.resources.pids.limit: this host has no pids cgroup controller",
                fails(cg, "{\"memory\": {\"limit\": 1000000}, \"pids\": {\"limit\": 10}}").getMessage());
        assertEquals("linux.resources.cpu.quota: this host has no cpu cgroup controller",
                fails(cg, "{\"cpu\": {\"quota\": 1000}}").getMessage());
        assertEquals("linux.resources.cpu.cpus: this host has no cpuset cgroup controller",
                fails(cg, "{\"cpu\": {\"cpus\": \"0\"}}").getMessage());
        assertEquals("linux.resources.blockIO.throttleReadBpsDevice: this host has no blkio (v1) or io (v2) cgroup controller",
                fails(cg, "{\"blockIO\": {\"throttleReadBpsDevice\": [{\"major\": 8, \"minor\": 0, \"rate\": 1}]}}").getMessage());
        assertEquals("linux.resources.hugepageLimits[0]: this host has no hugetlb cgroup controller",
                fails(cg, "{\"hugepageLimits\": [{\"pageSize\": \"2MB\", \"limit\": 1}]}").getMessage());
        assertEquals("linux.resources.devices: this host has no devices cgroup controller",
                fails(cg, "{\"devices\": [{\"allow\": false, \"access\": \"rwm\"}]}").getMessage());
        assertEquals("linux.resources.network.classID: this host has no net_cls cgroup controller",
                fails(cg, "{\"network\": {\"classID\": 1}}").getMessage());
        assertEquals("linux.resources.rdma.mlx5_1: this host has no rdma cgroup controller",
                fails(cg, "{\"rdma\": {\"mlx5_1\": {\"hcaHandles\": 1}}}").getMessage());
        assertEquals("linux.resources.unified: this host has no cgroup v2 hierarchy",
                fails(cg, "{\"unified\": {\"memory.high\": \"1\"}}").getMessage());
        // Sections present but asking nothing are fine, and write nothing.
        apply(cg, "{\"memory\": {}, \"cpu\": {\"shares\": 0, \"cpus\": \"\"}, \"pids\": {\"limit\": 0}, \"blockIO\": {},"
                + " \"hugepageLimits\": [], \"devices\": [], \"network\": {}, \"unified\": {}}");
        assertEquals(List.of(), writes);
    }

    @Test
    void devicesOfTheDefaultSpecDenyAllThenRuncsDefaults() throws IOException {
        apply(hybrid(), "{\"devices\": [{\"allow\": false, \"access\": \"rwm\"}]}");
        assertEquals(List.of(
                "devices/kurma/c1/devices.deny=a *:* rwm",
                "devices/kurma/c1/devices.allow=b *:* m",
                "devices/kurma/c1/devices.allow=c *:* m",
                "devices/kurma/c1/devices.allow=c 1:3 rwm",
                "devices/kurma/c1/devices.allow=c 1:5 rwm",
                "devices/kurma/c1/devices.allow=c 1:7 rwm",
                "devices/kurma/c1/devices.allow=c 1:8 rwm",
                "devices/kurma/c1/devices.allow=c 1:9 rwm",
                "devices/kurma/c1/devices.allow=c 5:0 rwm",
                "devices/kurma/c1/devices.allow=c 5:2 rwm",
                "devices/kurma/c1/devices.allow=c 10:200 rwm",
                "devices/kurma/c1/devices.allow=c 136:* rwm"), writes);
    }

    @Test
    void noDeviceRulesAtAllGetTheSameAsRunc() throws IOException {
        apply(hybrid(), "{}");
        assertEquals(12, writes.size());
        assertEquals("devices/kurma/c1/devices.deny=a *:* rwm", writes.getFirst());
    }

    @Test
    void limitsFirstThenDevicesOnceTheInitMadeItsNodes() throws IOException {
        Cgroup cg = hybrid();
        Resources r = ResourcesParseTest.parse("{\"pids\": {\"limit\": 20}, \"devices\": [{\"allow\": true, \"access\": \"rwm\"},"
                + " {\"allow\": false, \"type\": \"c\", \"major\": 1, \"minor\": 11, \"access\": \"rwm\"}]}");
        new ResourcesWriter(cg, io).apply(r, ResourcesWriter.LIMITS);
        assertEquals(List.of("pids/kurma/c1/pids.max=20"), writes);
        writes.clear();
        new ResourcesWriter(cg, io).apply(r, ResourcesWriter.DEVICES);
        assertEquals(List.of("devices/kurma/c1/devices.allow=a *:* rwm", "devices/kurma/c1/devices.deny=c 1:11 rwm"), writes);
    }

    @Test
    void theLimitsStepAlreadyRefusesBadDeviceRules() throws IOException {
        Cgroup cg = hybrid();
        Resources r = ResourcesParseTest.parse("{\"pids\": {\"limit\": 20}, \"devices\": [{\"allow\": false, \"access\": \"rwm\"},"
                + " {\"allow\": true, \"type\": \"c\", \"access\": \"rwm\"},"
                + " {\"allow\": false, \"type\": \"c\", \"major\": 1, \"minor\": 3, \"access\": \"w\"}]}");
        assertThrows(UncheckedIOException.class, () -> new ResourcesWriter(cg, io).apply(r, ResourcesWriter.LIMITS));
        Files.delete(tmp.resolve("devices/kurma/c1/devices.deny"));
        Resources ok = ResourcesParseTest.parse("{\"pids\": {\"limit\": 20}}");
        assertEquals("linux.resources.devices: this host has no devices.deny",
                assertThrows(UncheckedIOException.class, () -> new ResourcesWriter(cg, io).apply(ok, ResourcesWriter.LIMITS)).getMessage());
        assertEquals(List.of(), writes);
    }

    @Test
    void devicesAllowAllThenDenyOne() throws IOException {
        apply(hybrid(), "{\"devices\": [{\"allow\": true, \"access\": \"rwm\"},"
                + " {\"allow\": false, \"type\": \"c\", \"major\": 1, \"minor\": 11, \"access\": \"rwm\"},"
                + " {\"allow\": false, \"type\": \"b\", \"major\": 7, \"access\": \"w\"}]}");
        assertEquals(List.of(
                "devices/kurma/c1/devices.allow=a *:* rwm",
                "devices/kurma/c1/devices.deny=c 1:11 rwm",
                "devices/kurma/c1/devices.deny=b 7:* w"), writes);
    }

    @Test
    void devicesRuleOrderMattersAsInTheKernel() throws IOException {
        // Denying /dev/null is undone by runc's defaults, which come after the config's rules.
        apply(hybrid(), "{\"devices\": [{\"allow\": true, \"access\": \"rwm\"},"
                + " {\"allow\": false, \"type\": \"c\", \"major\": 1, \"minor\": 3, \"access\": \"rwm\"}]}");
        assertEquals(List.of("devices/kurma/c1/devices.allow=a *:* rwm"), writes);
        writes.clear();
        // A later "a" rule resets everything before it; allow then deny of the same bits cancels out.
        apply(hybrid(), "{\"devices\": [{\"allow\": true, \"type\": \"c\", \"major\": 4, \"minor\": 1, \"access\": \"rw\"},"
                + " {\"allow\": false, \"access\": \"rwm\"},"
                + " {\"allow\": true, \"type\": \"c\", \"major\": 4, \"minor\": 2, \"access\": \"rw\"},"
                + " {\"allow\": true, \"type\": \"c\", \"major\": 4, \"minor\": 2, \"access\": \"m\"},"
                + " {\"allow\": true, \"type\": \"c\", \"major\": 4, \"minor\": 3, \"access\": \"rw\"},"
                + " {\"allow\": false, \"type\": \"c\", \"major\": 4, \"minor\": 3, \"access\": \"w\"}]}");
        List<String> exceptions = new ArrayList<>();
        for (String w : writes) if (w.contains("c 4:")) exceptions.add(w);
        assertEquals(List.of("devices/kurma/c1/devices.allow=c 4:2 rwm", "devices/kurma/c1/devices.allow=c 4:3 r"), exceptions);
        assertEquals("devices/kurma/c1/devices.deny=a *:* rwm", writes.getFirst());
    }

    @Test
    void devicesCannotPunchAHoleInAWildcard() throws IOException {
        assertEquals("linux.resources.devices[2]: the devices cgroup cannot take \"c 1:3 w\" out of the wider rule \"c *:* rwm\" before it",
                fails(hybrid(), "{\"devices\": [{\"allow\": false, \"access\": \"rwm\"},"
                        + " {\"allow\": true, \"type\": \"c\", \"access\": \"rwm\"},"
                        + " {\"allow\": false, \"type\": \"c\", \"major\": 1, \"minor\": 3, \"access\": \"w\"}]}").getMessage());
    }

    @Test
    void anUnwritableFileNamesTheFieldAndTheFile() throws IOException {
        Cgroup cg = hybrid();
        ResourcesWriter.Io refuses = new ResourcesWriter.Io() {
            @Override
            public String read(Path file) throws IOException {
                return io.read(file);
            }

            @Override
            public void write(Path file, String value) throws IOException {
                if (file.endsWith("cpuset.cpus")) throw new java.nio.file.FileSystemException(file.toString(), null, "Invalid argument");
                io.write(file, value);
            }
        };
        UncheckedIOException e = assertThrows(UncheckedIOException.class,
                () -> new ResourcesWriter(cg, refuses).apply(ResourcesParseTest.parse("{\"cpu\": {\"cpus\": \"7\"}}"), ResourcesWriter.ALL));
        assertEquals("linux.resources.cpu.cpus: writing \"7\" to " + tmp.resolve("cpuset/kurma/c1/cpuset.cpus") + ": Invalid argument",
                e.getMessage());
    }

    @Test
    void unifiedOnAHybridHostReachesOnlyWhatIsOnTheCgroup2Mount() throws IOException {
        Cgroup cg = hybrid();
        assertEquals("linux.resources.unified.memory.high: this host has no memory.high (no memory controller in this host's cgroup v2 hierarchy)",
                fails(cg, "{\"unified\": {\"memory.high\": \"1000000\"}}").getMessage());
        apply(cg, "{\"unified\": {\"hugetlb.2MB.max\": \"2097152\"}}");
        assertEquals(List.of("unified/cgroup.subtree_control=+hugetlb", "unified/kurma/cgroup.subtree_control=+hugetlb",
                "unified/kurma/c1/hugetlb.2MB.max=2097152"), writesBesidesDevices());
    }

    @Test
    void thePublicCallsWriteRealFiles() throws IOException {
        Cgroup cg = hybrid();
        Resources r = ResourcesParseTest.parse("{\"pids\": {\"limit\": 20}, \"cpu\": {\"shares\": 512},"
                + " \"devices\": [{\"allow\": true, \"access\": \"rwm\"}, {\"allow\": false, \"type\": \"c\", \"major\": 1, \"minor\": 11, \"access\": \"rwm\"}]}");
        cg.apply(r);
        assertEquals("20", Files.readString(tmp.resolve("pids/kurma/c1/pids.max")));
        assertEquals("512", Files.readString(tmp.resolve("cpu/kurma/c1/cpu.shares")));
        assertEquals("", Files.readString(tmp.resolve("devices/kurma/c1/devices.deny")), "devices come later");
        cg.applyDevices(r);
        assertEquals("a *:* rwm", Files.readString(tmp.resolve("devices/kurma/c1/devices.allow")));
        assertEquals("c 1:11 rwm", Files.readString(tmp.resolve("devices/kurma/c1/devices.deny")));
    }

    // ---------------------------------------------------------------- pure v2

    @Test
    void v2MemoryTakesSwapAloneAndEnablesTheController() throws IOException {
        apply(pureV2(), "{\"memory\": {\"limit\": 67108864, \"reservation\": 33554432, \"swap\": 134217728}}");
        assertEquals(List.of(
                "v2/kurma/cgroup.subtree_control=+memory", // the root has it already
                "v2/kurma/c1/memory.swap.max=67108864",
                "v2/kurma/c1/memory.max=67108864",
                "v2/kurma/c1/memory.low=33554432"), writes);
    }

    @Test
    void v2SwapEqualToTheLimitMeansNoSwapAndUnlimitedMemoryUnlimitedSwap() throws IOException {
        Cgroup cg = pureV2();
        apply(cg, "{\"memory\": {\"limit\": 1048576, \"swap\": 1048576}}");
        apply(cg, "{\"memory\": {\"limit\": -1}}");
        apply(cg, "{\"memory\": {\"limit\": 2097152, \"swap\": -1}}");
        apply(cg, "{\"memory\": {\"limit\": 2097152}}");
        assertEquals(List.of(
                "v2/kurma/cgroup.subtree_control=+memory", // once: then the file lists it
                "v2/kurma/c1/memory.swap.max=0", "v2/kurma/c1/memory.max=1048576",
                "v2/kurma/c1/memory.swap.max=max", "v2/kurma/c1/memory.max=max",
                "v2/kurma/c1/memory.swap.max=max", "v2/kurma/c1/memory.max=2097152",
                "v2/kurma/c1/memory.max=2097152"), writes);
    }

    @Test
    void v2WithoutSwapAccounting() throws IOException {
        Cgroup cg = pureV2();
        Files.delete(tmp.resolve("v2/kurma/c1/memory.swap.max"));
        Files.writeString(tmp.resolve("v2/kurma/cgroup.subtree_control"), "memory\n");
        assertEquals("linux.resources.memory.swap: this host has no memory.swap.max (swap accounting is off)",
                fails(cg, "{\"memory\": {\"limit\": 1048576, \"swap\": 2097152}}").getMessage());
        apply(cg, "{\"memory\": {\"limit\": -1}}");
        apply(cg, "{\"memory\": {\"limit\": 1048576, \"swap\": 1048576}}");
        assertEquals(List.of("v2/kurma/c1/memory.max=max", "v2/kurma/c1/memory.max=1048576"), writes);
    }

    @Test
    void v2RefusesWhatOnlyV1Has() throws IOException {
        Cgroup cg = pureV2();
        assertEquals("linux.resources.memory.swappiness: cgroup v2 has no per-cgroup swappiness (memory.swappiness)",
                fails(cg, "{\"memory\": {\"swappiness\": 10}}").getMessage());
        assertEquals("linux.resources.memory.disableOOMKiller: cgroup v2 cannot turn the OOM killer off",
                fails(cg, "{\"memory\": {\"limit\": 1048576, \"disableOOMKiller\": true}}").getMessage());
        assertEquals("linux.resources.cpu.realtimeRuntime: cgroup v2 has no realtime cpu limits (cpu.rt_runtime_us / cpu.rt_period_us)",
                fails(cg, "{\"cpu\": {\"realtimeRuntime\": 1000}}").getMessage());
        assertEquals("linux.resources.blockIO.leafWeight: cgroup v2 has no leaf weights",
                fails(cg, "{\"blockIO\": {\"leafWeight\": 100}}").getMessage());
        assertEquals("linux.resources.network.classID: this host has no net_cls cgroup controller",
                fails(cg, "{\"network\": {\"classID\": 1}}").getMessage());
        // But "disableOOMKiller": false and swappiness -1 ask nothing.
        apply(cg, "{\"memory\": {\"disableOOMKiller\": false, \"swappiness\": -1}}");
        assertEquals(List.of(), writes);
    }

    @Test
    void v2CpuWeightFromSharesAndCpuMax() throws IOException {
        Cgroup cg = pureV2();
        apply(cg, "{\"cpu\": {\"shares\": 1024, \"quota\": 50000, \"period\": 100000, \"burst\": 1000, \"idle\": 1,"
                + " \"cpus\": \"0\", \"mems\": \"0\"}}");
        assertEquals(List.of(
                "v2/cgroup.subtree_control=+cpuset",
                "v2/kurma/cgroup.subtree_control=+cpuset",
                "v2/kurma/cgroup.subtree_control=+cpu",
                "v2/kurma/c1/cpuset.cpus=0",
                "v2/kurma/c1/cpuset.mems=0",
                "v2/kurma/c1/cpu.weight=39",
                "v2/kurma/c1/cpu.max=50000 100000",
                "v2/kurma/c1/cpu.max.burst=1000",
                "v2/kurma/c1/cpu.idle=1"), writes);
        writes.clear();
        apply(cg, "{\"cpu\": {\"quota\": -1, \"period\": 100000}}");
        apply(cg, "{\"cpu\": {\"period\": 200000}}");
        apply(cg, "{\"cpu\": {\"quota\": 20000}}");
        List<String> max = new ArrayList<>();
        for (String w : writes) if (w.contains("cpu.max")) max.add(w);
        assertEquals(List.of("v2/kurma/c1/cpu.max=max 100000", "v2/kurma/c1/cpu.max=max 200000", "v2/kurma/c1/cpu.max=20000"), max);
    }

    @Test
    void runcsSharesToWeightConversion() {
        assertEquals(1, ResourcesWriter.sharesToWeight(2));
        assertEquals(39, ResourcesWriter.sharesToWeight(1024));
        assertEquals(20, ResourcesWriter.sharesToWeight(512));
        assertEquals(10000, ResourcesWriter.sharesToWeight(262144));
        for (long s = 2; s <= 262144; s += 997) assertEquals(1 + ((s - 2) * 9999) / 262142, ResourcesWriter.sharesToWeight(s));
    }

    @Test
    void v2IoWeightIsConvertedWithoutBfq() throws IOException {
        apply(pureV2(), "{\"blockIO\": {\"weight\": 500, \"throttleReadBpsDevice\": [{\"major\": 254, \"minor\": 0, \"rate\": 1048576}],"
                + " \"throttleWriteIOPSDevice\": [{\"major\": 254, \"minor\": 0, \"rate\": 0}]}}");
        assertEquals(List.of(
                "v2/cgroup.subtree_control=+io",
                "v2/kurma/cgroup.subtree_control=+io",
                "v2/kurma/c1/io.weight=4950",
                "v2/kurma/c1/io.max=254:0 rbps=1048576",
                "v2/kurma/c1/io.max=254:0 wiops=max"), writes);
    }

    @Test
    void v2IoWithBfq() throws IOException {
        apply(pureV2("io.bfq.weight"), "{\"blockIO\": {\"weight\": 500, \"weightDevice\": [{\"major\": 8, \"minor\": 0, \"weight\": 300}]}}");
        assertEquals(List.of(
                "v2/cgroup.subtree_control=+io",
                "v2/kurma/cgroup.subtree_control=+io",
                "v2/kurma/c1/io.bfq.weight=500",
                "v2/kurma/c1/io.bfq.weight=8:0 300"), writes);
    }

    @Test
    void v2PerDeviceWeightsNeedBfq() throws IOException {
        assertEquals("linux.resources.blockIO.weightDevice[0].weight: this host has no io.bfq.weight (per-device weights need the BFQ scheduler)",
                assertThrows(UncheckedIOException.class, () -> apply(pureV2(),
                        "{\"blockIO\": {\"weightDevice\": [{\"major\": 8, \"minor\": 0, \"weight\": 300}]}}")).getMessage());
    }

    @Test
    void v2PidsHugetlbRdmaAndUnifiedLast() throws IOException {
        apply(pureV2("cgroup.max.depth"), "{\"pids\": {\"limit\": 20}, \"hugepageLimits\": [{\"pageSize\": \"2MB\", \"limit\": 2097152}],"
                + " \"rdma\": {\"mlx5_1\": {\"hcaHandles\": 3}}, \"unified\": {\"pids.max\": \"30\", \"cgroup.max.depth\": \"2\"}}");
        assertEquals(List.of(
                "v2/cgroup.subtree_control=+hugetlb",
                "v2/cgroup.subtree_control=+rdma",
                "v2/kurma/cgroup.subtree_control=+pids",
                "v2/kurma/cgroup.subtree_control=+hugetlb",
                "v2/kurma/cgroup.subtree_control=+rdma",
                "v2/kurma/c1/pids.max=20",
                "v2/kurma/c1/hugetlb.2MB.max=2097152",
                "v2/kurma/c1/hugetlb.2MB.rsvd.max=2097152",
                "v2/kurma/c1/rdma.max=mlx5_1 hca_handle=3",
                "v2/kurma/c1/pids.max=30", // unified comes last and wins
                "v2/kurma/c1/cgroup.max.depth=2"), writes);
    }

    @Test
    void v2UnifiedFileMissing() throws IOException {
        Cgroup cg = pureV2();
        assertEquals("linux.resources.unified.memory.oom.group: this host has no memory.oom.group",
                assertThrows(UncheckedIOException.class, () -> apply(cg, "{\"unified\": {\"memory.oom.group\": \"1\"}}")).getMessage());
        assertEquals("linux.resources.unified.foo.bar: this host has no foo.bar (no foo controller in this host's cgroup v2 hierarchy)",
                assertThrows(UncheckedIOException.class, () -> apply(cg, "{\"unified\": {\"foo.bar\": \"1\"}}")).getMessage());
    }

    @Test
    void v2DevicesAreAnEbpfProgramOnTheContainersDirectory() throws IOException {
        Cgroup cg = pureV2();
        String json = "{\"devices\": [{\"allow\": false, \"access\": \"rwm\"},"
                + " {\"allow\": true, \"type\": \"c\", \"major\": 1, \"minor\": 11, \"access\": \"rw\"}]}";
        new ResourcesWriter(cg, io).apply(ResourcesParseTest.parse(json), ResourcesWriter.LIMITS);
        assertEquals(List.of(), attached, "the limits pass attaches nothing");
        new ResourcesWriter(cg, io).apply(ResourcesParseTest.parse(json), ResourcesWriter.DEVICES);
        assertEquals(List.of(), writes, "no file is written for devices on v2");
        assertEquals(1, attached.size());
        assertTrue(attached.getFirst().startsWith("v2/kurma/c1 <- "), attached.toString());
        DeviceRules emu = new DeviceRules();
        for (Resources.DeviceRule r : ResourcesParseTest.parse(json).devices()) emu.apply(r, "f");
        for (Resources.DeviceRule r : Resources.DeviceRule.RUNC_DEFAULTS) emu.apply(r, "f");
        assertArrayEquals(DeviceProgram.compile(emu.transition()), programs.getFirst(), "the v1 rule list, compiled");
    }

    @Test
    void v2DevicesWithoutRulesStillGetRuncsDefaults() throws IOException {
        new ResourcesWriter(pureV2(), io).apply(ResourcesParseTest.parse("{}"), ResourcesWriter.DEVICES);
        assertEquals(1, attached.size());
    }

    @Test
    void v2AttachFailureIsOneLineNamingTheField() throws IOException {
        Cgroup cg = pureV2();
        ResourcesWriter.Io refuses = new ResourcesWriter.Io() {
            @Override
            public String read(Path file) throws IOException {
                return io.read(file);
            }

            @Override
            public void write(Path file, String value) throws IOException {
                io.write(file, value);
            }

            @Override
            public void attachDeviceProgram(Path dir, byte[] code) throws IOException {
                throw new IOException(new kurma.sys.SysException("loading the cgroup device program", 1).getMessage());
            }
        };
        UncheckedIOException e = assertThrows(UncheckedIOException.class,
                () -> new ResourcesWriter(cg, refuses).apply(ResourcesParseTest.parse("{}"), ResourcesWriter.DEVICES));
        assertEquals("linux.resources.devices: loading the cgroup device program: Operation not permitted (EPERM)", e.getMessage());
    }

    @Test
    void aControllerAlreadyEnabledIsNotEnabledAgain() throws IOException {
        Cgroup cg = pureV2();
        Files.writeString(tmp.resolve("v2/kurma/cgroup.subtree_control"), "cpu pids\n");
        apply(cg, "{\"pids\": {\"limit\": 5}, \"cpu\": {\"shares\": 2}}");
        assertEquals(List.of("v2/kurma/c1/cpu.weight=1", "v2/kurma/c1/pids.max=5"), writes);
    }
}
