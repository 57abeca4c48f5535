package kurma.runtime;

import java.io.IOException;
import java.nio.file.Path;

/** Reads /proc/PID/stat: is a process alive, and is it still the one we started. */
final class ProcStat {
    private ProcStat() {}

    /** Exit code of a wait status: the code, or 128+signal for a killed process (shell convention). */
    static int exitCode(int waitStatus) {
        int sig = waitStatus & 0x7f;
        return sig == 0 ? (waitStatus >> 8) & 0xff : 128 + sig;
    }

    /** Start time in clock ticks since boot (field 22), or -1 if the process is gone. */
    static long startTime(int pid) {
        String[] f = fields(pid);
        return f == null ? -1 : Long.parseLong(f[19]);
    }

    /**
     * True if pid runs and is not a zombie; with startTime >= 0 it must also be the same
     * process (not a later one that got the recycled pid).
     */
    static boolean alive(int pid, long startTime) {
        if (pid <= 0) return false;
        String[] f = fields(pid);
        if (f == null) return false;
        String state = f[0];
        if (state.equals("Z") || state.equals("X")) return false;
        return startTime < 0 || Long.parseLong(f[19]) == startTime;
    }

    /** The fields after "(comm)": index 0 is the state (field 3 of proc(5)). */
    private static String[] fields(int pid) {
        try {
            String s = kurma.sys.ProcFs.read(Path.of("/proc", Integer.toString(pid), "stat"));
            // comm may contain spaces and parentheses: the fields start after the last ')'.
            return s.substring(s.lastIndexOf(')') + 2).split(" ");
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
