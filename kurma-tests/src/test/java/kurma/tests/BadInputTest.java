package kurma.tests;

import kurma.tests.support.Bundle;
import kurma.tests.support.ContainerTest;
import kurma.tests.support.Json;
import kurma.tests.support.Result;
import kurma.tests.support.TestEnv;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
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

    // ---- numbers and names out of the ranges the kernel and runc take ----

    /** A JSON object from key, value pairs (ints as longs, as config.json's numbers). */
    private static Map<String, Object> obj(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], kv[i + 1] instanceof Integer n ? (Object) n.longValue() : kv[i + 1]);
        return m;
    }

    private static List<Object> list(Object... items) {
        return new ArrayList<>(Arrays.asList(items));
    }

    /** create of b fails, leaves nothing, and on kurma says, in one line, field and words. */
    private void refused(Bundle b, String field, String... words) throws Exception {
        b.write();
        Result r = createFails(b);
        String[] all = new String[words.length + 1];
        all[0] = field;
        System.arraycopy(words, 0, all, 1, words.length);
        kurmaErrorLine(r, all);
    }

    /** A bundle with a new user namespace mapping 0-65535 to 100000-165535. */
    private Bundle userns() throws Exception {
        Bundle b = env.bundle().args("true").addNamespace("user");
        b.set("linux.uidMappings", list(obj("containerID", 0, "hostID", 100000, "size", 65536)));
        b.set("linux.gidMappings", list(obj("containerID", 0, "hostID", 100000, "size", 65536)));
        return b;
    }

    @Test
    void idMapsOfANewUserNamespaceFailWhenReadNamingTheRange() throws Exception {
        // The kernel refuses each map when it is written (EINVAL), well into create.
        Bundle empty = userns();
        empty.set("linux.uidMappings", list(obj("containerID", 0, "hostID", 100000, "size", 0)));
        refused(empty, "linux.uidMappings[0].size", "at least 1");

        Bundle pastTheEnd = userns();
        pastTheEnd.set("linux.gidMappings", list(obj("containerID", 0, "hostID", 4294967000L, "size", 65536)));
        refused(pastTheEnd, "linux.gidMappings[0].size", "4294967295");

        Bundle overlapping = userns();
        overlapping.list("linux.uidMappings").add(obj("containerID", 1000, "hostID", 300000, "size", 10));
        refused(overlapping, "linux.uidMappings[1].containerID", "overlaps");

        Bundle unmapped = userns().user(70000, 0);
        refused(unmapped, "process.user.uid", "not mapped");
    }

    @Test
    void aNegativeIdMappingFailsEvenWithoutAUserNamespace() throws Exception {
        Bundle b = env.bundle().args("true");
        b.set("linux.uidMappings", list(obj("containerID", 0, "hostID", 1000, "size", -1)));
        refused(b, "linux.uidMappings[0].size", "at least 0");
    }

    @Test
    void processUserIdsOutOfRange() throws Exception {
        // 4294967295 is (uid_t)-1: setresuid would leave the process root.
        refused(env.bundle().args("true").user(4294967295L, 0), "process.user.uid", "at most 2147483647");
        refused(env.bundle().args("true").user(2147483648L, 0), "process.user.uid", "at most 2147483647");
        refused(env.bundle().args("true").user(0, 0, 5, -1), "process.user.additionalGids[1]", "at least 0");
        Bundle umask = env.bundle().args("true");
        umask.set("process.user.umask", 4294967296L);
        refused(umask, "process.user.umask", "at most 4294967295");
    }

    @Test
    void rlimitsOutOfRange() throws Exception {
        // A negative limit used to wrap to 2^64-5 and fail with EPERM.
        Bundle negative = env.bundle().args("true").rlimit("RLIMIT_NOFILE", -5, -5);
        refused(negative, lastRlimit(negative) + ".soft", "at least 0");
        Bundle inverted = env.bundle().args("true").rlimit("RLIMIT_NOFILE", 2048, 1024);
        refused(inverted, lastRlimit(inverted) + ".soft", "at most hard");
        Bundle big = env.bundle().args("true").rlimit("RLIMIT_NOFILE", 1024, 0);
        big.write();
        Path config = big.dir().resolve("config.json");
        String text = Files.readString(config);
        String hard = text.replaceFirst("\"hard\":\\s*0\\b", "\"hard\": 18446744073709551616");
        assertFalse(hard.equals(text), "no hard limit to replace in " + text);
        Files.writeString(config, hard);
        kurmaErrorLine(createFails(big), lastRlimit(big) + ".hard", "at most 18446744073709551615");
    }

    /** The path of the last rlimit, the one {@link Bundle#rlimit} just set. */
    private static String lastRlimit(Bundle b) {
        return "process.rlimits[" + (b.list("process.rlimits").size() - 1) + "]";
    }

    @Test
    void oomScoreAdjOutOfRange() throws Exception {
        refused(env.bundle().args("true").set("process.oomScoreAdj", 1001L), "process.oomScoreAdj", "at most 1000");
        refused(env.bundle().args("true").set("process.oomScoreAdj", -1001L), "process.oomScoreAdj", "at least -1000");
    }

    @Test
    void aNegativeConsoleSize() throws Exception {
        Bundle b = env.bundle().args("true").set("process.consoleSize", obj("height", -1, "width", 80));
        refused(b, "process.consoleSize.height", "at least 0");
    }

    @Test
    void devicesOutOfRange() throws Exception {
        refused(env.bundle().args("true").set("linux.devices", list(obj("type", "c", "path", "/dev/kt", "major", -1, "minor", 3))),
                "linux.devices[0].major", "at least 0");
        refused(env.bundle().args("true").set("linux.devices",
                list(obj("type", "c", "path", "/dev/kt", "major", 1, "minor", 3, "fileMode", -1))),
                "linux.devices[0].fileMode", "at least 0");
        refused(env.bundle().args("true").set("linux.devices",
                list(obj("type", "c", "path", "/dev/kt", "major", 1, "minor", 3, "uid", -1))),
                "linux.devices[0].uid", "at least 0");
    }

    @Test
    void deviceNumbersBeyondTheKernelsDevT() throws Exception {
        // runc makes 0:3 of 4096:3 (the bits do not fit in dev_t); kurma refuses it.
        assumeKurma();
        refused(env.bundle().args("true").set("linux.devices", list(obj("type", "c", "path", "/dev/kt", "major", 4096, "minor", 3))),
                "linux.devices[0].major", "at most 4095");
        refused(env.bundle().args("true").set("linux.devices",
                list(obj("type", "c", "path", "/dev/kt", "major", 1, "minor", 1048576))),
                "linux.devices[0].minor", "at most 1048575");
    }

    @Test
    void aHookTimeoutThatIsNotPositive() throws Exception {
        Bundle b = env.bundle().args("true").set("hooks.prestart", list(obj("path", "/bin/true", "timeout", 0)));
        refused(b, "hooks.prestart[0].timeout", "at least 1");
    }

    @Test
    void aHostnameLongerThanTheKernelTakes() throws Exception {
        refused(env.bundle().args("true").hostname("h".repeat(65)), "hostname", "at most 64 bytes");
        // 33 two-byte characters: the limit is in bytes
        refused(env.bundle().args("true").hostname("\u00e9".repeat(33)), "hostname", "at most 64 bytes, got 66");
    }

    @Test
    void aDomainnameLongerThanTheKernelTakes() throws Exception {
        assumeKurma(); // runc 1.1 does not set the domainname at all
        refused(env.bundle().args("true").set("domainname", "d".repeat(65)), "domainname", "at most 64 bytes");
    }

    @Test
    void aHugeHostnameMakesAShortErrorLine() throws Exception {
        Path log = env.tmp().resolve("huge.log");
        Bundle b = env.bundle().args("true").hostname("h".repeat(100_000));
        b.write();
        Result r = env.cli("create", "--bundle", b.dir().toString(), env.newId())
                .global("--log", log.toString(), "--log-format", "json").run().failed();
        env.assertNothingLeft();
        assertTrue(r.stderr().length() < 1000, () -> "stderr of " + r.stderr().length() + " characters: "
                + r.stderr().substring(0, 300));
        for (String line : Files.readAllLines(log)) {
            assertTrue(line.length() < 1000, () -> "a log line of " + line.length() + " characters: " + line.substring(0, 300));
        }
        kurmaErrorLine(r, "hostname", "at most 64 bytes, got 100000");
        // without --log the line on stderr is as short
        Result plain = createFails(b);
        assertTrue(plain.stderr().length() < 1000, () -> "stderr of " + plain.stderr().length() + " characters");
    }

    @Test
    void aLongValueIsCutInTheError() throws Exception {
        assumeKurma(); // runc quotes it whole
        Bundle b = env.bundle().args("/no-such-" + "x".repeat(100_000));
        b.write();
        Result r = createFails(b);
        kurmaErrorLine(r, "/no-such-xxxx", "\u2026", "(100009 characters)");
        Result id = env.rt("state", "x".repeat(100_000)).failed();
        assertTrue(id.stderr().length() < 300, () -> "stderr of " + id.stderr().length() + " characters");
    }

    @Test
    void aNulInAnEnvironmentVariable() throws Exception {
        Bundle b = env.bundle().args("true").env("KT=a\u0000b");
        List<Object> envs = b.list("process.env");
        refused(b, "process.env[" + (envs.size() - 1) + "]", "NUL");
    }

    @Test
    void configJsonThatIsNotUtf8() throws Exception {
        assumeKurma(); // runc (Go) reads bad bytes in a string as U+FFFD and runs the container
        Bundle b = env.bundle().args("true").hostname("caf\u00e9");
        b.write();
        Path config = b.dir().resolve("config.json");
        byte[] utf8 = Files.readAllBytes(config);
        String text = new String(utf8, StandardCharsets.UTF_8);
        int at = text.substring(0, text.indexOf("caf\u00e9")).getBytes(StandardCharsets.UTF_8).length + 3;
        Files.write(config, text.getBytes(StandardCharsets.ISO_8859_1)); // the é as one byte, 0xe9
        kurmaErrorLine(createFails(b), "config.json is not valid UTF-8", "byte offset " + at);
    }

    @Test
    void execProcessFileThatIsNotUtf8() throws Exception {
        assumeKurma(); // as config.json: runc reads bad bytes as U+FFFD
        String id = env.create(env.bundle().args("sleep", "30"));
        Path process = env.tmp().resolve("process.json");
        byte[] head = "{\"cwd\": \"/\", \"args\": [\"echo\", \"caf".getBytes(StandardCharsets.UTF_8);
        byte[] json = Arrays.copyOf(head, head.length + 4);
        json[head.length] = (byte) 0xe9;
        json[head.length + 1] = '"';
        json[head.length + 2] = ']';
        json[head.length + 3] = '}';
        Files.write(process, json);
        Result r = env.rt("exec", "--process", process.toString(), id).failed();
        kurmaErrorLine(r, "not valid UTF-8", "byte offset " + head.length);
        env.rt("delete", "--force", id).ok();
        env.assertNothingLeft();
    }

    @Test
    void valuesRuncRunsStillRun() throws Exception {
        // runc takes any negative quota or pids limit as unlimited, and ignores id maps without
        // a user namespace: so does kurma.
        Bundle b = env.bundle().args("true");
        b.set("linux.resources", obj("pids", obj("limit", -5), "cpu", obj("quota", -5)));
        b.set("linux.uidMappings", list(obj("containerID", 0, "hostID", 1000, "size", 0)));
        env.runOk(b);
        env.assertNothingLeft();
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
