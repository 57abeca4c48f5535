package kurma.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import kurma.tests.support.Bundle;
import kurma.tests.support.Cgroups;
import kurma.tests.support.ContainerTest;
import kurma.tests.support.Json;
import kurma.tests.support.Proc;
import kurma.tests.support.Result;
import org.junit.jupiter.api.Test;

/**
 * Engines SIGKILL a runtime that overruns its timeout, at whatever moment that is. A create
 * killed anywhere must leave nothing that {@code delete --force ID} cannot remove: no process,
 * cgroup, mount or state directory; and until that delete, {@code list} and {@code state} must
 * show the container, as far as it got.
 *
 * <p>Each round starts {@code create} as a process, kills it (SIGKILL to the runtime's own pid:
 * kurma's launcher execs the JVM, so it is the same process) after a random delay between 0 and
 * a little more than a whole create takes here, then checks {@code list}/{@code state}, runs
 * {@code delete --force} and looks for what is left. The configs have a pid namespace; some
 * rounds add a createRuntime hook that sleeps a little (widening the windows while the runtime
 * waits for it) and a user namespace. {@code -Dkurma.tests.seed=N} replays a run's delays.
 */
class CrashSafeCreateTest extends ContainerTest {
    private static final int ROUNDS = 50;

    /** One kind of config, and how long an uninterrupted create of it takes here. */
    private record Variant(String name, Path bundle, long createMillis) {}

    /**
     * Kurma only: runc (1.1.5, Debian 12's) fails it within a few rounds. Its create killed
     * between making its state directory and writing state.json leaves that directory (holding
     * exec.fifo) unlisted, {@code delete --force} answers "container does not exist" and leaves
     * it, and the container's cgroup directories stay in every hierarchy.
     */
    @Test
    void createKilledAtAnyMomentIsUndoneByDeleteForce() throws Exception {
        assumeKurma();
        long seed = Long.getLong("kurma.tests.seed", System.nanoTime());
        Proc.log("CrashSafeCreateTest: seed " + seed + " (-Dkurma.tests.seed to replay)");
        Random random = new Random(seed);
        List<Variant> variants = new ArrayList<>();
        for (String name : List.of("pidns", "pidns+createRuntime hook", "userns+pidns+createRuntime hook")) {
            Bundle b = name.startsWith("userns") ? userBundle() : env.bundle();
            b.args("sleep", "60");
            if (name.contains("hook")) {
                Map<String, Object> hook = new LinkedHashMap<>();
                hook.put("path", "/bin/sleep");
                hook.put("args", new ArrayList<Object>(List.of("sleep", "0.05")));
                Map<String, Object> hooks = new LinkedHashMap<>();
                hooks.put("createRuntime", new ArrayList<Object>(List.of(hook)));
                b.set("hooks", hooks);
            }
            Path dir = b.write();
            // One whole create, uninterrupted, to know how long the random delays must reach.
            String id = env.newId();
            Result r = env.rt("create", "--bundle", dir.toString(), id).ok();
            env.rt("delete", "--force", id).ok();
            List<String> left = leftOf(id, -1);
            if (!left.isEmpty()) fail("calibration of " + name + ": after delete --force, left behind: " + left);
            variants.add(new Variant(name, dir, r.millis()));
        }
        Proc.log("CrashSafeCreateTest: uninterrupted creates took " + variants.stream().map(v -> v.name() + " " + v.createMillis() + " ms").toList());

        Map<String, Integer> outcomes = new java.util.TreeMap<>();
        for (int round = 0; round < ROUNDS; round++) {
            Variant v = variants.get(round % variants.size());
            String id = env.newId();
            long delay = (long) (random.nextDouble() * v.createMillis() * 1.2);
            String what = "round " + round + " (" + v.name() + ", create killed after " + delay + " ms of ~"
                    + v.createMillis() + ", seed " + seed + ")";
            Proc.Running create = env.cli("create", "--bundle", v.bundle().toString(), id).start();
            long runtimePid = create.process().pid();
            Thread.sleep(delay);
            create.process().destroyForcibly(); // SIGKILL; a no-op if create already finished
            create.process().waitFor();
            Result killed = create.await(Duration.ofSeconds(5));

            List<String> problems = new ArrayList<>();
            String seen = listed(id, problems);
            outcomes.merge(seen, 1, Integer::sum);
            Proc.log(what + ": create exit " + killed.exit() + ", then " + seen);
            Result del = env.rt("delete", "--force", id);
            if (del.exit() != 0) problems.add("delete --force failed\n" + del);
            problems.addAll(leftOf(id, runtimePid));
            if (!problems.isEmpty()) fail(what + ": " + String.join("; ", problems));
        }
        Proc.log("CrashSafeCreateTest: what list showed after the kill, in " + ROUNDS + " rounds: " + outcomes);
    }

    /**
     * How list and state show id after the kill ("not listed", or its status), adding to
     * problems what is wrong: a container whose state directory exists must be listed (as
     * creating, created or stopped) and have a state; one without must not be listed.
     */
    private String listed(String id, List<String> problems) throws Exception {
        Result list = env.rt("list", "--format", "json");
        if (list.exit() != 0) {
            problems.add("list failed\n" + list);
            return "list failed";
        }
        List<String> ids = new ArrayList<>();
        Object parsed = Json.parse(list.out().isEmpty() ? "null" : list.out());
        if (parsed instanceof List<?> l) {
            for (Object o : l) if (o instanceof Map<?, ?> m) ids.add(String.valueOf(m.get("id")));
        }
        Path dir = env.root().resolve(id);
        if (!Files.isDirectory(dir)) {
            if (ids.contains(id)) problems.add("listed without a state directory\n" + list);
            return "not listed";
        }
        if (!ids.contains(id)) {
            problems.add("its state directory exists (holding " + entries(dir) + ") but list does not show it\n" + list);
            return "not listed";
        }
        Result state = env.rt("state", id);
        if (state.exit() != 0) {
            problems.add("listed, but state fails\n" + state);
            return "no state";
        }
        Object status = Json.parseObject(state.stdout()).get("status");
        if (!List.of("creating", "created", "stopped").contains(status)) problems.add("state says status " + status + "\n" + state);
        return String.valueOf(status);
    }

    /**
     * Nothing of container id is left: no process in its cgroups, no stage2 or other helper of
     * the killed runtime (runtimePid; -1: none was killed), no cgroup directory named id, no
     * mount under this test's directory, no entry naming id under --root (what list reads).
     * Returns what is left, after killing and removing it (so that a failing run
     * leaves the host clean too).
     */
    private List<String> leftOf(String id, long runtimePid) throws Exception {
        List<String> problems = new ArrayList<>();
        // A stage2 that was running a createRuntime hook when its JVM died lets that hook
        // finish (the hook's own timeout bounds it) and then ends by itself: allow it a moment.
        List<Long> procs = processesOf(id, runtimePid);
        for (long end = System.nanoTime() + 3_000_000_000L; !procs.isEmpty() && System.nanoTime() < end; ) {
            Thread.sleep(20);
            procs = processesOf(id, runtimePid);
        }
        for (long p : procs) problems.add("process " + p + " (" + describe(p) + ")");
        List<Path> cgroups = cgroupDirsNamed(id);
        for (Path c : cgroups) problems.add("cgroup " + c);
        for (String m : mountsUnder(env.tmp())) problems.add("mount " + m);
        try (Stream<Path> s = Files.list(env.root())) {
            s.filter(p -> p.getFileName().toString().contains(id)).forEach(p -> problems.add("state entry " + p));
        }
        if (problems.isEmpty()) return problems;

        for (long p : procs) ProcessHandle.of(p).ifPresent(ProcessHandle::destroyForcibly);
        for (long p : procs) {
            for (int i = 0; i < 250 && kurma.tests.support.TestEnv.isRunning(p); i++) Thread.sleep(20);
        }
        for (Path c : cgroups.reversed()) {
            try {
                Files.deleteIfExists(c);
            } catch (IOException e) {
                problems.add("(could not remove " + c + ": " + e + ")");
            }
        }
        problems.addFirst("after delete --force, left behind:");
        return problems;
    }

    /**
     * Host processes of the container or of the killed runtime: in a cgroup one of whose path
     * components is id, or a stage2 whose PARENT_PID argument is the runtime, or working in this
     * test's directory (the runtime's helpers inherit its working directory; runc's init works
     * in the rootfs). Zombies do not count.
     */
    private List<Long> processesOf(String id, long runtimePid) throws IOException {
        List<Long> out = new ArrayList<>();
        long self = ProcessHandle.current().pid();
        try (Stream<Path> s = Files.list(Path.of("/proc"))) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String name = p.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) continue;
                long pid = Long.parseLong(name);
                if (pid == self || !kurma.tests.support.TestEnv.isRunning(pid)) continue;
                try {
                    boolean ours = false;
                    for (String line : Files.readAllLines(p.resolve("cgroup"))) {
                        String path = line.substring(line.lastIndexOf(':') + 1);
                        ours |= List.of(path.split("/")).contains(id);
                    }
                    String exe = readLink(p.resolve("exe"));
                    if (runtimePid > 0 && (exe.startsWith("/memfd:kurma-stage2") || exe.endsWith("/kurma-stage2"))) {
                        String[] argv = Files.readString(p.resolve("cmdline")).split("\0");
                        ours |= argv.length > 1 && argv[1].equals(Long.toString(runtimePid));
                    }
                    ours |= runtimePid > 0 && readLink(p.resolve("cwd")).startsWith(env.tmp().toString());
                    if (ours) out.add(pid);
                } catch (IOException gone) {
                    // exited while we looked
                }
            }
        }
        return out;
    }

    private static String readLink(Path p) {
        try {
            return Files.readSymbolicLink(p).toString();
        } catch (IOException | UnsupportedOperationException e) {
            return "";
        }
    }

    private static String describe(long pid) {
        try {
            String cmd = Files.readString(Path.of("/proc", Long.toString(pid), "cmdline")).replace('\0', ' ').strip();
            return cmd + ", exe " + readLink(Path.of("/proc", Long.toString(pid), "exe"));
        } catch (IOException e) {
            return "gone";
        }
    }

    /** Cgroup directories named id in any hierarchy, a few levels deep, parents first. */
    private static List<Path> cgroupDirsNamed(String id) throws IOException {
        List<Path> out = new ArrayList<>();
        for (Path mount : Cgroups.mountPoints()) {
            try (Stream<Path> s = Files.walk(mount, 5)) {
                s.filter(p -> p.getFileName() != null && p.getFileName().toString().equals(id) && Files.isDirectory(p))
                        .forEach(out::add);
            } catch (java.io.UncheckedIOException raced) {
                // a cgroup removed while we walked: look again next time
            }
        }
        return out;
    }

    private static List<String> mountsUnder(Path dir) throws IOException {
        List<String> out = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String mp = line.split(" ")[4];
            if (mp.startsWith(dir.toString())) out.add(mp);
        }
        return out;
    }

    private static List<String> entries(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            return List.of("(" + e + ")");
        }
    }

    /** A bundle with a user namespace (see TestEnv.userNamespaceBundle). */
    private Bundle userBundle() throws Exception {
        return env.userNamespaceBundle();
    }
}
