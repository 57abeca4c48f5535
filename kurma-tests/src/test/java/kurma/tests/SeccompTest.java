package kurma.tests;

import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import kurma.tests.support.Bundle;
import kurma.tests.support.ContainerTest;
import kurma.tests.support.Json;
import kurma.tests.support.Result;
import kurma.tests.support.TestEnv;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * linux.seccomp: rules return their errno, the default action covers the rest, calls newer than
 * the profile get ENOSYS, and the filter constrains the program, not the runtime's own setup.
 */
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

    /**
     * Docker's default profile (an allow-list with SCMP_ACT_ERRNO as the default) as dockerd
     * 20.10 sends it for a container without extra capabilities: the linux.seccomp object of a
     * config.json it wrote (a test resource). A fresh copy per call.
     */
    private static Map<String, Object> dockerDefault() throws IOException {
        try (InputStream in = SeccompTest.class.getResourceAsStream("/seccomp/docker-default.json")) {
            if (in == null) throw new IllegalStateException("test resource seccomp/docker-default.json is missing");
            return Json.parseObject(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
    }

    @Test
    void aDefaultErrnoActionDeniesWhatTheRulesDoNotAllow() throws Exception {
        Bundle b = env.bundle().set("linux.seccomp", dockerDefault())
                .sh("grep '^Seccomp:' /proc/self/status; echo allowed-calls-work;"
                        + " swapoff /proc/swaps 2>&1 | grep -o 'Operation not permitted'");
        Result r = env.runOk(b);
        TestEnv.assertLines(r, "Seccomp:\t2", "allowed-calls-work", "Operation not permitted");
    }

    /**
     * Every call busybox's {@code echo} makes, found with {@code strace -f busybox echo hi} on
     * Debian 12's busybox-static 1.35 (glibc 2.36, static), and the runtime's final execve.
     */
    private static final List<String> ECHO_CALLS = List.of("arch_prctl", "brk", "execve", "exit_group", "getrandom",
            "getuid", "mprotect", "prctl", "prlimit64", "readlink", "rseq", "set_robust_list", "set_tid_address", "write");

    /**
     * A profile that allows only what the program needs leaves nothing for the runtime's own
     * steps once the filter is in: the runtime must install it after them (with
     * noNewPrivileges just before execve; without it as late as its privileges allow, since the
     * kernel then wants CAP_SYS_ADMIN for it), whether the user is switched or not.
     */
    @ParameterizedTest(name = "noNewPrivileges {0}, uid {1}")
    @CsvSource({"true, 0", "true, 1000", "false, 0", "false, 1000"})
    void anAllowListOfJustTheProgramsCallsIsEnough(boolean noNewPrivileges, long uid) throws Exception {
        // Kurma only: runc 1.1's init (Go) makes calls of its own after the filter is in. With
        // noNewPrivileges it closes its log pipe after installing it ("close log pipe fd 4:
        // operation not permitted"); without, it installs it first and then closes its fds and
        // switches the user ("error closing exec fds: open /proc/self/fd: operation not
        // permitted"). Either way the container never starts under this list.
        assumeKurma();
        Bundle b = profile(env.bundle().args("echo", "hello from echo").set("process.noNewPrivileges", noNewPrivileges)
                .user(uid, uid), "SCMP_ACT_ERRNO", List.of(rule(ECHO_CALLS, "SCMP_ACT_ALLOW", null)));
        TestEnv.assertLines(env.runOk(b), "hello from echo");
    }

    /**
     * The system calls numbered 435 and up on x86_64 (Linux 5.3 and later: clone3,
     * close_range, openat2, faccessat2, ...); a profile without them is one written before
     * they existed.
     */
    private static final Set<String> SINCE_435 = Set.of("clone3", "close_range", "openat2", "pidfd_getfd", "faccessat2",
            "process_madvise", "epoll_pwait2", "mount_setattr", "quotactl_fd", "landlock_create_ruleset",
            "landlock_add_rule", "landlock_restrict_self", "memfd_secret", "process_mrelease", "futex_waitv",
            "set_mempolicy_home_node", "cachestat", "fchmodat2", "map_shadow_stack", "futex_wake", "futex_wait",
            "futex_requeue", "statmount", "listmount", "lsm_get_self_attr", "lsm_set_self_attr", "lsm_list_modules",
            "mseal", "setxattrat", "getxattrat", "listxattrat", "removexattrat", "open_tree_attr");

    /**
     * Under a profile older than faccessat2 (Docker's without every call from 435 on), glibc's
     * faccessat2 must fail with ENOSYS, not the profile's EPERM, so that glibc falls back to
     * faccessat (as runc arranges). busybox's {@code realpath DIR/} calls
     * faccessat2(AT_FDCWD, "DIR/", F_OK, AT_EACCESS) (glibc's realpath checks a trailing slash
     * that way; seen with strace on Debian 12's busybox-static); busybox's {@code test -x} makes
     * no such call (it stats and compares the mode bits itself), so realpath is what shows the
     * fallback. As root and as another user. The runtime's own calls must not trip over the old
     * profile either (a close_range after the filter would fail, EPERM or ENOSYS alike).
     */
    @ParameterizedTest(name = "uid {0}")
    @ValueSource(longs = {0, 1000})
    void aProfileOlderThanTheKernelGetsEnosysForNewerCalls(long uid) throws Exception {
        Map<String, Object> seccomp = dockerDefault();
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> rules = (List<Map<String, Object>>) (List<?>) seccomp.get("syscalls");
        List<String> removed = new ArrayList<>();
        for (Map<String, Object> rule : rules) {
            @SuppressWarnings("unchecked")
            List<Object> names = (List<Object>) rule.get("names");
            names.removeIf(n -> SINCE_435.contains(n) && removed.add((String) n));
        }
        rules.removeIf(rule -> ((List<?>) rule.get("names")).isEmpty());
        assertTrue(removed.containsAll(List.of("faccessat2", "clone3", "close_range")), () -> "removed " + removed);
        Bundle b = env.bundle().set("linux.seccomp", seccomp).user(uid, uid)
                .args("realpath", "/tmp/", "/bin/../etc/");
        TestEnv.assertLines(env.runOk(b), "/tmp", "/etc");
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
