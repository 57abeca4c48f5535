package kurma.runtime.plan;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import kurma.spec.ConfigException;

/**
 * Checks a path of the container (a mount destination, a device) against the rootfs as the
 * host sees it now, following symlinks the way the container will: an absolute link starts
 * again at the rootfs. A path whose ".." (written, or inside a relative link) climbs above the
 * rootfs is rejected, so the user learns of it before anything is set up.
 *
 * <p>This check gives the clear error; it is not the protection. stage2 opens every such path
 * with openat2(RESOLVE_IN_ROOT) at the moment of use, so a symlink swapped in later still
 * cannot lead out of the rootfs.
 */
public final class RootPath {
    private static final int MAX_LINKS = 40;
    /** What {@link #look} found for a path that is not a symlink; never a link target (no NUL there). */
    private static final String MISSING = "\0missing", NOT_A_LINK = "\0present";

    private final Path rootfs;
    /**
     * lstat results by path below the rootfs: a symlink's target, MISSING or NOT_A_LINK. One
     * container asks about the same dev/ and sys/ again and again (mounts, devices), and each
     * look costs a system call and, for a missing file, a Java exception.
     */
    private final Map<String, String> seen = new HashMap<>();

    /** Checks paths against this rootfs, as the host sees it now. */
    public RootPath(Path rootfs) {
        this.rootfs = rootfs;
    }

    /** Returns the path relative to the rootfs ("dev/shm"), or throws if it escapes. */
    public String relative(String containerPath, String what) {
        Deque<String> todo = new ArrayDeque<>(split(containerPath));
        List<String> done = new ArrayList<>(); // resolved components, below the rootfs
        int links = 0;
        boolean followed = false;
        while (!todo.isEmpty()) {
            String c = todo.pollFirst();
            if (c.isEmpty() || c.equals(".")) continue;
            if (c.equals("..")) {
                if (done.isEmpty()) {
                    throw new ConfigException(what + " \"" + containerPath + "\" escapes the container's root filesystem"
                            + (followed ? " through a symlink" : ""));
                }
                done.removeLast();
                continue;
            }
            String here = done.isEmpty() ? c : String.join("/", done) + "/" + c;
            String found = look(here);
            if (found == NOT_A_LINK) {
                done.add(c);
                continue;
            }
            if (found == MISSING) {
                done.add(c);
                // Nothing below a missing component can be a symlink yet.
                while (!todo.isEmpty()) {
                    String rest = todo.pollFirst();
                    if (rest.isEmpty() || rest.equals(".")) continue;
                    if (rest.equals("..")) {
                        if (done.isEmpty()) {
                            throw new ConfigException(what + " \"" + containerPath + "\" escapes the container's root filesystem");
                        }
                        done.removeLast();
                    } else {
                        done.add(rest);
                    }
                }
                continue;
            }
            if (++links > MAX_LINKS) throw new ConfigException(what + " \"" + containerPath + "\": too many symlinks");
            List<String> t = split(found);
            for (int i = t.size() - 1; i >= 0; i--) todo.addFirst(t.get(i));
            if (found.startsWith("/")) done.clear();
            followed = true;
        }
        // stage2 resolves the path as written (in root); the resolved form only served the check.
        String rel = String.join("/", normalizeWritten(containerPath));
        return rel.isEmpty() ? "." : rel;
    }

    /**
     * Whether rel (as written, relative to the rootfs) exists there as a symlink or as anything
     * but a directory; a missing path is neither (its mount point will be made as a directory).
     */
    public boolean isSymlinkOrNotDirectory(String rel) {
        String found = look(rel);
        if (found != NOT_A_LINK) return found != MISSING;
        return !Files.isDirectory(rootfs.resolve(rel), LinkOption.NOFOLLOW_LINKS);
    }

    /** A symlink's target, or MISSING, or NOT_A_LINK (compare by identity). */
    private String look(String rel) {
        String known = seen.get(rel);
        if (known != null) return known;
        Path p = rootfs.resolve(rel);
        String found;
        try {
            BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            found = a.isSymbolicLink() ? Files.readSymbolicLink(p).toString() : NOT_A_LINK;
        } catch (IOException e) {
            found = MISSING; // or unreadable: nothing we could follow
        }
        seen.put(rel, found);
        return found;
    }

    private static List<String> normalizeWritten(String p) {
        List<String> out = new ArrayList<>();
        for (String c : split(p)) {
            if (c.isEmpty() || c.equals(".")) continue;
            if (c.equals("..")) {
                if (!out.isEmpty()) out.removeLast();
            } else {
                out.add(c);
            }
        }
        return out;
    }

    private static List<String> split(String p) {
        List<String> out = new ArrayList<>();
        for (String c : p.split("/")) if (!c.isEmpty()) out.add(c);
        return out;
    }
}
