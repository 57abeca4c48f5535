package kurma.tests;

import kurma.tests.support.Bundle;
import kurma.tests.support.Cgroups;
import kurma.tests.support.ContainerTest;
import kurma.tests.support.Json;
import kurma.tests.support.Result;
import kurma.tests.support.TestEnv;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** create / start / state / kill / delete / list across separate invocations. */
class LifecycleTest extends ContainerTest {
    private static final Duration WAIT = Duration.ofSeconds(20);

    /** A container that marks it started in {@code dir}, then waits for SIGTERM (trapped). */
    private Bundle waiter(Path dir) throws Exception {
        return env.bundle().bind(dir, "/shared")
                .sh("trap 'echo term > /shared/got-term; exit 0' TERM; touch /shared/started;"
                        + " while :; do sleep 0.1; done");
    }

    @Test
    void fullLifecycle() throws Exception {
        Path dir = env.newDir("shared");
        Bundle b = waiter(dir);
        String id = env.newId();
        Path pidFile = env.tmp().resolve("container.pid");

        env.rt("create", "--bundle", b.write().toString(), "--pid-file", pidFile.toString(), id).ok();

        // created: pid file names a live process, state agrees, the program has not run yet
        assertTrue(Files.exists(pidFile), "pid file not written");
        long pid = Long.parseLong(Files.readString(pidFile).strip());
        assertTrue(TestEnv.isRunning(pid), "pid " + pid + " from the pid file is not alive");
        Map<String, Object> st = env.state(id);
        assertEquals("created", st.get("status"), () -> "state " + st);
        assertEquals(id, st.get("id"));
        assertEquals(pid, ((Number) st.get("pid")).longValue(), "state pid vs pid file");
        assertEquals(b.dir().toString(), st.get("bundle"), "state bundle");
        assertTrue(st.get("ociVersion") instanceof String v && !v.isEmpty(), () -> "ociVersion in " + st);
        Thread.sleep(300); // give a runtime that starts too early the chance to show it
        assertFalse(Files.exists(dir.resolve("started")), "the program ran before start");
        assertEquals(List.of(id), env.listIds(), "list while created");

        env.rt("start", id).ok();
        env.waitForFile(dir.resolve("started"), id, WAIT);
        assertEquals("running", env.status(id));
        Result table = env.rt("list").ok();
        TestEnv.assertContains(table.stdout(), id, "list (table)");
        assertEquals(List.of(id), env.listIds(), "list --format json while running");

        env.rt("kill", id, "TERM").ok();
        env.waitForStatus(id, "stopped", WAIT);
        assertEquals("term\n", Files.readString(dir.resolve("got-term")), "the container saw SIGTERM");

        env.rt("delete", id).ok();
        env.rt("state", id).failed();
        assertEquals(List.of(), env.listIds(), "list after delete");
        assertFalse(Files.exists(env.root().resolve(id)), "container dir left in --root after delete");
    }

    @Test
    void startTwiceFails() throws Exception {
        Path dir = env.newDir("shared");
        String id = env.create(waiter(dir));
        env.rt("start", id).ok();
        env.waitForFile(dir.resolve("started"), id, WAIT);
        env.rt("start", id).failed();
        assertEquals("running", env.status(id));
    }

    @Test
    void deleteOfARunningContainerWithoutForceFails() throws Exception {
        Path dir = env.newDir("shared");
        String id = env.create(waiter(dir));
        env.rt("start", id).ok();
        env.waitForFile(dir.resolve("started"), id, WAIT);
        env.rt("delete", id).failed();
        assertEquals("running", env.status(id));
        env.rt("delete", "--force", id).ok();
        env.rt("state", id).failed();
    }

    @Test
    void deleteForceOfACreatedContainer() throws Exception {
        Path dir = env.newDir("shared");
        String id = env.create(waiter(dir));
        long pid = env.pid(id);
        env.rt("delete", "--force", id).ok();
        env.rt("state", id).failed();
        waitGone(pid);
        assertFalse(Files.exists(dir.resolve("started")), "the program ran although never started");
    }

    @ParameterizedTest(name = "kill {0}")
    @ValueSource(strings = {"TERM", "SIGTERM", "15"})
    void killWithSigterm(String signal) throws Exception {
        Path dir = env.newDir("shared");
        String id = env.create(waiter(dir));
        env.rt("start", id).ok();
        env.waitForFile(dir.resolve("started"), id, WAIT);
        env.rt("kill", id, signal).ok();
        env.waitForStatus(id, "stopped", WAIT);
        assertEquals("term\n", Files.readString(dir.resolve("got-term")), "the container's TERM handler ran");
    }

    @ParameterizedTest(name = "kill {0}")
    @ValueSource(strings = {"KILL", "SIGKILL", "9"})
    void killWithSigkill(String signal) throws Exception {
        Path dir = env.newDir("shared");
        // ignores TERM, so only a real SIGKILL stops it
        Bundle b = env.bundle().bind(dir, "/shared").sh("trap '' TERM; touch /shared/started; while :; do sleep 0.1; done");
        String id = env.create(b);
        long pid = env.pid(id);
        env.rt("start", id).ok();
        env.waitForFile(dir.resolve("started"), id, WAIT);
        env.rt("kill", id, signal).ok();
        env.waitForStatus(id, "stopped", WAIT);
        waitGone(pid);
        env.rt("delete", id).ok();
    }

    @Test
    void killAllSignalsEveryProcessOfTheContainer() throws Exception {
        Path dir = env.newDir("shared");
        // Without a pid namespace, killing the init alone would leave the background sleeps alive.
        Bundle b = env.bundle().removeNamespace("pid").bind(dir, "/shared")
                .sh("sleep 600 & sleep 600 & touch /shared/started; wait");
        String id = env.create(b);
        long pid = env.pid(id);
        env.rt("start", id).ok();
        env.waitForFile(dir.resolve("started"), id, WAIT);
        List<ProcessHandle> all = new ArrayList<>();
        ProcessHandle.of(pid).ifPresent(all::add);
        ProcessHandle.of(pid).ifPresent(p -> p.descendants().forEach(all::add));
        assertTrue(all.size() >= 3, () -> "expected the init and two sleeps, found " + all);

        env.rt("kill", "--all", id, "KILL").ok();
        for (ProcessHandle p : all) waitGone(p.pid());
        env.waitForStatus(id, "stopped", WAIT);
        env.rt("delete", id).ok();
    }

    @Test
    void cgroupDirectoriesAreRemovedOnDelete() throws Exception {
        Path dir = env.newDir("shared");
        String id = env.create(waiter(dir));
        env.rt("start", id).ok();
        env.waitForFile(dir.resolve("started"), id, WAIT);
        List<Path> cgroups = Cgroups.containerDirs(env.pid(id));
        assertFalse(cgroups.isEmpty(), "the container is in no cgroup of its own");
        for (Path c : cgroups) assertTrue(Files.isDirectory(c), "cgroup dir " + c + " does not exist");

        env.rt("kill", id, "KILL").ok();
        env.waitForStatus(id, "stopped", WAIT);
        env.rt("delete", id).ok();
        List<Path> left = new ArrayList<>();
        for (Path c : cgroups) if (Files.exists(c)) left.add(c);
        assertEquals(List.of(), left, "cgroup directories left after delete");
    }

    @Test
    void runDetachReturnsWhileTheContainerRuns() throws Exception {
        Path dir = env.newDir("shared");
        Bundle b = waiter(dir);
        String id = env.newId();
        env.rt("run", "--detach", "-b", b.write().toString(), id).ok();
        env.waitForFile(dir.resolve("started"), id, WAIT);
        assertEquals("running", env.status(id));
        env.rt("kill", id, "KILL").ok();
        env.waitForStatus(id, "stopped", WAIT);
        env.rt("delete", id).ok();
        env.assertNothingLeft();
    }

    @Test
    void deleteForceOfAMissingIdSucceeds() throws Exception {
        env.rt("delete", "--force", env.newId()).ok();
        env.assertNothingLeft();
    }

    @Test
    void stateOfADeletedContainerFails() throws Exception {
        String id = env.create(env.bundle().args("true"));
        env.rt("delete", "--force", id).ok();
        env.rt("state", id).failed();
        env.rt("start", id).failed();
        env.rt("kill", id, "KILL").failed();
        env.assertNothingLeft();
    }

    @Test
    void listShowsEveryContainerWithItsStatus() throws Exception {
        Path dir = env.newDir("shared");
        String a = env.create(env.bundle().args("sleep", "60"));
        String c = env.create(waiter(dir));
        env.rt("start", c).ok();
        env.waitForFile(dir.resolve("started"), c, WAIT);

        assertEquals(List.of(a, c), env.listIds().stream().sorted().toList(), "ids in list --format json");
        Result json = env.rt("list", "--format", "json").ok();
        for (Object o : (List<?>) Json.parse(json.out())) {
            Map<?, ?> m = (Map<?, ?>) o;
            String want = m.get("id").equals(a) ? "created" : "running";
            assertEquals(want, m.get("status"), () -> "status of " + m.get("id") + " in\n" + json);
            assertTrue(m.get("pid") instanceof Number n && n.longValue() > 0, () -> "pid in " + m);
        }
        Result table = env.rt("list").ok();
        for (String id : List.of(a, c)) {
            assertTrue(table.lines().stream().anyMatch(l -> l.split("\\s+")[0].equals(id)), () -> id + " missing in\n" + table);
        }
    }

    @Test
    void killOfAStoppedContainerSaysContainerNotRunning() throws Exception {
        // containerd's shim and podman match these words (runc's) to tell "it already exited"
        // from a real failure of kill.
        String id = env.create(env.bundle().sh("exit 0"));
        env.rt("start", id).ok();
        env.waitForStatus(id, "stopped", WAIT);
        Result r = env.rt("kill", id, "TERM").failed();
        assertTrue(r.stderr().contains("container not running"), () -> "kill of a stopped container\n" + r);
        env.rt("delete", id).ok();
    }

    @Test
    void stoppedAfterTheProcessExits() throws Exception {
        String id = env.create(env.bundle().sh("exit 0"));
        env.rt("start", id).ok();
        env.waitForStatus(id, "stopped", WAIT);
        env.rt("delete", id).ok();
        env.assertNothingLeft();
    }

    @Test
    void containerOutputGoesToTheCreatorsStdout() throws Exception {
        Bundle b = env.bundle().sh("echo out-after-start; echo err-after-start >&2");
        String id = env.newId();
        Result create = env.rt("create", "--bundle", b.write().toString(), id).ok();
        assertEquals("", create.stdout(), "nothing printed before start");
        env.rt("start", id).ok();
        env.waitForStatus(id, "stopped", WAIT);
        assertEquals("out-after-start\n", create.stdoutNow(), "the container writes to the stdout create was given");
        assertNotEquals(-1, Files.readString(create.stderrFile()).indexOf("err-after-start"), "stderr");
    }

    static void waitGone(long pid) throws InterruptedException {
        TestEnv.waitGone(pid, WAIT);
    }
}
