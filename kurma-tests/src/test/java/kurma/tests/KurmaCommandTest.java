package kurma.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import kurma.tests.support.Json;
import kurma.tests.support.Proc;
import kurma.tests.support.Result;
import kurma.tests.support.SafeDelete;
import kurma.tests.support.TestConfig;
import kurma.tests.support.TestEnv;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * bin/kurma, as a user of podman or docker would use it: a busybox image made offline
 * (scripts/make-image.sh) imported into a private store, then run, ps, logs, rm, and the image
 * commands. Every test uses its own --root and --runroot and checks nothing is left mounted.
 */
@Timeout(180)
class KurmaCommandTest {
    private static kurma.tests.support.ParentCgroups parents;

    @org.junit.jupiter.api.BeforeAll
    static void noteParentCgroups() throws Exception {
        parents = kurma.tests.support.ParentCgroups.snapshot();
    }

    @org.junit.jupiter.api.AfterAll
    static void removeParentCgroups() {
        if (parents != null) parents.removeMade();
    }

    private static final Duration WAIT = Duration.ofSeconds(60);
    private Path tmp, root, runRoot;

    @BeforeEach
    void setUp() throws Exception {
        TestConfig.checkPrerequisites();
        Assumptions.assumeTrue(TestConfig.runKurmaOnly(), "bin/kurma is kurma's own command line");
        tmp = Files.createTempDirectory("kurma-cli-test");
        root = tmp.resolve("state");
        runRoot = tmp.resolve("run");
        Path archive = tmp.resolve("busybox.tar");
        Proc.run(List.of(TestConfig.repoRoot().resolve("scripts/make-image.sh").toString(), archive.toString()), null, tmp, WAIT).ok();
        kurma("image", "import", archive.toString()).ok();
    }

    @AfterEach
    void tearDown() throws Exception {
        if (tmp == null) return;
        try {
            // Whatever a failed test left: remove the containers through kurma, then check.
            Result ps = kurma("ps", "-a", "-q");
            for (String line : ps.stdout().split("\n")) if (!line.isBlank()) kurma("rm", "--force", line.strip());
            assertEquals(List.of(), SafeDelete.mountsUnder(tmp), "mounts left under " + tmp);
        } finally {
            SafeDelete.deleteTree(tmp);
        }
    }

    private Result kurma(String... args) throws IOException, InterruptedException {
        return kurmaIn(null, args);
    }

    private Result kurmaIn(String stdin, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(TestConfig.repoRoot().resolve("bin/kurma").toString(),
                "--root", root.toString(), "--runroot", runRoot.toString()));
        cmd.addAll(List.of(args));
        return Proc.run(cmd, stdin, tmp, WAIT);
    }

    @Test
    void runPrintsTheOutputAndReturnsTheExitCode() throws Exception {
        assertEquals("hello\n", kurma("run", "--rm", "busybox", "echo", "hello").ok().stdout());
        kurma("run", "--rm", "busybox", "sh", "-c", "exit 7").exit(7);
        assertEquals(List.of(), containerDirs(), "--rm removed the container");
    }

    @Test
    void theImageConfigAndTheOptionsMapAsDockerMapsThem() throws Exception {
        Path vol = Files.createDirectories(tmp.resolve("vol"));
        Files.writeString(vol.resolve("f"), "from the host\n");
        Result r = kurma("run", "--rm", "-e", "FOO=bar", "-w", "/tmp", "-u", "1000", "-v", vol + ":/data:ro", "--read-only",
                "-m", "64m", "--pids-limit", "20", "--hostname", "box", "busybox", "sh", "-c",
                "echo $FOO $(pwd) $(id -u):$(id -g) $HOSTNAME $PATH; cat /data/f; touch /x 2>/dev/null || echo ro-root;"
                        + " touch /data/y 2>/dev/null || echo ro-volume; cat /sys/fs/cgroup/memory/memory.limit_in_bytes"
                        + " /sys/fs/cgroup/pids/pids.max; cat /etc/hostname; ip -o link | wc -l; ip -o link show lo").ok();
        List<String> l = r.lines();
        assertEquals("bar /tmp 1000:1000 box /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", l.get(0),
                "env, workdir, user (gid from the image's /etc/passwd), hostname, the image's PATH\n" + r);
        assertEquals(List.of("from the host", "ro-root", "ro-volume", Long.toString(64L << 20), "20", "box", "1"),
                l.subList(1, 8), "volume, read-only root and volume, limits, /etc/hostname, only lo\n" + r);
        assertTrue(l.get(8).contains("UP"), () -> "lo is up (--net none)\n" + r);
    }

    @Test
    void hostNetworkAndEntrypoint() throws Exception {
        int hostLinks = 0;
        try (var s = Files.newDirectoryStream(Path.of("/sys/class/net"))) {
            for (Path ignored : s) hostLinks++;
        }
        assertEquals(Integer.toString(hostLinks), kurma("run", "--rm", "--net", "host", "busybox", "sh", "-c",
                "ls /sys/class/net | wc -l").ok().out(), "--net host: the host's interfaces");
        // --entrypoint replaces the image's entrypoint and drops its cmd, as docker does.
        assertEquals("hi there\n", kurma("run", "--rm", "--entrypoint", "echo", "busybox", "hi", "there").ok().stdout());
        assertEquals("\n", kurma("run", "--rm", "--entrypoint", "echo", "busybox").ok().stdout());
    }

    @Test
    void aDefaultSeccompProfileUnlessUnconfined() throws Exception {
        // Docker's intent: no mounts, namespaces, keyrings... even for root in the container.
        Result r = kurma("run", "--rm", "busybox", "sh", "-c", "grep Seccomp: /proc/self/status; unshare -U true 2>&1; echo rc=$?").ok();
        assertEquals("Seccomp:\t2", r.lines().getFirst(), () -> "a filter is installed\n" + r);
        TestEnv.assertContains(r.stdout(), "Operation not permitted", "unshare of a user namespace refused by the filter");
        Result u = kurma("run", "--rm", "--security-opt", "seccomp=unconfined", "busybox", "sh", "-c",
                "grep Seccomp: /proc/self/status; unshare -U true; echo rc=$?").ok();
        assertEquals(List.of("Seccomp:\t0", "rc=0"), u.lines(), () -> "unconfined: no filter, a user namespace may be made\n" + u);
    }

    @Test
    void aDetachedContainerLogsItsOutputAndRecordsItsExit() throws Exception {
        String id = kurma("run", "-d", "--name", "web", "busybox", "sh", "-c", "echo started; echo oops >&2; sleep 1; exit 3")
                .ok().stdout().strip();
        assertEquals(64, id.length(), "run -d prints the id");
        assertTrue(kurma("ps").ok().stdout().contains("web"), "running: listed by ps");
        kurma("run", "-d", "--name", "web", "busybox", "true").failed();
        waitFor(() -> kurma("ps", "-a").stdout().contains("exited (3)"));
        assertTrue(!kurma("ps").ok().stdout().contains("web"), "exited: not in ps without -a");
        assertEquals("started\noops\n", kurma("logs", "web").ok().stdout());
        kurma("rm", "web").ok();
        assertEquals(List.of(), containerDirs());
    }

    @Test
    void detachedWithRmRemovesItselfWhenItExits() throws Exception {
        kurma("run", "-d", "--rm", "--name", "brief", "busybox", "true").ok();
        waitFor(() -> containerDirs().isEmpty());
        assertTrue(!kurma("ps", "-a").ok().stdout().contains("brief"));
    }

    @Test
    void rmRefusesARunningContainerWithoutForce() throws Exception {
        kurma("run", "-d", "--name", "long", "busybox", "sleep", "100").ok();
        kurma("rm", "long").failed();
        kurma("rm", "--force", "long").ok();
        assertEquals(List.of(), containerDirs());
    }

    @Test
    void anInteractiveTerminal() throws Exception {
        String cmd = TestConfig.repoRoot().resolve("bin/kurma") + " --root " + root + " --runroot " + runRoot
                + " run --rm -it busybox sh -c 'tty; read x; echo got:$x'";
        Result r = Proc.run(List.of("sh", "-c", "(sleep 2; echo typed) | script -qfc \"$0\" /dev/null", cmd), null, tmp, WAIT);
        String out = r.stdout().replace("\r", "");
        assertTrue(out.matches("(?s).*/dev/pts/\\d+\n.*got:typed\n.*"), () -> "a pty, our input\n" + r);
    }

    @Test
    void imageCommands() throws Exception {
        Result ls = kurma("images").ok();
        assertTrue(ls.stdout().contains("busybox") && ls.stdout().contains("latest"), () -> "images\n" + ls);
        Map<?, ?> img = (Map<?, ?>) ((List<?>) Json.parse(kurma("image", "inspect", "busybox").ok().stdout())).getFirst();
        assertEquals(List.of("sh"), ((Map<?, ?>) img.get("Config")).get("Cmd"));
        Path out = tmp.resolve("export.tar");
        kurma("image", "export", "-o", out.toString(), "--format", "oci-archive", "busybox").ok();
        kurma("run", "--name", "user", "busybox", "true").ok();
        kurma("image", "rm", "busybox").failed(); // a container uses it
        kurma("rm", "user").ok();
        kurma("image", "rm", "busybox").ok();
        assertTrue(!kurma("images").ok().stdout().contains("busybox"));
        kurma("image", "prune").ok();
        kurma("run", "--rm", "busybox", "true").failed(); // gone (and no registry to pull it from)
        kurma("image", "import", out.toString(), "docker.io/library/busybox").ok();
        assertEquals("back\n", kurma("run", "--rm", "busybox", "echo", "back").ok().stdout());
    }

    @Test
    void pullFromARegistryAndRun() throws Exception {
        // A real registry (Debian's docker-registry) on loopback, the image pushed by skopeo.
        Path reg = Files.createDirectories(tmp.resolve("registry"));
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Files.writeString(reg.resolve("config.yml"), "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
                + "    rootdirectory: " + reg.resolve("storage") + "\nhttp:\n  addr: 127.0.0.1:" + port + "\n");
        Process registry = new ProcessBuilder("/usr/bin/docker-registry", "serve", reg.resolve("config.yml").toString())
                .redirectErrorStream(true).redirectOutput(reg.resolve("log").toFile()).start();
        try {
            String ref = "127.0.0.1:" + port + "/test/busybox:1";
            Result push = null;
            for (int i = 0; i < 100; i++) { // until the registry listens
                push = Proc.run(List.of("skopeo", "copy", "--dest-tls-verify=false", "docker-archive:" + tmp.resolve("busybox.tar"),
                        "docker://" + ref), null, tmp, WAIT);
                if (push.exit() == 0) break;
                Thread.sleep(100);
            }
            push.ok();
            Result pull = kurma("image", "pull", ref).ok();
            assertTrue(pull.stdout().strip().startsWith("sha256:"), () -> "pull prints the image id\n" + pull);
            assertTrue(kurma("images").ok().stdout().contains("127.0.0.1:" + port + "/test/busybox"));
            assertEquals("pulled\n", kurma("run", "--rm", ref, "echo", "pulled").ok().stdout());
            Result unknown = kurma("image", "pull", "127.0.0.1:" + port + "/test/nothing:here");
            assertNotEquals(0, unknown.exit());
            TestEnv.assertContains(unknown.stderr(), "manifest unknown", "error");
        } finally {
            registry.destroy();
            registry.waitFor();
        }
    }

    @Test
    void badInputIsOneLineAndLeavesNothing() throws Exception {
        Result missing = kurma("run", "--rm", "busybox", "/no/such/program");
        assertEquals(127, missing.exit(), () -> "docker's code for a command not found\n" + missing);
        TestEnv.assertContains(missing.stderr(), "/no/such/program", "error");
        Result user = kurma("run", "--rm", "-u", "nobody-here", "busybox", "true");
        assertNotEquals(0, user.exit());
        TestEnv.assertContains(user.stderr(), "nobody-here", "error");
        Result vol = kurma("run", "--rm", "-v", "relative:/x", "busybox", "true");
        assertEquals(125, vol.exit());
        assertEquals(List.of(), containerDirs(), "nothing half-made");
    }

    private List<Path> containerDirs() throws IOException {
        Path d = root.resolve("containers");
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(d)) return out;
        try (var s = Files.newDirectoryStream(d)) {
            for (Path p : s) if (Files.isDirectory(p)) out.add(p);
        }
        return out;
    }

    private interface Check {
        boolean ok() throws Exception;
    }

    private static void waitFor(Check c) throws Exception {
        long end = System.nanoTime() + WAIT.toNanos();
        while (!c.ok()) {
            if (System.nanoTime() > end) throw new AssertionError("timed out waiting");
            Thread.sleep(200);
        }
    }
}
