package kurma.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SpecTest {
    @Test
    void parsesTheDefaultSpec() {
        Spec s = Spec.parse(DefaultSpec.JSON);
        assertEquals("rootfs", s.root().path());
        assertTrue(s.root().readonly());
        assertEquals(List.of("sh"), s.process().args());
        assertEquals("/", s.process().cwd());
        assertEquals(0, s.process().user().uid());
        assertEquals(List.of("CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"), s.process().capabilities().bounding());
        assertNull(s.process().capabilities().inheritable());
        assertEquals(1024, s.process().rlimits().getFirst().hard());
        assertEquals(7, s.mounts().size());
        assertEquals("/dev/pts", s.mounts().get(2).destination());
        assertTrue(s.mounts().get(2).options().contains("newinstance"));
        assertEquals("kurma", s.hostname());
        assertEquals(6, s.linux().namespaces().size());
        assertTrue(s.linux().maskedPaths().contains("/proc/kcore"));
    }

    @Test
    void readsEngineConfigs() throws Exception {
        // what docker, podman and containerd actually send (shared/reference/client-calls)
        for (String engine : List.of("docker", "podman", "containerd")) {
            java.nio.file.Path p = java.nio.file.Path.of("../../shared/reference/client-calls", engine, "config.json");
            if (!java.nio.file.Files.exists(p)) continue;
            Spec s = Spec.parse(java.nio.file.Files.readString(p));
            assertTrue(s.process().args().size() > 0, engine);
            assertTrue(s.linux().namespace("mount") != null, engine);
        }
    }

    @Test
    void errorsNameTheField() {
        String base = "{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"rootfs\"},\"process\":%s}";
        assertMessage("process.args: must name the program to run",
                String.format(base, "{\"cwd\":\"/\",\"args\":[]}"));
        assertMessage("process.args[1]: expected a string",
                String.format(base, "{\"cwd\":\"/\",\"args\":[\"a\",2]}"));
        assertMessage("process.cwd: must be an absolute path, got \"tmp\"",
                String.format(base, "{\"cwd\":\"tmp\",\"args\":[\"a\"]}"));
        assertMessage("process.user.uid: expected an integer",
                String.format(base, "{\"cwd\":\"/\",\"args\":[\"a\"],\"user\":{\"uid\":\"0\"}}"));
        assertMessage("root: is required", "{\"ociVersion\":\"1.2.0\"}");
        assertMessage("ociVersion: is required", "{}");
        assertMessage("linux.namespaces: pid is listed twice",
                "{\"ociVersion\":\"1\",\"root\":{\"path\":\"r\"},\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"pid\"}]}}");
    }

    private static void assertMessage(String expected, String json) {
        ConfigException e = assertThrows(ConfigException.class, () -> Spec.parse(json));
        assertEquals(expected, e.getMessage());
    }

    // ---- numbers and names against the ranges the kernel and runc take ----

    /** A small valid config; a new user namespace (mount + user) when userns. */
    private static Map<String, Object> base(boolean userns) {
        String ns = userns ? "[{\"type\":\"mount\"},{\"type\":\"user\"},{\"type\":\"uts\"}]"
                : "[{\"type\":\"mount\"},{\"type\":\"uts\"}]";
        String maps = userns ? ",\"uidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536}],"
                + "\"gidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536}]" : "";
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) Json.parse("{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"rootfs\"},"
                + "\"process\":{\"cwd\":\"/\",\"args\":[\"sh\"]},\"linux\":{\"namespaces\":" + ns + maps + "}}");
        return m;
    }

    /** The base config with "a.b.c = JSON" assignments (separated by " ; ") applied. */
    @SuppressWarnings("unchecked")
    private static String with(boolean userns, String assignments) {
        Map<String, Object> config = base(userns);
        for (String a : assignments.split(" ; ")) {
            int eq = a.indexOf('=');
            String[] path = a.substring(0, eq).strip().split("\\.");
            Map<String, Object> m = config;
            for (int i = 0; i < path.length - 1; i++) {
                m = (Map<String, Object>) m.computeIfAbsent(path[i], k -> new LinkedHashMap<String, Object>());
            }
            m.put(path[path.length - 1], Json.parse(a.substring(eq + 1).strip()));
        }
        return Json.write(config);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            process.user.uid = -1                     | process.user.uid: must be at least 0, got -1
            process.user.uid = 2147483648             | process.user.uid: must be at most 2147483647, got 2147483648
            process.user.uid = 4294967295             | process.user.uid: must be at most 2147483647, got 4294967295
            process.user.uid = 18446744073709551616   | process.user.uid: must be at most 2147483647, got 18446744073709551616
            process.user.uid = -18446744073709551616  | process.user.uid: must be at least 0, got -18446744073709551616
            process.user.uid = 1.5                    | process.user.uid: expected an integer, got 1.5
            process.user.gid = -1                     | process.user.gid: must be at least 0, got -1
            process.user.umask = -1                   | process.user.umask: must be at least 0, got -1
            process.user.umask = 4294967296           | process.user.umask: must be at most 4294967295, got 4294967296
            process.user.additionalGids = [5, -1]     | process.user.additionalGids[1]: must be at least 0, got -1
            process.user.additionalGids = [2147483648] | process.user.additionalGids[0]: must be at most 2147483647, got 2147483648
            process.user.additionalGids = [null]      | process.user.additionalGids[0]: expected an integer
            process.rlimits = [{"type":"RLIMIT_NOFILE","soft":-5,"hard":1024}] | process.rlimits[0].soft: must be at least 0, got -5
            process.rlimits = [{"type":"RLIMIT_NOFILE","soft":5,"hard":-1}] | process.rlimits[0].hard: must be at least 0, got -1
            process.rlimits = [{"type":"RLIMIT_NOFILE","soft":1,"hard":18446744073709551616}] | process.rlimits[0].hard: must be at most 18446744073709551615, got 18446744073709551616
            process.rlimits = [{"type":"RLIMIT_NOFILE","soft":2048,"hard":1024}] | process.rlimits[0].soft: must be at most hard (1024), got 2048
            process.rlimits = [{"type":"RLIMIT_NOFILE","soft":18446744073709551615,"hard":1024}] | process.rlimits[0].soft: must be at most hard (1024), got 18446744073709551615
            process.rlimits = [{"type":"RLIMIT_NOFILE","hard":1024}] | process.rlimits[0].soft: is required
            process.rlimits = [{"type":"RLIMIT_NOFILE","soft":1}] | process.rlimits[0].hard: is required
            process.oomScoreAdj = 1001                | process.oomScoreAdj: must be at most 1000, got 1001
            process.oomScoreAdj = -1001               | process.oomScoreAdj: must be at least -1000, got -1001
            process.consoleSize = {"height":-1,"width":80} | process.consoleSize.height: must be at least 0, got -1
            process.consoleSize = {"height":25,"width":65536} | process.consoleSize.width: must be at most 65535, got 65536
            linux.devices = [{"type":"c","path":"/dev/x","major":-1,"minor":3}] | linux.devices[0].major: must be at least 0, got -1
            linux.devices = [{"type":"c","path":"/dev/x","major":4096,"minor":3}] | linux.devices[0].major: must be at most 4095, got 4096
            linux.devices = [{"type":"c","path":"/dev/x","major":1,"minor":1048576}] | linux.devices[0].minor: must be at most 1048575, got 1048576
            linux.devices = [{"type":"c","path":"/dev/x","major":1,"minor":3,"fileMode":-1}] | linux.devices[0].fileMode: must be at least 0, got -1
            linux.devices = [{"type":"c","path":"/dev/x","major":1,"minor":3,"uid":4294967296}] | linux.devices[0].uid: must be at most 4294967295, got 4294967296
            linux.devices = [{"type":"c","path":"/dev/x","major":1,"minor":3,"gid":-1}] | linux.devices[0].gid: must be at least 0, got -1
            linux.uidMappings = [{"containerID":0,"hostID":1000,"size":-1}] | linux.uidMappings[0].size: must be at least 0, got -1
            linux.gidMappings = [{"containerID":-1,"hostID":1000,"size":1}] | linux.gidMappings[0].containerID: must be at least 0, got -1
            linux.uidMappings = [{"containerID":0,"hostID":4294967296,"size":1}] | linux.uidMappings[0].hostID: must be at most 4294967295, got 4294967296
            hooks.prestart = [{"path":"/bin/true","timeout":0}] | hooks.prestart[0].timeout: must be at least 1, got 0
            hooks.poststop = [{"path":"/bin/true"},{"path":"/bin/true","timeout":-3}] | hooks.poststop[1].timeout: must be at least 1, got -3
            hooks.createRuntime = [{"path":"/bin/true","timeout":9223372037}] | hooks.createRuntime[0].timeout: must be at most 9223372036, got 9223372037
            hostname = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" | hostname: must be at most 64 bytes, got 65
            hostname = "ééééééééééééééééééééééééééééééééé" | hostname: must be at most 64 bytes, got 66
            domainname = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" | domainname: must be at most 64 bytes, got 65
            hostname = "a\\u0000b"                    | hostname: must not contain a NUL character
            process.args = ["echo", "a\\u0000b"]      | process.args[1]: must not contain a NUL character
            process.env = ["A=1", "B=\\u0000"]        | process.env[1]: must not contain a NUL character
            linux.sysctl = {"net.a\\u0000": "1"}      | linux.sysctl.net.a\\u0000: must not contain a NUL character
            """)
    void numbersAndNamesOutOfRange(String assignments, String message) {
        assertMessage(message, with(false, assignments));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            linux.uidMappings = [{"containerID":0,"hostID":100000,"size":0}] | linux.uidMappings[0].size: must be at least 1, got 0
            linux.gidMappings = [{"containerID":0,"hostID":100000,"size":65536},{"containerID":70000,"hostID":300000}] | linux.gidMappings[1].size: must be at least 1, got 0
            linux.uidMappings = [{"containerID":0,"hostID":4294967000,"size":65536}] | linux.uidMappings[0].size: hostID + size must be at most 4294967295, got 4294967000 + 65536
            linux.uidMappings = [{"containerID":4294967295,"hostID":0,"size":1}] | linux.uidMappings[0].size: containerID + size must be at most 4294967295, got 4294967295 + 1
            linux.uidMappings = [{"containerID":0,"hostID":100000,"size":65536},{"containerID":1000,"hostID":200000,"size":10}] | linux.uidMappings[1].containerID: the range overlaps that of linux.uidMappings[0]
            linux.uidMappings = [{"containerID":0,"hostID":100000,"size":65536},{"containerID":70000,"hostID":165535,"size":10}] | linux.uidMappings[1].hostID: the range overlaps that of linux.uidMappings[0]
            process.user.uid = 65536                 | process.user.uid: 65536 is not mapped by linux.uidMappings
            process.user.gid = 70000                 | process.user.gid: 70000 is not mapped by linux.gidMappings
            process.user.additionalGids = [1, 65536] | process.user.additionalGids[1]: 65536 is not mapped by linux.gidMappings
            """)
    void idMapsOfANewUserNamespace(String assignments, String message) {
        assertMessage(message, with(true, assignments));
    }

    @Test
    void theKernelsLimitsOfAnIdMap() {
        List<Object> many = new ArrayList<>();
        for (int i = 0; i < 341; i++) many.add(Map.of("containerID", (long) i, "hostID", 100000L + i, "size", 1L));
        assertMessage("linux.uidMappings: at most 340 ranges, got 341", with(true, "linux.uidMappings = " + Json.write(many)));
        List<Object> wide = new ArrayList<>();
        for (long i = 0; i < 200; i++) wide.add(Map.of("containerID", 1000000000L + i, "hostID", 1000000000L + i, "size", 1L));
        wide.add(Map.of("containerID", 0L, "hostID", 0L, "size", 1L));
        assertMessage("linux.uidMappings: the map is 4806 bytes written out, the kernel takes at most 4095",
                with(true, "linux.uidMappings = " + Json.write(wide)));
    }

    @Test
    void atMostNgroupsMaxGroups() {
        List<Object> gids = new ArrayList<>();
        for (long i = 0; i <= 65536; i++) gids.add(i);
        assertMessage("process.user.additionalGids: at most 65536 groups, got 65537",
                with(false, "process.user.additionalGids = " + Json.write(gids)));
        gids.removeLast();
        assertEquals(65536, Spec.parse(with(false, "process.user.additionalGids = " + Json.write(gids))).process().user()
                .additionalGids().size());
    }

    @Test
    void whatRuncRunsStillParses() {
        // Mappings without a user namespace are ignored (as by runc), whatever their sizes.
        Spec s = Spec.parse(with(false, "linux.uidMappings = [{\"containerID\":0,\"hostID\":1000,\"size\":0}]"));
        assertEquals(0, s.linux().uidMappings().getFirst().size());
        // A user namespace joined by path: its maps are the namespace's, the config's are not written.
        Spec.parse(with(false, "linux.namespaces = [{\"type\":\"mount\"},{\"type\":\"user\",\"path\":\"/proc/1/ns/user\"}]"
                + " ; linux.uidMappings = [{\"containerID\":0,\"hostID\":1000,\"size\":0}]"));
        // The edges of every range.
        s = Spec.parse(with(true, "process.user = {\"uid\":65535,\"gid\":0,\"umask\":4294967295,\"additionalGids\":[65535]}"
                + " ; process.rlimits = [{\"type\":\"RLIMIT_NOFILE\",\"soft\":18446744073709551615,\"hard\":18446744073709551615}]"
                + " ; process.oomScoreAdj = -1000 ; process.consoleSize = {\"height\":65535,\"width\":0}"
                + " ; linux.gidMappings = [{\"containerID\":0,\"hostID\":100000,\"size\":65536},{\"containerID\":4294967294,\"hostID\":4294967294,\"size\":1}]"
                + " ; linux.devices = [{\"type\":\"c\",\"path\":\"/dev/x\",\"major\":4095,\"minor\":1048575,\"fileMode\":4294967295,\"uid\":4294967295,\"gid\":0}]"
                + " ; hooks.prestart = [{\"path\":\"/bin/true\",\"timeout\":9223372036}]"
                + " ; hostname = \"" + "h".repeat(64) + "\" ; domainname = \"" + "d".repeat(64) + "\""
                + " ; annotations = {\"a\":\"b\\u0000c\"}"));
        assertEquals(-1L, s.process().rlimits().getFirst().soft(), "2^64-1 is RLIM_INFINITY, as the same 64 bits");
        assertEquals(4294967295L, s.process().user().umask());
        assertEquals(-1000L, s.process().oomScoreAdj());
        assertEquals(4095, s.linux().devices().getFirst().major());
        assertEquals(9223372036L, s.hooks().prestart().getFirst().timeout());
        assertEquals("b\u0000c", s.annotations().get("a"), "annotations are only kept, a NUL does no harm");
        // An integer may be written with an exponent or a zero fraction.
        assertEquals(1000, Spec.parse(with(false, "process.user.uid = 1e3")).process().user().uid());
        assertEquals(2, Spec.parse(with(false, "process.user.gid = 2.0")).process().user().gid());
    }

    @Test
    void aHugeValueMakesAShortError() {
        String longName = "x".repeat(100_000);
        for (String json : List.of(
                with(false, "hostname = \"" + longName + "\""),
                with(false, "process.cwd = \"" + longName + "\""),
                with(false, "linux.namespaces = [{\"type\":\"" + longName + "\"},{\"type\":\"" + longName + "\"}]"),
                with(false, "process.user.uid = 1" + "0".repeat(100_000)),
                with(false, "process.user.uid = 0." + "5".repeat(100_000)),
                with(false, "linux.sysctl = {\"" + longName + "\": 1}"))) {
            ConfigException e = assertThrows(ConfigException.class, () -> Spec.parse(json));
            assertTrue(e.getMessage().length() < 200, () -> e.getMessage().length() + " characters: " + e.getMessage().substring(0, 200));
        }
        ConfigException e = assertThrows(ConfigException.class, () -> Spec.parse(with(false, "process.cwd = \"" + longName + "\"")));
        assertEquals("process.cwd: must be an absolute path, got \"" + "x".repeat(60) + "\u2026\" (100000 characters)", e.getMessage());
    }
}
