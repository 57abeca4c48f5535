package kurma.runtime.plan;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

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
    private RootPath() {}

    private static final int MAX_LINKS = 40;

    /** Returns the path relative to the rootfs ("dev/shm"), or throws if it escapes. */
    public static String relative(Path rootfs, String containerPath, String what) {
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
            Path here = rootfs.resolve(String.join("/", done)).resolve(c);
            if (Files.isSymbolicLink(here)) {
                if (++links > MAX_LINKS) throw new ConfigException(what + " \"" + containerPath + "\": too many symlinks");
                String target;
                try {
                    target = Files.readSymbolicLink(here).toString();
                } catch (IOException e) {
                    throw new ConfigException(what + " \"" + containerPath + "\": cannot read symlink: " + e.getMessage());
                }
                List<String> t = split(target);
                for (int i = t.size() - 1; i >= 0; i--) todo.addFirst(t.get(i));
                if (target.startsWith("/")) done.clear();
                followed = true;
                continue;
            }
            done.add(c);
            if (!Files.exists(here, LinkOption.NOFOLLOW_LINKS)) {
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
            }
        }
        // stage2 resolves the path as written (in root); the resolved form only served the check.
        String rel = String.join("/", normalizeWritten(containerPath));
        return rel.isEmpty() ? "." : rel;
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
