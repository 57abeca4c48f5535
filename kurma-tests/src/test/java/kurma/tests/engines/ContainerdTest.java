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

import static org.junit.jupiter.api.Assertions.fail;

/**
 * containerd (Debian's containerd 1.6) driven by {@code ctr}, with the runc v2 shim running the
 * runtime under test: {@code ctr run --runtime io.containerd.runc.v2 --runc-binary PATH}, which
 * is the shim's BinaryName option README.md describes for containerd's config.
 *
 * <p>containerd is our own (see {@link Containerd}); ctr works in a namespace of this run, so
 * the containers' cgroups are /NAMESPACE/ID. The runtime's --root (--runc-root) and ctr's
 * FIFOs (--fifo-dir) are in the workspace. ctr 1.6 has no {@code run --user} and no pids
 * limit: the user is checked through {@code task exec --user}. Its default spec mounts no
 * cgroup filesystem, so the memory limit is read on the host, from the task's cgroup.
 */
class ContainerdTest extends EngineTest {
    private static final String CTR = "/usr/bin/ctr";

    private Containerd containerd;
    private String namespace;
    private Path runtimeRoot;
    private Path fifoDir;
    private Path logs;
    private String image;
    private int seq;
    private final List<String> containers = new ArrayList<>();

    @Override
    protected String engineName() {
        return "containerd";
    }

    @Override
    protected void setUpEngine() throws Exception {
        requireBinary("/usr/bin/umoci", "umoci");
        namespace = "kurma-" + ws.tag;
        ws.removeCgroupTreeAtClose(namespace);
        containerd = Containerd.start(ws);
        runtimeRoot = ws.mkdir("runtime-root");
        fifoDir = ws.mkdir("fifo");
        logs = ws.mkdir("logs");
        ws.onClose("remove the containers and the image", this::removeEverything);
        Path archive = BusyboxImage.ociArchive(ws, ws.tag);
        ok(ctr("image", "import", "--base-name", "localhost/kurma-test/busybox", archive.toString()));
        image = "localhost/kurma-test/busybox:" + ws.tag;
        ok(ctr("image", "check")); // the image is complete and unpacked
    }

    @Override
    protected String daemonLogs() {
        return containerd == null ? "" : containerd.daemon.logTail(25);
    }

    private Result ctr(String... args) throws IOException, InterruptedException {
        List<String> argv = new ArrayList<>(List.of(CTR, "--address", containerd.socket.toString(), "--namespace", namespace));
        argv.addAll(Arrays.asList(args));
        return cmd(argv);
    }

    /** The options that make the runc v2 shim call the runtime under test. */
    private List<String> runtimeOptions() {
        return List.of("--runtime", "io.containerd.runc.v2", "--runc-binary", ws.runtime().toString(),
                "--runc-root", runtimeRoot.toString());
    }

    private String newId() {
        String id = "c" + (++seq);
        containers.add(id);
        return id;
    }

    /** {@code ctr run --rm [runtime] [options] IMAGE ID command...}, in the foreground. */
    private Result run(List<String> options, String... command) throws IOException, InterruptedException {
        List<String> argv = new ArrayList<>(List.of("run", "--rm", "--fifo-dir", fifoDir.toString()));
        argv.addAll(runtimeOptions());
        argv.addAll(options);
        argv.add(image);
        argv.add(newId());
        argv.addAll(Arrays.asList(command));
        return ctr(argv.toArray(String[]::new));
    }

    /** The counting container, detached, /data bound to {@code volume}, output to a log file. */
    private String runCounter(Path volume, String... options) throws Exception {
        String id = newId();
        List<String> argv = new ArrayList<>(List.of("run", "-d", "--log-uri", "file://" + logs.resolve(id + ".log")));
        argv.addAll(runtimeOptions());
        argv.addAll(Arrays.asList(options));
        argv.addAll(List.of("--mount", "type=bind,src=" + volume + ",dst=/data,options=rbind:rw", image, id, "sh", "-c",
                COUNTER_SCRIPT));
        ok(ctr(argv.toArray(String[]::new)));
        boolean up = eventually(Duration.ofSeconds(60), () -> Files.exists(volume.resolve("count")));
        if (!up) fail("the detached container never started counting\n" + explain(ctr("task", "ls")));
        return id;
    }

    /** PID and STATUS of a task, from {@code ctr task ls}; null when there is no such task. */
    private String[] task(String id) throws IOException, InterruptedException {
        for (String line : ok(ctr("task", "ls")).lines()) {
            String[] f = line.split("\\s+");
            if (f.length >= 3 && f[0].equals(id)) return new String[] {f[1], f[2]};
        }
        return null;
    }

    private void expectStatus(String id, String status) throws Exception {
        boolean ok = eventually(Duration.ofSeconds(30), () -> {
            String[] t = task(id);
            return t != null && t[1].equals(status);
        });
        if (!ok) fail("task " + id + " is not " + status + "\n" + explain(ctr("task", "ls")));
    }

    /** Removes what a test left: the task (killed) and the container. */
    @AfterEach
    final void removeContainers() throws IOException, InterruptedException {
        for (String id : containers) {
            ctr("task", "kill", "--signal", "SIGKILL", id);
            ctr("task", "delete", "--force", id);
            ctr("container", "rm", id);
        }
        containers.clear();
    }

    private void removeEverything() throws Exception {
        List<String> left = ctr("container", "ls", "--quiet").lines();
        for (String id : left) {
            ctr("task", "delete", "--force", id);
            ctr("container", "rm", id);
        }
        Result rmi = ctr("image", "rm", image);
        Result images = ctr("image", "ls", "--quiet");
        if (rmi.exit() != 0 || !images.out().isEmpty()) throw new AssertionError("the image was not removed\n" + rmi + "\n" + images);
        if (!left.isEmpty()) throw new AssertionError("containers were left behind (removed now): " + left);
    }

    // ---- the checks

    @Test
    void outputAndExitCode() throws Exception {
        Result r = exit(run(List.of(), "sh", "-c", "echo hello from busybox; echo this goes to stderr >&2; exit 3"), 3);
        assertLines(r, "hello from busybox");
        assertTrue(r.stderr().contains("this goes to stderr"), "the container's stderr did not reach ctr's", r);
        assertTrue(callsThisTest().contains(" create ") && callsThisTest().contains(" start "),
                "the shim did not run the runtime under test", r);
    }

    @Test
    void envAndWorkdir() throws Exception {
        Result r = ok(run(List.of("--env", "FOO=bar", "--env", "SPACED=a b", "--cwd", "/tmp"),
                "sh", "-c", "echo \"$FOO|$SPACED\"; pwd"));
        assertLines(r, "bar|a b", "/tmp");
    }

    @Test
    void readOnlyRootfs() throws Exception {
        Result r = ok(run(List.of("--read-only"), "sh", "-c",
                "if touch /probe 2>/dev/null; then echo root-writable; else echo root-read-only; fi"));
        assertLines(r, "root-read-only");
    }

    @Test
    void bindMount() throws Exception {
        Path rw = ws.mkdir("volume-rw-" + System.nanoTime());
        Path ro = ws.mkdir("volume-ro-" + System.nanoTime());
        Files.writeString(rw.resolve("in.txt"), "written on the host\n");
        Result r = ok(run(List.of("--mount", "type=bind,src=" + rw + ",dst=/data,options=rbind:rw",
                        "--mount", "type=bind,src=" + ro + ",dst=/ro,options=rbind:ro"), "sh", "-c",
                "cat /data/in.txt; echo written in the container > /data/out.txt;"
                        + " if touch /ro/x 2>/dev/null; then echo ro-writable; else echo ro-read-only; fi"));
        assertLines(r, "written on the host", "ro-read-only");
        Path out = rw.resolve("out.txt");
        assertTrue(Files.exists(out) && Files.readString(out).equals("written in the container\n"),
                "the container's write did not reach the host's " + out, r);
    }

    @Test
    void networkNoneByDefault() throws Exception {
        // ctr gives a container a new network namespace and no network unless --net-host/--cni.
        Result r = ok(run(List.of(), "ls", "/sys/class/net"));
        assertLines(r, "lo");
    }

    @Test
    void memoryLimit() throws Exception {
        String id = runCounter(ws.mkdir("volume-mem-" + System.nanoTime()), "--memory-limit", "67108864");
        long pid = Long.parseLong(task(id)[0]);
        Path limit = null;
        for (Path d : Cgroups.containerDirs(pid)) {
            if (Files.exists(d.resolve("memory.limit_in_bytes"))) limit = d.resolve("memory.limit_in_bytes");
            else if (Files.exists(d.resolve("memory.max"))) limit = d.resolve("memory.max");
        }
        if (limit == null) fail("no memory cgroup found for task " + id + " (pid " + pid + "): " + Cgroups.containerDirs(pid));
        assertTrue(Files.readString(limit).strip().equals("67108864"), limit + " is " + Files.readString(limit).strip(),
                ctr("task", "ls"));
    }

    @Test
    void interactiveTty() throws Exception {
        List<String> argv = new ArrayList<>(List.of(CTR, "--address", containerd.socket.toString(), "--namespace", namespace,
                "run", "--rm", "--tty", "--fifo-dir", fifoDir.toString()));
        argv.addAll(runtimeOptions());
        argv.addAll(List.of(image, newId(), "sh", "-c", "tty; echo ready-$((40+2)); read line; echo \"got:$line\"; exit 7"));
        checkTty(argv);
    }

    @Test
    void execTty() throws Exception {
        String id = runCounter(ws.mkdir("volume-exectty-" + System.nanoTime()));
        List<String> argv = List.of(CTR, "--address", containerd.socket.toString(), "--namespace", namespace,
                "task", "exec", "--tty", "--exec-id", "tty1", "--fifo-dir", fifoDir.toString(), id,
                "sh", "-c", "tty; echo ready-$((40+2)); read line; echo \"got:$line\"; exit 7");
        checkTty(argv);
    }

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
    void detachedContainerExecAndUser() throws Exception {
        String id = runCounter(ws.mkdir("volume-exec-" + System.nanoTime()));
        expectStatus(id, "RUNNING");
        Result r = exit(ctr("task", "exec", "--exec-id", "e1", "--fifo-dir", fifoDir.toString(), "--user", "1000",
                "--cwd", "/tmp", id, "sh", "-c", "id -u; id -g; pwd; tr '\\0' ' ' < /proc/1/cmdline; echo; exit 5"), 5);
        List<String> lines = r.lines();
        assertTrue(lines.size() == 4 && lines.get(0).equals("1000") && lines.get(1).equals("1000")
                        && lines.get(2).equals("/tmp") && lines.get(3).startsWith("sh -c trap"),
                "exec did not run as asked, or not in the container (pid 1 should be its sh)", r);
    }

    @Test
    void nonRootUserCanWriteDevNull() throws Exception {
        String id = runCounter(ws.mkdir("volume-devnull-" + System.nanoTime()));
        Result r = ok(ctr("task", "exec", "--exec-id", "e1", "--fifo-dir", fifoDir.toString(), "--user", "1000", id,
                "sh", "-c", "stat -c %a /dev/null; if echo x > /dev/null; then echo null-writable; else echo null-denied; fi"));
        assertLines(r, "666", "null-writable");
    }

    @Test
    void taskPs() throws Exception {
        String id = runCounter(ws.mkdir("volume-ps-" + System.nanoTime()));
        String pid = task(id)[0];
        Result ps = ok(ctr("task", "ps", id));
        List<String> pids = new ArrayList<>();
        for (String l : ps.lines().subList(1, ps.lines().size())) pids.add(l.split("\\s+")[0]);
        assertTrue(pids.contains(pid) && pids.size() >= 2, "task ps does not list the init " + pid + " and its sleep", ps);
    }

    @Test
    void pauseAndResume() throws Exception {
        Path vol = ws.mkdir("volume-pause-" + System.nanoTime());
        String id = runCounter(vol);
        ok(ctr("task", "pause", id));
        expectStatus(id, "PAUSED");
        String a = readCounter(vol);
        Thread.sleep(1000);
        String b = readCounter(vol);
        assertTrue(a.equals(b), "the counter went on while paused: " + a + " -> " + b, ctr("task", "ls"));
        ok(ctr("task", "resume", id));
        expectStatus(id, "RUNNING");
        boolean counting = eventually(Duration.ofSeconds(20), () -> !readCounter(vol).equals(b));
        assertTrue(counting, "the counter did not move after resume (still " + b + ")", ctr("task", "ls"));
    }

    @Test
    void killDeleteAndRm() throws Exception {
        Path vol = ws.mkdir("volume-kill-" + System.nanoTime());
        String id = runCounter(vol);
        long pid = Long.parseLong(task(id)[0]);
        List<Path> cgroups = Cgroups.containerDirs(pid);
        assertTrue(!cgroups.isEmpty(), "found no cgroup of the task's init " + pid, ctr("task", "ls"));

        ok(ctr("task", "kill", id)); // SIGTERM
        expectStatus(id, "STOPPED");
        assertTrue(Files.readString(vol.resolve("log")).contains("term"), "the container never saw SIGTERM", ctr("task", "ls"));
        Result del = ok(ctr("task", "delete", id));
        assertTrue(del.stderr().contains("exit code 42") || del.stdout().contains("42"),
                "task delete did not report the exit status 42 of the TERM trap", del);
        ok(ctr("container", "rm", id));
        Result ls = ok(ctr("container", "ls", "--quiet"));
        assertTrue(!ls.lines().contains(id), "the container is still listed after rm", ls);
        assertTrue(!runtimeKnows(runtimeRoot.resolve(namespace), id), "the runtime still has the container's state", del);
        for (Path cg : cgroups) assertTrue(!Files.exists(cg), "cgroup " + cg + " is left after delete", del);

        // SIGKILL through kill --signal, then delete.
        String id2 = runCounter(ws.mkdir("volume-kill9-" + System.nanoTime()));
        ok(ctr("task", "kill", "--signal", "SIGKILL", id2));
        expectStatus(id2, "STOPPED");
        ok(ctr("task", "delete", id2));
        ok(ctr("container", "rm", id2));
        assertTrue(!runtimeKnows(runtimeRoot.resolve(namespace), id2), "the runtime still has the killed container's state",
                ctr("container", "ls"));
    }
}
