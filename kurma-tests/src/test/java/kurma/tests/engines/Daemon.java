package kurma.tests.engines;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import kurma.tests.support.Proc;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * An engine daemon (dockerd, containerd) the tests started in the background, its output in
 * a log file. It is stopped by its pid: SIGTERM, a wait for it to exit, SIGKILL only if it
 * does not. A JVM shutdown hook does the same if the test run dies before {@link #stop}.
 */
final class Daemon {
    /** How long a daemon may take to answer after it is started (the machine may be busy). */
    static final Duration START_TIMEOUT = Duration.ofSeconds(90);
    /** How long a daemon may take to exit after SIGTERM. */
    static final Duration STOP_TIMEOUT = Duration.ofSeconds(60);

    /** A probe that tells whether the daemon answers yet. */
    interface Probe {
        boolean ready() throws IOException, InterruptedException;
    }

    private final String name;
    private final Process process;
    private final Path log;
    private final Thread hook;

    private Daemon(String name, Process process, Path log) {
        this.name = name;
        this.process = process;
        this.log = log;
        this.hook = new Thread(() -> {
            process.destroy();
            try {
                if (!process.waitFor(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) process.destroyForcibly();
            } catch (InterruptedException e) {
                process.destroyForcibly();
            }
        }, "stop " + name);
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /**
     * Starts {@code command} with its stdout and stderr in {@code log}, then waits until
     * {@code probe} says it answers; fails with the log's tail if it exits or never answers.
     */
    static Daemon start(String name, List<String> command, Map<String, String> env, Path log, Probe probe)
            throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().putAll(env);
        pb.directory(log.getParent().toFile());
        pb.redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
        pb.redirectErrorStream(true);
        pb.redirectOutput(log.toFile());
        Proc.log("$ " + String.join(" ", command) + " > " + log + " 2>&1 &");
        Daemon d = new Daemon(name, pb.start(), log);
        long end = System.nanoTime() + START_TIMEOUT.toNanos();
        while (true) {
            if (!d.process.isAlive()) {
                d.stop();
                fail(name + " exited with status " + d.process.exitValue() + " while starting\n" + d.logTail(40));
            }
            if (probe.ready()) break;
            if (System.nanoTime() > end) {
                String tail = d.logTail(40);
                d.stop();
                fail(name + " did not answer within " + START_TIMEOUT.toSeconds() + " s\n" + tail);
            }
            Thread.sleep(200);
        }
        Proc.log("  -> " + name + " (pid " + d.pid() + ") answers");
        return d;
    }

    long pid() {
        return process.pid();
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /**
     * Stops the daemon by its pid and waits for it to exit. Returns a problem to report, or
     * null when it exited on SIGTERM.
     */
    String stop() throws InterruptedException {
        String problem = null;
        if (process.isAlive()) {
            Proc.log("$ kill -TERM " + pid() + "   # " + name);
            process.destroy(); // SIGTERM
            if (!process.waitFor(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                problem = name + " (pid " + pid() + ") still ran " + STOP_TIMEOUT.toSeconds() + " s after SIGTERM; killed";
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
            Proc.log("  -> " + name + " exited with status " + (process.isAlive() ? "?" : process.exitValue()));
        }
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // the JVM is shutting down: the hook runs anyway
        }
        return problem;
    }

    /** The last {@code n} lines of the daemon's log, labelled, for failure messages. */
    String logTail(int n) {
        try {
            List<String> lines = Files.exists(log)
                    ? List.of(new String(Files.readAllBytes(log), StandardCharsets.UTF_8).split("\n")) : List.of();
            List<String> tail = new ArrayList<>(lines.subList(Math.max(0, lines.size() - n), lines.size()));
            return "--- last " + tail.size() + " lines of " + name + "'s log " + log + ":\n  " + String.join("\n  ", tail);
        } catch (IOException e) {
            return "--- " + name + "'s log " + log + " unreadable: " + e;
        }
    }
}
