package kurma.runtime.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;

import kurma.spec.Json;
import kurma.spec.Quote;

/**
 * runc-compatible logging. With {@code --log FILE} records are appended to FILE in the
 * chosen format (containerd-shim reads the last JSON record to show the user why a command
 * failed) and errors also go to stderr as plain text; without it they go to stderr in the
 * chosen format.
 */
final class Log implements kurma.runtime.RuntimeLog {
    private final Path file;
    private final boolean json;
    private final boolean debug;
    private final PrintStream stderr;

    Log(String file, String format, boolean debug, PrintStream stderr) {
        if (format != null && !format.equals("text") && !format.equals("json")) {
            throw new UsageException("--log-format must be text or json, got " + Quote.of(format));
        }
        this.file = file == null || file.isEmpty() ? null : Path.of(file);
        this.json = "json".equals(format);
        this.debug = debug;
        this.stderr = stderr;
    }

    /**
     * The longest error or warning line: values quoted in messages are cut already
     * ({@link Quote}), this bounds the rest (an exception's text, many values in one line), so
     * that no input makes the line an engine shows its user grow without end.
     */
    static final int MAX_LINE = 1000;

    /** One line: newlines as spaces, other control characters escaped, cut at MAX_LINE. */
    private static String line(String msg) {
        return Quote.cut(String.valueOf(msg).replace('\n', ' '), MAX_LINE);
    }

    void error(String msg) {
        String line = line(msg);
        if (file != null) {
            append(record("error", line));
            stderr.println(line);
        } else {
            stderr.println(json ? record("error", line) : line);
        }
    }

    boolean debugging() {
        return debug;
    }

    @Override
    public void warn(String msg) {
        String line = line(msg);
        if (file != null) append(record("warning", line));
        else stderr.println(json ? record("warning", line) : "warning: " + line);
    }

    @Override
    public void debug(String msg) {
        if (!debug) return;
        if (file != null) append(record("debug", msg));
        else stderr.println(json ? record("debug", msg) : "debug: " + msg);
    }

    private String record(String level, String msg) {
        if (!json) return kurma.sys.Clock.now() + " " + level + ": " + msg;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("level", level);
        m.put("msg", msg);
        m.put("time", kurma.sys.Clock.now());
        return Json.write(m);
    }

    private void append(String line) {
        try {
            Files.writeString(file, line + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND, StandardOpenOption.WRITE);
        } catch (IOException e) {
            stderr.println(line + " (and the log file " + file + " could not be written: " + e.getMessage() + ")");
        }
    }
}
