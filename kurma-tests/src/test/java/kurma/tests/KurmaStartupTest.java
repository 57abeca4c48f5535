package kurma.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import kurma.tests.support.Proc;
import kurma.tests.support.Result;
import kurma.tests.support.SafeDelete;
import kurma.tests.support.TestConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * bin/kurma's start-up: the build trains two AOT caches (kurma.cli.Train), the training runs
 * every command it means to, the launcher starts the JVM with the training's flags and class
 * path (with -XX:AOTMode=on the JVM refuses to start on a cache made under other flags), and
 * it never uses a cache older than the jar.
 */
@Timeout(120)
class KurmaStartupTest {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final Pattern SUMMARY = Pattern.compile("kurma training: (\\d+) commands, (\\d+) unexpected results");
    private Path tmp;

    @BeforeEach
    void setUp() throws Exception {
        TestConfig.checkPrerequisites();
        Assumptions.assumeTrue(TestConfig.runKurmaOnly(), "bin/kurma is kurma's own command line");
        tmp = Files.createTempDirectory("kurma-startup-test");
    }

    @AfterEach
    void tearDown() throws Exception {
        if (tmp != null) SafeDelete.deleteTree(tmp);
    }

    private static Path target() {
        return TestConfig.repoRoot().resolve("kurma-cli/target");
    }

    @Test
    void theTrainingRanEveryCommandWithTheResultItExpected() throws Exception {
        for (String log : List.of("kurma-aot-training.log", "kurma-pull-aot-training.log")) {
            String text = Files.readString(target().resolve(log));
            Matcher m = SUMMARY.matcher(text);
            assertTrue(m.find(), () -> log + " has no summary:\n" + text);
            assertTrue(Integer.parseInt(m.group(1)) > 0, () -> log + ": no command trained\n" + text);
            assertEquals("0", m.group(2), () -> log + ": commands did not do what the training expected\n" + text);
        }
        // The suite runs as root with busybox-static, as the build does: containers were trained too.
        String local = Files.readString(target().resolve("kurma-aot-training.log"));
        assertTrue(local.contains("exit   0  kurma run --rm busybox true"), () -> "no container run trained:\n" + local);
        String pull = Files.readString(target().resolve("kurma-pull-aot-training.log"));
        assertTrue(pull.matches("(?s).*exit   0  kurma image pull 127\\.0\\.0\\.1:\\d+/train/busybox:latest.*"),
                () -> "no pull trained:\n" + pull);
    }

    @Test
    void theLauncherStartsTheJvmWithTheTrainingsFlagsForBothCaches() throws Exception {
        assertTrue(Files.isRegularFile(target().resolve("kurma.aot")), "the build made kurma.aot");
        assertTrue(Files.isRegularFile(target().resolve("kurma-pull.aot")), "the build made kurma-pull.aot");
        // -XX:AOTMode=on: the JVM fails to start ("Unable to use AOT cache", exit 1) on a cache
        // it cannot use with these flags, instead of quietly starting without it.
        kurma(TestConfig.repoRoot(), "-XX:AOTMode=on", "images").ok();
        Result pull = kurma(TestConfig.repoRoot(), "-XX:AOTMode=on", "image", "pull", "127.0.0.1:1/nothing:here").exit(125);
        assertTrue(pull.stderr().contains("kurma: 127.0.0.1:1/nothing:here: cannot connect"), () -> "kurma's own error\n" + pull);
    }

    @Test
    void theLauncherPicksTheCacheByCommandAndIgnoresOneOlderThanTheJar() throws Exception {
        // A copy of the launcher and the build's jar and caches, whose times this test may change.
        Path home = tmp.resolve("home");
        Files.createDirectories(home.resolve("bin"));
        Files.createDirectories(home.resolve("kurma-cli/target"));
        Files.copy(TestConfig.repoRoot().resolve("bin/kurma"), home.resolve("bin/kurma"));
        for (String f : List.of("kurma.jar", "kurma.aot", "kurma-pull.aot")) {
            Files.copy(target().resolve(f), home.resolve("kurma-cli/target").resolve(f));
        }
        Path jar = home.resolve("kurma-cli/target/kurma.jar");
        Path local = home.resolve("kurma-cli/target/kurma.aot"), pull = home.resolve("kurma-cli/target/kurma-pull.aot");
        FileTime built = Files.getLastModifiedTime(jar);
        Files.setLastModifiedTime(local, FileTime.fromMillis(built.toMillis() + 60_000));
        Files.setLastModifiedTime(pull, FileTime.fromMillis(built.toMillis() + 60_000));

        assertEquals(local.toString(), cacheFlag(kurma(home, "-XX:+PrintCommandLineFlags", "images").ok()));
        assertEquals(local.toString(), cacheFlag(kurma(home, "-XX:+PrintCommandLineFlags", "--root", tmp.resolve("s").toString(),
                "run", "--help")));
        assertEquals(pull.toString(), cacheFlag(kurma(home, "-XX:+PrintCommandLineFlags", "image", "pull", "--help")));
        assertEquals(pull.toString(), cacheFlag(kurma(home, "-XX:+PrintCommandLineFlags", "--runroot=" + tmp.resolve("r"), "pull",
                "--help")));

        Files.setLastModifiedTime(local, FileTime.fromMillis(built.toMillis() - 60_000));
        Result stale = kurma(home, "-XX:+PrintCommandLineFlags", "images").ok();
        assertEquals(null, cacheFlag(stale), () -> "a cache older than the jar is not used\n" + stale);
        assertFalse(stale.stdout().contains("AOTCache"), () -> stale.toString());
    }

    /** bin/kurma (of {@code home}) with its own --root/--runroot under tmp, and JVM options through JDK_JAVA_OPTIONS. */
    private Result kurma(Path home, String jvmOption, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("env", "JDK_JAVA_OPTIONS=" + jvmOption, home.resolve("bin/kurma").toString()));
        if (!List.of(args).contains("--root")) cmd.addAll(List.of("--root", tmp.resolve("state").toString()));
        if (List.of(args).stream().noneMatch(a -> a.startsWith("--runroot"))) cmd.addAll(List.of("--runroot", tmp.resolve("run").toString()));
        cmd.addAll(List.of(args));
        return Proc.run(cmd, null, tmp, WAIT);
    }

    /** The -XX:AOTCache the JVM was started with, as -XX:+PrintCommandLineFlags shows it; null if none. */
    private static String cacheFlag(Result r) {
        Matcher m = Pattern.compile("-XX:AOTCache=(\\S+)").matcher(r.stdout());
        return m.find() ? Path.of(m.group(1)).normalize().toString() : null;
    }
}
