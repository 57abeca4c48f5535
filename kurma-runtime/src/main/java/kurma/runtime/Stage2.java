package kurma.runtime;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import kurma.runtime.plan.Plan;
import kurma.sys.Errno;
import kurma.sys.Libc;

/**
 * Starts stage2 with a launch plan and follows it to the point where the container waits
 * for {@code start} (stage2/PLAN.md). stage2 is started with posix_spawn (a JVM must not
 * fork); the plan and the progress messages travel over one socket pair, whose stage2 end
 * is placed just above the fds the container inherits.
 */
final class Stage2 {
    private Stage2() {}

    private static final int MSG_PID = 1, MSG_READY = 2, MSG_ERROR = 3;

    /** The container's init is waiting for start. */
    record Launched(int pid) {}

    static Path binary() {
        String p = System.getProperty("kurma.stage2");
        Path path = p != null ? Path.of(p) : Path.of("/usr/libexec/kurma/kurma-stage2");
        if (!Files.isExecutable(path)) {
            throw new KurmaException("stage2 launcher " + path + " is missing or not executable (set -Dkurma.stage2)");
        }
        return path;
    }

    /**
     * Runs the plan. On success the container's init (a child of this process, thanks to
     * CLONE_PARENT) waits in WAIT_START. On failure every process stage2 made is gone and the
     * exception names the failed step.
     */
    static Launched launch(Plan plan, int preserveFds) {
        Path bin = binary();
        int[] sp = Libc.socketpair();
        int ours = sp[0], theirs = sp[1];
        int syncFd = 3 + preserveFds;
        int stage2Pid;
        try {
            stage2Pid = Libc.spawn(bin.toString(), List.of("kurma-stage2", Integer.toString(syncFd)),
                    new int[][] {{theirs, syncFd}});
        } finally {
            Libc.close(theirs);
        }
        int initPid = 0;
        try (Arena a = Arena.ofConfined()) {
            byte[] encoded = plan.encode();
            MemorySegment buf = a.allocate(encoded.length);
            MemorySegment.copy(encoded, 0, buf, ValueLayout.JAVA_BYTE, 0, encoded.length);
            try {
                Libc.writeFully(ours, buf);
            } catch (RuntimeException stage2Gone) {
                // stage2 died before reading its plan; its exit status below says more
            }
            MemorySegment msg = a.allocate(16, 4);
            while (true) {
                if (!Libc.readFully(ours, msg)) {
                    int status = Libc.waitpid(stage2Pid, 0);
                    stage2Pid = 0;
                    throw new KurmaException("stage2 ended before the container was ready (exit status "
                            + Libc.exitCode(status) + ")");
                }
                int type = msg.get(ValueLayout.JAVA_INT, 0), index = msg.get(ValueLayout.JAVA_INT, 4),
                        errno = msg.get(ValueLayout.JAVA_INT, 8), value = msg.get(ValueLayout.JAVA_INT, 12);
                switch (type) {
                    case MSG_PID -> {
                        initPid = value;
                        Libc.waitpid(stage2Pid, 0); // the first stage exits right after forking
                        stage2Pid = 0;
                    }
                    case MSG_READY -> {
                        return new Launched(initPid);
                    }
                    case MSG_ERROR -> throw new KurmaException(plan.describe(index) + ": " + Errno.describe(errno)
                            + " (" + Errno.name(errno) + ")");
                    default -> throw new KurmaException("stage2 sent an unknown message type " + type);
                }
            }
        } catch (RuntimeException e) {
            if (initPid > 0) {
                Libc.kill(initPid, Libc.SIGKILL);
                Libc.waitpid(initPid, 0);
            }
            if (stage2Pid > 0) {
                Libc.kill(stage2Pid, Libc.SIGKILL);
                Libc.waitpid(stage2Pid, 0);
            }
            throw e;
        } finally {
            Libc.close(ours);
        }
    }
}
