package kurma.tests;

import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

import kurma.tests.support.Bundle;
import kurma.tests.support.ConsoleSocket;
import kurma.tests.support.ContainerTest;
import kurma.tests.support.Result;
import kurma.tests.support.TestEnv;
import org.junit.jupiter.api.Test;

/**
 * Terminals: with process.terminal (create) or exec --tty, the runtime makes a pty inside the
 * container and sends its master over --console-socket, as containerd-shim and conmon expect.
 * The test plays the engine: it receives the master, types into it and reads what the
 * container printed on its terminal.
 */
class TerminalTest extends ContainerTest {
    private static final Duration WAIT = Duration.ofSeconds(20);

    @Test
    void createSendsTheMasterAndTheContainerRunsOnItsTerminal() throws Throwable {
        Bundle b = env.bundle().sh("tty; stty size; ls -l /dev/console | cut -c1; read line; echo got:$line; exit 3")
                .set("process.terminal", true);
        Map<String, Object> size = new LinkedHashMap<>();
        size.put("height", 33L);
        size.put("width", 101L);
        b.set("process.consoleSize", size);
        String id = env.newId();
        try (ConsoleSocket cs = ConsoleSocket.listen(env.tmp().resolve("console.sock"))) {
            env.rt("create", "--bundle", b.write().toString(), "--console-socket", cs.path().toString(), id).ok();
            try (ConsoleSocket.Terminal t = cs.receive(WAIT)) {
                env.rt("start", id).ok();
                t.write("hello\n");
                t.readUntil("got:", WAIT);
                String out = t.readUntil("got:hello\r\n", Duration.ofSeconds(2)).replace("\r", "");
                assertTrue(out.matches("(?s).*/dev/pts/\\d+\n.*"), () -> "tty names a pty of the container\n" + out);
                TestEnv.assertContains(out, "33 101\n", "the console size");
                TestEnv.assertContains(out, "c\n", "/dev/console is a character device");
                TestEnv.assertContains(out, "got:hello", "what was typed reached the container");
            }
            env.waitForStatus(id, "stopped", WAIT);
            env.rt("delete", id).ok();
        }
    }

    @Test
    void execTtySendsAMasterForTheNewProcess() throws Throwable {
        Bundle b = env.bundle().args("sleep", "120");
        String id = env.newId();
        env.rt("run", "--detach", "-b", b.write().toString(), id).ok();
        try (ConsoleSocket cs = ConsoleSocket.listen(env.tmp().resolve("exec.sock"))) {
            // Engines exec a terminal detached (runc relays a foreground one itself).
            env.rt("exec", "--tty", "--detach", "--console-socket", cs.path().toString(), id,
                    "sh", "-c", "tty; read line; echo got:$line; exit 4").ok();
            try (ConsoleSocket.Terminal t = cs.receive(WAIT)) {
                t.write("typed\n");
                String out = t.readUntil("got:typed", WAIT).replace("\r", "");
                assertTrue(out.matches("(?s).*/dev/pts/\\d+\n.*"), () -> "tty names a pty\n" + out);
                TestEnv.assertContains(out, "got:typed", "what was typed reached the exec'd process");
            }
        }
        env.rt("delete", "--force", id).ok();
    }

    @Test
    void runInTheForegroundRelaysTheTerminalItself() throws Throwable {
        // As a user at a terminal runs it: script(1) gives the runtime a pty of its own.
        Bundle b = env.bundle().sh("tty; stty size; read line; echo got:$line; exit 6").set("process.terminal", true);
        String id = env.newId();
        String cmd = "stty rows 22 cols 77; " + String.join(" ", env.cli("run", "--bundle", b.write().toString(), id).line())
                + "; echo rc=$?";
        Result r = kurma.tests.support.Proc.run(java.util.List.of("sh", "-c", "(sleep 2; echo typed) | script -qfc \"$0\" /dev/null", cmd),
                null, env.tmp(), WAIT);
        String out = r.stdout().replace("\r", "");
        assertTrue(out.matches("(?s).*/dev/pts/\\d+\n22 77\n.*got:typed\n.*rc=6\n.*"),
                () -> "the container's tty, our window size, our input, its exit code\n" + r);
        assertTrue(env.listIds().isEmpty(), "run deleted the container");
    }

    @Test
    void aTerminalWithoutAConsoleSocketIsRefusedOnCreate() throws Exception {
        Bundle b = env.bundle().args("true").set("process.terminal", true);
        String id = env.newId();
        Result r = env.rt("create", "--bundle", b.write().toString(), id);
        assertNotEquals(0, r.exit(), () -> "create with a terminal and no console socket\n" + r);
        assertTrue(env.listIds().isEmpty(), "nothing is left");
    }
}
