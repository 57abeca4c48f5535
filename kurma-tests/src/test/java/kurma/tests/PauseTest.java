package kurma.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import kurma.tests.support.Bundle;
import kurma.tests.support.ContainerTest;
import kurma.tests.support.Json;
import kurma.tests.support.Result;
import org.junit.jupiter.api.Test;

/** pause / resume (the cgroup freezer) and ps. */
class PauseTest extends ContainerTest {

    /** A container that counts into /shared/count as fast as it can sleep. */
    private String counter(Path dir) throws Exception {
        Bundle b = env.bundle().bind(dir, "/shared")
                .sh("i=0; while true; do i=$((i+1)); echo $i > /shared/c.tmp; mv /shared/c.tmp /shared/count; sleep 0.02; done");
        String id = env.newId();
        env.rt("run", "--detach", "-b", b.write().toString(), id).ok();
        env.waitForFile(dir.resolve("count"), id, Duration.ofSeconds(20));
        return id;
    }

    private static long count(Path dir) throws Exception {
        return Long.parseLong(Files.readString(dir.resolve("count")).trim());
    }

    @Test
    void aPausedContainerStopsAndResumesWhereItWas() throws Exception {
        Path dir = env.newDir("shared");
        String id = counter(dir);
        env.rt("pause", id).ok();
        assertEquals("paused", env.status(id));
        long frozen = count(dir);
        Thread.sleep(400);
        assertEquals(frozen, count(dir), "nothing runs while paused");
        env.rt("resume", id).ok();
        assertEquals("running", env.status(id));
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (count(dir) <= frozen && System.nanoTime() < deadline) Thread.sleep(20);
        assertTrue(count(dir) > frozen, "it counts again after resume");
        env.rt("delete", "--force", id).ok();
    }

    @Test
    void aPausedContainerIsDeletedWithForceOnly() throws Exception {
        Path dir = env.newDir("shared");
        String id = counter(dir);
        env.rt("pause", id).ok();
        assertNotEquals(0, env.rt("delete", id).exit(), "a paused container needs --force");
        env.rt("delete", "--force", id).ok();
        assertEquals(List.of(), env.listIds());
    }

    @Test
    void onlyARunningContainerPauses() throws Exception {
        String id = env.create(env.bundle().args("sleep", "30"));
        // runc 1.1 also pauses a created container; the runtime-spec does not define pause.
        if (isKurma()) assertNotEquals(0, env.rt("pause", id).exit(), "a created container cannot pause");
        assertNotEquals(0, env.rt("resume", id).exit(), "a container that is not paused cannot resume");
        env.rt("delete", "--force", id).ok();
    }

    @Test
    void psListsTheContainersProcesses() throws Exception {
        Path dir = env.newDir("shared");
        Bundle b = env.bundle().bind(dir, "/shared").sh("sleep 300 & touch /shared/up; wait");
        String id = env.newId();
        env.rt("run", "--detach", "-b", b.write().toString(), id).ok();
        env.waitForFile(dir.resolve("up"), id, Duration.ofSeconds(20));
        Result json = env.rt("ps", "--format", "json", id).ok();
        List<?> pids = (List<?>) Json.parse(json.stdout());
        assertEquals(2, pids.size(), () -> "sh and sleep\n" + json);
        assertTrue(pids.contains(env.pid(id)), () -> "the init is listed\n" + json);
        Result table = env.rt("ps", id).ok();
        assertTrue(table.lines().getFirst().contains("PID"), () -> "a ps header\n" + table);
        assertEquals(3, table.lines().size(), () -> "header and two processes\n" + table);
        assertTrue(table.stdout().contains("sleep 300"), () -> "the sleep\n" + table);
        env.rt("delete", "--force", id).ok();
    }
}
