package kurma.image.unpack;

import java.io.IOException;
import java.nio.file.Path;

import kurma.sys.Errno;
import kurma.sys.Fs;
import kurma.sys.SysException;

/**
 * Removing a directory tree the way the unpacker writes one: through directory file
 * descriptors, never following a symbolic link, and never crossing into another mount (a
 * leftover bind or overlay mount inside a snapshot or container directory must be an error,
 * not a way to delete what it shows).
 */
public final class Trees {
    private Trees() {}

    /** Removes {@code path} and everything under it; nothing happens if it does not exist. */
    public static void removeRecursively(Path path) throws IOException {
        Path abs = path.toAbsolutePath();
        Path parent = abs.getParent();
        if (parent == null) throw new IOException("refusing to remove /");
        int pfd = Fs.openat(Fs.AT_FDCWD, parent.toString(), Fs.O_PATH | Fs.O_DIRECTORY, 0);
        if (pfd == -Errno.ENOENT) return;
        Fs.check(pfd, "open " + parent);
        try {
            String name = abs.getFileName().toString();
            Fs.Stat[] st = new Fs.Stat[1];
            long r = Fs.statx(pfd, name, Fs.AT_SYMLINK_NOFOLLOW, st);
            if (r == -Errno.ENOENT) return;
            Fs.check(r, "stat " + abs);
            remove(pfd, name, st[0], abs.toString());
        } catch (SysException e) {
            throw new IOException("removing " + abs + ": " + e.getMessage(), e);
        } finally {
            Fs.close(pfd);
        }
    }

    /** Removes {@code name} in {@code dirfd}, whose statx is {@code st}; recursively if a directory. */
    static void remove(int dirfd, String name, Fs.Stat st, String shown) throws IOException {
        if (!st.isDirectory()) {
            Fs.check(Fs.unlinkat(dirfd, name, 0), "unlink " + shown);
            return;
        }
        if (st.isMountRoot()) throw new IOException(shown + " is a mount point; unmount it first");
        removeContents(dirfd, name, st, shown);
        Fs.check(Fs.unlinkat(dirfd, name, Fs.AT_REMOVEDIR), "rmdir " + shown);
    }

    /** Empties the directory {@code name} in {@code dirfd} (statx {@code st}), keeping it. */
    static void removeContents(int dirfd, String name, Fs.Stat st, String shown) throws IOException {
        int fd = (int) Fs.check(Fs.openat(dirfd, name, Fs.O_RDONLY | Fs.O_DIRECTORY | Fs.O_NOFOLLOW, 0), "open " + shown);
        try {
            for (String child : Fs.listDirectory(fd)) {
                Fs.Stat cs = Fs.statx(fd, child, Fs.AT_SYMLINK_NOFOLLOW);
                String shownChild = shown + "/" + child;
                if (cs.isDirectory() && (cs.devMajor() != st.devMajor() || cs.devMinor() != st.devMinor())) {
                    throw new IOException(shownChild + " is a mount point; unmount it first");
                }
                remove(fd, child, cs, shownChild);
            }
        } finally {
            Fs.close(fd);
        }
    }
}
