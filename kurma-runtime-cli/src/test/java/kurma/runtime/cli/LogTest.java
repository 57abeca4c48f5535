package kurma.runtime.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import kurma.spec.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI's error lines stay one short line whatever the message holds. */
class LogTest {
    private static final String HUGE = "error about " + "x".repeat(100_000) + "\nsecond line\u001b[2J";

    @Test
    void aHugeErrorIsOneBoundedLineOnStderr() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        new Log(null, "text", false, new PrintStream(err, true, StandardCharsets.UTF_8)).error(HUGE);
        List<String> lines = err.toString(StandardCharsets.UTF_8).lines().toList();
        assertEquals(1, lines.size());
        String line = lines.getFirst();
        assertTrue(line.length() <= Log.MAX_LINE + 30, line.length() + " characters");
        assertTrue(line.startsWith("error about xxx") && line.endsWith("\u2026 (" + HUGE.length() + " characters)"), line.substring(0, 40));
        assertEquals("short", shortError());
    }

    private static String shortError() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        new Log(null, "text", false, new PrintStream(err, true, StandardCharsets.UTF_8)).error("short");
        return err.toString(StandardCharsets.UTF_8).strip();
    }

    @Test
    void theJsonRecordAndStderrAreBoundedWithALogFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("log.json");
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Log log = new Log(file.toString(), "json", false, new PrintStream(err, true, StandardCharsets.UTF_8));
        log.error(HUGE);
        log.warn(HUGE);
        List<String> records = Files.readAllLines(file);
        assertEquals(2, records.size());
        for (String r : records) {
            assertTrue(r.length() < Log.MAX_LINE + 200, r.length() + " characters");
            Map<?, ?> m = (Map<?, ?>) Json.parse(r);
            assertTrue(m.get("msg").toString().startsWith("error about xxx"), r.substring(0, 80));
            assertTrue(!m.get("msg").toString().contains("\u001b"), "control characters are escaped");
        }
        assertEquals("error", ((Map<?, ?>) Json.parse(records.getFirst())).get("level"));
        String stderr = err.toString(StandardCharsets.UTF_8);
        assertEquals(1, stderr.lines().count());
        assertTrue(stderr.length() <= Log.MAX_LINE + 31, stderr.length() + " characters");
    }
}
