package kurma.tests.support;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/** Runs host commands with a timeout, stdout/stderr going to files (never pipes: see {@link Running}). */
public final class Proc {
    private Proc() {}

    private static final AtomicLong SEQ = new AtomicLong();

    /** Runs a command to completion; on timeout kills it (and its descendants) and returns exit -1. */
    public static Result run(List<String> command, String stdin, Path scratch, Duration timeout)
            throws IOException, InterruptedException {
        return start(command, stdin, scratch).await(timeout);
    }

    /** Starts a command in the background. */
    public static Running start(List<String> command, String stdin, Path scratch) throws IOException {
        return start(command, Map.of(), stdin, scratch);
    }

    /** Runs a command to completion with extra environment variables (see {@link #run}). */
    public static Result run(List<String> command, Map<String, String> env, String stdin, Path scratch, Duration timeout)
            throws IOException, InterruptedException {
        return start(command, env, stdin, scratch).await(timeout);
    }

    /** Starts a command in the background with extra environment variables. */
    public static Running start(List<String> command, Map<String, String> env, String stdin, Path scratch) throws IOException {
        long n = SEQ.incrementAndGet();
        Path out = scratch.resolve("cmd" + n + ".out");
        Path err = scratch.resolve("cmd" + n + ".err");
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.directory(scratch.toFile());
        pb.environment().putAll(env);
        pb.redirectOutput(out.toFile());
        pb.redirectError(err.toFile());
        if (stdin == null) {
            pb.redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
        } else {
            Path in = scratch.resolve("cmd" + n + ".in");
            Files.writeString(in, stdin, StandardCharsets.UTF_8);
            pb.redirectInput(in.toFile());
        }
        log("$ " + (env.isEmpty() ? "" : env + " ") + String.join(" ", command));
        return new Running(new ArrayList<>(command), pb.start(), out, err, System.nanoTime());
    }

    public static void log(String s) {
        System.out.println("[kurma-tests] " + s);
    }

    /** A command started in the background. */
    public static final class Running {
        private final List<String> command;
        private final Process process;
        private final Path out, err;
        private final long started;

        Running(List<String> command, Process process, Path out, Path err, long started) {
            this.command = command;
            this.process = process;
            this.out = out;
            this.err = err;
            this.started = started;
        }

        public Process process() {
            return process;
        }

        public boolean isAlive() {
            return process.isAlive();
        }

        /** Waits for the command; on timeout kills it and its descendants and returns exit -1. */
        public Result await(Duration timeout) throws IOException, InterruptedException {
            boolean done = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            int exit;
            String note = "";
            if (done) {
                exit = process.exitValue();
            } else {
                kill();
                exit = -1;
                note = "\n[kurma-tests: TIMED OUT after " + timeout.toMillis() + " ms and was killed]";
            }
            long ms = (System.nanoTime() - started) / 1_000_000;
            Result r = new Result(command, exit, read(out), read(err) + note, ms, out, err);
            log("  -> exit " + exit + " in " + ms + " ms"
                    + (r.stderr().isBlank() ? "" : "; stderr: " + r.stderr().strip().replace("\n", " | ")));
            return r;
        }

        /** Kills the command and every descendant it still has. */
        public void kill() {
            process.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        private static String read(Path p) throws IOException {
            return Files.exists(p) ? Files.readString(p, StandardCharsets.UTF_8) : "";
        }
    }
}
