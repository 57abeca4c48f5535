package kurma.tests;

import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import kurma.tests.support.Bundle;
import kurma.tests.support.ContainerTest;
import kurma.tests.support.Json;
import kurma.tests.support.Result;
import kurma.tests.support.TestEnv;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** linux.seccomp: rules return their errno, the default action covers the rest. */
class SeccompTest extends ContainerTest {

    private static Map<String, Object> rule(List<String> names, String action, Long errno, Map<String, Object>... args) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("names", new ArrayList<Object>(names));
        r.put("action", action);
        if (errno != null) r.put("errnoRet", errno);
        if (args.length > 0) r.put("args", new ArrayList<Object>(List.of(args)));
        return r;
    }

    private static Map<String, Object> arg(long index, long value, String op) {
        Map<String, Object> a = new LinkedHashMap<>();
        a.put("index", index);
        a.put("value", value);
        a.put("op", op);
        return a;
    }

    private static Bundle profile(Bundle b, String defaultAction, List<Map<String, Object>> rules) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("defaultAction", defaultAction);
        s.put("architectures", new ArrayList<Object>(List.of("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32")));
        s.put("syscalls", new ArrayList<Object>(rules));
        return b.set("linux.seccomp", s);
    }

    @Test
    void aRuleReturnsItsErrnoAndTheDefaultActionCoversTheRest() throws Exception {
        // ENOSYS (38) for every mkdir, including names this libseccomp may not know (skipped).
        Bundle b = profile(env.bundle().tmpfs("/tmp"), "SCMP_ACT_ALLOW",
                List.of(rule(List.of("mkdir", "mkdirat", "no_such_syscall_kurma"), "SCMP_ACT_ERRNO", 38L)));
        Result r = env.runOk(b.sh("grep '^Seccomp:' /proc/self/status;"
                + " mkdir /tmp/d 2>&1 || true; touch /tmp/f && echo touch-ok"));
        TestEnv.assertLines(r, "Seccomp:\t2", "mkdir: can't create directory '/tmp/d': Function not implemented",
                "touch-ok");
    }

    @Test
    void argumentConditionsSelectTheCalls() throws Exception {
        // EACCES only for a chmod whose mode argument is exactly 0700 (chmod, or fchmodat and
        // fchmodat2 with the mode one argument further).
        Bundle b = profile(env.bundle().tmpfs("/tmp"), "SCMP_ACT_ALLOW", List.of(
                rule(List.of("chmod"), "SCMP_ACT_ERRNO", 13L, arg(1, 0700, "SCMP_CMP_EQ")),
                rule(List.of("fchmodat", "fchmodat2"), "SCMP_ACT_ERRNO", 13L, arg(2, 0700, "SCMP_CMP_EQ"))));
        Result r = env.runOk(b.sh("touch /tmp/f; chmod 700 /tmp/f 2>/dev/null && echo 700-done || echo 700-denied;"
                + " chmod 755 /tmp/f 2>/dev/null && echo 755-done || echo 755-denied"));
        TestEnv.assertLines(r, "700-denied", "755-done");
    }

    @Test
    void aDefaultErrnoActionDeniesWhatTheRulesDoNotAllow() throws Exception {
        // Docker's own default profile (an allow-list with SCMP_ACT_ERRNO as the default),
        // as dockerd sends it (shared/reference/client-calls/docker/config.json).
        Path docker = Path.of(System.getProperty("kurma.repo", ".."), "..", "shared", "reference", "client-calls",
                "docker", "config.json");
        Assumptions.assumeTrue(Files.exists(docker), "no docker reference config at " + docker);
        Map<String, Object> cfg = Json.parseObject(Files.readString(docker));
        @SuppressWarnings("unchecked")
        Object seccomp = ((Map<String, Object>) cfg.get("linux")).get("seccomp");
        Bundle b = env.bundle().set("linux.seccomp", seccomp)
                .sh("grep '^Seccomp:' /proc/self/status; echo allowed-calls-work;"
                        + " swapoff /proc/swaps 2>&1 | grep -o 'Operation not permitted'");
        Result r = env.runOk(b);
        TestEnv.assertLines(r, "Seccomp:\t2", "allowed-calls-work", "Operation not permitted");
    }

    @Test
    void anUnknownActionIsAnError() throws Exception {
        Bundle b = profile(env.bundle().args("true"), "SCMP_ACT_ALLOW",
                List.of(rule(List.of("mkdir"), "SCMP_ACT_EXPLODE", null)));
        Result r = env.rt("create", "-b", b.write().toString(), env.newId());
        assertNotEquals(0, r.exit(), () -> "create must fail\n" + r);
        if (isKurma()) TestEnv.assertContains(r.stderr(), "unknown action \"SCMP_ACT_EXPLODE\"", "error");
        env.assertNothingLeft();
    }
}
