package kurma.tests.engines;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import kurma.tests.support.Proc;
import kurma.tests.support.Result;

/**
 * Runs an engine command on a terminal, as a person typing {@code docker run -it} would:
 * util-linux {@code script} gives it a pseudo-terminal, copies what it prints to a typescript
 * file, and copies our stdin to it. Once the output shows {@code marker} (the container is
 * up and reading), {@code input} is typed and stdin closed.
 */
final class Terminal {
    private Terminal() {}

    private static final AtomicLong SEQ = new AtomicLong();

    /**
     * Runs {@code command} (a shell command line) under {@code script}. The marker must not
     * appear literally in the command: script writes the command line into the typescript.
     * Returns script's exit status (the command's, with {@code -e}) and the typescript as
     * stdout; -1 after killing it at the timeout.
     */
    static Result type(String command, Map<String, String> env, Path scratch, String marker, String input,
                       Duration timeout) throws IOException, InterruptedException {
        if (command.contains(marker)) throw new IllegalArgumentException("the marker is in the command: " + marker);
        long n = SEQ.incrementAndGet();
        Path typescript = scratch.resolve("tty" + n + ".typescript");
        Path out = scratch.resolve("tty" + n + ".out");
        Path err = scratch.resolve("tty" + n + ".err");
        List<String> argv = List.of("script", "--quiet", "--return", "--flush", "--command", command, typescript.toString());
        ProcessBuilder pb = new ProcessBuilder(argv);
        pb.environment().putAll(env);
        pb.directory(scratch.toFile());
        pb.redirectOutput(out.toFile());
        pb.redirectError(err.toFile());
        Proc.log("$ " + String.join(" ", argv) + "   # then types " + input.strip() + " after \"" + marker + "\"");
        long started = System.nanoTime();
        long end = started + timeout.toNanos();
        Process p = pb.start();
        String note = "";
        try (OutputStream keys = p.getOutputStream()) {
            boolean typed = false;
            while (!typed && p.isAlive() && System.nanoTime() < end) {
                if (Files.exists(typescript) && Files.readString(typescript, StandardCharsets.ISO_8859_1).contains(marker)) {
                    keys.write(input.getBytes(StandardCharsets.UTF_8));
                    keys.flush();
                    typed = true;
                } else {
                    Thread.sleep(50);
                }
            }
            if (!typed) note = "\n[kurma-tests: \"" + marker + "\" never appeared, nothing was typed]";
        } catch (IOException e) {
            note = "\n[kurma-tests: typing failed: " + e.getMessage() + "]";
        }
        long left = Math.max(0, end - System.nanoTime());
        int exit;
        if (p.waitFor(left, TimeUnit.NANOSECONDS)) {
            exit = p.exitValue();
        } else {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
            exit = -1;
            note += "\n[kurma-tests: TIMED OUT after " + timeout.toMillis() + " ms and was killed]";
        }
        long ms = (System.nanoTime() - started) / 1_000_000;
        String screen = Files.exists(typescript) ? Files.readString(typescript, StandardCharsets.ISO_8859_1) : "";
        String stderr = Files.readString(err, StandardCharsets.ISO_8859_1) + note;
        Result r = new Result(argv, exit, screen, stderr, ms, typescript, err);
        Proc.log("  -> exit " + exit + " in " + ms + " ms");
        return r;
    }
}
