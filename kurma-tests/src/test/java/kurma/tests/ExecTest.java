package kurma.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import kurma.tests.support.Bundle;
import kurma.tests.support.ContainerTest;
import kurma.tests.support.Json;
import kurma.tests.support.Result;
import kurma.tests.support.TestEnv;
import org.junit.jupiter.api.Test;

/** exec: a new process inside a running container, as engines use it. */
class ExecTest extends ContainerTest {

    private String running() throws Exception {
        Bundle b = env.bundle().hostname("exec-box").tmpfs("/tmp").args("sleep", "120");
        String id = env.newId();
        env.rt("run", "--detach", "-b", b.write().toString(), id).ok();
        return id;
    }

    @Test
    void theProcessJoinsTheContainersNamespacesAndItsExitCodeComesBack() throws Exception {
        String id = running();
        Result r = env.rt("exec", id, "sh", "-c", "hostname; cat /proc/1/cmdline | tr '\\0' ' '; echo; exit 7");
        r.exit(7);
        TestEnv.assertLines(r, "exec-box", "sleep 120");
        env.rt("delete", "--force", id).ok();
    }

    @Test
    void envCwdAndUserFromTheCommandLine() throws Exception {
        String id = running();
        Result r = env.rt("exec", "--env", "FOO=bar", "--cwd", "/tmp", "--user", "1000:1000", id,
                "sh", "-c", "echo $FOO; pwd; id -u; id -g").ok();
        TestEnv.assertLines(r, "bar", "/tmp", "1000", "1000");
        env.rt("delete", "--force", id).ok();
    }

    @Test
    void aProcessFileDetachedWithAPidFileAsEnginesSendIt() throws Exception {
        String id = running();
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("terminal", false);
        Map<String, Object> user = new LinkedHashMap<>();
        user.put("uid", 0L);
        user.put("gid", 0L);
        p.put("user", user);
        p.put("args", new ArrayList<Object>(List.of("sleep", "100")));
        p.put("env", new ArrayList<Object>(List.of("PATH=/bin")));
        p.put("cwd", "/");
        Path file = env.tmp().resolve("process.json");
        Files.writeString(file, Json.write(p));
        Path pidFile = env.tmp().resolve("exec.pid");
        env.rt("exec", "--process", file.toString(), "--detach", "--pid-file", pidFile.toString(), id).ok();
        long pid = Long.parseLong(Files.readString(pidFile).trim());
        assertTrue(TestEnv.isRunning(pid), "the exec'd process runs");
        Result ps = env.rt("ps", "--format", "json", id).ok();
        assertTrue(((List<?>) Json.parse(ps.stdout())).contains(pid), () -> "it is one of the container's processes\n" + ps);
        env.rt("delete", "--force", id).ok();
        TestEnv.waitGone(pid, Duration.ofSeconds(10));
        assertTrue(!TestEnv.isRunning(pid), "delete killed it with the container");
    }

    @Test
    void badExecsFailClearly() throws Exception {
        String id = running();
        Result missing = env.rt("exec", id, "/no/such/program");
        assertNotEquals(0, missing.exit(), () -> "exec of a missing program\n" + missing);
        if (isKurma()) TestEnv.assertContains(missing.stderr(), "/no/such/program", "error");
        env.rt("kill", id, "KILL").ok();
        env.waitForStatus(id, "stopped", Duration.ofSeconds(10));
        Result stopped = env.rt("exec", id, "true");
        assertNotEquals(0, stopped.exit(), () -> "exec in a stopped container\n" + stopped);
        env.rt("delete", id).ok();
        assertEquals(List.of(), env.listIds());
    }
}
