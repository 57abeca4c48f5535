package kurma.cgroups;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import kurma.spec.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@link Resources#parse}: the config as Kurma's JSON parser returns it, and errors that name the field. */
class ResourcesParseTest {

    @SuppressWarnings("unchecked")
    static Resources parse(String json) {
        return Resources.parse((Map<String, Object>) Json.parse(json));
    }

    @Test
    void readsTheRuntimeSpecExample() {
        Resources r = parse("""
                {
                  "memory": {"limit": 536870912, "reservation": 536870912, "swap": 536870912, "kernel": -1,
                             "kernelTCP": -1, "swappiness": 0, "disableOOMKiller": false},
                  "cpu": {"shares": 1024, "quota": 1000000, "period": 500000, "realtimeRuntime": 950000,
                          "realtimePeriod": 1000000, "cpus": "2-3", "mems": "0-7", "idle": 0, "burst": 1000},
                  "devices": [{"allow": false, "access": "rwm"},
                              {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rw"},
                              {"allow": true, "type": "b", "major": 8, "minor": 0, "access": "r"}],
                  "blockIO": {"weight": 10, "leafWeight": 10,
                              "weightDevice": [{"major": 8, "minor": 0, "weight": 500, "leafWeight": 300},
                                               {"major": 8, "minor": 16, "weight": 500}],
                              "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 600}],
                              "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 300}]},
                  "hugepageLimits": [{"pageSize": "2MB", "limit": 209715200}, {"pageSize": "64KB", "limit": 1000000}],
                  "network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 500}]},
                  "pids": {"limit": 32771},
                  "rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}},
                  "unified": {"memory.high": "1073741824", "io.weight": "default 100"},
                  "futureField": {"anything": 1}
                }
                """);
        assertEquals(new Resources.Memory(536870912, 536870912, 536870912, 0L, false), r.memory());
        assertEquals(new Resources.Cpu(1024, 1000000, 500000, 1000L, 950000, 1000000, "2-3", "0-7", 0L), r.cpu());
        assertEquals(List.of(new Resources.DeviceRule(false, 'a', -1, -1, "rwm"),
                new Resources.DeviceRule(true, 'c', 10, 229, "rw"),
                new Resources.DeviceRule(true, 'b', 8, 0, "r")), r.devices());
        assertEquals(10, r.blockIO().weight());
        assertEquals(List.of(new Resources.WeightDevice(8, 0, 500, 300), new Resources.WeightDevice(8, 16, 500, 0)),
                r.blockIO().weightDevices());
        assertEquals(List.of(new Resources.Throttle(8, 0, 600)), r.blockIO().throttleReadBps());
        assertEquals(List.of(), r.blockIO().throttleWriteBps());
        assertEquals(List.of(new Resources.Throttle(8, 16, 300)), r.blockIO().throttleWriteIops());
        assertEquals(List.of(new Resources.HugepageLimit("2MB", 209715200), new Resources.HugepageLimit("64KB", 1000000)),
                r.hugepageLimits());
        assertEquals(new Resources.Network(1048577L, List.of(new Resources.InterfacePriority("eth0", 500))), r.network());
        assertEquals(new Resources.Pids(32771), r.pids());
        assertEquals(List.of(new Resources.Rdma("mlx5_1", 3L, 10000L)), r.rdma());
        assertEquals(List.of("memory.high", "io.weight"), List.copyOf(r.unified().keySet()), "config order is kept");
        assertEquals("default 100", r.unified().get("io.weight"));
    }

    @Test
    void nothingOrEmptyMeansNothingSet() {
        for (Resources r : new Resources[] {Resources.parse(null), Resources.parse(Map.of()), parse("{\"memory\": null}")}) {
            assertNull(r.memory());
            assertNull(r.cpu());
            assertNull(r.pids());
            assertNull(r.blockIO());
            assertNull(r.network());
            assertTrue(r.devices().isEmpty() && r.hugepageLimits().isEmpty() && r.rdma().isEmpty() && r.unified().isEmpty());
        }
    }

    @Test
    void runcConventions() {
        Resources r = parse("{\"memory\": {\"limit\": -1, \"swappiness\": -1}, \"pids\": {\"limit\": -1},"
                + " \"cpu\": {\"quota\": -1, \"cpus\": \"\"}, \"devices\": [{\"allow\": true, \"type\": \"c\", \"major\": 1, \"access\": \"m\"}]}");
        assertEquals(-1, r.memory().limit());
        assertNull(r.memory().swappiness(), "swappiness -1 is unset, as in runc");
        assertEquals(-1, r.pids().limit());
        assertEquals(-1, r.cpu().quota());
        assertNull(r.cpu().cpus(), "an empty cpus string is unset");
        assertEquals("c 1:* m", r.devices().getFirst().cgroupString(), "a missing minor is a wildcard");
        assertEquals("a *:* rwm", new Resources.DeviceRule(true, 'a', -1, -1, "rwm").cgroupString());
    }

    @Test
    void negativeQuotasAndPidsLimitsAreUnlimitedAsRuncRunsThem() {
        Resources r = parse("{\"cpu\": {\"quota\": -5}, \"pids\": {\"limit\": -100},"
                + " \"memory\": {\"swappiness\": 18446744073709551615}}");
        assertEquals(-1, r.cpu().quota());
        assertEquals(-1, r.pids().limit());
        assertNull(r.memory().swappiness(), "runc's unsigned -1 is unset");
        assertEquals(-1, parse("{\"cpu\": {\"quota\": -9223372036854775808}}").cpu().quota());
    }

    @Test
    void longValuesInErrorsAreCut() {
        String name = "x".repeat(100_000);
        for (String json : List.of("{\"hugepageLimits\": [{\"pageSize\": \"" + name + "\", \"limit\": 1}]}",
                "{\"rdma\": {\"" + name + "\": {\"hcaHandles\": -1}}}", "{\"unified\": {\"" + name + "/x\": \"1\"}}",
                "{\"devices\": [{\"allow\": true, \"access\": \"" + name + "\"}]}")) {
            String m = assertThrows(IllegalArgumentException.class, () -> parse(json)).getMessage();
            assertTrue(m.length() < 250, () -> m.substring(0, 250));
            assertTrue(m.contains("(100000 characters)") || m.contains("(100002 characters)"), m);
        }
    }

    @Test
    void anIntegerWrittenWithAnExponentIsAnInteger() {
        assertEquals(1_000_000_000L, parse("{\"memory\": {\"limit\": 1e9}}").memory().limit());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            {"memory": {"limit": "64m"}}                  | linux.resources.memory.limit: expected an integer
            {"memory": {"limit": 1.5}}                    | linux.resources.memory.limit: expected an integer
            {"memory": {"limit": 18446744073709551616}}   | linux.resources.memory.limit: out of range
            {"memory": {"limit": -2}}                     | linux.resources.memory.limit: must be -1 or non-negative, got -2
            {"memory": {"swap": 1000}}                    | linux.resources.memory.swap: needs linux.resources.memory.limit: swap is the memory+swap limit
            {"memory": {"limit": 2000, "swap": 1000}}     | linux.resources.memory.swap: must be at least linux.resources.memory.limit (2000): swap is the memory+swap limit
            {"memory": {"swappiness": 101}}               | linux.resources.memory.swappiness: must be between -1 and 100, got 101
            {"memory": {"disableOOMKiller": 1}}           | linux.resources.memory.disableOOMKiller: expected a boolean
            {"memory": []}                                | linux.resources.memory: expected an object
            {"cpu": {"shares": 1}}                        | linux.resources.cpu.shares: must be at least 2
            {"cpu": {"shares": 300000}}                   | linux.resources.cpu.shares: must be between 0 and 262144, got 300000
            {"cpu": {"cpus": 3}}                          | linux.resources.cpu.cpus: expected a string
            {"cpu": {"idle": 2}}                          | linux.resources.cpu.idle: must be between 0 and 1, got 2
            {"pids": {"limit": true}}                     | linux.resources.pids.limit: expected an integer
            {"blockIO": {"weight": 5}}                    | linux.resources.blockIO.weight: must be between 10 and 1000
            {"blockIO": {"weightDevice": [{"major": 8}]}} | linux.resources.blockIO.weightDevice[0].minor: required
            {"blockIO": {"throttleReadBpsDevice": [{"major": 8, "minor": 0}]}} | linux.resources.blockIO.throttleReadBpsDevice[0].rate: required
            {"blockIO": {"throttleReadBpsDevice": {}}}    | linux.resources.blockIO.throttleReadBpsDevice: expected a list
            {"hugepageLimits": [{"pageSize": "2M", "limit": 1}]} | linux.resources.hugepageLimits[0].pageSize: expected a size such as "2MB" or "1GB", got "2M"
            {"hugepageLimits": [{"pageSize": "../x/2MB", "limit": 1}]} | linux.resources.hugepageLimits[0].pageSize: expected a size such as "2MB" or "1GB", got "../x/2MB"
            {"hugepageLimits": [3]}                       | linux.resources.hugepageLimits[0]: expected an object
            {"devices": [{"access": "rwm"}]}              | linux.resources.devices[0].allow: expected a boolean (required)
            {"devices": [{"allow": true, "access": ""}]}  | linux.resources.devices[0].access: must be a non-empty combination of r, w and m
            {"devices": [{"allow": true}]}                | linux.resources.devices[0].access: must be a non-empty combination of r, w and m
            {"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "access": "rx"}]} | linux.resources.devices[1].access: must be a combination of r, w and m, got "rx"
            {"devices": [{"allow": true, "access": "rr"}]} | linux.resources.devices[0].access: must be a combination of r, w and m, got "rr"
            {"devices": [{"allow": true, "type": "p", "access": "r"}]} | linux.resources.devices[0].type: expected "a", "b" or "c", got "p"
            {"devices": [{"allow": true, "type": "c", "major": -2, "access": "r"}]} | linux.resources.devices[0].major: must be between -1 and 4294967295, got -2
            {"unified": {"../memory.max": "1"}}           | linux.resources.unified.../memory.max: a cgroup v2 file name must not be empty or contain '/' or '..'
            {"unified": {"x/memory.max": "1"}}            | linux.resources.unified.x/memory.max: a cgroup v2 file name must not be empty or contain '/' or '..'
            {"unified": {"memory..max": "1"}}             | linux.resources.unified.memory..max: a cgroup v2 file name must not be empty or contain '/' or '..'
            {"unified": {"memory.max": 1}}                | linux.resources.unified.memory.max: expected a string
            {"network": {"priorities": [{"name": "eth 0", "priority": 1}]}} | linux.resources.network.priorities[0].name: expected an interface name without spaces
            {"rdma": {"mlx5_1": {"hcaHandles": -1}}}      | linux.resources.rdma.mlx5_1.hcaHandles: must be between 0 and 4294967295, got -1
            """)
    void errorsNameTheField(String json, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> parse(json));
        assertEquals(message, e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line");
    }
}
