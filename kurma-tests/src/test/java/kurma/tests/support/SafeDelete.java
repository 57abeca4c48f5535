package kurma.tests.support;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Recursive delete that never follows symlinks and never descends into (or unmounts) a mount
 * point: the tests unmount nothing they did not mount, so a mount a runtime leaked onto the
 * host is left in place and reported instead of having its content deleted.
 */
public final class SafeDelete {
    private SafeDelete() {}

    /** Mount points of this mount namespace, from /proc/self/mountinfo. */
    public static Set<Path> mountPoints() throws IOException {
        Set<Path> s = new HashSet<>();
        for (String line : Files.readAllLines(Paths.get("/proc/self/mountinfo"))) {
            String[] f = line.split(" ");
            if (f.length > 4) s.add(Paths.get(unescape(f[4])));
        }
        return s;
    }

    /** Mount points at or below {@code dir}. */
    public static List<Path> mountsUnder(Path dir) throws IOException {
        Path d = dir.toAbsolutePath().normalize();
        List<Path> l = new ArrayList<>();
        for (Path m : mountPoints()) if (m.startsWith(d)) l.add(m);
        return l;
    }

    public static String unescape(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 4 <= s.length()) {
                try {
                    b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                    i += 3;
                    continue;
                } catch (NumberFormatException | StringIndexOutOfBoundsException e) {
                    // not an octal escape
                }
            }
            b.append(c);
        }
        return b.toString();
    }

    /**
     * Deletes {@code dir} and everything below it except mount points (and what is under them).
     * Returns the mount points that were left alone (empty when everything is gone).
     */
    public static List<Path> deleteTree(Path dir) throws IOException {
        Path root = dir.toAbsolutePath().normalize();
        if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) return List.of();
        List<Path> mounts = mountsUnder(root);
        List<Path> skipped = new ArrayList<>();
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) {
                if (mounts.contains(d.toAbsolutePath().normalize())) {
                    skipped.add(d);
                    return FileVisitResult.SKIP_SUBTREE;
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) throws IOException {
                if (mounts.contains(f.toAbsolutePath().normalize())) {
                    skipped.add(f); // a file bind-mounted over
                    return FileVisitResult.CONTINUE;
                }
                try {
                    Files.delete(f);
                } catch (NoSuchFileException e) {
                    // gone already
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path f, IOException e) throws IOException {
                if (e instanceof NoSuchFileException) return FileVisitResult.CONTINUE;
                throw e;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                if (e != null && !(e instanceof NoSuchFileException)) throw e;
                boolean holdsSkipped = skipped.stream().anyMatch(s -> s.startsWith(d));
                if (!holdsSkipped) {
                    try {
                        Files.delete(d);
                    } catch (NoSuchFileException ignored) {
                        // gone already
                    }
                }
                return FileVisitResult.CONTINUE;
            }
        });
        return skipped;
    }
}
