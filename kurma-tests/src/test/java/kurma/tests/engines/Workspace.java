package kurma.tests.engines;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Predicate;
import java.util.stream.Stream;

import kurma.tests.support.Proc;
import kurma.tests.support.Result;
import kurma.tests.support.SafeDelete;
import kurma.tests.support.TestConfig;

/**
 * Everything one engine test class makes on the host, and how to undo it: a private temp dir
 * (daemon roots, sockets, images, volumes), the traced runtime wrapper, and a stack of
 * cleanup steps run in reverse order by {@link #close()}. Host paths that an engine creates
 * at a fixed place whatever its configuration ({@code /run/containerd/s} for the shims' sockets,
 * {@code /run/docker/plugins}...) are cleaned at the end only if they did not exist before,
 * and then only of empty directories and files known to be the engine's.
 */
final class Workspace implements AutoCloseable {
    /** A cleanup step; it may throw, the others still run. */
    interface Step {
        void run() throws Exception;
    }

    private record Cleanup(String what, Step step) {}

    final String engine;
    /** Random hex, unique per run: image tags, cgroup parents, bridge and namespace names. */
    final String tag;
    private final Path dir;
    private final Path scratch;
    private final Path runtimeWrapper;
    private final Path trace;
    private final Deque<Cleanup> cleanups = new ArrayDeque<>();
    private final List<HostPath> hostPaths = new ArrayList<>();

    private Workspace(String engine) throws IOException {
        this.engine = engine;
        this.tag = Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffffL | 0x100000000L).substring(1);
        // Short: daemons put unix sockets below it (108 bytes at most for a socket path).
        this.dir = Files.createTempDirectory("kurma-" + engine + "-");
        this.scratch = Files.createDirectory(dir.resolve("cmd"));
        this.trace = dir.resolve("runtime-calls.log");
        this.runtimeWrapper = dir.resolve("runtime-under-test");
        writeWrapper();
    }

    static Workspace create(String engine) throws IOException {
        return new Workspace(engine);
    }

    /** The private temp dir. */
    Path dir() {
        return dir;
    }

    /** A new directory in the temp dir. */
    Path mkdir(String name) throws IOException {
        return Files.createDirectories(dir.resolve(name));
    }

    /** Where command output files go. */
    Path scratch() {
        return scratch;
    }

    /**
     * The path engines are given as the runtime: a script that appends each call's argv and
     * exit status to the trace, then runs the runtime under test with the same arguments,
     * environment and file descriptors (it waits for it rather than exec, to log the status).
     */
    Path runtime() {
        return runtimeWrapper;
    }

    private void writeWrapper() throws IOException {
        String rt = TestConfig.runtime().toString();
        String script = "#!/bin/sh\n"
                + "# Written by the kurma engine tests: logs every call an engine makes to the runtime\n"
                + "# under test (" + rt + ") and its exit status, for failure messages.\n"
                + "echo \"[$$] $*\" >> " + quote(trace.toString()) + "\n"
                + quote(rt) + " \"$@\"\n"
                + "rc=$?\n"
                + "echo \"[$$] exit $rc\" >> " + quote(trace.toString()) + "\n"
                + "exit $rc\n";
        Files.writeString(runtimeWrapper, script, StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(runtimeWrapper, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.writeString(trace, "");
    }

    /** Where the trace is now, to show later what was called since. */
    long traceMark() {
        try {
            return Files.size(trace);
        } catch (IOException e) {
            return 0;
        }
    }

    /** The runtime calls logged since {@code mark}, for failure messages. */
    String traceSince(long mark) {
        try {
            byte[] all = Files.readAllBytes(trace);
            int from = (int) Math.min(Math.max(mark, 0), all.length);
            String s = new String(all, from, all.length - from, StandardCharsets.UTF_8).strip();
            if (s.isEmpty()) return "--- runtime calls: none";
            return "--- runtime calls (" + TestConfig.runtime() + "):\n  " + s.replace("\n", "\n  ");
        } catch (IOException e) {
            return "--- runtime trace unreadable: " + e;
        }
    }

    /** Runs a host command (no engine involved) in the scratch dir. */
    Result run(Duration timeout, String... command) throws IOException, InterruptedException {
        return Proc.run(List.of(command), Map.of(), null, scratch, timeout);
    }

    /** Registers a cleanup step; steps run in reverse order of registration. */
    void onClose(String what, Step step) {
        cleanups.push(new Cleanup(what, step));
    }

    /** A fixed host path an engine may create, whether it existed before, which files in it we may delete. */
    private record HostPath(Path path, boolean existed, Predicate<Path> ours) {}

    /**
     * Remembers whether a fixed host path exists now. If it does not, what the engines leave
     * there is removed at the end: empty directories, bottom up, and the files {@code ours}
     * accepts (given the path relative to {@code path}). Nothing else: another run on the
     * machine may be using the same place right now (its shims' sockets, its containers).
     */
    void trackHostPath(String path, Predicate<Path> ours) {
        Path p = Paths.get(path);
        hostPaths.add(new HostPath(p, Files.exists(p, LinkOption.NOFOLLOW_LINKS), ours));
    }

    /** {@link #trackHostPath(String, Predicate)} where only empty directories are removed. */
    void trackHostPath(String path) {
        trackHostPath(path, f -> false);
    }

    private static void removeCreated(HostPath h) throws IOException {
        if (h.existed() || !Files.isDirectory(h.path(), LinkOption.NOFOLLOW_LINKS)) return;
        List<Path> all;
        try (Stream<Path> s = Files.walk(h.path())) {
            all = s.sorted(Comparator.comparingInt(Path::getNameCount).reversed()).toList();
        }
        for (Path f : all) {
            try {
                if (Files.isDirectory(f, LinkOption.NOFOLLOW_LINKS)) {
                    try (Stream<Path> in = Files.list(f)) {
                        if (in.findAny().isEmpty()) Files.delete(f);
                    }
                } else if (Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS) && h.ours().test(h.path().relativize(f))) {
                    Files.delete(f);
                }
            } catch (NoSuchFileException e) {
                // gone meanwhile
            }
        }
    }

    /**
     * At the end, removes the cgroup directory {@code relative} (and everything below it) from
     * every cgroup hierarchy, bottom up; the engine was told to put its containers there.
     */
    void removeCgroupTreeAtClose(String relative) {
        onClose("remove cgroup /" + relative, () -> {
            List<String> busy = new ArrayList<>();
            for (Path mount : cgroupMounts()) {
                Path top = mount.resolve(relative);
                if (!Files.isDirectory(top, LinkOption.NOFOLLOW_LINKS)) continue;
                List<Path> dirs;
                try (Stream<Path> s = Files.walk(top)) {
                    dirs = s.filter(p -> Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS))
                            .sorted(Comparator.comparingInt(Path::getNameCount).reversed()).toList();
                }
                for (Path d : dirs) {
                    try {
                        Files.delete(d);
                    } catch (IOException e) {
                        busy.add(d + " (" + e.getMessage() + ")");
                    }
                }
            }
            if (!busy.isEmpty()) throw new AssertionError("cgroups not removable (processes left in them?): " + busy);
        });
    }

    static List<Path> cgroupMounts() throws IOException {
        List<Path> l = new ArrayList<>();
        for (String line : Files.readAllLines(Paths.get("/proc/self/mountinfo"))) {
            String[] f = line.split(" ");
            int dash = Arrays.asList(f).indexOf("-");
            if (dash < 0 || dash + 1 >= f.length) continue;
            String type = f[dash + 1];
            if ((type.equals("cgroup") || type.equals("cgroup2")) && f[3].equals("/")) {
                l.add(Paths.get(SafeDelete.unescape(f[4])));
            }
        }
        return l;
    }

    /**
     * Runs the cleanup steps in reverse order, removes the host paths the engines created,
     * unmounts whatever the engines left mounted in the temp dir and deletes it. Every problem
     * is collected and reported together at the end.
     */
    @Override
    public void close() throws Exception {
        List<String> problems = new ArrayList<>();
        Proc.log("all calls the engine made to the runtime:\n" + traceSince(0));
        while (!cleanups.isEmpty()) {
            Cleanup c = cleanups.pop();
            try {
                Proc.log("cleanup: " + c.what());
                c.step().run();
            } catch (Exception | AssertionError e) {
                problems.add(c.what() + ": " + e.getMessage());
            }
        }
        for (HostPath h : hostPaths) {
            if (h.existed() || !Files.exists(h.path(), LinkOption.NOFOLLOW_LINKS)) continue;
            Proc.log("cleanup: " + h.path() + " did not exist before: removing what the engine left there");
            try {
                removeCreated(h);
            } catch (IOException e) {
                problems.add("cleaning " + h.path() + ": " + e);
            }
        }
        // The daemons are stopped now. A process still naming the temp dir in its command line
        // (a containerd shim, a conmon) outlived them: it is ours, kill it.
        List<String> stray = strayProcesses();
        if (!stray.isEmpty()) problems.add("processes outlived the engine (killed): " + stray);
        // A mount still in the temp dir is one they failed to
        // undo. It is ours (the dir is private to this run): unmount it, deepest first.
        List<Path> mounts = new ArrayList<>(SafeDelete.mountsUnder(dir));
        mounts.sort(Comparator.comparingInt(Path::getNameCount).reversed());
        for (Path m : mounts) {
            Result r = run(Duration.ofSeconds(60), "umount", m.toString());
            if (r.exit() != 0) problems.add("umount " + m + " failed: " + r.stderr().strip());
        }
        if (!mounts.isEmpty()) Proc.log("cleanup: unmounted what the engines left mounted: " + mounts);
        List<Path> left = SafeDelete.deleteTree(dir);
        if (!left.isEmpty()) problems.add("mounts left under " + dir + ": " + left);
        if (!problems.isEmpty()) throw new AssertionError(engine + " cleanup: " + String.join("; ", problems));
    }

    /** Processes (not this JVM) whose command line names the temp dir; each is killed. */
    private List<String> strayProcesses() {
        List<String> found = new ArrayList<>();
        String needle = dir.toString();
        long self = ProcessHandle.current().pid();
        try (Stream<Path> procs = Files.list(Paths.get("/proc"))) {
            for (Path p : procs.toList()) {
                String name = p.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit) || Long.parseLong(name) == self) continue;
                String cmdline;
                try {
                    cmdline = new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8).replace('\0', ' ').strip();
                } catch (IOException e) {
                    continue; // gone
                }
                if (!cmdline.contains(needle)) continue;
                found.add(name + " " + cmdline);
                ProcessHandle.of(Long.parseLong(name)).ifPresent(ProcessHandle::destroyForcibly);
            }
        } catch (IOException e) {
            found.add("cannot list /proc: " + e);
        }
        return found;
    }

    /** Single-quotes a string for sh. */
    static String quote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }
}
