package kurma.engine;

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The user an image or {@code -u} names ("name", "uid", "name:group", "uid:gid"), resolved as
 * Docker resolves it: through the image's own /etc/passwd and /etc/group, supplementary groups
 * included. Those files come from the image, so they are read without following a symlink
 * (an image's /etc/passwd pointing at a host file must not make us read that file).
 */
final class Users {
    private Users() {}

    /** The process's user, resolved in the image; home: its passwd entry's, null when it has none. */
    record User(long uid, long gid, List<Long> additionalGids, String home) {}

    /**
     * {@code spec} as the image or the caller gives it; null or empty is root. An unknown name
     * is an error; a number without an entry is taken as is, with gid 0 unless a group is
     * given, as Docker takes it.
     */
    static User resolve(Path rootfs, String spec) {
        String user = spec == null || spec.isEmpty() ? "0" : spec;
        String group = null;
        int colon = user.indexOf(':');
        if (colon >= 0) {
            group = user.substring(colon + 1);
            user = user.substring(0, colon);
        }
        List<String[]> passwd = read(rootfs, "passwd", 7);
        List<String[]> groups = read(rootfs, "group", 4);
        Long uid = number(user);
        String[] entry = null;
        for (String[] p : passwd) {
            if (uid == null ? p[0].equals(user) : number(p[2]) != null && number(p[2]).equals(uid)) {
                entry = p;
                break;
            }
        }
        if (entry == null && uid == null) {
            throw invalid("unable to find user " + user + ": no matching entries in the image's /etc/passwd");
        }
        long u = uid != null ? uid : number(entry[2]);
        long g = entry != null && number(entry[3]) != null ? number(entry[3]) : 0;
        if (group != null && !group.isEmpty()) {
            Long gid = number(group);
            if (gid == null) {
                gid = null;
                for (String[] gr : groups) {
                    if (gr[0].equals(group)) {
                        gid = number(gr[2]);
                        break;
                    }
                }
                if (gid == null) throw invalid("unable to find group " + group + ": no matching entries in the image's /etc/group");
            }
            g = gid;
        }
        List<Long> extra = new ArrayList<>();
        if (entry != null && group == null) {
            for (String[] gr : groups) {
                Long gid = number(gr[2]);
                if (gid == null || gid == g) continue;
                for (String member : gr[3].split(",")) {
                    if (member.equals(entry[0]) && !extra.contains(gid)) extra.add(gid);
                }
            }
        }
        return new User(u, g, List.copyOf(extra), entry != null && !entry[5].isEmpty() ? entry[5] : null);
    }

    private static EngineException invalid(String message) {
        return new EngineException(EngineException.Code.INVALID_ARGUMENT, message);
    }

    private static Long number(String s) {
        if (s == null || s.isEmpty()) return null;
        for (int i = 0; i < s.length(); i++) if (!Character.isDigit(s.charAt(i))) return null;
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** The image's /etc/NAME as colon-separated lines of at least {@code fields} fields; none if absent. */
    private static List<String[]> read(Path rootfs, String name, int fields) {
        Path etc = rootfs.resolve("etc");
        List<String[]> out = new ArrayList<>();
        if (!Files.isDirectory(etc, LinkOption.NOFOLLOW_LINKS)) return out;
        String text;
        try (InputStream in = Channels.newInputStream(Files.newByteChannel(etc.resolve(name),
                Set.of(StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)))) {
            text = new String(in.readNBytes(4 << 20), StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return out;
        } catch (IOException e) {
            // a symlink (ELOOP), a directory...: as if the image had none
            return out;
        }
        for (String line : text.split("\n")) {
            if (line.isBlank() || line.startsWith("#")) continue;
            String[] f = line.split(":", -1);
            if (f.length >= fields) out.add(f);
        }
        return out;
    }
}
