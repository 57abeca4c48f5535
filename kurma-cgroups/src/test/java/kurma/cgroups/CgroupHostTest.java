package kurma.cgroups;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.Set;

import org.junit.jupiter.api.Test;

class CgroupHostTest {
    static final String HYBRID = """
            25 20 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
            26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw
            27 25 0:24 / /sys/fs/cgroup/systemd rw,nosuid shared:11 - cgroup cgroup rw,xattr,name=systemd
            28 25 0:25 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:12 - cgroup cgroup rw,cpu,cpuacct
            29 25 0:26 / /sys/fs/cgroup/memory rw,nosuid shared:13 - cgroup cgroup rw,memory
            30 25 0:26 / /mnt/again rw shared:13 - cgroup cgroup rw,memory
            """;

    @Test
    void readsAHybridHost() {
        CgroupHost h = CgroupHost.parse(HYBRID, mp -> Set.of("hugetlb"));
        assertEquals(CgroupHost.Mode.HYBRID, h.mode());
        assertEquals(4, h.hierarchies().size(), "the second memory mount is the same hierarchy");
        assertEquals("cpu,cpuacct", h.forController("cpuacct").name());
        assertEquals(Set.of("hugetlb"), h.unified().controllers());
    }

    @Test
    void readsPureV2() {
        CgroupHost h = CgroupHost.parse("30 1 0:27 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n",
                mp -> Set.of("cpu", "memory", "pids"));
        assertEquals(CgroupHost.Mode.V2, h.mode());
        assertEquals("/sys/fs/cgroup", h.forController("memory").mountPoint());
    }

    @Test
    void resolvesAbsoluteRelativeAndDefaultPaths() {
        CgroupHost h = CgroupHost.parse(HYBRID, mp -> Set.of());
        String self = "0::/user/1\n12:memory:/session\n11:cpu,cpuacct:/session\n1:name=systemd:/init\n";
        Cgroup abs = Cgroup.resolve(h, "/docker/abc", "abc", self);
        assertEquals(Path.of("/sys/fs/cgroup/memory/docker/abc"), abs.dirs().get(3).path());
        Cgroup rel = Cgroup.resolve(h, "pod/abc", "abc", self);
        assertEquals(Path.of("/sys/fs/cgroup/memory/session/pod/abc"), rel.dirs().get(3).path());
        assertEquals(Path.of("/sys/fs/cgroup/unified/user/1/pod/abc"), rel.dirs().get(0).path());
        Cgroup dflt = Cgroup.resolve(h, null, "abc", self);
        assertEquals(Path.of("/sys/fs/cgroup/cpu,cpuacct/kurma/abc"), dflt.dirs().get(2).path());
    }

    @Test
    void unescapesMountPoints() {
        assertEquals("/a b", CgroupHost.unescape("/a\\040b"));
    }
}
