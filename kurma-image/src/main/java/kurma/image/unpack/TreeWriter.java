package kurma.image.unpack;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import kurma.sys.Errno;
import kurma.sys.Fs;
import kurma.sys.SysException;

/**
 * Applies {@link Entry entries} to a directory tree, safely: every operation is relative to
 * the file descriptor of the entry's parent directory, and that descriptor is reached from the
 * root one component at a time without following symbolic links ({@code openat2} with
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, or {@code openat} with O_NOFOLLOW per component). So
 * an entry whose parent is a symbolic link is refused, whatever the link points to, and
 * nothing is ever written outside the root. Entries are created with O_EXCL / mknodat /
 * symlinkat, which never follow a symbolic link in the last component either; an existing
 * entry at the same path is removed first (a directory over a directory is kept and merged).
 *
 * <p>Two modes. {@link Mode#OVERLAY} writes a layer as an overlayfs lower directory, the form
 * containerd gives its overlay snapshots: a whiteout becomes a 0:0 character device, an opaque
 * directory gets the xattr {@code trusted.overlay.opaque=y}. {@link Mode#MERGE} applies layers
 * one over the other in one directory (the copy fallback): a whiteout deletes its target, an
 * opaque directory is emptied.
 *
 * <p>Metadata order matters: chown clears setuid/setgid and file capabilities, so the owner is
 * set first, then the mode, then xattrs, then times; directory times are set at the end, after
 * their children stopped changing them.
 */
final class TreeWriter implements AutoCloseable {
    enum Mode { OVERLAY, MERGE }

    /** Writes a regular file's content to an open descriptor. */
    @FunctionalInterface
    interface Content {
        void copyTo(int fd) throws IOException;
    }

    static final String OPAQUE_XATTR = "trusted.overlay.opaque";
    private static final byte[] YES = {'y'};

    private final int rootFd;
    private final Mode mode;
    private boolean openat2 = true;
    /** The last parent directory used, by path: tar entries come grouped by directory. */
    private String cachedDir;
    private int cachedFd = -1;
    private final List<Entry.Directory> dirTimes = new ArrayList<>();
    /** The entry being applied, for error messages. */
    private String current = "";

    private TreeWriter(int rootFd, Mode mode) {
        this.rootFd = rootFd;
        this.mode = mode;
    }

    static TreeWriter open(Path root, Mode mode) throws IOException {
        int fd = Fs.openat(Fs.AT_FDCWD, root.toString(), Fs.O_RDONLY | Fs.O_DIRECTORY | Fs.O_NOFOLLOW, 0);
        if (fd < 0) throw new IOException("open " + root + ": " + new SysException("open", -fd).getMessage());
        return new TreeWriter(fd, mode);
    }

    void apply(Entry e, Content content) throws IOException {
        current = e.path();
        try {
            switch (e) {
                case Entry.Directory d -> directory(d);
                case Entry.RegularFile f -> file(f, content);
                case Entry.Symlink s -> symlink(s);
                case Entry.HardLink h -> hardLink(h);
                case Entry.Device d -> device(d);
                case Entry.Whiteout w -> whiteout(w);
                case Entry.Opaque o -> opaque(o);
            }
        } catch (SysException ex) {
            throw new LayerException(where() + ex.getMessage(), ex);
        }
    }

    /** Sets the directory times that children kept changing; call once all entries are applied. */
    void finish() throws IOException {
        current = "";
        try {
            for (Entry.Directory d : dirTimes) {
                Attrs a = d.attrs();
                if (d.path().isEmpty()) {
                    Fs.check(Fs.utimensat(rootFd, null, a.mtimeSec(), a.mtimeNsec(), 0), "utimensat /");
                    continue;
                }
                int p = openDir(parentOf(d.path()), false);
                if (p < 0) continue; // removed by a later entry
                try {
                    Fs.Stat st = existing(p, nameOf(d.path()));
                    if (st != null && st.isDirectory()) {
                        Fs.check(Fs.utimensat(p, nameOf(d.path()), a.mtimeSec(), a.mtimeNsec(), Fs.AT_SYMLINK_NOFOLLOW),
                                "utimensat " + d.path());
                    }
                } finally {
                    Fs.close(p);
                }
            }
        } catch (SysException ex) {
            throw new LayerException(ex.getMessage(), ex);
        }
        dirTimes.clear();
    }

    @Override
    public void close() {
        dropCache();
        Fs.close(rootFd);
    }

    private String where() {
        return current.isEmpty() ? "/: " : EntryPaths.quote(current) + ": ";
    }

    private LayerException refuse(String why) {
        return new LayerException(where() + why);
    }

    // ---- entries ----

    private void directory(Entry.Directory d) throws IOException {
        if (d.path().isEmpty()) {
            setAttrs(rootFd, d.attrs(), true);
            dirTimes.add(d);
            return;
        }
        int p = parent(parentOf(d.path()), true);
        String name = nameOf(d.path());
        Fs.Stat st = existing(p, name);
        if (st != null && !st.isDirectory()) {
            Trees.remove(p, name, st, d.path());
            st = null;
        }
        if (st == null) Fs.check(Fs.mkdirat(p, name, 0700), "mkdir");
        int fd = (int) Fs.check(Fs.openat(p, name, Fs.O_RDONLY | Fs.O_DIRECTORY | Fs.O_NOFOLLOW, 0), "open");
        try {
            setAttrs(fd, d.attrs(), true);
        } finally {
            Fs.close(fd);
        }
        dirTimes.add(d);
    }

    private void file(Entry.RegularFile f, Content content) throws IOException {
        if (f.path().isEmpty()) throw refuse("the layer root must be a directory");
        int p = parent(parentOf(f.path()), true);
        String name = nameOf(f.path());
        removeExisting(p, name);
        int fd = (int) Fs.check(Fs.openat(p, name, Fs.O_WRONLY | Fs.O_CREAT | Fs.O_EXCL | Fs.O_NOFOLLOW, 0600), "create");
        try {
            content.copyTo(fd);
            setAttrs(fd, f.attrs(), true);
            Fs.check(Fs.utimensat(fd, null, f.attrs().mtimeSec(), f.attrs().mtimeNsec(), 0), "utimensat");
        } finally {
            Fs.close(fd);
        }
    }

    private void symlink(Entry.Symlink s) throws IOException {
        if (s.path().isEmpty()) throw refuse("the layer root must be a directory");
        if (s.target().isEmpty() || s.target().indexOf('\0') >= 0) throw refuse("symbolic link with an empty or invalid target");
        int p = parent(parentOf(s.path()), true);
        String name = nameOf(s.path());
        removeExisting(p, name);
        Fs.check(Fs.symlinkat(s.target(), p, name), "symlink");
        setAttrsAt(p, name, s.attrs(), false);
    }

    private void hardLink(Entry.HardLink h) throws IOException {
        if (h.path().isEmpty()) throw refuse("the layer root must be a directory");
        if (h.target().isEmpty()) throw refuse("hard link to the layer root");
        int t = openDir(parentOf(h.target()), false);
        if (t < 0) throw refuse("hard link target " + EntryPaths.quote(h.target()) + " is not in this layer");
        try {
            String tname = nameOf(h.target());
            Fs.Stat ts = existing(t, tname);
            if (ts == null) throw refuse("hard link target " + EntryPaths.quote(h.target()) + " is not in this layer");
            if (ts.isDirectory()) throw refuse("hard link to the directory " + EntryPaths.quote(h.target()));
            int p = parent(parentOf(h.path()), true);
            String name = nameOf(h.path());
            Fs.Stat st = existing(p, name);
            if (st != null) {
                if (st.ino() == ts.ino() && st.devMajor() == ts.devMajor() && st.devMinor() == ts.devMinor()) return;
                Trees.remove(p, name, st, h.path());
            }
            Fs.check(Fs.linkat(t, tname, p, name, 0), "link to " + h.target());
        } finally {
            Fs.close(t);
        }
    }

    private void device(Entry.Device d) throws IOException {
        if (d.path().isEmpty()) throw refuse("the layer root must be a directory");
        int p = parent(parentOf(d.path()), true);
        String name = nameOf(d.path());
        removeExisting(p, name);
        int type = switch (d.kind()) {
            case CHAR -> Fs.S_IFCHR;
            case BLOCK -> Fs.S_IFBLK;
            case FIFO -> Fs.S_IFIFO;
        };
        Fs.check(Fs.mknodat(p, name, type | 0600, d.major(), d.minor()), "mknod");
        setAttrsAt(p, name, d.attrs(), true);
    }

    private void whiteout(Entry.Whiteout w) throws IOException {
        if (w.path().isEmpty()) throw refuse("whiteout of the layer root");
        String name = nameOf(w.path());
        if (mode == Mode.OVERLAY) {
            int p = parent(parentOf(w.path()), true);
            // A whiteout only hides what lower layers have (image-spec); an entry of this same
            // layer at that path stays.
            if (existing(p, name) != null) return;
            Fs.check(Fs.mknodat(p, name, Fs.S_IFCHR, 0, 0), "mknod whiteout");
        } else {
            int p = parent(parentOf(w.path()), false);
            if (p < 0) return;
            Fs.Stat st = existing(p, name);
            if (st != null) Trees.remove(p, name, st, w.path());
        }
    }

    private void opaque(Entry.Opaque o) throws IOException {
        if (mode == Mode.OVERLAY) {
            // The marker is an entry inside the directory: reached like any entry's parent,
            // so a symbolic link there is refused, and a missing directory made.
            int dirFd = openDir(o.path(), true);
            int fd;
            try {
                fd = (int) Fs.check(Fs.openat(dirFd, ".", Fs.O_RDONLY | Fs.O_DIRECTORY, 0), "open");
            } finally {
                Fs.close(dirFd);
            }
            try {
                Fs.check(Fs.fsetxattr(fd, OPAQUE_XATTR, YES), "setxattr " + OPAQUE_XATTR);
            } finally {
                Fs.close(fd);
            }
        } else if (o.path().isEmpty()) {
            // A descriptor of its own: listing moves the directory offset.
            int fd = (int) Fs.check(Fs.openat(rootFd, ".", Fs.O_RDONLY | Fs.O_DIRECTORY, 0), "open /");
            List<String> children;
            try {
                children = Fs.listDirectory(fd);
            } finally {
                Fs.close(fd);
            }
            for (String child : children) {
                Trees.remove(rootFd, child, Fs.statx(rootFd, child, Fs.AT_SYMLINK_NOFOLLOW), child);
            }
        } else {
            int p = parent(parentOf(o.path()), false);
            if (p < 0) return;
            Fs.Stat st = existing(p, nameOf(o.path()));
            if (st != null && st.isDirectory()) Trees.removeContents(p, nameOf(o.path()), st, o.path());
        }
    }

    // ---- helpers ----

    private void removeExisting(int p, String name) throws IOException {
        Fs.Stat st = existing(p, name);
        if (st != null) Trees.remove(p, name, st, current);
    }

    private static Fs.Stat existing(int dirfd, String name) {
        Fs.Stat[] out = new Fs.Stat[1];
        long r = Fs.statx(dirfd, name, Fs.AT_SYMLINK_NOFOLLOW, out);
        if (r == -Errno.ENOENT) return null;
        Fs.check(r, "stat " + name);
        return out[0];
    }

    /** Owner, mode, xattrs on an open file or directory. */
    private void setAttrs(int fd, Attrs a, boolean userXattrsAllowed) {
        Fs.check(Fs.fchown(fd, a.uid(), a.gid()), "chown");
        Fs.check(Fs.fchmod(fd, a.mode()), "chmod");
        for (Map.Entry<String, byte[]> x : a.xattrs().entrySet()) {
            if (skipXattr(x.getKey())) continue;
            int r = Fs.fsetxattr(fd, x.getKey(), x.getValue());
            if (r < 0) throw new SysException("setxattr " + x.getKey(), -r);
        }
    }

    /**
     * Owner, mode, xattrs and times on {@code name} in {@code p}, which is a symbolic link, a
     * device or a fifo: none of them may be opened (a fifo blocks, a device has side effects).
     */
    private void setAttrsAt(int p, String name, Attrs a, boolean chmod) {
        Fs.check(Fs.fchownat(p, name, a.uid(), a.gid(), Fs.AT_SYMLINK_NOFOLLOW), "chown");
        // fchmodat follows a final symbolic link; chmod is only asked for devices and fifos,
        // which this writer has just made with mknodat in a directory nobody else writes.
        if (chmod) Fs.check(Fs.fchmodat(p, name, a.mode()), "chmod");
        if (!a.xattrs().isEmpty()) {
            // No *at form of lsetxattr before Linux 6.13: the parent's descriptor through
            // /proc/self/fd names the same directory, and lsetxattr does not follow the last
            // component.
            String path = "/proc/self/fd/" + p + "/" + name;
            for (Map.Entry<String, byte[]> x : a.xattrs().entrySet()) {
                if (skipXattr(x.getKey())) continue;
                int r = Fs.lsetxattr(path, x.getKey(), x.getValue());
                // The kernel allows user.* xattrs only on regular files and directories, so
                // no file system could have had one here: nothing is lost by skipping it.
                if (r == -Errno.EPERM && x.getKey().startsWith("user.")) continue;
                if (r < 0) throw new SysException("setxattr " + x.getKey(), -r);
            }
        }
        Fs.check(Fs.utimensat(p, name, a.mtimeSec(), a.mtimeNsec(), Fs.AT_SYMLINK_NOFOLLOW), "utimensat");
    }

    /**
     * overlayfs reads trusted.overlay.* as its own metadata (opaque, redirect, metacopy...):
     * a layer must not be able to set them; the writer sets the opaque marker itself.
     */
    private static boolean skipXattr(String name) {
        return name.startsWith("trusted.overlay.");
    }

    private void makeImplicit(int p, String name) {
        int r = Fs.mkdirat(p, name, 0755);
        if (r == -Errno.EEXIST) return;
        Fs.check(r, "mkdir " + name);
        // mkdirat applies the process umask; the implicit mode is 0755 whatever it is.
        Fs.check(Fs.fchmodat(p, name, 0755), "chmod " + name);
    }

    /** The cached directory descriptor for {@code dir}; -1 if it is missing and not to be made. */
    private int parent(String dir, boolean create) throws IOException {
        if (dir.equals(cachedDir)) return cachedFd;
        int fd = openDir(dir, create);
        if (fd < 0) return -1;
        dropCache();
        cachedDir = dir;
        cachedFd = fd;
        return fd;
    }

    private void dropCache() {
        if (cachedFd >= 0) Fs.close(cachedFd);
        cachedFd = -1;
        cachedDir = null;
    }

    /**
     * An O_PATH descriptor (the caller's to close) of the directory {@code dir} under the root,
     * reached without following any symbolic link; -1 if a component is missing and
     * {@code create} is false. A component that is a symbolic link or not a directory is an
     * error naming it.
     */
    private int openDir(String dir, boolean create) throws IOException {
        if (dir.isEmpty()) return (int) Fs.check(Fs.openat(rootFd, ".", Fs.O_PATH | Fs.O_DIRECTORY, 0), "open /");
        if (openat2) {
            int fd = Fs.openat2(rootFd, dir, Fs.O_PATH | Fs.O_DIRECTORY, 0,
                    Fs.RESOLVE_BENEATH | Fs.RESOLVE_NO_SYMLINKS | Fs.RESOLVE_NO_MAGICLINKS);
            if (fd >= 0) return fd;
            if (fd == -Fs.ENOSYS) openat2 = false; // before Linux 5.6
            if (fd == -Errno.ENOENT && !create) return -1;
            // Otherwise walk it to make what is missing, or to name the offending component.
        }
        int cur = (int) Fs.check(Fs.openat(rootFd, ".", Fs.O_PATH | Fs.O_DIRECTORY, 0), "open /");
        try {
            int start = 0;
            while (start <= dir.length()) {
                int slash = dir.indexOf('/', start);
                if (slash < 0) slash = dir.length();
                String c = dir.substring(start, slash);
                String prefix = dir.substring(0, slash);
                int fd = Fs.openat(cur, c, Fs.O_PATH | Fs.O_DIRECTORY | Fs.O_NOFOLLOW, 0);
                if (fd == -Errno.ENOENT) {
                    if (!create) {
                        Fs.close(cur);
                        return -1;
                    }
                    makeImplicit(cur, c);
                    fd = Fs.openat(cur, c, Fs.O_PATH | Fs.O_DIRECTORY | Fs.O_NOFOLLOW, 0);
                }
                if (fd == -Errno.ENOTDIR || fd == -Errno.ELOOP) {
                    Fs.Stat st = existing(cur, c);
                    if (st != null && st.isSymlink()) {
                        throw refuse(EntryPaths.quote(prefix) + " is a symbolic link: entries are never written through one");
                    }
                    throw refuse(EntryPaths.quote(prefix) + " is not a directory");
                }
                Fs.check(fd, "open " + prefix);
                Fs.close(cur);
                cur = fd;
                start = slash + 1;
            }
            int r = cur;
            cur = -1;
            return r;
        } finally {
            if (cur >= 0) Fs.close(cur);
        }
    }

    static String parentOf(String path) {
        int i = path.lastIndexOf('/');
        return i < 0 ? "" : path.substring(0, i);
    }

    static String nameOf(String path) {
        return path.substring(path.lastIndexOf('/') + 1);
    }
}
