package kurma.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import kurma.runtime.Container;
import kurma.runtime.ContainerRuntime;
import kurma.runtime.CreateRequest;
import kurma.runtime.ExecProcess;
import kurma.runtime.ExecRequest;
import kurma.runtime.KurmaException;
import kurma.runtime.RuntimeOptions;
import kurma.runtime.Status;
import kurma.runtime.Stdio;
import kurma.spec.Spec;
import kurma.sys.Pipe;
import kurma.tests.support.Bundle;
import kurma.tests.support.ContainerTest;
import kurma.tests.support.TestConfig;
import org.junit.jupiter.api.Test;

/**
 * The runtime as a Java library, in this test's own JVM: many containers at once, each with
 * its own stdio given as fds of ours, typed results and errors, nothing left behind.
 */
class LibraryTest extends ContainerTest {
    private ContainerRuntime runtime() {
        return ContainerRuntime.open(RuntimeOptions.of(env.root())
                .withStage2(TestConfig.repoRoot().resolve("stage2/target/kurma-stage2")));
    }

    /** One container in the foreground: stdout and stderr into a pipe of ours, its exit code back. */
    private static String[] runCapturing(ContainerRuntime rt, String id, Bundle b) {
        try (Pipe in = Pipe.open(); Pipe out = Pipe.open()) {
            in.closeWrite(); // the container's stdin: end-of-file at once
            Container c = rt.create(CreateRequest.of(id, b.dir())
                    .withStdio(new Stdio(in.readFd(), out.writeFd(), out.writeFd(), List.of()), 0).withForeground(true));
            // stage2 took its copies: ours would keep the pipe open after the container is gone
            out.closeWrite();
            in.closeRead();
            try {
                c.start();
                int code = c.waitForExit();
                return new String[] {Integer.toString(code), new String(out.readAll(), StandardCharsets.UTF_8)};
            } finally {
                c.delete(true);
            }
        }
    }

    @Test
    void eightContainersAtOnceEachWithItsOwnPipeAndExitCode() throws Exception {
        assumeKurma();
        ContainerRuntime rt = runtime();
        int n = 8;
        List<Bundle> bundles = new ArrayList<>();
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            // Each writes a line of its own to stdout and one to stderr, and exits with its number.
            Bundle b = env.bundle().sh("echo out-" + i + "; echo err-" + i + " >&2; sleep 0.2; exit " + (10 + i));
            b.write();
            bundles.add(b);
            ids.add(env.newId());
        }
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<String[]>> results = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int k = i;
                results.add(pool.submit(() -> runCapturing(rt, ids.get(k), bundles.get(k))));
            }
            for (int i = 0; i < n; i++) {
                String[] r = results.get(i).get();
                assertEquals(Integer.toString(10 + i), r[0], "exit code of container " + i);
                assertEquals("out-" + i + "\nerr-" + i + "\n", r[1], "the output of container " + i + ", and only its own");
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(List.of(), rt.list(), "every container was deleted");
        for (String id : ids) {
            for (Path h : hierarchies()) assertFalse(Files.exists(h.resolve("kurma").resolve(id)), "cgroup of " + id + " in " + h);
        }
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            assertFalse(line.contains(env.tmp().toString()), "a mount is left: " + line);
        }
        env.assertNothingLeft();
    }

    @Test
    void execWithItsOwnStdioAndTypedErrors() throws Exception {
        assumeKurma();
        ContainerRuntime rt = runtime();
        String id = env.newId();
        Bundle b = env.bundle().args("sleep", "60");
        b.write();
        Container c = rt.create(CreateRequest.of(id, b.dir()));
        try {
            assertEquals(Status.CREATED, c.state().status());
            c.start();
            assertEquals(Status.RUNNING, c.state().status());
            try (Pipe out = Pipe.open()) {
                Spec.Process p = c.process();
                Spec.Process echo = new Spec.Process(false, p.user(), List.of("sh", "-c", "echo from-exec; exit 3"), p.env(),
                        "/", p.capabilities(), p.rlimits(), p.noNewPrivileges(), p.oomScoreAdj(), null);
                ExecProcess e = c.exec(new ExecRequest(echo, new Stdio(0, out.writeFd(), out.writeFd(), List.of()), false, null, null));
                out.closeWrite();
                assertEquals(3, e.waitFor());
                assertEquals("from-exec\n", new String(out.readAll(), StandardCharsets.UTF_8));
            }
            KurmaException again = assertThrows(KurmaException.class, () -> rt.create(CreateRequest.of(id, b.dir())));
            assertEquals(KurmaException.Code.ALREADY_EXISTS, again.code());
            KurmaException missing = assertThrows(KurmaException.class, () -> rt.container("no-such-" + id).state());
            assertEquals(KurmaException.Code.NOT_FOUND, missing.code());
            Spec.Process p = c.process();
            Spec.Process absent = new Spec.Process(false, p.user(), List.of("no-such-program"), p.env(), "/",
                    p.capabilities(), p.rlimits(), p.noNewPrivileges(), p.oomScoreAdj(), null);
            KurmaException notFound = assertThrows(KurmaException.class, () -> c.exec(ExecRequest.of(absent)));
            assertEquals(KurmaException.Code.PROGRAM_NOT_FOUND, notFound.code());
            assertTrue(notFound.step() != null && notFound.errno() == 2, () -> "step and errno: " + notFound.step());
            KurmaException running = assertThrows(KurmaException.class, () -> c.delete(false));
            assertEquals(KurmaException.Code.WRONG_STATE, running.code());
        } finally {
            c.delete(true);
        }
        assertNull(findState(rt, id), "deleted");
        KurmaException gone = assertThrows(KurmaException.class, () -> c.kill(15));
        assertEquals(KurmaException.Code.NOT_FOUND, gone.code());
        env.assertNothingLeft();
    }

    private static Object findState(ContainerRuntime rt, String id) {
        return rt.list().stream().filter(s -> s.id().equals(id)).findFirst().orElse(null);
    }

    private static List<Path> hierarchies() throws Exception {
        List<Path> out = new ArrayList<>();
        try (var s = Files.list(Path.of("/sys/fs/cgroup"))) {
            s.filter(Files::isDirectory).forEach(out::add);
        }
        return out;
    }
}
