package kurma.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import kurma.tests.support.Bundle;
import kurma.tests.support.Cgroups;
import kurma.tests.support.ContainerTest;
import kurma.tests.support.Json;
import kurma.tests.support.Result;
import kurma.tests.support.TestEnv;
import org.junit.jupiter.api.Test;

/** update (new limits on a running container, from flags or a resources file) and events. */
class UpdateEventsTest extends ContainerTest {

    private String running() throws Exception {
        Bundle b = env.bundle().set("linux.resources.pids.limit", 50L).args("sleep", "120");
        String id = env.newId();
        env.rt("run", "--detach", "-b", b.write().toString(), id).ok();
        return id;
    }

    @Test
    void updateFromFlagsAndFromAResourcesFileOnStdin() throws Exception {
        String id = running();
        List<Path> dirs = Cgroups.containerDirs(env.pid(id));
        env.rt("update", "--memory", "64m", "--pids-limit", "17", id).ok();
        assertEquals(Long.toString(64L << 20), read(file(dirs, "memory.limit_in_bytes", "memory.max")));
        assertEquals("17", read(file(dirs, "pids.max")));

        // containerd-shim's form: the whole linux.resources object on stdin.
        Result r = env.cli("update", "-r", "-", id).stdin("{\"memory\": {\"limit\": 134217728}, \"pids\": {\"limit\": 33}}").run();
        r.ok();
        assertEquals("134217728", read(file(dirs, "memory.limit_in_bytes", "memory.max")));
        assertEquals("33", read(file(dirs, "pids.max")));

        // The kernel enforces the new pids limit: 40 sleeps cannot all start under 33.
        Result fork = env.rt("exec", id, "sh", "-c", "i=0; while [ $i -lt 40 ]; do sleep 100 >/dev/null 2>&1 & i=$((i+1)); done 2>/dev/null; echo spawned");
        long pids = Long.parseLong(read(file(dirs, "pids.current")));
        assertTrue(pids <= 33, () -> "pids.current " + pids + " under the updated limit 33\n" + fork);
        env.rt("delete", "--force", id).ok();
    }

    @Test
    void badUpdatesFailClearly() throws Exception {
        String id = running();
        Result bad = env.rt("update", "--memory", "lots", id);
        assertNotEquals(0, bad.exit(), () -> "a size that is not one\n" + bad);
        Result missing = env.rt("update", "--memory", "64m", "no-such-container");
        assertNotEquals(0, missing.exit(), () -> "update of a missing container\n" + missing);
        if (isKurma()) TestEnv.assertContains(missing.stderr(), "no-such-container", "error");
        env.rt("delete", "--force", id).ok();
    }

    @Test
    void eventsStatsReportsTheContainersUsage() throws Exception {
        String id = running();
        Result r = env.rt("events", "--stats", id).ok();
        Map<?, ?> e = (Map<?, ?>) Json.parse(r.stdout().strip());
        assertEquals("stats", e.get("type"));
        assertEquals(id, e.get("id"));
        Map<?, ?> data = (Map<?, ?>) e.get("data");
        Map<?, ?> pids = (Map<?, ?>) data.get("pids");
        assertTrue(((Number) pids.get("current")).longValue() >= 1, () -> "pids.current\n" + r);
        assertEquals(50L, ((Number) pids.get("limit")).longValue(), () -> "pids.limit\n" + r);
        Map<?, ?> memory = (Map<?, ?>) ((Map<?, ?>) data.get("memory")).get("usage");
        assertTrue(((Number) memory.get("usage")).longValue() > 0, () -> "memory usage\n" + r);
        Map<?, ?> cpu = (Map<?, ?>) ((Map<?, ?>) data.get("cpu")).get("usage");
        assertTrue(((Number) cpu.get("total")).longValue() > 0, () -> "cpu usage\n" + r);

        // Streaming: a stats event per interval, until the container stops.
        var stream = env.cli("events", "--interval", "200ms", id).start();
        Thread.sleep(1000);
        env.rt("kill", id, "KILL").ok();
        env.waitForStatus(id, "stopped", Duration.ofSeconds(20));
        // Kurma's stream ends with the container; runc's may go on, so it is stopped here.
        if (!isKurma()) stream.process().destroy();
        Result s = stream.await(Duration.ofSeconds(10));
        long n = s.lines().stream().filter(l -> l.contains("\"type\":\"stats\"")).count();
        assertTrue(n >= 2, () -> "several stats events in a second at 200ms\n" + s);
        env.rt("delete", "--force", id).ok();
    }

    private static Path file(List<Path> dirs, String... names) {
        for (String n : names) for (Path d : dirs) if (Files.exists(d.resolve(n))) return d.resolve(n);
        fail("none of " + List.of(names) + " in " + dirs);
        return null;
    }

    private static String read(Path p) throws java.io.IOException {
        return Files.readString(p).strip();
    }
}
