package kurma.tests;

import kurma.tests.support.Bundle;
import kurma.tests.support.ContainerTest;
import kurma.tests.support.Result;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * bin/kurma-runtime's launcher (launcher/src/launcher.c): it starts stage2 ahead of the JVM for
 * the commands that start a process, the JVM uses that one, one it does not use goes away,
 * and the runtime's AOT cache fits the flags the launcher starts the JVM with.
 */
class LauncherTest extends ContainerTest {

    @BeforeEach
    void kurmaOnly() {
        assumeKurma();
    }

    @Test
    void createAndExecUseTheStage2TheLauncherStarted() throws Exception {
        Path log = env.tmp().resolve("debug.log");
        Bundle b = env.bundle().args("sleep", "60");
        String id = env.newId();
        env.cli("create", "-b", b.write().toString(), id).global("--debug", "--log", log.toString()).run().ok();
        String text = Files.readString(log);
        assertTrue(text.contains("started by the launcher"), () -> "create's debug log:\n" + text);
        env.rt("start", id).ok();

        Path log2 = env.tmp().resolve("debug-exec.log");
        Result r = env.cli("exec", id, "echo", "from-exec").global("--debug", "--log", log2.toString()).run().ok();
        assertEquals(List.of("from-exec"), r.lines());
        String text2 = Files.readString(log2);
        assertTrue(text2.contains("started by the launcher"), () -> "exec's debug log:\n" + text2);

        // Global flags written --flag=value, as some engines pass them: still found the command.
        Path log3 = env.tmp().resolve("debug-json.log");
        String id3 = env.newId();
        env.cli("create", "-b", b.write().toString(), id3)
                .global("--debug", "--log=" + log3, "--log-format=json").run().ok();
        String text3 = Files.readString(log3);
        assertTrue(text3.contains("started by the launcher"), () -> "create's JSON debug log:\n" + text3);
    }

    @Test
    void theRuntimesAotCacheFitsTheLaunchersFlags() throws Exception {
        // -XX:AOTMode=on: the JVM refuses to start ("Unable to use AOT cache") instead of
        // quietly starting without a cache it cannot use with these flags and class path.
        Result list = env.cli("list").environment("JDK_JAVA_OPTIONS", "-XX:AOTMode=on").run().ok();
        assertTrue(list.out().startsWith("ID"), () -> "list\n" + list);
        Bundle b = env.bundle().args("echo", "cached");
        Result run = env.cli("run", "-b", b.write().toString(), env.newId())
                .environment("JDK_JAVA_OPTIONS", "-XX:AOTMode=on").run().ok();
        assertEquals(List.of("cached"), run.lines());
    }

    @Test
    void aStage2TheJvmDoesNotUseGoesAway() throws Exception {
        Bundle b = env.bundle().args("true");
        Path config = b.write().resolve("config.json");
        Files.writeString(config, "{ not json");
        List<Long> before = stage2Processes();
        env.rt("create", "-b", config.getParent().toString(), env.newId()).failed();
        // Bad input: the JVM never sends that stage2 a plan; it is killed or sees its pipe close.
        long deadline = System.nanoTime() + 5_000_000_000L;
        List<Long> extra;
        do {
            extra = stage2Processes();
            extra.removeAll(before);
            if (extra.isEmpty()) break;
            Thread.sleep(20);
        } while (System.nanoTime() < deadline);
        assertTrue(extra.isEmpty(), "stage2 processes left: " + extra);
    }

    /** Processes running this build's stage2 (by the path in their command line). */
    private static List<Long> stage2Processes() throws IOException {
        List<Long> out = new ArrayList<>();
        try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
            for (Path p : procs) {
                try {
                    String cmdline = new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8);
                    String argv0 = cmdline.split("\0", 2)[0];
                    if (argv0.endsWith("/kurma-stage2")) out.add(Long.parseLong(p.getFileName().toString()));
                } catch (IOException gone) {
                    // exited while we looked
                }
            }
        }
        return out;
    }
}
