package kurma.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class SpecWriterTest {
    @Test
    void theDefaultSpecReadsBackEqual() {
        Spec s = Spec.parse(DefaultSpec.JSON);
        assertEquals(s, Spec.parse(SpecWriter.write(s)));
    }

    /** Every field the records hold, with the values that are easy to get wrong when written. */
    private static final String FULL = """
            {"ociVersion": "1.2.0",
             "process": {"terminal": true, "consoleSize": {"height": 24, "width": 80},
               "user": {"uid": 1000, "gid": 100, "umask": 18, "additionalGids": [5, 6]},
               "args": ["sh", "-c", "echo \\"hi\\"\\n"], "env": ["A=b", "EMPTY="], "cwd": "/work",
               "capabilities": {"bounding": ["CAP_KILL"], "effective": [], "permitted": ["CAP_KILL"]},
               "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 18446744073709551615, "soft": 1024},
                           {"type": "RLIMIT_CORE", "hard": 0, "soft": 0}],
               "noNewPrivileges": true, "oomScoreAdj": -500},
             "root": {"path": "/some/rootfs", "readonly": false},
             "hostname": "", "domainname": "example.org",
             "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
                        {"destination": "/data", "type": "bind", "source": "/srv", "options": ["rbind", "ro"]},
                        {"destination": "/empty"}],
             "hooks": {"prestart": [{"path": "/bin/hook", "args": ["hook", "x"], "env": ["K=v"], "timeout": 5}],
                       "poststop": [{"path": "/bin/true"}]},
             "annotations": {"org.example/a": "1", "b": ""},
             "linux": {"namespaces": [{"type": "pid"}, {"type": "network", "path": "/proc/1/ns/net"}, {"type": "user"}],
               "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
               "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
               "sysctl": {"net.ipv4.ip_forward": "1"},
               "resources": {"memory": {"limit": 67108864}, "pids": {"limit": 20},
                             "devices": [{"allow": false, "access": "rwm"}]},
               "cgroupsPath": "/kurma/x", "rootfsPropagation": "rslave",
               "maskedPaths": ["/proc/kcore"], "readonlyPaths": ["/proc/sys"],
               "devices": [{"type": "c", "path": "/dev/fuse", "major": 10, "minor": 229, "fileMode": 438, "uid": 0, "gid": 0},
                           {"type": "b", "path": "/dev/loop9", "major": 7, "minor": 9}],
               "seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_ERRNO"}]}}}
            """;

    @Test
    void everyFieldReadsBackEqual() {
        Spec s = Spec.parse(FULL);
        String written = SpecWriter.write(s);
        assertEquals(s, Spec.parse(written), written);
        assertTrue(written.contains("\"hard\": 18446744073709551615"), () -> "RLIM_INFINITY unsigned\n" + written);
    }

    @Test
    void anEmptyCapabilitySetStaysAndAnAbsentOneStaysAbsent() {
        Map<?, ?> caps = (Map<?, ?>) ((Map<?, ?>) SpecWriter.toJson(Spec.parse(FULL)).get("process")).get("capabilities");
        assertEquals(List.of(), caps.get("effective"), "given and empty: no capabilities");
        assertFalse(caps.containsKey("inheritable"), "not given");
        Spec back = Spec.parse(SpecWriter.write(Spec.parse(FULL)));
        assertNull(back.process().capabilities().ambient());
    }

    @Test
    void absentPartsAreLeftOut() {
        Spec s = Spec.parse("{\"ociVersion\": \"1.2.0\", \"root\": {\"path\": \"rootfs\"}}");
        assertEquals(Map.of("ociVersion", "1.2.0", "root", Map.of("path", "rootfs", "readonly", false)), SpecWriter.toJson(s));
        assertEquals(s, Spec.parse(SpecWriter.write(s)));
    }
}
