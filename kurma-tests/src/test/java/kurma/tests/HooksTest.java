package kurma.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import org.junit.jupiter.api.Test;

/**
 * Lifecycle hooks: each kind runs once, in order, in the namespaces the runtime-spec names,
 * with the container's state on stdin; failures behave as the spec says.
 */
class HooksTest extends ContainerTest {

    /**
     * A host hook: Debian's static busybox invoked with argv[0] "sh" (busybox dispatches on
     * argv[0], so this also checks that argv[0] is passed as given, not replaced by the path).
     */
    private static Map<String, Object> hostHook(String kind, Path log) {
        Map<String, Object> h = new LinkedHashMap<>();
        h.put("path", "/bin/busybox");
        h.put("args", new ArrayList<Object>(List.of("sh", "-c",
                "echo \"" + kind + " $(readlink /proc/self/ns/uts) $(cat)\" >> " + log)));
        return h;
    }

    private static Map<String, Object> hook(String path, Long timeout, String... args) {
        Map<String, Object> h = new LinkedHashMap<>();
        h.put("path", path);
        h.put("args", new ArrayList<Object>(List.of(args)));
        if (timeout != null) h.put("timeout", timeout);
        return h;
    }

    private static Bundle withHooks(Bundle b, Map<String, List<Map<String, Object>>> hooks) {
        Map<String, Object> json = new LinkedHashMap<>();
        for (Map.Entry<String, List<Map<String, Object>>> e : hooks.entrySet()) {
            json.put(e.getKey(), new ArrayList<Object>(e.getValue()));
        }
        return b.set("hooks", json);
    }

    @Test
    void everyKindRunsOnceInOrderInItsNamespacesWithTheState() throws Exception {
        Path dir = env.newDir("hooks");
        Path log = dir.resolve("log");
        Files.createFile(log);
        Bundle b = env.bundle().hostname("hooked").bind(dir, "/shared")
                .sh("echo \"program $(readlink /proc/self/ns/uts)\" >> /shared/log");
        Map<String, List<Map<String, Object>>> hooks = new LinkedHashMap<>();
        hooks.put("prestart", List.of(hostHook("prestart", log)));
        hooks.put("createRuntime", List.of(hostHook("createRuntime", log)));
        hooks.put("createContainer", List.of(hostHook("createContainer", log)));
        // startContainer's path resolves in the container: its own sh, writing to the bind mount.
        hooks.put("startContainer", List.of(hook("/bin/sh", null, "sh", "-c",
                "echo \"startContainer $(readlink /proc/self/ns/uts) $(cat)\" >> /shared/log")));
        hooks.put("poststart", List.of(hostHook("poststart", log)));
        hooks.put("poststop", List.of(hostHook("poststop", log)));
        withHooks(b, hooks);
        String id = env.newId();
        env.rt("run", "-b", b.write().toString(), id).ok();

        List<String> lines = Files.readAllLines(log);
        List<String> kinds = new ArrayList<>();
        Map<String, String[]> byKind = new LinkedHashMap<>();
        for (String l : lines) {
            String[] f = l.split(" ", 3);
            if (!f[0].equals("program")) {
                kinds.add(f[0]);
                byKind.put(f[0], f);
            }
        }
        List<String> expected = List.of("prestart", "createRuntime", "createContainer", "startContainer", "poststart",
                "poststop");
        if (isKurma()) {
            assertEquals(expected, kinds, "hook order\n" + String.join("\n", lines));
        } else {
            // runc 1.1 runs poststart while the init still runs startContainer (a race)
            assertEquals(new java.util.TreeSet<>(expected), new java.util.TreeSet<>(kinds), "hooks\n" + lines);
            assertEquals(expected.size(), kinds.size(), "each hook once\n" + lines);
        }
        assertTrue(lines.indexOf(lines.stream().filter(l -> l.startsWith("program")).findFirst().orElseThrow())
                > kinds.indexOf("startContainer"), "the program ran after startContainer\n" + lines);

        // Runtime-namespace hooks run in the host's namespaces, container-namespace hooks in the
        // container's (compared by the UTS namespace each one was in).
        String host = Files.readSymbolicLink(Path.of("/proc/self/ns/uts")).toString();
        String container = null;
        for (String l : lines) if (l.startsWith("program ")) container = l.split(" ")[1];
        assertNotEquals(host, container, "the program has its own uts namespace");
        assertEquals(host, byKind.get("prestart")[1]);
        assertEquals(host, byKind.get("createRuntime")[1]);
        assertEquals(container, byKind.get("createContainer")[1]);
        assertEquals(container, byKind.get("startContainer")[1]);
        assertEquals(host, byKind.get("poststart")[1]);
        assertEquals(host, byKind.get("poststop")[1]);

        long pid = -1;
        for (String kind : kinds) {
            Map<String, Object> state = Json.parseObject(byKind.get(kind)[2]);
            assertEquals(id, state.get("id"), kind + " state id");
            assertEquals(b.dir().toString(), state.get("bundle"), kind + " state bundle");
            String status = String.valueOf(state.get("status"));
            switch (kind) {
                // runc 1.1 runs poststart before the program starts (see above): "created"
                case "poststart" -> assertTrue(status.equals("running") || (!isKurma() && status.equals("created")),
                        kind + " status " + status);
                case "poststop" -> assertEquals("stopped", status, kind);
                default -> assertTrue(status.equals("creating") || status.equals("created"), kind + " status " + status);
            }
            if (!kind.equals("poststop")) {
                long p = ((Number) state.get("pid")).longValue();
                assertTrue(p > 0, kind + " pid");
                if (pid < 0) pid = p;
                // The state's pid is the host's view (runtime-spec); runc 1.1 gives container-side
                // hooks the pid inside the container instead.
                if (isKurma()) assertEquals(pid, p, kind + ": every hook sees the same init pid");
            }
        }
    }

    @Test
    void aFailingPrestartHookAbortsCreateAndLeavesNothing() throws Exception {
        Path dir = env.newDir("hooks");
        Path log = dir.resolve("log");
        Bundle b = env.bundle().args("true");
        Map<String, List<Map<String, Object>>> hooks = new LinkedHashMap<>();
        hooks.put("prestart", List.of(hook("/bin/false", null, "false")));
        hooks.put("poststop", List.of(hostHook("poststop", log)));
        withHooks(b, hooks);
        Result r = env.rt("create", "-b", b.write().toString(), env.newId());
        assertNotEquals(0, r.exit(), "create must fail\n" + r);
        env.assertNothingLeft();
        if (isKurma()) {
            TestEnv.assertContains(r.stderr(), "prestart hook /bin/false failed: exit status 1", "error");
            // The lifecycle goes on at destroy, then poststop (runtime-spec, lifecycle step 4).
            assertTrue(Files.exists(log) && Files.readString(log).startsWith("poststop"), "poststop ran after the failure");
        }
    }

    @Test
    void aHookThatOutlivesItsTimeoutFailsCreate() throws Exception {
        assumeKurma();
        Bundle b = env.bundle().args("true");
        Map<String, List<Map<String, Object>>> hooks = new LinkedHashMap<>();
        hooks.put("createRuntime", List.of(hook("/bin/sleep", 1L, "sleep", "30")));
        withHooks(b, hooks);
        long t0 = System.nanoTime();
        Result r = env.rt("create", "-b", b.write().toString(), env.newId());
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertNotEquals(0, r.exit(), "create must fail\n" + r);
        TestEnv.assertContains(r.stderr(), "createRuntime hook /bin/sleep: timed out", "error");
        assertTrue(ms < 10_000, "the hook was killed after its timeout, not waited for (" + ms + " ms)");
        env.assertNothingLeft();
    }

    @Test
    void aFailingPoststartHookIsLoggedAndTheContainerRuns() throws Exception {
        assumeKurma(); // runc 1.1 fails start instead, against the runtime-spec
        Path dir = env.newDir("shared");
        Bundle b = env.bundle().bind(dir, "/shared").sh("touch /shared/ran");
        Map<String, List<Map<String, Object>>> hooks = new LinkedHashMap<>();
        hooks.put("poststart", List.of(hook("/bin/sh", null, "sh", "-c", "exit 3")));
        withHooks(b, hooks);
        Result r = env.run(b);
        r.exit(0);
        TestEnv.assertContains(r.stderr(), "poststart hook /bin/sh failed: exit status 3", "warning");
        assertTrue(Files.exists(dir.resolve("ran")), "the program ran");
    }
}
