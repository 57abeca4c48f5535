package kurma.tests;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import kurma.tests.support.Bundle;
import kurma.tests.support.ConsoleSocket;
import kurma.tests.support.ContainerTest;
import kurma.tests.support.Result;
import kurma.tests.support.TestEnv;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The CVE-2024-21626 class: a working directory of the form /proc/self/fd/N (Docker and Podman
 * take process.cwd from an image's WORKDIR, so a hostile image can ask for one) must never give
 * the container's program a directory of the host through an fd the runtime holds. For every
 * fd number the runtime may hold, on every path that starts a program, the program either does
 * not start (a clear error) or starts inside its root and reaches nothing of the host.
 */
class CwdEscapeTest extends ContainerTest {
    private static final Duration WAIT = Duration.ofSeconds(20);
    /** fd numbers tried: stage2 and the runtime hold a handful above 2 (pipes, the root, the state dir...). */
    private static final int FIRST = 3, LAST = 16;

    private Path marker;
    private Path out;
    /** One bundle, rewritten before each container (they run one after the other). */
    private Bundle bundle;

    @BeforeEach
    void marker() throws Exception {
        // A host file that enough ".." from any host directory reaches, and that the container's
        // root (a private copy of the busybox tree) does not have at that path.
        marker = Files.writeString(env.tmp().resolve("host-marker"), "host\n");
        out = env.newDir("out");
        bundle = env.bundle().bind(out, "/out");
    }

    /** The program: where it is, and whether the host's marker is reachable from there. */
    private String script(String tag) {
        String up = "../".repeat(24) + marker.toString().substring(1);
        return "cd . && pwd > /out/" + tag + "; if [ -e " + up + " ]; then echo ESCAPED >> /out/" + tag + "; fi";
    }

    private Bundle bundle(String tag, String cwd) throws Exception {
        return bundle.set("process.terminal", false).cwd(cwd).sh(script(tag));
    }

    /** Whatever happened, nothing of the host was reachable, and a refusal said why. */
    private void check(String tag, Result r) throws Exception {
        Path f = out.resolve(tag);
        String seen = Files.exists(f) ? Files.readString(f) : "";
        assertFalse(seen.contains("ESCAPED"), () -> tag + ": the program reached the host's files\n" + seen + "\n" + r);
        if (!seen.isEmpty()) {
            assertTrue(seen.startsWith("/"), () -> tag + ": the program's cwd is outside its root: " + seen + "\n" + r);
        }
        if (r != null && r.exit() != 0 && isKurma()) {
            assertFalse(r.stderr().isBlank(), () -> tag + ": a refusal must say why\n" + r);
        }
    }

    @Test
    void runInTheForegroundAndDetached() throws Exception {
        for (int n = FIRST; n <= LAST; n++) {
            String cwd = "/proc/self/fd/" + n;
            check("run-" + n, env.rt("run", "-b", bundle("run-" + n, cwd).write().toString(), env.newId()));
            String id = env.newId();
            Result d = env.rt("run", "--detach", "-b", bundle("detached-" + n, cwd).write().toString(), id);
            if (d.exit() == 0) env.waitForStatus(id, "stopped", WAIT);
            check("detached-" + n, d);
            env.rt("delete", "--force", id);
        }
        // The same with a preserved fd: the container's numbers move up by one.
        Path fd3 = Files.writeString(env.tmp().resolve("fd3"), "x");
        for (int n = FIRST; n <= LAST; n++) {
            Bundle b = bundle("preserved-" + n, "/proc/self/fd/" + n);
            check("preserved-" + n, env.cli("run", "--preserve-fds", "1", "-b", b.write().toString(), env.newId())
                    .withFd3(fd3).run());
        }
        env.assertNothingLeft();
    }

    @Test
    void createAndStart() throws Exception {
        for (int n = FIRST; n <= LAST; n++) {
            String id = env.newId();
            Result c = env.rt("create", "-b", bundle("create-" + n, "/proc/self/fd/" + n).write().toString(), id);
            if (c.exit() == 0) {
                env.rt("start", id).ok();
                env.waitForStatus(id, "stopped", WAIT);
            }
            check("create-" + n, c);
            env.rt("delete", "--force", id);
        }
        env.assertNothingLeft();
    }

    @Test
    void createWithATerminal() throws Throwable {
        for (int n = FIRST; n <= LAST; n++) {
            String id = env.newId();
            Bundle b = bundle("tty-" + n, "/proc/self/fd/" + n).set("process.terminal", true);
            try (ConsoleSocket cs = ConsoleSocket.listen(env.tmp().resolve("console-" + n + ".sock"))) {
                Result c = env.rt("create", "-b", b.write().toString(), "--console-socket", cs.path().toString(), id);
                if (c.exit() == 0) {
                    try (ConsoleSocket.Terminal t = cs.receive(WAIT)) {
                        env.rt("start", id).ok();
                        env.waitForStatus(id, "stopped", WAIT);
                    }
                }
                check("tty-" + n, c);
            }
            env.rt("delete", "--force", id);
        }
        env.assertNothingLeft();
    }

    @Test
    void exec() throws Throwable {
        String id = env.newId();
        env.rt("run", "--detach", "-b", bundle.args("sleep", "120").write().toString(), id).ok();
        for (int n = FIRST; n <= LAST; n++) {
            String cwd = "/proc/self/fd/" + n;
            check("exec-" + n, env.rt("exec", "--cwd", cwd, id, "sh", "-c", script("exec-" + n)));
            Result d = env.rt("exec", "--detach", "--cwd", cwd, id, "sh", "-c", script("exec-detached-" + n));
            if (d.exit() == 0) TestEnv.waitForFile(out.resolve("exec-detached-" + n), WAIT);
            check("exec-detached-" + n, d);
            try (ConsoleSocket cs = ConsoleSocket.listen(env.tmp().resolve("exec-" + n + ".sock"))) {
                Result t = env.rt("exec", "--tty", "--detach", "--console-socket", cs.path().toString(), "--cwd", cwd, id,
                        "sh", "-c", script("exec-tty-" + n));
                if (t.exit() == 0) {
                    try (ConsoleSocket.Terminal term = cs.receive(WAIT)) {
                        TestEnv.waitForFile(out.resolve("exec-tty-" + n), WAIT);
                    }
                }
                check("exec-tty-" + n, t);
            }
        }
        env.rt("delete", "--force", id).ok();
        env.assertNothingLeft();
    }

    @Test
    void aCwdThroughTheStateDirectoryIsRefusedByName() throws Exception {
        assumeKurma();
        // Today's layout puts the state directory's fd at 5 in the init; whichever number it has,
        // one of these is a directory outside the root, and create must say so rather than run.
        boolean refused = false;
        for (int n = FIRST; n <= LAST && !refused; n++) {
            String id = env.newId();
            Result r = env.rt("create", "-b", bundle("named-" + n, "/proc/self/fd/" + n).write().toString(), id);
            refused = r.exit() != 0 && r.stderr().contains("leads outside the container's root filesystem");
            check("named-" + n, r);
            env.rt("delete", "--force", id);
        }
        assertTrue(refused, "some fd of the runtime is a host directory, and a cwd through it is refused by name");
        env.assertNothingLeft();
    }
}
