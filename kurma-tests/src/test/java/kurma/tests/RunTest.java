package kurma.tests;

import kurma.tests.support.Bundle;
import kurma.tests.support.ContainerTest;
import kurma.tests.support.Proc;
import kurma.tests.support.Result;
import kurma.tests.support.TestEnv;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** {@code run}: stdio pass-through and exit codes. */
class RunTest extends ContainerTest {

    @Test
    void printsStdoutAndExitsZero() throws Exception {
        Bundle b = env.bundle().args("echo", "hello from the container");
        Result r = env.run(b).ok();
        assertEquals("hello from the container\n", r.stdout(), () -> "stdout\n" + r);
    }

    @Test
    void passesStdinThrough() throws Exception {
        Bundle b = env.bundle().sh("read line; echo \"got:$line\"; cat");
        Result r = env.run(b, "first\nsecond\nthird\n").ok();
        TestEnv.assertLines(r, "got:first", "second", "third");
    }

    @Test
    void passesStderrThroughSeparately() throws Exception {
        Bundle b = env.bundle().sh("echo to-out; echo to-err >&2");
        Result r = env.run(b).ok();
        assertEquals("to-out\n", r.stdout(), () -> "stdout\n" + r);
        TestEnv.assertContains(r.stderr(), "to-err\n", "stderr");
        assertEquals(false, r.stdout().contains("to-err"), () -> "stderr leaked into stdout\n" + r);
    }

    @Test
    void exitsWithTheContainersExitCode() throws Exception {
        env.run(env.bundle().sh("exit 3")).exit(3);
        env.run(env.bundle().args("false")).exit(1);
    }

    @Test
    void exits137WhenTheProcessKillsItselfWithSigkill() throws Exception {
        // The init of a pid namespace cannot be killed by a signal sent from inside it (the
        // kernel drops SIGKILL to pid 1 from its own namespace), so this container shares the
        // host pid namespace: then `kill -9 $$` really kills the container's process.
        Bundle b = env.bundle().removeNamespace("pid").sh("kill -9 $$; echo survived");
        Result r = env.run(b);
        r.exit(128 + 9);
        assertEquals("", r.stdout(), () -> "the process went on after SIGKILL\n" + r);
    }

    @Test
    void exits137WhenKilledFromOutside() throws Exception {
        Path dir = env.newDir("shared");
        Bundle b = env.bundle().bind(dir, "/shared").sh("touch /shared/started; exec sleep 60");
        String id = env.newId();
        Proc.Running run = env.cli("run", "-b", b.write().toString(), id).timeout(Duration.ofSeconds(30)).start();
        TestEnv.waitForFile(dir.resolve("started"), Duration.ofSeconds(20), run);
        env.rt("kill", id, "KILL").ok();
        Result r = run.await(Duration.ofSeconds(20));
        r.exit(128 + 9);
    }

    @Test
    void exits143WhenTheProcessDiesOfSigterm() throws Exception {
        // Host pid namespace again (see above): the shell has no handler, so SIGTERM kills it.
        Bundle b = env.bundle().removeNamespace("pid").sh("kill -TERM $$; sleep 5; echo survived");
        Result r = env.run(b);
        r.exit(128 + 15);
        assertEquals("", r.stdout(), () -> "the process went on after SIGTERM\n" + r);
    }
}
