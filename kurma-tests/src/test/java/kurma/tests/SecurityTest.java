package kurma.tests;

import kurma.tests.support.Bundle;
import kurma.tests.support.ContainerTest;
import kurma.tests.support.Result;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.TreeSet;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What must not leak into a container. */
class SecurityTest extends ContainerTest {

    /** The runtime is started with a file open as fd 3 (through bash, see TestEnv.Cmd#withFd3). */
    private Path fd3File() throws Exception {
        Path f = env.tmp().resolve("fd3.txt");
        Files.writeString(f, "content of fd 3\n");
        return f;
    }

    private static List<Integer> fds(Result r) {
        return r.words().stream().map(Integer::valueOf).sorted().collect(Collectors.toList());
    }

    @Test
    void onlyStdioWithoutPreserveFds() throws Exception {
        // `ls /proc/self/fd` also lists the directory fd ls itself holds while reading it:
        // with stdio only that is fd 3, so the expected listing is 0 1 2 3.
        Bundle b = env.bundle().args("ls", "/proc/self/fd");
        Result r = env.cli("run", "-b", b.write().toString(), env.newId()).withFd3(fd3File()).run().ok();
        assertEquals(List.of(0, 1, 2, 3), fds(r), () -> "fds in the container (fd 3 of the runtime must not leak)\n" + r);

        Bundle read = env.bundle().sh("cat <&3 && echo LEAKED || echo NO-FD3");
        Result r2 = env.cli("run", "-b", read.write().toString(), env.newId()).withFd3(fd3File()).run();
        assertEquals("NO-FD3", r2.lines().get(r2.lines().size() - 1), () -> "fd 3 readable inside\n" + r2);
    }

    @Test
    void preserveFdsPassesExactlyTheExtraFd() throws Exception {
        Bundle b = env.bundle().args("ls", "/proc/self/fd");
        Result r = env.cli("run", "--preserve-fds", "1", "-b", b.write().toString(), env.newId()).withFd3(fd3File()).run().ok();
        // 0 1 2, the preserved 3, and ls's own directory fd (now 4)
        assertEquals(List.of(0, 1, 2, 3, 4), fds(r), () -> "fds in the container with --preserve-fds 1\n" + r);

        Bundle read = env.bundle().args("cat", "/proc/self/fd/3");
        Result r2 = env.cli("run", "--preserve-fds", "1", "-b", read.write().toString(), env.newId()).withFd3(fd3File()).run().ok();
        assertEquals("content of fd 3\n", r2.stdout(), () -> "the preserved fd is the file the runtime was given\n" + r2);
    }

    @Test
    void socketActivationFdsPassThroughWithLISTEN_FDS() throws Exception {
        // sd_listen_fds: the runtime's LISTEN_FDS fds go to the container, announced to it as its own (LISTEN_PID=1).
        Bundle b = env.bundle().sh("echo $LISTEN_FDS $LISTEN_PID; cat <&3");
        Result r = env.cli("run", "-b", b.write().toString(), env.newId()).withFd3(fd3File()).socketActivated().run().ok();
        assertEquals(List.of("1 1", "content of fd 3"), r.lines(), () -> "LISTEN_FDS in the container\n" + r);
    }

    @Test
    void preserveFdsWithCreateAndStart() throws Exception {
        Path out = env.newDir("out");
        Bundle b = env.bundle().bind(out, "/out").sh("cat <&3 > /out/fd3; ls /proc/self/fd > /out/fds");
        String id = env.newId();
        env.cli("create", "--preserve-fds", "1", "--bundle", b.write().toString(), id).withFd3(fd3File()).run().ok();
        env.rt("start", id).ok();
        env.waitForStatus(id, "stopped", java.time.Duration.ofSeconds(20));
        assertEquals("content of fd 3\n", Files.readString(out.resolve("fd3")));
        // sh's fds 0-3 plus ls's directory fd; busybox sh may keep one more fd of its own
        TreeSet<Integer> fds = Files.readAllLines(out.resolve("fds")).stream().map(String::strip)
                .filter(s -> !s.isEmpty()).map(Integer::valueOf).collect(Collectors.toCollection(TreeSet::new));
        assertTrue(fds.containsAll(List.of(0, 1, 2, 3)), () -> "fds " + fds);
    }

    @Test
    void parentExeIsNotAWritableHostBinary() throws Exception {
        assumeKurma();
        // Host pid namespace: the container can see its parent (a kurma process) in /proc.
        // /proc/PPID/exe must not lead to a host binary it could overwrite (CVE-2019-5736):
        // either it cannot be read at all, or it names a sealed memfd.
        Bundle b = env.bundle().removeNamespace("pid")
                .sh("echo ppid=$PPID; if l=$(readlink /proc/$PPID/exe 2>&1); then echo \"exe=$l\"; else echo \"refused: $l\"; fi");
        Result r = env.runOk(b);
        List<String> lines = r.lines();
        assertEquals(2, lines.size(), () -> "output\n" + r);
        long ppid = Long.parseLong(lines.get(0).substring("ppid=".length()));
        assertTrue(ppid > 1, () -> "the container's parent should be a kurma process, not " + ppid + "\n" + r);
        String exe = lines.get(1);
        assertTrue(exe.startsWith("refused") || exe.contains("memfd:"),
                () -> "the container can reach its parent's executable on the host: " + exe + "\n" + r);
    }
}
