package kurma.image.unpack;

import java.util.ArrayList;
import java.util.List;

/**
 * The rules for names in a layer tar (and for hard link targets, which are names too).
 *
 * <ul>
 * <li>Leading slashes are dropped: {@code /etc/passwd} is {@code etc/passwd} of the layer, as
 * Docker, containerd and GNU tar read it. An absolute name never means the host.
 * <li>"." and empty components are dropped ({@code ./etc//x} is {@code etc/x}).
 * <li>A ".." component anywhere is refused: no real layer has one, and allowing "a/../b"
 * would only invite mistakes.
 * <li>NUL is refused (it would cut the name short in the system call), and so is U+FFFD: the
 * tar reader decodes names as UTF-8 and puts it where a byte sequence was not valid UTF-8, so
 * writing it would create a file under another name than the layer's.
 * </ul>
 */
public final class EntryPaths {
    private EntryPaths() {}

    /** The components of {@code name}; empty for the root itself. */
    public static List<String> components(String name) throws LayerException {
        List<String> out = new ArrayList<>();
        int i = 0, n = name.length();
        while (i < n) {
            int j = name.indexOf('/', i);
            if (j < 0) j = n;
            String c = name.substring(i, j);
            if (c.equals("..")) throw new LayerException(quote(name) + " has a \"..\" component, which could lead out of the layer");
            if (!c.isEmpty() && !c.equals(".")) {
                if (c.indexOf('\0') >= 0) throw new LayerException(quote(name) + " contains a NUL byte");
                if (c.indexOf('\uFFFD') >= 0) throw new LayerException(quote(name) + " is not valid UTF-8");
                out.add(c);
            }
            i = j + 1;
        }
        return out;
    }

    /** {@code name} normalized: components joined by '/', "" for the root. */
    public static String normalize(String name) throws LayerException {
        return String.join("/", components(name));
    }

    static String quote(String name) {
        return "\"" + name.replace("\0", "\\0") + "\"";
    }
}
