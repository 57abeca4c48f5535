package kurma.tests.engines;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import kurma.tests.support.Cgroups;
import kurma.tests.support.Result;
import kurma.tests.support.TestEnv;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * The checks Docker and Podman share: Podman's command line is Docker's, so one set of
 * commands runs through both. Each engine says how it is called and where it keeps state.
 */
abstract class DockerCliTest extends EngineTest {
    private final List<String> containers = new ArrayList<>();

    /** The engine's command line up to the subcommand (binary and global flags). */
    protected abstract List<String> cli();

    /** Options every {@code run} of these tests gets (the runtime, cgroup parent, network...). */
    protected abstract List<String> runOptions();

    /** The imported busybox image. */
    protected abstract String image();

    /** The --root the engine gives the runtime (null: the runtime's default). */
    protected abstract Path runtimeRoot();

    /** Whether {@code top} shows host pids (Docker) or the container's own (Podman). */
    protected abstract boolean topShowsHostPids();

    protected final Result engine(String... args) throws IOException, InterruptedException {
        List<String> argv = new ArrayList<>(cli());
        argv.addAll(Arrays.asList(args));
        return cmd(argv);
    }

    /** {@code run --rm [runOptions] [options] IMAGE command...}. */
    protected final Result run(List<String> options, String... command) throws IOException, InterruptedException {
        List<String> argv = new ArrayList<>(List.of("run", "--rm"));
        argv.addAll(runOptions());
        argv.addAll(options);
        argv.add(image());
        argv.addAll(Arrays.asList(command));
        return engine(argv.toArray(String[]::new));
    }

    /** Starts the counting container detached, /data bound to {@code volume}; returns its id. */
    protected final String runCounter(Path volume, String... options) throws Exception {
        List<String> argv = new ArrayList<>(List.of("run", "-d"));
        argv.addAll(runOptions());
        argv.addAll(Arrays.asList(options));
        argv.addAll(List.of("-v", volume + ":/data", image(), "sh", "-c", COUNTER_SCRIPT));
        Result r = ok(engine(argv.toArray(String[]::new)));
        String id = r.out();
        if (!id.matches("[0-9a-f]{64}")) fail("run -d printed no container id\n" + explain(r));
        containers.add(id);
        Path count = volume.resolve("count");
        boolean up = eventually(Duration.ofSeconds(60), () -> Files.exists(count));
        if (!up) fail("the detached container never started counting\n" + explain(engine("logs", id)));
        return id;
    }

    protected final String inspect(String id, String format) throws IOException, InterruptedException {
        return ok(engine("inspect", "--format", format, id)).out();
    }

    /** Removes the detached containers a test started (whatever happened to it). */
    @AfterEach
    final void removeContainers() throws IOException, InterruptedException {
        for (String id : containers) engine("rm", "-f", id);
        containers.clear();
    }

    /** At the end, before the daemons stop: nothing may be left, and the image goes. */
    protected final void removeEverything() throws IOException, InterruptedException {
        Result left = engine("ps", "-aq");
        for (String id : left.lines()) engine("rm", "-f", id);
        Result rmi = engine("rmi", image());
        Result images = engine("images", "-q");
        if (rmi.exit() != 0 || !images.out().isEmpty()) {
            throw new AssertionError("the imported image was not removed\n" + rmi + "\n" + images);
        }
        if (left.exit() == 0 && !left.out().isEmpty()) {
            throw new AssertionError("containers were left behind (removed now): " + left.lines());
        }
    }

    // ---- the checks

    @Test
    void outputAndExitCode() throws Exception {
        Result r = exit(run(List.of(), "sh", "-c", "echo hello from busybox; echo this goes to stderr >&2; exit 3"), 3);
        assertLines(r, "hello from busybox");
        assertTrue(r.stderr().contains("this goes to stderr"), "the container's stderr did not reach the engine's", r);
        assertTrue(callsThisTest().contains(" create ") && callsThisTest().contains(" start "),
                "the engine did not run the runtime under test", r);
    }

    @Test
    void missingProgramIs127() throws Exception {
        // Both engines turn the runtime's "no such file or directory" into exit code 127.
        Result r = run(List.of(), "/no/such/program");
        exit(r, 127);
        assertTrue(r.stderr().contains("/no/such/program"), "the error does not name the program", r);
    }

    @Test
    void envAndWorkdir() throws Exception {
        Result r = ok(run(List.of("-e", "FOO=bar", "-e", "SPACED=a b", "-w", "/etc"),
                "sh", "-c", "echo \"$FOO|$SPACED\"; pwd"));
        assertLines(r, "bar|a b", "/etc");
    }

    @Test
    void user() throws Exception {
        Result r = ok(run(List.of("--user", "1000:1000"), "sh", "-c",
                "id -u; id -g; if touch /etc/passwd 2>/tmp/touch.err; then echo can-write; else echo cannot-write; fi"));
        assertLines(r, "1000", "1000", "cannot-write");
    }

    @Test
    void nonRootUserCanWriteDevNull() throws Exception {
        Result r = ok(run(List.of("--user", "1000:1000"), "sh", "-c",
                "stat -c %a /dev/null; if echo x > /dev/null; then echo null-writable; else echo null-denied; fi"));
        assertLines(r, "666", "null-writable");
    }

    @Test
    void readOnlyRootfs() throws Exception {
        Result r = ok(run(List.of("--read-only"), "sh", "-c",
                "if touch /probe 2>/dev/null; then echo root-writable; else echo root-read-only; fi"));
        assertLines(r, "root-read-only");
    }

    @Test
    void bindVolume() throws Exception {
        Path rw = ws.mkdir("volume-rw-" + System.nanoTime());
        Path ro = ws.mkdir("volume-ro-" + System.nanoTime());
        Files.writeString(rw.resolve("in.txt"), "written on the host\n");
        Result r = ok(run(List.of("-v", rw + ":/data", "-v", ro + ":/ro:ro"), "sh", "-c",
                "cat /data/in.txt; echo written in the container > /data/out.txt;"
                        + " if touch /ro/x 2>/dev/null; then echo ro-writable; else echo ro-read-only; fi"));
        assertLines(r, "written on the host", "ro-read-only");
        Path out = rw.resolve("out.txt");
        assertTrue(Files.exists(out) && Files.readString(out).equals("written in the container\n"),
                "the container's write did not reach the host's " + out, r);
        assertTrue(!Files.exists(ro.resolve("x")), "the read-only volume was written", r);
    }

    @Test
    void networkNone() throws Exception {
        // (Podman's runs all have --network none already; it may be given only once.)
        List<String> none = runOptions().contains("--network") ? List.of() : List.of("--network", "none");
        Result r = ok(run(none, "ls", "/sys/class/net"));
        assertLines(r, "lo");
    }

    @Test
    void memoryAndPidsLimits() throws Exception {
        // The container reads its own limits from the cgroup files the engine mounts on
        // /sys/fs/cgroup (v1 layout on this host; v2 names as the fallback).
        Result r = ok(run(List.of("--memory", "64m", "--pids-limit", "50"), "sh", "-c",
                "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max;"
                        + " cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max"));
        assertLines(r, "67108864", "50");
    }

    @Test
    void interactiveTty() throws Exception {
        List<String> argv = new ArrayList<>(cli());
        argv.addAll(List.of("run", "-it", "--rm"));
        argv.addAll(runOptions());
        argv.addAll(List.of(image(), "sh", "-c", "tty; echo ready-$((40+2)); read line; echo \"got:$line\"; exit 7"));
        checkTty(argv);
    }

    @Test
    void execTty() throws Exception {
        String id = runCounter(ws.mkdir("volume-exectty-" + System.nanoTime()));
        List<String> argv = new ArrayList<>(cli());
        argv.addAll(List.of("exec", "-it", id, "sh", "-c", "tty; echo ready-$((40+2)); read line; echo \"got:$line\"; exit 7"));
        checkTty(argv);
    }

    /** Runs a command that prints its tty and a marker, reads a line and exits 7, on a terminal. */
    private void checkTty(List<String> argv) throws Exception {
        StringBuilder line = new StringBuilder();
        for (String a : argv) line.append(line.isEmpty() ? "" : " ").append(Workspace.quote(a));
        Result r = Terminal.type(line.toString(), engineEnv(), ws.scratch(), "ready-42", "hello tty\r", TIMEOUT);
        skipIfKurmaLacksTerminals(r);
        exit(r, 7);
        assertTrue(r.lines().stream().anyMatch(l -> l.matches("/dev/pts/[0-9]+")), "tty did not print /dev/pts/N", r);
        assertTrue(r.lines().contains("got:hello tty"), "the line typed on the terminal did not reach the container", r);
    }

    @Test
    void detachedContainerAndExec() throws Exception {
        String id = runCounter(ws.mkdir("volume-exec-" + System.nanoTime()));
        assertTrue(inspect(id, "{{.State.Status}}").equals("running"), "the detached container is not running",
                engine("inspect", id));
        Result r = exit(engine("exec", "-e", "IN_EXEC=yes", "-w", "/tmp", "-u", "1000", id, "sh", "-c",
                "echo \"$IN_EXEC\"; pwd; id -u; tr '\\0' ' ' < /proc/1/cmdline; echo; exit 5"), 5);
        List<String> lines = r.lines();
        assertTrue(lines.size() == 4 && lines.get(0).equals("yes") && lines.get(1).equals("/tmp")
                        && lines.get(2).equals("1000") && lines.get(3).startsWith("sh -c trap"),
                "exec did not run as asked, or not in the container (pid 1 should be its sh)", r);
    }

    @Test
    void topAndPs() throws Exception {
        String id = runCounter(ws.mkdir("volume-top-" + System.nanoTime()));
        Result top = ok(engine("top", id));
        assertTrue(top.stdout().contains("sleep") && top.stdout().contains("sh -c trap"),
                "top does not show the container's processes", top);
        if (topShowsHostPids()) {
            String pid = inspect(id, "{{.State.Pid}}");
            assertTrue(top.words().contains(pid), "top does not show the init's host pid " + pid, top);
        }
        Result ps = ok(engine("ps", "--no-trunc", "--filter", "id=" + id, "--format", "{{.ID}} {{.Status}}"));
        assertTrue(ps.out().startsWith(id + " Up"), "ps does not show the container up", ps);
    }

    @Test
    void pauseAndUnpause() throws Exception {
        Path vol = ws.mkdir("volume-pause-" + System.nanoTime());
        String id = runCounter(vol);
        ok(engine("pause", id));
        assertTrue(inspect(id, "{{.State.Status}}").equals("paused"), "not paused after pause", engine("inspect", id));
        String a = readCounter(vol);
        Thread.sleep(1000);
        String b = readCounter(vol);
        assertTrue(a.equals(b), "the counter went on while paused: " + a + " -> " + b, engine("inspect", id));
        ok(engine("unpause", id));
        assertTrue(inspect(id, "{{.State.Status}}").equals("running"), "not running after unpause", engine("inspect", id));
        boolean counting = eventually(Duration.ofSeconds(20), () -> !readCounter(vol).equals(b));
        assertTrue(counting, "the counter did not move after unpause (still " + b + ")", engine("inspect", id));
    }

    @Test
    void stopAndRm() throws Exception {
        Path vol = ws.mkdir("volume-stop-" + System.nanoTime());
        String id = runCounter(vol);
        long pid = Long.parseLong(inspect(id, "{{.State.Pid}}"));
        List<Path> cgroups = Cgroups.containerDirs(pid);
        assertTrue(!cgroups.isEmpty(), "found no cgroup of the container's init " + pid, engine("inspect", id));

        Result stop = ok(engine("stop", "-t", "60", id));
        String state = inspect(id, "{{.State.Status}} {{.State.ExitCode}}");
        assertTrue(state.equals("exited 42"), "after stop: " + state + ", expected \"exited 42\" (the TERM trap's exit)", stop);
        assertTrue(Files.readString(vol.resolve("log")).contains("term"), "the container never saw SIGTERM", stop);

        Result rm = ok(engine("rm", id));
        Result all = ok(engine("ps", "-a", "--no-trunc", "--format", "{{.ID}}"));
        assertTrue(!all.stdout().contains(id), "the container is still listed after rm", all);
        assertTrue(!runtimeKnows(runtimeRoot(), id), "the runtime still has the container's state after rm", rm);
        for (Path cg : cgroups) assertTrue(!Files.exists(cg), "cgroup " + cg + " is left after rm", rm);

        // rm -f of a running container: SIGKILL, then delete.
        String id2 = runCounter(ws.mkdir("volume-rmf-" + System.nanoTime()));
        long pid2 = Long.parseLong(inspect(id2, "{{.State.Pid}}"));
        Result rmf = ok(engine("rm", "-f", id2));
        assertTrue(!runtimeKnows(runtimeRoot(), id2), "the runtime still has the container's state after rm -f", rmf);
        assertTrue(eventually(Duration.ofSeconds(20), () -> !TestEnv.isRunning(pid2)),
                "the container's init " + pid2 + " still runs after rm -f", rmf);
    }
}
