package kurma.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import kurma.tests.example.HelloKurma;
import kurma.tests.support.ContainerTest;
import kurma.tests.support.Proc;
import kurma.tests.support.Result;
import kurma.tests.support.TestConfig;
import org.junit.jupiter.api.Test;

/**
 * The README's "Use Kurma from Java" example is this repository's kurma.tests.example.HelloKurma,
 * word for word (so it compiles with the build), and it works: a busybox image imported, a
 * container run with its output caught in the caller's own pipe, nothing left.
 */
class JavaExampleTest extends ContainerTest {

    @Test
    void theReadmeShowsTheExampleAsItIs() throws Exception {
        String source = Files.readString(TestConfig.repoRoot().resolve("kurma-tests/src/test/java/kurma/tests/example/HelloKurma.java"));
        String example = source.substring(source.indexOf("// BEGIN README\n") + "// BEGIN README\n".length(),
                source.indexOf("// END README"));
        String readme = Files.readString(TestConfig.repoRoot().resolve("README.md"));
        StringBuilder indented = new StringBuilder();
        for (String line : example.split("\n", -1)) indented.append(line.isEmpty() ? "" : "    " + line).append('\n');
        assertTrue(readme.contains(indented.toString().stripTrailing()),
                "README.md's Java example differs from kurma-tests/.../example/HelloKurma.java (between its markers)");
    }

    @Test
    void theExampleRunsAContainerAndCatchesItsOutput() throws Exception {
        assumeKurma();
        Path archive = env.tmp().resolve("busybox.tar");
        Result made = Proc.run(List.of(TestConfig.repoRoot().resolve("scripts/make-image.sh").toString(), archive.toString()),
                null, env.tmp(), Duration.ofSeconds(60));
        assertEquals(0, made.exit(), () -> "make-image.sh\n" + made);
        String out = HelloKurma.hello(env.tmp().resolve("state"), env.tmp().resolve("run"), archive,
                TestConfig.repoRoot().resolve("stage2/target/kurma-stage2"));
        assertEquals("hello from Java\nexit 0", out);
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            assertFalse(line.contains(env.tmp().toString()), "a mount is left: " + line);
        }
    }
}
