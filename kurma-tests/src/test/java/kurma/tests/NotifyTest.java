package kurma.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import kurma.tests.support.Bundle;
import kurma.tests.support.ContainerTest;
import kurma.tests.support.NotifyListener;
import kurma.tests.support.Proc;
import kurma.tests.support.Result;
import org.junit.jupiter.api.Test;

/**
 * NOTIFY_SOCKET, as systemd and podman --sdnotify=container use it: the container gets a
 * socket of its own at /run/notify/notify.sock; start relays its messages to the caller's
 * socket and returns once the container says READY=1, adding MAINPID.
 */
class NotifyTest extends ContainerTest {

    @Test
    void startRelaysTheContainersNotificationsAndWaitsForReady() throws Throwable {
        Bundle b = env.bundle().sh("echo $NOTIFY_SOCKET > /dev/stderr; sd-notify STATUS=starting; sleep 1;"
                + " sd-notify READY=1; sleep 60");
        // busybox has no notifier: a tiny static one, built here (gcc and libc6-dev are build prerequisites).
        Path src = Path.of(System.getProperty("kurma.repo"), "kurma-tests/src/test/c/sd-notify.c");
        Result cc = Proc.run(List.of("cc", "-static", "-O2", "-o", b.rootfs().resolve("bin/sd-notify").toString(),
                src.toString()), null, env.tmp(), Duration.ofSeconds(60));
        cc.ok();
        // runc binds the container's socket under --root and fails when that path exceeds
        // sun_path (108 bytes); the test's usual root is long, so this test uses a short one.
        Path root = Files.createTempDirectory(Path.of("/tmp"), "kn");
        try (NotifyListener host = NotifyListener.bind(env.tmp().resolve("host-notify.sock"))) {
            String id = env.newId();
            env.cli("create", "--bundle", b.write().toString(), id).global("--root", root.toString())
                    .environment("NOTIFY_SOCKET", host.path().toString()).run().ok();
            long t0 = System.nanoTime();
            env.cli("start", id).global("--root", root.toString()).environment("NOTIFY_SOCKET", host.path().toString())
                    .run().ok();
            long waitedMs = (System.nanoTime() - t0) / 1_000_000;
            // runc relays READY=1 alone (then MAINPID and a BARRIER=1); Kurma relays every message.
            List<String> got = new ArrayList<>();
            for (String m; (m = host.receive(Duration.ofSeconds(2))) != null; ) got.add(m.strip());
            Result state = env.cli("state", id).global("--root", root.toString()).run().ok();
            java.util.Map<?, ?> s = (java.util.Map<?, ?>) kurma.tests.support.Json.parse(state.stdout());
            String mainPid = "MAINPID=" + ((Number) s.get("pid")).longValue();
            int ready = got.indexOf("READY=1");
            assertTrue(ready >= 0 && got.indexOf(mainPid) > ready, () -> "READY=1, then " + mainPid + ", in " + got);
            if (isKurma()) assertEquals("STATUS=starting", got.getFirst(), "every message is relayed, in order");
            assertTrue(waitedMs >= 900, () -> "start returned after " + waitedMs + " ms, before READY=1");
            env.cli("delete", "--force", id).global("--root", root.toString()).run().ok();
        } finally {
            kurma.tests.support.SafeDelete.deleteTree(root);
        }
    }
}
