package kurma.seccomp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import kurma.spec.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SeccompTest {
    @TempDir
    Path tmp;

    @SuppressWarnings("unchecked")
    private static Map<String, Object> json(String s) {
        return (Map<String, Object>) Json.parse(s);
    }

    private static final String PROFILE = """
            {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
             "architectures": ["SCMP_ARCH_X86_64"], "flags": ["SECCOMP_FILTER_FLAG_LOG"],
             "syscalls": [
               {"names": ["read", "write", "exit_group", "no_such_call"], "action": "SCMP_ACT_ALLOW"},
               {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"},
                         {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
               {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]}]}
            """;

    @Test
    void parsesActionsFlagsAndConditions() {
        Profile p = Profile.parse(json(PROFILE));
        assertEquals(0x00050000L | 38, p.defaultAction());
        assertEquals(2, p.flags());
        assertEquals(3, p.rules().size());
        assertEquals(0x7fff0000L, p.rules().getFirst().action());
        assertEquals(7, p.rules().get(2).conditions().getFirst().op());
        assertNull(Profile.parse(Map.of()));
    }

    @Test
    void conditionsOnOneArgumentBecomeSeparateRules() {
        Profile p = Profile.parse(json(PROFILE));
        assertEquals(2, Seccomp.conditionSets(p.rules().get(1).conditions()).size(), "personality: 0 or 8");
        assertEquals(1, Seccomp.conditionSets(p.rules().get(2).conditions()).size());
    }

    @Test
    void errorsNameTheField() {
        assertEquals("linux.seccomp.syscalls[0].action: unknown action \"SCMP_ACT_NOPE\"",
                assertThrows(IllegalArgumentException.class, () -> Profile.parse(json(
                        "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_ACT_NOPE\"}]}")))
                        .getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Profile.parse(json(
                "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\","
                        + "\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_SOMETIMES\"}]}]}")))
                .getMessage().contains("unknown operator"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Profile.parse(json(
                "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_NEW_LISTENER\"]}")))
                .getMessage().contains("unsupported flag"));
    }

    @Test
    void compilesWithLibseccompAndCaches() throws Exception {
        Map<String, Object> raw = json(PROFILE);
        byte[] program = Seccomp.program(Profile.parse(raw), raw, tmp);
        assertTrue(program.length > 0 && program.length % 8 == 0, "sock_filter entries: " + program.length);
        List<Path> cached;
        try (var s = Files.list(tmp)) {
            cached = s.toList();
        }
        assertEquals(1, cached.size());
        Files.write(cached.getFirst(), new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
        assertEquals(8, Seccomp.program(Profile.parse(raw), raw, tmp).length, "second call served from the cache");
    }
}
