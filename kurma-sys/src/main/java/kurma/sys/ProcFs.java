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
}
