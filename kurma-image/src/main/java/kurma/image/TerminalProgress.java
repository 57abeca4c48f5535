package kurma.image;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Progress bars for a terminal: one line per blob, redrawn in place with ANSI cursor moves
 * (at most ten times a second), notes printed above them. For output that is not a terminal,
 * use {@link Progress#lines} instead; the caller knows which it has (System.console()).
 */
public final class TerminalProgress implements Progress {
    private static final long REDRAW_NANOS = 100_000_000L;
    private static final int BAR = 30;

    private final PrintStream out;
    private final Map<Digest, Row> rows = new LinkedHashMap<>();
    private int drawn;
    private long lastDraw;

    private static final class Row {
        final Descriptor blob;
        long done;
        String state = "waiting";

        Row(Descriptor blob) {
            this.blob = blob;
        }
    }

    public TerminalProgress(PrintStream out) {
        this.out = out;
    }

    private Row row(Descriptor d) {
        return rows.computeIfAbsent(d.digest(), k -> new Row(d));
    }

    @Override
    public synchronized void started(Descriptor blob, long offset) {
        Row r = row(blob);
        r.done = offset;
        r.state = offset > 0 ? "resuming" : "downloading";
        draw(true);
    }

    @Override
    public synchronized void advanced(Descriptor blob, long done) {
        Row r = row(blob);
        r.done = done;
        r.state = "downloading";
        draw(false);
    }

    @Override
    public synchronized void finished(Descriptor blob, boolean skipped) {
        Row r = row(blob);
        r.done = blob.size();
        r.state = skipped ? "already exists" : "done";
        draw(true);
    }

    @Override
    public synchronized void retrying(Descriptor blob, int attempt, String cause) {
        row(blob).state = "retry " + attempt + " (" + cause + ")";
        draw(true);
    }

    @Override
    public synchronized void note(String line) {
        clear();
        out.println(line);
        draw(true);
    }

    private void clear() {
        if (drawn > 0) out.print("\033[" + drawn + "F\033[J"); // up to the first bar, erase below
        drawn = 0;
    }

    private void draw(boolean force) {
        long now = System.nanoTime();
        if (!force && now - lastDraw < REDRAW_NANOS) return;
        lastDraw = now;
        StringBuilder sb = new StringBuilder();
        if (drawn > 0) sb.append("\033[").append(drawn).append('F');
        for (Row r : rows.values()) {
            sb.append("\033[2K").append(r.blob.digest().shortHex()).append(' ');
            long size = Math.max(1, r.blob.size());
            int filled = (int) Math.min(BAR, r.done * BAR / size);
            sb.append('[').append("=".repeat(filled)).append(filled < BAR ? ">" : "").append(" ".repeat(Math.max(0, BAR - filled - 1)))
                    .append("] ").append(human(r.done)).append(" / ").append(human(r.blob.size())).append(' ').append(r.state).append('\n');
        }
        out.print(sb);
        out.flush();
        drawn = rows.size();
    }

    static String human(long bytes) {
        if (bytes < 1024) return bytes + " B";
        double v = bytes;
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(java.util.Locale.ROOT, "%.1f %s", v, units[u]);
    }
}
