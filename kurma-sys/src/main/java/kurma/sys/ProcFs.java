package kurma.sys;

import java.io.FileInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Reads /proc and /sys files. Not Files.readString: for a file that reports size 0 (all of
 * procfs) the JDK reads one byte, then goes on at offset 1, where an integer sysctl such as
 * /proc/sys/kernel/cap_last_cap answers end-of-file: "40" came back as "4". Here the first
 * read asks for a whole page, as cat does.
 */
public final class ProcFs {
    private ProcFs() {}

    public static String read(Path path) throws IOException {
        try (FileInputStream in = new FileInputStream(path.toFile())) {
            byte[] buf = new byte[8192];
            int len = 0;
            for (int n; (n = in.read(buf, len, buf.length - len)) > 0; ) {
                len += n;
                if (len == buf.length) buf = Arrays.copyOf(buf, buf.length * 2);
            }
            return new String(buf, 0, len, StandardCharsets.UTF_8);
        }
    }

    /**
     * The id of the mount on top at mountPoint (the last of those mountinfo lists there), or -1
     * when nothing is mounted exactly there.
     */
    public static long topMountId(String mountPoint) throws IOException {
        long id = -1;
        for (String line : read(Path.of("/proc/self/mountinfo")).split("\n")) {
            // id parent major:minor root mountpoint ...
            int a = line.indexOf(' '), b = nth(line, ' ', 4), c = b < 0 ? -1 : line.indexOf(' ', b + 1);
            if (a > 0 && c > b && unescapeMountinfo(line.substring(b + 1, c)).equals(mountPoint)) {
                id = Long.parseLong(line.substring(0, a));
            }
        }
        return id;
    }

    private static int nth(String s, char ch, int n) {
        int at = -1;
        for (int i = 0; i < n; i++) {
            at = s.indexOf(ch, at + 1);
            if (at < 0) return -1;
        }
        return at;
    }

    /** mountinfo escapes space, tab, newline and backslash as \ooo. */
    public static String unescapeMountinfo(String s) {
        if (s.indexOf('\\') < 0) return s;
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length()) {
                try {
                    sb.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                    i += 3;
                    continue;
                } catch (NumberFormatException e) {
                    // not an escape: keep the backslash
                }
            }
            sb.append(c);
        }
        return sb.toString();
    }
}
