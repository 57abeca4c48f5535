package kurma.tests.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Everything one test creates: a temp dir holding a fresh {@code --root}, bundles and command
 * output, the container ids it handed out and the background commands it started.
 * {@link #close()} force-deletes every one of those containers (whether or not the test got
 * as far as creating them), kills leftover background commands and removes the temp dir,
 * without touching mounts it did not make.
 */
@SuppressWarnings("try") // close() may be interrupted: it waits for the runtime
public final class TestEnv implements AutoCloseable {
    public static final Duration CLI_TIMEOUT = Duration.ofSeconds(30);

    private final Path tmp;
    private final Path root;
    private final Path scratch;
    private final String idPrefix;
    private final Set<String> ids = new LinkedHashSet<>();
    private final List<Proc.Running> background = new ArrayList<>();
    private int seq;

    public TestEnv(String testName) throws IOException {
        String tag = testName.replaceAll("[^A-Za-z0-9]+", "-").replaceAll("(^-|-$)", "");
        if (tag.length() > 40) tag = tag.substring(0, 40);
        tmp = Files.createTempDirectory("kurma-test-" + tag + "-");
        root = Files.createDirectory(tmp.resolve("root"));
        scratch = Files.createDirectory(tmp.resolve("cmd"));
        idPrefix = "kt" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffffL);
    }

    /** This test's temp dir. */
    public Path tmp() {
        return tmp;
    }

    /** The --root directory every command of this test uses. */
    public Path root() {
        return root;
    }

    /** A new empty directory under the temp dir. */
    public Path newDir(String name) throws IOException {
        return Files.createDirectories(tmp.resolve(name + "-" + (++seq)));
    }

    /** A fresh container id, remembered for cleanup. */
    public String newId() {
        String id = idPrefix + "-" + (++seq);
        ids.add(id);
        return id;
    }

    /** A bundle with a private copy of the busybox rootfs and the runtime's default config. */
    public Bundle bundle() throws IOException, InterruptedException {
        Path dir = newDir("bundle");
        Path template = TestConfig.rootfsTemplate();
        Result r = Proc.run(List.of("cp", "-a", template.toString(), dir.resolve("rootfs").toString()), null, scratch, CLI_TIMEOUT);
        if (r.exit() != 0) fail("copying the rootfs failed\n" + r);
        Map<String, Object> cfg = TestConfig.specTemplate();
        Bundle b = new Bundle(dir, cfg);
        if (b.get("root.path") == null) b.set("root.path", "rootfs");
        if (Path.of(b.get("root.path").toString()).isAbsolute()) b.set("root.path", "rootfs");
        return b;
    }

    /** The host ids a user-namespace bundle maps the container's 0..65535 to. */
    public static final long USERNS_HOST_ID = 200000, USERNS_SIZE = 65536;

    /**
     * A bundle with a new user namespace whose root is host uid/gid {@link #USERNS_HOST_ID}: the
     * rootfs chowned into the mapped range, on a path the mapped root may walk (as runc needs).
     */
    public Bundle userNamespaceBundle() throws IOException, InterruptedException {
        for (Path p = tmp; p != null && !p.toString().equals("/tmp"); p = p.getParent()) {
            Files.setPosixFilePermissions(p, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        Bundle b = bundle().addNamespace("user").readonlyRoot(false);
        Files.setPosixFilePermissions(b.dir(), java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        Result chown = Proc.run(List.of("chown", "-R", USERNS_HOST_ID + ":" + USERNS_HOST_ID, b.rootfs().toString()), null, tmp,
                Duration.ofSeconds(30));
        if (chown.exit() != 0) fail("chown\n" + chown);
        b.set("linux.uidMappings", userNamespaceMapping());
        b.set("linux.gidMappings", userNamespaceMapping());
        return b;
    }

    /** [{containerID 0, hostID USERNS_HOST_ID, size USERNS_SIZE}], as config.json's id mappings. */
    public static List<Object> userNamespaceMapping() {
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("containerID", 0L);
        m.put("hostID", USERNS_HOST_ID);
        m.put("size", USERNS_SIZE);
        return new ArrayList<Object>(List.of(m));
    }

    // ---- running the runtime ----

    /** A runtime command line: {@code RUNTIME --root ROOT [global...] args...}. */
    public Cmd cli(String... args) {
        return new Cmd(Arrays.asList(args));
    }

    /** Runs {@code RUNTIME --root ROOT args...} and waits (default timeout). */
    public Result rt(String... args) throws IOException, InterruptedException {
        return cli(args).run();
    }

    /** {@code run -b BUNDLE ID} of a fresh id; writes config.json first. */
    public Result run(Bundle b) throws IOException, InterruptedException {
        return cli("run", "-b", b.write().toString(), newId()).run();
    }

    /** Like {@link #run(Bundle)} with stdin. */
    public Result run(Bundle b, String stdin) throws IOException, InterruptedException {
        return cli("run", "-b", b.write().toString(), newId()).stdin(stdin).run();
    }

    /** {@code run} that must exit 0; returns its result. */
    public Result runOk(Bundle b) throws IOException, InterruptedException {
        return run(b).ok();
    }

    /** {@code create --bundle DIR ID} of a fresh id, which must succeed; returns the id. */
    public String create(Bundle b) throws IOException, InterruptedException {
        String id = newId();
        rt("create", "--bundle", b.write().toString(), id).ok();
        return id;
    }

    /** Parsed {@code state ID}; must succeed. */
    public Map<String, Object> state(String id) throws IOException, InterruptedException {
        Result r = rt("state", id).ok();
        try {
            return Json.parseObject(r.stdout());
        } catch (IllegalArgumentException e) {
            throw new AssertionError("state output is not a JSON object: " + e.getMessage() + "\n" + r, e);
        }
    }

    public String status(String id) throws IOException, InterruptedException {
        return String.valueOf(state(id).get("status"));
    }

    public long pid(String id) throws IOException, InterruptedException {
        Object p = state(id).get("pid");
        if (!(p instanceof Number n)) throw new AssertionError("state of " + id + " has no numeric pid: " + p);
        return n.longValue();
    }

    /** Polls {@code state} until status is {@code want}. */
    public void waitForStatus(String id, String want, Duration timeout) throws IOException, InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        String last;
        do {
            last = status(id);
            if (want.equals(last)) return;
            Thread.sleep(50);
        } while (System.nanoTime() < end);
        fail("container " + id + " did not become " + want + " within " + timeout.toMillis() + " ms; status is " + last);
    }

    /**
     * Waits until a host file exists that container {@code id} creates once it runs; fails
     * early, with the container's status, when the container stops (or vanishes) first.
     */
    public void waitForFile(Path p, String id, Duration timeout) throws IOException, InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        long nextCheck = System.nanoTime() + 300_000_000L;
        while (!Files.exists(p)) {
            if (System.nanoTime() > nextCheck) {
                Result r = rt("state", id);
                String st = r.exit() == 0 ? String.valueOf(Json.parseObject(r.stdout()).get("status")) : "unknown (state failed)";
                if (Files.exists(p)) return;
                if (!st.equals("running") && !st.equals("created")) {
                    fail("container " + id + " is " + st + " and never created " + p + "\n" + r);
                }
                nextCheck = System.nanoTime() + 1_000_000_000L;
            }
            if (System.nanoTime() > end) fail("file " + p + " did not appear within " + timeout.toMillis() + " ms (container " + id + ")");
            Thread.sleep(20);
        }
    }

    /** Waits until a host file exists; fails early when the background command {@code cmd} ends first. */
    public static void waitForFile(Path p, Duration timeout, Proc.Running cmd) throws IOException, InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (!Files.exists(p)) {
            if (!cmd.isAlive() && !Files.exists(p)) {
                fail("the command ended before " + p + " appeared\n" + cmd.await(Duration.ofSeconds(1)));
            }
            if (System.nanoTime() > end) fail("file " + p + " did not appear within " + timeout.toMillis() + " ms");
            Thread.sleep(20);
        }
    }

    /** Waits until a host file exists. */
    public static void waitForFile(Path p, Duration timeout) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (!Files.exists(p)) {
            if (System.nanoTime() > end) fail("file " + p + " did not appear within " + timeout.toMillis() + " ms");
            Thread.sleep(20);
        }
    }

    /**
     * Whether a host process exists and has not exited: a zombie counts as gone (an orphaned
     * container process may wait a while to be reaped by the host's pid 1).
     */
    public static boolean isRunning(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            String afterComm = stat.substring(stat.lastIndexOf(')') + 1).strip();
            char state = afterComm.isEmpty() ? 'X' : afterComm.charAt(0);
            return state != 'Z' && state != 'X' && state != 'x';
        } catch (IOException e) {
            return false;
        }
    }

    /** Waits until a host process is gone (or a zombie). */
    public static void waitGone(long pid, Duration timeout) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (isRunning(pid)) {
            if (System.nanoTime() > end) fail("process " + pid + " still alive after " + timeout.toMillis() + " ms");
            Thread.sleep(20);
        }
    }

    /** Container ids from {@code list --format json} (null or [] both mean none). */
    public List<String> listIds() throws IOException, InterruptedException {
        Result r = rt("list", "--format", "json").ok();
        Object v;
        try {
            v = Json.parse(r.out().isEmpty() ? "null" : r.out());
        } catch (IllegalArgumentException e) {
            throw new AssertionError("list --format json printed no JSON: " + e.getMessage() + "\n" + r, e);
        }
        if (v == null) return List.of();
        if (!(v instanceof List<?> l)) throw new AssertionError("list --format json is not an array\n" + r);
        List<String> out = new ArrayList<>();
        for (Object o : l) {
            if (!(o instanceof Map<?, ?> m) || !(m.get("id") instanceof String id)) {
                throw new AssertionError("list --format json entry without an id: " + o + "\n" + r);
            }
            out.add(id);
        }
        return out;
    }

    /** Directories directly under --root (a runtime keeps one per container). */
    public List<String> rootEntries() throws IOException {
        if (!Files.isDirectory(root)) return List.of();
        try (Stream<Path> s = Files.list(root)) {
            return s.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
        }
    }

    /** After a failed command: no container is listed and --root holds no container directory. */
    public void assertNothingLeft() throws IOException, InterruptedException {
        assertEquals(List.of(), listIds(), "list shows containers after a failure");
        List<String> dirs = new ArrayList<>();
        for (String e : rootEntries()) if (Files.isDirectory(root.resolve(e))) dirs.add(e);
        assertEquals(List.of(), dirs, "--root " + root + " still holds container directories");
    }

    /** Background commands are killed (with their descendants) at close. */
    void track(Proc.Running r) {
        background.add(r);
    }

    @Override
    public void close() throws Exception {
        List<String> problems = new ArrayList<>();
        for (String id : ids) {
            try {
                Result r = Proc.run(command(List.of("delete", "--force", id)), null, scratch, CLI_TIMEOUT);
                if (r.exit() == -1) problems.add("delete --force " + id + " timed out");
            } catch (IOException | RuntimeException e) {
                problems.add("delete --force " + id + ": " + e);
            }
        }
        for (Proc.Running r : background) if (r.isAlive()) r.kill();
        try {
            List<String> left = listIds();
            if (!left.isEmpty()) problems.add("containers still listed after delete --force: " + left);
        } catch (AssertionError | IOException e) {
            problems.add("list after cleanup failed: " + e.getMessage());
        }
        List<Path> mounts = SafeDelete.deleteTree(tmp);
        if (!mounts.isEmpty()) {
            problems.add("mounts left on the host under " + tmp + " (not unmounted, dir kept): " + mounts);
        }
        if (!problems.isEmpty()) throw new AssertionError("cleanup: " + String.join("; ", problems));
    }

    List<String> command(List<String> args) {
        List<String> c = new ArrayList<>();
        c.add(TestConfig.runtime().toString());
        c.add("--root");
        c.add(root.toString());
        c.addAll(args);
        return c;
    }

    /** A runtime invocation being put together. */
    public final class Cmd {
        private final List<String> args;
        private final List<String> global = new ArrayList<>();
        private String stdin;
        private Duration timeout = CLI_TIMEOUT;
        private Path fd3;
        private boolean listenFds;
        private final List<String> extraEnv = new ArrayList<>();

        Cmd(List<String> args) {
            this.args = new ArrayList<>(args);
        }

        /** Global options, placed after --root and before the command. */
        public Cmd global(String... opts) {
            global.addAll(Arrays.asList(opts));
            return this;
        }

        public Cmd stdin(String s) {
            stdin = s;
            return this;
        }

        public Cmd timeout(Duration d) {
            timeout = d;
            return this;
        }

        /**
         * Runs the runtime with {@code file} open read-only as fd 3 (Java cannot pass extra fds,
         * so bash opens it and execs the runtime).
         */
        public Cmd withFd3(Path file) {
            fd3 = file;
            return this;
        }

        /** With {@link #withFd3}: fd 3 is a socket-activation fd (LISTEN_FDS=1, LISTEN_PID = the runtime). */
        public Cmd socketActivated() {
            listenFds = true;
            return this;
        }

        /** An environment variable for the runtime (through env(1): Proc passes no environment). */
        public Cmd environment(String name, String value) {
            extraEnv.add(name + "=" + value);
            return this;
        }

        /** The command line, shell-quoted, for embedding in a shell command. */
        public List<String> line() {
            List<String> out = new ArrayList<>();
            for (String a : commandLine()) out.add("'" + a.replace("'", "'\\''") + "'");
            return out;
        }

        List<String> commandLine() {
            List<String> all = new ArrayList<>(global);
            all.addAll(args);
            List<String> c = command(all);
            if (!extraEnv.isEmpty()) {
                List<String> e = new ArrayList<>(List.of("env"));
                e.addAll(extraEnv);
                e.addAll(c);
                c = e;
            }
            if (fd3 == null) return c;
            String env = listenFds ? "export LISTEN_FDS=1 LISTEN_PID=$$; " : "";
            List<String> b = new ArrayList<>(List.of("bash", "-c", "exec 3<\"$1\" || exit 125; shift; " + env + "exec \"$@\"",
                    "bash", fd3.toString()));
            b.addAll(c);
            return b;
        }

        public Result run() throws IOException, InterruptedException {
            Proc.Running r = start();
            return r.await(timeout);
        }

        /** Starts it in the background; it is killed at cleanup if still running. */
        public Proc.Running start() throws IOException {
            Proc.Running r = Proc.start(commandLine(), stdin, scratch);
            track(r);
            return r;
        }
    }

    /** Asserts the result's stdout has exactly these lines. */
    public static void assertLines(Result r, String... expected) {
        assertEquals(List.of(expected), r.lines(), () -> "unexpected output\n" + r);
    }

    public static void assertContains(String haystack, String needle, String what) {
        assertTrue(haystack.contains(needle), () -> what + ": expected to contain '" + needle + "' but was:\n" + haystack);
    }
}
