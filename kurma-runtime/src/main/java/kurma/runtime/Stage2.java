package kurma.runtime;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import kurma.runtime.KurmaException.Code;
import kurma.runtime.plan.Op;
import kurma.runtime.plan.Message;
import kurma.runtime.plan.Plan;
import kurma.sys.Errno;

/**
 * Starts stage2 with a launch plan and follows it to the point where the container waits
 * for {@code start} (stage2/PLAN.md).
 *
 * <p>The CLI's launcher (launcher/src/launcher.c) normally starts stage2 before the JVM, for the
 * commands that need one, and hands its pipes over ({@link Stage2Spares}). Otherwise stage2 is
 * started here with {@link ProcessBuilder}: the JDK spawns safely from a threaded JVM, and
 * this path binds no foreign function, which would cost tens of milliseconds on every CLI
 * start. Either way the plan goes down stage2's stdin pipe, messages come back on its stdout
 * pipe, and stage2 copies the container's stdio and preserved fds from this process itself
 * (pidfd_getfd).
 */
final class Stage2 {
    /** What the caller does as the plan runs. */
    interface SyncHandler {
        /** Answers a SYNC: does what the point asks for and returns the bytes stage2 keeps. */
        byte[] onSync(int point, int initPid);

        /** stage2 forked the container's init (its PID message), before anything the init does. */
        void onInit(int initPid);
    }

    /** null for a stage2 the launcher started (no exit status to wait for then). */
    private final Process process;
    private final long pid;
    private final OutputStream toStage2;
    private final InputStream fromStage2;
    private Plan plan;
    private int initPid;

    private Stage2(Process process) {
        this.process = process;
        this.pid = process.pid();
        this.toStage2 = process.getOutputStream();
        this.fromStage2 = process.getInputStream();
    }

    /** One the launcher started: its pid and this process's ends of its pipes. */
    Stage2(long pid, InputStream fromStage2, OutputStream toStage2) {
        this.process = null;
        this.pid = pid;
        this.toStage2 = toStage2;
        this.fromStage2 = fromStage2;
    }

    /** A stage2 being spawned on another thread. */
    static final class Pending implements Runnable {
        private final Path binary;
        private final Thread thread;
        private Stage2 stage2;
        private Throwable failure; // an Error included: get() never hands out a null stage2

        private Pending(Path binary) {
            this.binary = binary;
            this.thread = new Thread(this, "spawn-stage2");
            thread.setDaemon(true);
            thread.start();
        }

        /** One already running (the launcher's). */
        private Pending(Stage2 ready) {
            this.binary = null;
            this.thread = null;
            this.stage2 = ready;
        }

        @Override
        public void run() {
            try {
                stage2 = spawn(binary);
            } catch (RuntimeException | Error e) {
                failure = e;
            }
        }

        /** The spawned stage2 (waits for the spawn to finish). */
        Stage2 get() {
            join();
            if (failure instanceof RuntimeException e) throw e;
            if (failure instanceof Error e) throw e;
            return stage2;
        }

        /** Kills the spawned stage2, if the spawn got that far. */
        void abort() {
            join();
            if (stage2 != null) stage2.abort();
        }

        private void join() {
            if (thread != null) Processes.joinFully(thread);
        }
    }

    /**
     * The launcher's stage2 if one is left, else one started on another thread; either way it
     * prepares itself (sealed re-exec) and then waits for its plan while the caller parses and
     * plans.
     */
    static Pending spawnAsync(Path binary, Stage2Spares spares) {
        Stage2 ready = spares.take();
        return ready != null ? new Pending(ready) : new Pending(binary);
    }

    static Stage2 spawn(Path binary) {
        if (!Files.isExecutable(binary)) {
            throw new KurmaException(Code.SYSTEM_ERROR, "stage2 " + binary + " is missing or not executable");
        }
        ProcessBuilder pb = new ProcessBuilder(binary.toString(), Long.toString(ProcessHandle.current().pid()));
        pb.environment().clear();
        pb.redirectError(ProcessBuilder.Redirect.INHERIT);
        try {
            return new Stage2(pb.start());
        } catch (IOException e) {
            throw new KurmaException(Code.SYSTEM_ERROR, "cannot start stage2: " + e.getMessage(), e);
        }
    }

    /**
     * Runs the plan (encoded as wire, with the fds the container gets) up to READY: the
     * container's init then waits in WAIT_START. On failure every process stage2 made is gone
     * and the exception names the failed step.
     */
    void run(Plan plan, byte[] wire, SyncHandler sync) {
        this.plan = plan;
        try {
            try {
                toStage2.write(wire);
                toStage2.flush();
            } catch (IOException stage2Gone) {
                // it died before reading its plan; its message or exit status says why
            }
            while (true) {
                int[] m = nextOrFail();
                switch (m[0]) {
                    case Message.PID -> {
                        initPid = m[3];
                        if (sync != null) sync.onInit(initPid);
                    }
                    case Message.SYNC -> answer(sync.onSync(m[3], initPid));
                    case Message.READY -> {
                        return;
                    }
                    case Message.EXIT -> throw new KurmaException(Code.SYSTEM_ERROR, "the container exited before it was ready");
                    default -> throw new KurmaException(Code.INTERNAL, "stage2 sent an unknown message type " + m[0]);
                }
            }
        } catch (RuntimeException e) {
            abort();
            throw e;
        }
    }

    /** stage2's first process (the one this JVM spawned, or was given by the launcher). */
    long pid() {
        return pid;
    }

    /** Whether the CLI's launcher started this one (rather than this JVM). */
    boolean fromLauncher() {
        return process == null;
    }

    /** The container's init, as seen from this pid namespace. */
    int initPid() {
        return initPid;
    }

    /**
     * Waits for the monitor's EXIT message (plans with FORK wait=1) and returns the init's raw
     * wait status.
     */
    int awaitExit() {
        int[] m = nextOrFail();
        if (m[0] != Message.EXIT) throw new KurmaException(Code.INTERNAL, "stage2 sent message type " + m[0] + " instead of the exit status");
        close();
        return m[3];
    }

    /** Stops listening; the monitor, if any, goes on. */
    void close() {
        try {
            toStage2.close();
            fromStage2.close();
        } catch (IOException ignored) {
            // pipes to a process that is gone
        }
    }

    /**
     * A program that cannot be run, in runc's (Go's exec) words: dockerd and containerd map
     * "no such file or directory" / "executable file not found" to exit 127 and "permission
     * denied" to 126, and show the message to the user.
     */
    static String programNotFound(kurma.runtime.plan.Plan.Step step, int errno) {
        String name = ((kurma.runtime.plan.Plan.Str) step.args().getFirst()).value();
        String quoted = kurma.spec.Quote.of(name); // as Go's %q, cut when long
        if (errno == Errno.EACCES) return "exec: " + quoted + ": permission denied";
        if (errno == Errno.ENOENT) {
            return name.indexOf('/') >= 0 ? "exec: " + quoted + ": stat " + kurma.spec.Quote.cut(name) + ": no such file or directory"
                    : "exec: " + quoted + ": executable file not found in $PATH";
        }
        return "exec: " + quoted + ": " + Errno.describe(errno).toLowerCase(java.util.Locale.ROOT);
    }

    private static String describeStatus(int status) {
        int sig = status & 0x7f;
        return sig == 0 ? "exit status " + ((status >> 8) & 0xff) : "killed by signal " + sig;
    }

    /** Kills what stage2 started (or stage2 itself, still waiting for a plan). */
    void abort() {
        if (initPid > 0) Processes.killForcibly(initPid);
        if (process != null) process.destroyForcibly();
        else Processes.killForcibly((int) pid);
        close();
    }

    /**
     * Runs a plan that ends by itself (a hook plan: SYNC, then RUN_HOOKs), answering its
     * SYNC with {@code answer}, until stage2 exits.
     */
    void runToEnd(Plan plan, byte[] answer) {
        this.plan = plan;
        try {
            toStage2.write(plan.encode(Stdio.inherited(0).numbers()));
            toStage2.flush();
            for (int[] m = next(); m != null; m = next()) {
                if (m[0] == Message.SYNC) answer(answer);
            }
            int status = process.waitFor();
            if (status != 0) throw new KurmaException(Code.SYSTEM_ERROR, "stage2 ended with exit status " + status);
        } catch (IOException e) {
            throw new KurmaException(Code.SYSTEM_ERROR, "stage2: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KurmaException(Code.HOOK_FAILED, "interrupted while running hooks");
        } finally {
            abort();
        }
    }

    /** The answer to a SYNC: u32 length, then the bytes. */
    private void answer(byte[] data) {
        try {
            toStage2.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(data.length).array());
            toStage2.write(data);
            toStage2.flush();
        } catch (IOException e) {
            throw new KurmaException(Code.SYSTEM_ERROR, "stage2 went away: " + e.getMessage(), e);
        }
    }

    private int[] nextOrFail() {
        int[] m = next();
        if (m == null) {
            if (process == null) throw new KurmaException(Code.SYSTEM_ERROR, "stage2 ended unexpectedly");
            int status;
            try {
                status = process.waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                status = -1;
            }
            throw new KurmaException(Code.SYSTEM_ERROR, "stage2 ended unexpectedly (exit status " + status + ")");
        }
        return m;
    }

    /**
     * The next 16-byte message, null at the end; an ERROR becomes the exception that names the
     * failed step.
     */
    private int[] next() {
        byte[] b;
        try {
            b = fromStage2.readNBytes(16);
        } catch (IOException e) {
            throw new KurmaException(Code.SYSTEM_ERROR, "reading from stage2: " + e.getMessage(), e);
        }
        if (b.length < 16) return null;
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        int[] m = {bb.getInt(), bb.getInt(), bb.getInt(), bb.getInt()};
        if (m[0] == Message.ERROR) throw failure(m[1], m[2], m[3]);
        return m;
    }

    /** The exception for stage2's ERROR(op, errno, value): the failed step, worded for the user, with a code. */
    private KurmaException failure(int op, int errno, int value) {
        Plan.Step step = plan != null && op >= 0 && op < plan.steps().size() ? plan.steps().get(op) : null;
        String what = plan == null ? "starting stage2" : plan.describe(op);
        if (step != null && step.op() == Op.RUN_HOOK && (errno == Errno.ETIMEDOUT || errno == Errno.ECANCELED)) {
            return new KurmaException(Code.HOOK_FAILED, errno == Errno.ETIMEDOUT ? what + ": timed out"
                    : what + " failed: " + describeStatus(value), what, errno, null);
        }
        if (step != null && step.op() == Op.FIND_EXEC) {
            Code code = errno == Errno.ENOENT ? Code.PROGRAM_NOT_FOUND : errno == Errno.EACCES ? Code.NOT_EXECUTABLE : Code.SYSTEM_ERROR;
            return new KurmaException(code, programNotFound(step, errno), what, errno, null);
        }
        if (step != null && step.op() == Op.CHDIR && errno == Errno.EXDEV) {
            String cwd = ((Plan.Str) step.args().getFirst()).value();
            return new KurmaException(Code.INVALID_CONFIG, "process.cwd " + kurma.spec.Quote.of(cwd)
                    + " leads outside the container's root filesystem (possible container breakout: refused)", what, errno, null);
        }
        Code code = errno == Errno.EPERM || errno == Errno.EACCES ? Code.PERMISSION_DENIED : Code.SYSTEM_ERROR;
        return new KurmaException(code, what + ": " + Errno.describe(errno) + " (" + Errno.name(errno) + ")", what, errno, null);
    }
}
