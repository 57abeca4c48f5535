package kurma.tests.support;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * One finished command: its exit code and what it printed. {@code stdoutFile}/{@code stderrFile}
 * are where the output went; a detached container started by {@code create} keeps writing
 * there, so {@link #stdoutNow()} re-reads it.
 */
public record Result(List<String> command, int exit, String stdout, String stderr, long millis,
                     Path stdoutFile, Path stderrFile) {

    /** Asserts exit 0 and returns this. */
    public Result ok() {
        assertEquals(0, exit, () -> "expected exit 0\n" + this);
        return this;
    }

    /** Asserts a non-zero exit and returns this. */
    public Result failed() {
        assertNotEquals(0, exit, () -> "expected a non-zero exit\n" + this);
        return this;
    }

    /** Asserts the given exit code and returns this. */
    public Result exit(int expected) {
        assertEquals(expected, exit, () -> "expected exit " + expected + "\n" + this);
        return this;
    }

    /** stdout with surrounding whitespace trimmed. */
    public String out() {
        return stdout.strip();
    }

    /** stdout split into lines, each stripped, empty ones dropped. */
    public List<String> lines() {
        return Arrays.stream(stdout.split("\n")).map(String::strip).filter(s -> !s.isEmpty()).collect(Collectors.toList());
    }

    /** stdout as whitespace-separated words. */
    public List<String> words() {
        return Arrays.stream(stdout.strip().split("\\s+")).filter(s -> !s.isEmpty()).collect(Collectors.toList());
    }

    /** The current content of the stdout file (a detached container may have written more). */
    public String stdoutNow() throws IOException {
        return stdoutFile == null ? stdout : Files.readString(stdoutFile, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return "$ " + String.join(" ", command) + "\n  exit: " + exit + " (" + millis + " ms)"
                + "\n  stdout: " + indent(stdout) + "\n  stderr: " + indent(stderr);
    }

    private static String indent(String s) {
        if (s.isEmpty()) return "<empty>";
        String t = s.length() > 4000 ? s.substring(0, 4000) + "...<" + (s.length() - 4000) + " more chars>" : s;
        return t.stripTrailing().replace("\n", "\n          ");
    }
}
