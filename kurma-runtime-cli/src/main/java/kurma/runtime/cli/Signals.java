package kurma.runtime.cli;

import java.util.List;
import java.util.Locale;

/** Signal names and numbers (Linux x86_64 and aarch64 share these). */
final class Signals {
    private Signals() {}

    private static final List<String> NAMES = List.of("", "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE",
            "KILL", "USR1", "SEGV", "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN",
            "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS");
    private static final int RTMIN = 34, RTMAX = 64;

    /** "TERM", "SIGTERM", "sigterm", "15", "RTMIN+2" → number. */
    static int parse(String s) {
        String u = s.toUpperCase(Locale.ROOT);
        if (u.startsWith("SIG")) u = u.substring(3);
        try {
            int n = Integer.parseInt(u);
            if (n >= 1 && n <= RTMAX) return n;
        } catch (NumberFormatException notANumber) {
            int i = NAMES.indexOf(u);
            if (i > 0) return i;
            if (u.equals("IOT")) return 6;
            if (u.equals("CLD")) return 17;
            if (u.equals("POLL")) return 29;
            if (u.startsWith("RTMIN")) return rt(RTMIN, u.substring(5), s);
            if (u.startsWith("RTMAX")) return rt(RTMAX, u.substring(5), s);
        }
        throw new UsageException("unknown signal " + kurma.spec.Quote.of(s));
    }

    private static int rt(int base, String offset, String s) {
        try {
            int n = offset.isEmpty() ? base : base + Integer.parseInt(offset);
            if (n >= RTMIN && n <= RTMAX) return n;
        } catch (NumberFormatException ignored) {
            // falls through to the error
        }
        throw new UsageException("unknown signal " + kurma.spec.Quote.of(s));
    }
}
