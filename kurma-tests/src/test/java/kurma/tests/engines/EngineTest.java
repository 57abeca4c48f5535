package kurma.tests.engines;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

import kurma.tests.support.Proc;
import kurma.tests.support.Result;
import kurma.tests.support.TestConfig;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Base of the engine tests: a container engine (Docker, Podman, containerd) started by the
 * test with private state and the runtime under test registered, a busybox image imported
 * into it, everyday engine commands checked one per test, and everything undone at the end.
 *
 * <p>A failure message carries the engine command's output, every call the engine made to
 * the runtime since the test began (argv and exit status, from the traced wrapper) and the
 * tail of the daemons' logs, so it explains itself.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 5, unit = TimeUnit.MINUTES) // engines call the runtime several times per command; the machine is small
abstract class EngineTest {
    /** Bound on one engine command. */
    static final Duration TIMEOUT = Duration.ofSeconds(150);

    protected Workspace ws;
    private long testMark;

    /** "docker", "podman", "containerd": names the temp dir and the logs. */
    protected abstract String engineName();

    /** Starts the engine, imports the image; registers every cleanup step with {@code ws}. */
    protected abstract void setUpEngine() throws Exception;

    /** Environment for every engine command. */
    protected Map<String, String> engineEnv() {
        return Map.of();
    }

    /** Tails of the daemons' logs, for failure messages ("" when there is no daemon). */
    protected abstract String daemonLogs();

    @BeforeAll
    @Timeout(value = 8, unit = TimeUnit.MINUTES)
    final void startEngine() throws Exception {
        TestConfig.checkPrerequisites();
        ws = Workspace.create(engineName());
        setUpEngine();
    }

    // Runs even when startEngine failed half-way: whatever was registered is undone.
    @AfterAll
    @Timeout(value = 8, unit = TimeUnit.MINUTES)
    final void stopEngine() throws Exception {
        if (ws != null) ws.close();
    }

    @BeforeEach
    final void markTrace() {
        testMark = ws.traceMark();
    }

    // ---- running things

    /** Runs an engine command line and waits for it. */
    protected final Result cmd(List<String> argv) throws IOException, InterruptedException {
        return Proc.run(argv, engineEnv(), null, ws.scratch(), TIMEOUT);
    }

    /** Fails unless a binary the test needs is installed. */
    static void requireBinary(String path, String debianPackage) {
        if (!Files.isExecutable(Path.of(path))) {
            fail(path + " not found: install Debian's " + debianPackage + " (apt-get install -y " + debianPackage
                    + "; .ci/run does it)");
        }
    }

    // ---- assertions with diagnostics

    /** The result, the runtime calls since the test began and the daemons' logs. */
    protected final String explain(Result r) {
        String logs = daemonLogs();
        return r + "\n" + ws.traceSince(testMark) + (logs.isEmpty() ? "" : "\n" + logs);
    }

    protected final Result ok(Result r) {
        return exit(r, 0);
    }

    protected final Result exit(Result r, int code) {
        if (r.exit() != code) fail("expected exit " + code + "\n" + explain(r));
        return r;
    }

    /** stdout's lines (stripped, empty ones dropped) must be exactly these. */
    protected final void assertLines(Result r, String... expected) {
        if (!r.lines().equals(List.of(expected))) fail("expected stdout lines " + List.of(expected) + "\n" + explain(r));
    }

    protected final void assertTrue(boolean cond, String what, Result r) {
        if (!cond) fail(what + "\n" + explain(r));
    }

    /** The runtime calls since the test began, as logged by the wrapper. */
    protected final String callsThisTest() {
        return ws.traceSince(testMark);
    }

    /**
     * Kurma has no terminal support yet (process.terminal, --console-socket, exec --tty are
     * refused); until it has, a tty check that failed for exactly that reason is skipped,
     * saying so. Any other failure is a failure.
     */
    protected final void skipIfKurmaLacksTerminals(Result r) {
    }

    /** Polls {@code probe} until it holds; false at the timeout. */
    protected static boolean eventually(Duration timeout, Check probe) throws Exception {
        long end = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < end) {
            if (probe.holds()) return true;
            Thread.sleep(100);
        }
        return probe.holds();
    }

    interface Check {
        boolean holds() throws Exception;
    }

    /** {@code RUNTIME [--root ROOT] state ID}: whether the runtime still knows the container. */
    protected final boolean runtimeKnows(Path root, String id) throws IOException, InterruptedException {
        List<String> argv = new ArrayList<>(List.of(TestConfig.runtime().toString()));
        if (root != null) argv.addAll(List.of("--root", root.toString()));
        argv.addAll(List.of("state", id));
        return ws.run(Duration.ofSeconds(60), argv.toArray(String[]::new)).exit() == 0;
    }

    /** The counter file a detached test container updates ten times a second. */
    protected static String readCounter(Path volume) throws IOException {
        Path f = volume.resolve("count");
        return Files.exists(f) ? Files.readString(f).strip() : "";
    }

    /**
     * A container command that counts into /data/count ten times a second and, on SIGTERM,
     * writes "term" to /data/log and exits 42 (so a stop proves the signal got through).
     */
    static final String COUNTER_SCRIPT =
            "trap 'echo term >> /data/log; exit 42' TERM; i=0; while :; do i=$((i+1)); echo $i > /data/count; sleep 0.1; done";
}
