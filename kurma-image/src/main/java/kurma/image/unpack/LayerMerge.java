package kurma.image.unpack;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import kurma.sys.Fs;
import kurma.sys.SysException;

/**
 * The copy fallback for a root filesystem where overlayfs cannot be used: applies snapshot
 * directories (in the overlay form {@link LayerUnpacker} writes) one over the other into one
 * directory, giving what the overlay mount would show. A 0:0 character device deletes its
 * path, a directory marked trusted.overlay.opaque=y is emptied before its own entries are
 * copied, everything else is copied with owner, mode, times, xattrs, and hard links kept as
 * hard links (within one layer, as overlayfs keeps them). The target is written through the
 * same {@link TreeWriter} as a layer, so a lower layer's symbolic link can never make an upper
 * layer's file land outside the target.
 */
public final class LayerMerge {
    private LayerMerge() {}

    /** Applies {@code lowerToUpper} in order to {@code target}, an existing (normally empty) directory. */
    public static void merge(List<Path> lowerToUpper, Path target) throws IOException {
        try (TreeWriter writer = TreeWriter.open(target, TreeWriter.Mode.MERGE)) {
            for (Path layer : lowerToUpper) {
                int fd = Fs.openat(Fs.AT_FDCWD, layer.toString(), Fs.O_RDONLY | Fs.O_DIRECTORY | Fs.O_NOFOLLOW, 0);
                if (fd < 0) throw new IOException("open " + layer + ": " + new SysException("open", -fd).getMessage());
                try {
                    new Walk(writer).directory(fd, "", Fs.statx(fd, "", Fs.AT_EMPTY_PATH));
                } catch (SysException e) {
                    throw new IOException("copying " + layer + ": " + e.getMessage(), e);
                } finally {
                    Fs.close(fd);
                }
            }
            writer.finish();
        }
    }

    /** One layer's walk; remembers the first path of each multiply linked inode. */
    private static final class Walk {
        private final TreeWriter writer;
        private final Map<Long, String> linked = new HashMap<>();

        Walk(TreeWriter writer) {
            this.writer = writer;
        }

        /** Emits the directory at {@code path} (open as {@code fd}) and all under it. */
        void directory(int fd, String path, Fs.Stat st) throws IOException {
            // "/." so that the magic link is followed: l*xattr would read the link's own.
            Map<String, byte[]> xattrs = xattrs("/proc/self/fd/" + fd + "/.");
            byte[] opaque = xattrs.remove(TreeWriter.OPAQUE_XATTR);
            writer.apply(new Entry.Directory(path, attrs(st, xattrs)), null);
            if (opaque != null && opaque.length == 1 && opaque[0] == 'y') writer.apply(new Entry.Opaque(path), null);
            for (String name : Fs.listDirectory(fd)) {
                String child = path.isEmpty() ? name : path + "/" + name;
                String childProc = "/proc/self/fd/" + fd + "/" + name;
                Fs.Stat cs = Fs.statx(fd, name, Fs.AT_SYMLINK_NOFOLLOW);
                switch (cs.type()) {
                    case Fs.S_IFDIR -> {
                        int sub = (int) Fs.check(Fs.openat(fd, name, Fs.O_RDONLY | Fs.O_DIRECTORY | Fs.O_NOFOLLOW, 0), "open " + child);
                        try {
                            directory(sub, child, cs);
                        } finally {
                            Fs.close(sub);
                        }
                    }
                    case Fs.S_IFREG -> file(fd, name, child, cs, childProc);
                    case Fs.S_IFLNK -> writer.apply(new Entry.Symlink(child, attrs(cs, xattrs(childProc)), Fs.readlinkat(fd, name)), null);
                    case Fs.S_IFCHR -> {
                        if (cs.rdevMajor() == 0 && cs.rdevMinor() == 0) writer.apply(new Entry.Whiteout(child), null);
                        else writer.apply(device(child, cs, childProc, Entry.Device.Kind.CHAR), null);
                    }
                    case Fs.S_IFBLK -> writer.apply(device(child, cs, childProc, Entry.Device.Kind.BLOCK), null);
                    case Fs.S_IFIFO -> writer.apply(device(child, cs, childProc, Entry.Device.Kind.FIFO), null);
                    default -> { } // a socket: no layer has one (tar cannot carry it)
                }
            }
        }

        private void file(int dirfd, String name, String path, Fs.Stat st, String proc) throws IOException {
            if (st.nlink() > 1) {
                String first = linked.putIfAbsent(st.ino(), path);
                if (first != null) {
                    writer.apply(new Entry.HardLink(path, first), null);
                    return;
                }
            }
            writer.apply(new Entry.RegularFile(path, attrs(st, xattrs(proc)), st.size()), out -> {
                int in = (int) Fs.check(Fs.openat(dirfd, name, Fs.O_RDONLY | Fs.O_NOFOLLOW, 0), "open " + path);
                try {
                    Fs.check(Fs.copyAll(in, out), "copy " + path);
                } finally {
                    Fs.close(in);
                }
            });
        }

        private static Entry.Device device(String path, Fs.Stat st, String proc, Entry.Device.Kind kind) {
            return new Entry.Device(path, attrs(st, xattrs(proc)), kind, st.rdevMajor(), st.rdevMinor());
        }

        private static Map<String, byte[]> xattrs(String proc) {
            Map<String, byte[]> out = new HashMap<>();
            for (String name : Fs.llistxattr(proc)) {
                byte[] v = Fs.lgetxattr(proc, name);
                if (v != null) out.put(name, v);
            }
            return out;
        }

        private static Attrs attrs(Fs.Stat st, Map<String, byte[]> xattrs) {
            return new Attrs(st.uid(), st.gid(), st.mode(), st.mtimeSec(), st.mtimeNsec(), xattrs);
        }
    }
}
