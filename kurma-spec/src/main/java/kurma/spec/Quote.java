package kurma.spec;

/**
 * Values from config.json or the command line as error messages and plan step descriptions
 * show them. Those values are the caller's: a 100,000-character hostname must not make a
 * 100 kB error line (engines show a person the last line of stderr, or of the log), and a
 * newline or an escape sequence in a value must not end the line or drive the terminal. So a
 * long value is cut, with its length said, and control characters are escaped.
 */
public final class Quote {
    /** Values up to this many characters are shown whole: the longest paths engines make (a containerd task's rootfs, ~125) fit. */
    static final int WHOLE = 128;
    /** How much of a longer value is shown. */
    static final int HEAD = 60;

    private Quote() {}

    /** {@code s} in double quotes, escaped, and cut if long: {@code "aaaa…" (100000 characters)}. */
    public static String of(String s) {
        if (s == null) return "null";
        StringBuilder sb = new StringBuilder(Math.min(s.length(), WHOLE) + 24);
        sb.append('"');
        boolean cut = s.length() > WHOLE;
        escape(sb, s, cut ? headLength(s, HEAD) : s.length(), true);
        if (cut) sb.append('\u2026');
        sb.append('"');
        if (cut) sb.append(" (").append(s.length()).append(" characters)");
        return sb.toString();
    }

    /** {@code s} as it is (a path in a sentence), control characters escaped, cut if long. */
    public static String cut(String s) {
        return cut(s, WHOLE, HEAD);
    }

    /**
     * {@code s} escaped and, if longer than {@code max} characters, cut to its first {@code max}
     * with "…" and its length: the bound of a whole message line.
     */
    public static String cut(String s, int max) {
        return cut(s, max, max);
    }

    private static String cut(String s, int whole, int head) {
        if (s == null) return "null";
        boolean cut = s.length() > whole;
        StringBuilder sb = new StringBuilder(Math.min(s.length(), whole) + 24);
        escape(sb, s, cut ? headLength(s, head) : s.length(), false);
        if (cut) sb.append("\u2026 (").append(s.length()).append(" characters)");
        return sb.toString();
    }

    /** n, or n - 1 so as not to split a surrogate pair. */
    private static int headLength(String s, int n) {
        return Character.isHighSurrogate(s.charAt(n - 1)) ? n - 1 : n;
    }

    private static void escape(StringBuilder sb, String s, int end, boolean quoted) {
        for (int i = 0; i < end; i++) {
            char c = s.charAt(i);
            if (c == '\n') {
                sb.append("\\n");
            } else if (c == '\t') {
                sb.append("\\t");
            } else if (c == '\r') {
                sb.append("\\r");
            } else if (quoted && (c == '"' || c == '\\')) {
                sb.append('\\').append(c);
            } else if (c < 0x20 || (c >= 0x7f && c < 0xa0) || c == '\u2028' || c == '\u2029') {
                hex(sb, c);
            } else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                sb.append(c).append(s.charAt(++i));
            } else if (Character.isSurrogate(c)) {
                hex(sb, c); // a lone half of a pair (a \\ud800 escape in JSON) prints as '?' otherwise
            } else {
                sb.append(c);
            }
        }
    }

    private static void hex(StringBuilder sb, char c) {
        String h = Integer.toHexString(c);
        sb.append("\\u");
        for (int k = h.length(); k < 4; k++) sb.append('0');
        sb.append(h);
    }
}
