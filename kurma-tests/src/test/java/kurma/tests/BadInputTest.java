package kurma.tests;

import kurma.tests.support.Bundle;
import kurma.tests.support.ContainerTest;
import kurma.tests.support.Json;
import kurma.tests.support.Result;
import kurma.tests.support.TestEnv;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad input is refused with a non-zero exit and leaves nothing behind. Error texts are only
 * checked on kurma (other runtimes word them differently), except where every runtime must
 * say it (the name of a missing program).
 */
class BadInputTest extends ContainerTest {

    /** create of a fresh id that must fail and leave nothing behind. */
    private Result createFails(Bundle b) throws Exception {
        Result r = env.rt("create", "--bundle", b.dir().toString(), env.newId()).failed();
        env.assertNothingLeft();
        return r;
    }

    /** Kurma prints one line on stderr that contains all of {@code words}. */
    private static void kurmaErrorLine(Result r, String... words) {
        if (!isKurma()) return;
        List<String> lines = r.stderr().strip().lines().toList();
        assertEquals(1, lines.size(), () -> "expected a one-line error\n" + r);
        for (String w : words) TestEnv.assertContains(lines.get(0), w, "error message");
    }

    @Test
    void malformedConfigJson() throws Exception {
        Bundle b = env.bundle();
        b.write();
        String good = Files.readString(b.dir().resolve("config.json"));
        Files.writeString(b.dir().resolve("config.json"), good.substring(0, good.length() / 2) + "\n,,}");
        Result r = createFails(b);
        kurmaErrorLine(r, "config.json");
    }

    @Test
    void missingConfigJson() throws Exception {
        Bundle b = env.bundle();
        Result r = createFails(b); // never written
        kurmaErrorLine(r, "config.json");
    }

    @Test
    void processArgsMissing() throws Exception {
        Bundle b = env.bundle();
        b.set("process.args", null);
        b.write();
        Result r = createFails(b);
        kurmaErrorLine(r, "args");
    }

    @Test
    void processArgsEmpty() throws Exception {
        Bundle b = env.bundle().args();
        b.write();
        Result r = createFails(b);
        kurmaErrorLine(r, "args");
    }

    @Test
    void unknownNamespaceType() throws Exception {
        Bundle b = env.bundle().addNamespace("bogus").args("true");
        b.write();
        Result r = createFails(b);
        kurmaErrorLine(r, "bogus");
    }

    @Test
    void missingRootfs() throws Exception {
        Bundle b = env.bundle().args("true");
        b.set("root.path", "no-such-rootfs");
        b.write();
        Result r = createFails(b);
        kurmaErrorLine(r, "no-such-rootfs");
        env.rt("run", "-b", b.dir().toString(), env.newId()).failed();
        env.assertNothingLeft();
    }

    @Test
    void programNotFoundInTheContainer() throws Exception {
        Bundle b = env.bundle().args("no-such-program-xyz", "arg");
        b.write();
        Result r = createFails(b);
        TestEnv.assertContains(r.stderr(), "no-such-program-xyz", "the error names the missing program");
        kurmaErrorLine(r, "no-such-program-xyz");

        Bundle abs = env.bundle().args("/bin/no-such-program-abs");
        abs.write();
        Result r2 = createFails(abs);
        TestEnv.assertContains(r2.stderr(), "no-such-program-abs", "the error names the missing program");
    }

    @Test
    void duplicateId() throws Exception {
        Bundle b = env.bundle().args("sleep", "30");
        String id = env.create(b);
        env.rt("create", "--bundle", b.dir().toString(), id).failed();
        // the first container is unharmed
        assertEquals("created", env.status(id));
        assertEquals(List.of(id), env.listIds());
        env.rt("delete", "--force", id).ok();
        env.assertNothingLeft();
    }

    @Test
    void unknownIdForStartStateKillDelete() throws Exception {
        String id = env.newId();
        env.rt("start", id).failed();
        env.rt("state", id).failed();
        env.rt("kill", id, "KILL").failed();
        env.rt("kill", id).failed();
        env.rt("delete", id).failed();
        env.assertNothingLeft();
    }

    @Test
    void logFileGetsAJsonErrorRecord() throws Exception {
        Path log = env.tmp().resolve("runtime.log");
        Bundle b = env.bundle().args("no-such-program-logged");
        b.write();
        env.cli("create", "--bundle", b.dir().toString(), env.newId())
                .global("--log", log.toString(), "--log-format", "json").run().failed();
        env.assertNothingLeft();
        assertTrue(Files.exists(log), "no log file written");
        List<Map<String, Object>> errors = new ArrayList<>();
        List<String> lines = Files.readAllLines(log);
        for (String line : lines) {
            if (line.isBlank()) continue;
            Map<String, Object> rec;
            try {
                rec = Json.parseObject(line);
            } catch (IllegalArgumentException e) {
                throw new AssertionError("log line is not a JSON object: " + line, e);
            }
            if ("error".equals(rec.get("level"))) errors.add(rec);
        }
        assertFalse(errors.isEmpty(), () -> "no {\"level\":\"error\"} record in the log:\n" + String.join("\n", lines));
        // containerd-shim and conmon show the user the last error record of the log.
        String last = "";
        for (String line : lines) if (!line.isBlank()) last = line;
        assertEquals("error", Json.parseObject(last).get("level"), "the log's last record is the error\n" + String.join("\n", lines));
        for (Map<String, Object> e : errors) {
            assertTrue(e.get("msg") instanceof String m && !m.isBlank(), () -> "error record without msg: " + e);
        }
        if (isKurma()) {
            assertTrue(errors.stream().anyMatch(e -> e.get("msg").toString().contains("no-such-program-logged")),
                    () -> "no error record names the program: " + errors);
        }
    }

    // ---- kurma-specific: mount destinations through symlinks in the rootfs ----

    @Test
    void mountDestinationThroughAnEscapingSymlinkFails() throws Exception {
        assumeKurma();
        Path outside = env.tmp().resolve("escaped-" + System.nanoTime());
        Path src = env.newDir("src");
        Bundle b = env.bundle().args("true");
        Files.createSymbolicLink(b.rootfs().resolve("esc"), Path.of("../../../../../../../../../.." + outside));
        b.bind(src, "/esc/inner");
        b.write();
        Result r = env.rt("create", "--bundle", b.dir().toString(), env.newId()).failed();
        TestEnv.assertContains(r.stderr(), "escapes", "error message");
        assertFalse(Files.exists(outside), "the runtime created " + outside + " on the host");
        env.assertNothingLeft();
    }

    @Test
    void mountDestinationThroughAnAbsoluteSymlinkStaysInTheRootfs() throws Exception {
        assumeKurma();
        Path hostTarget = env.tmp().resolve("abs-target-" + System.nanoTime());
        Path src = env.newDir("src");
        Files.writeString(src.resolve("marker"), "marker\n");
        Bundle b = env.bundle();
        Files.createSymbolicLink(b.rootfs().resolve("abs"), hostTarget);
        b.bind(src, "/abs").sh("cat /abs/marker; cat " + hostTarget + "/marker");
        Result r = env.runOk(b);
        TestEnv.assertLines(r, "marker", "marker");
        assertFalse(Files.exists(hostTarget), "the mount went to the host path " + hostTarget);
        Path inside = b.rootfs().resolve(hostTarget.toString().substring(1));
        assertTrue(Files.isDirectory(inside), "mount point not created inside the rootfs at " + inside);
    }
}
