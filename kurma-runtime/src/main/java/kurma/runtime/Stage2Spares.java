package kurma.runtime;

import java.io.FileInputStream;
import java.io.FileNotFoundException;
import java.io.FileOutputStream;
import java.util.ArrayDeque;

/**
 * stage2 processes started for this JVM before it ran (by the runtime CLI's launcher), each
 * handed out once. The caller names them, as {@code PID:MESSAGE_FD:PLAN_FD[,...]}: the fds
 * being this process's ends of each one's message and plan pipes.
 */
public final class Stage2Spares {
    private final ArrayDeque<long[]> left = new ArrayDeque<>();

    private Stage2Spares() {}

    public static Stage2Spares none() {
        return new Stage2Spares();
    }

    /** The ones a list names (none for null or ""); a malformed list is a one-line error. */
    public static Stage2Spares parse(String list, String what) {
        Stage2Spares s = new Stage2Spares();
        if (list == null || list.isEmpty()) return s;
        for (String one : list.split(",", -1)) {
            String[] f = one.split(":");
            if (f.length != 3) throw malformed(what, one);
            try {
                s.left.add(new long[] {Long.parseLong(f[0]), Integer.parseInt(f[1]), Integer.parseInt(f[2])});
            } catch (NumberFormatException e) {
                throw malformed(what, one);
            }
        }
        return s;
    }

    private static KurmaException malformed(String what, String entry) {
        return new KurmaException(KurmaException.Code.INVALID_ARGUMENT, what + ": malformed entry " + kurma.spec.Quote.of(entry));
    }

    /** The next unused stage2, or null. */
    synchronized Stage2 take() {
        long[] e = left.poll();
        if (e == null) return null;
        try {
            // The pipes reopened through /proc (a pipe opened there is the same pipe): the JDK
            // has no public way to wrap an inherited fd number, and a native call would cost a
            // binding at start-up. The inherited fds stay open until this process ends.
            return new Stage2(e[0], new FileInputStream("/proc/self/fd/" + e[1]), new FileOutputStream("/proc/self/fd/" + e[2]));
        } catch (FileNotFoundException gone) {
            return null; // not an fd of ours after all: spawn one instead
        }
    }
}
