package kurma.sys;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * File system system calls relative to directory file descriptors ({@code openat},
 * {@code mkdirat}, {@code mknodat}, ...), extended attributes, {@code mount}, {@code flock}, for
 * the image library, which unpacks untrusted tar layers and must never let a path it did not
 * check lead it out of a directory. Everything goes through {@link Libc}'s one FFM binding of
 * libc's {@code syscall(2)} (errno captured in the same call), bound on first use: the runtime
 * CLI's start path, which uses none of this, never binds it.
 *
 * <p>Calls return the kernel's result, or {@code -errno} on failure, because callers routinely
 * handle some errors (EEXIST, ENOENT) as answers; {@link #check} turns the rest into a
 * {@link SysException}. Paths are passed as UTF-8 and may not contain NUL, which would
 * silently cut them short on the C side.
 */
public final class Fs {
    private Fs() {}

    private static final boolean ARM = "aarch64".equals(System.getProperty("os.arch"));

    /** System call numbers: x86_64, or the generic table aarch64 uses. */
    private static final long SYS_READ = ARM ? 63 : 0, SYS_WRITE = ARM ? 64 : 1, SYS_CLOSE = ARM ? 57 : 3,
            SYS_FCHMOD = ARM ? 52 : 91, SYS_FCHOWN = ARM ? 55 : 93, SYS_FLOCK = ARM ? 32 : 73,
            SYS_MOUNT = ARM ? 40 : 165, SYS_UMOUNT2 = ARM ? 39 : 166, SYS_LSETXATTR = ARM ? 6 : 189,
            SYS_FSETXATTR = ARM ? 7 : 190, SYS_LGETXATTR = ARM ? 9 : 192, SYS_LLISTXATTR = ARM ? 12 : 195,
            SYS_GETDENTS64 = ARM ? 61 : 217, SYS_OPENAT = ARM ? 56 : 257, SYS_MKDIRAT = ARM ? 34 : 258,
            SYS_MKNODAT = ARM ? 33 : 259, SYS_FCHOWNAT = ARM ? 54 : 260, SYS_UNLINKAT = ARM ? 35 : 263,
            SYS_LINKAT = ARM ? 37 : 265, SYS_SYMLINKAT = ARM ? 36 : 266, SYS_READLINKAT = ARM ? 78 : 267,
            SYS_FCHMODAT = ARM ? 53 : 268, SYS_UTIMENSAT = ARM ? 88 : 280, SYS_RENAMEAT2 = ARM ? 276 : 316,
            SYS_COPY_FILE_RANGE = ARM ? 285 : 326, SYS_STATX = ARM ? 291 : 332, SYS_OPENAT2 = 437;

    /** errno values callers of these calls test, beyond those {@link Errno} names. */
    public static final int ENODEV = 19, ERANGE = 34, ENOSYS = 38, ENODATA = 61, EOPNOTSUPP = 95;

    public static final int AT_FDCWD = -100;
    public static final int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CREAT = 0100, O_EXCL = 0200, O_TRUNC = 01000,
            O_NONBLOCK = 04000, O_CLOEXEC = 02000000, O_PATH = 010000000;
    /** O_DIRECTORY and O_NOFOLLOW differ between x86_64 and the generic (aarch64) flags. */
    public static final int O_DIRECTORY = ARM ? 040000 : 0200000, O_NOFOLLOW = ARM ? 0100000 : 0400000;
    public static final int AT_SYMLINK_NOFOLLOW = 0x100, AT_REMOVEDIR = 0x200, AT_EMPTY_PATH = 0x1000;
    public static final int RESOLVE_NO_XDEV = 0x01, RESOLVE_NO_MAGICLINKS = 0x02, RESOLVE_NO_SYMLINKS = 0x04,
            RESOLVE_BENEATH = 0x08, RESOLVE_IN_ROOT = 0x10;
    public static final int S_IFMT = 0170000, S_IFSOCK = 0140000, S_IFLNK = 0120000, S_IFREG = 0100000,
            S_IFBLK = 0060000, S_IFDIR = 0040000, S_IFCHR = 0020000, S_IFIFO = 0010000;
    public static final int RENAME_NOREPLACE = 1;
    public static final int LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4, LOCK_UN = 8;
    public static final int MNT_DETACH = 2;
    /** statx attribute: the path is the root of a mount (Linux 5.8). */
    public static final long STATX_ATTR_MOUNT_ROOT = 0x2000;

    private static long sys(long nr, long a1, long a2, long a3, long a4, long a5, long a6) {
        return Libc.sys6(nr, a1, a2, a3, a4, a5, a6);
    }

    private static long sys(long nr, long a1, long a2, long a3) {
        return sys(nr, a1, a2, a3, 0, 0, 0);
    }

    /** The result if it is not an error; else a SysException naming {@code what}. */
    public static long check(long result, String what) {
        if (result < 0) throw new SysException(what, (int) -result);
        return result;
    }

    private static MemorySegment str(Arena a, String s) {
        if (s.indexOf('\0') >= 0) throw new IllegalArgumentException("path contains a NUL byte: " + s.replace('\0', '?'));
        return a.allocateFrom(s, StandardCharsets.UTF_8);
    }

    public static int openat(int dirfd, String path, int flags, int mode) {
        try (Arena a = Arena.ofConfined()) {
            return (int) sys(SYS_OPENAT, dirfd, str(a, path).address(), flags | O_CLOEXEC, mode);
        }
    }

    /** openat2(2) with a struct open_how; -ENOSYS on kernels before 5.6. */
    public static int openat2(int dirfd, String path, int flags, int mode, int resolve) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment how = a.allocate(24, 8);
            how.set(JAVA_LONG, 0, flags | O_CLOEXEC);
            how.set(JAVA_LONG, 8, mode);
            how.set(JAVA_LONG, 16, resolve);
            return (int) sys(SYS_OPENAT2, dirfd, str(a, path).address(), how.address(), 24, 0, 0);
        }
    }

    public static int close(int fd) {
        return (int) sys(SYS_CLOSE, fd, 0, 0);
    }

    public static long read(int fd, MemorySegment buf, long len) {
        return sys(SYS_READ, fd, buf.address(), len);
    }

    /** Writes all of {@code len} bytes (retrying short writes); 0 or -errno. */
    public static long writeFully(int fd, MemorySegment buf, long len) {
        long done = 0;
        while (done < len) {
            long r = sys(SYS_WRITE, fd, buf.address() + done, len - done);
            if (r == -Errno.EINTR) continue;
            if (r < 0) return r;
            done += r;
        }
        return 0;
    }

    public static int mkdirat(int dirfd, String name, int mode) {
        try (Arena a = Arena.ofConfined()) {
            return (int) sys(SYS_MKDIRAT, dirfd, str(a, name).address(), mode);
        }
    }

    /** mknodat(2); {@code mode} includes the file type (S_IFCHR, S_IFBLK, S_IFIFO). */
    public static int mknodat(int dirfd, String name, int mode, int major, int minor) {
        try (Arena a = Arena.ofConfined()) {
            return (int) sys(SYS_MKNODAT, dirfd, str(a, name).address(), mode, makedev(major, minor));
        }
    }

    /** The kernel's dev_t encoding of glibc's makedev(3). */
    public static long makedev(int major, int minor) {
        long ma = major & 0xffffffffL, mi = minor & 0xffffffffL;
        return (mi & 0xff) | ((ma & 0xfff) << 8) | ((mi & ~0xffL) << 12) | ((ma & ~0xfffL) << 32);
    }

    public static int symlinkat(String target, int dirfd, String name) {
        try (Arena a = Arena.ofConfined()) {
            return (int) sys(SYS_SYMLINKAT, str(a, target).address(), dirfd, str(a, name).address());
        }
    }

    /** linkat(2); with flags 0 a symbolic link at {@code oldName} is linked itself, not followed. */
    public static int linkat(int oldDirfd, String oldName, int newDirfd, String newName, int flags) {
        try (Arena a = Arena.ofConfined()) {
            return (int) sys(SYS_LINKAT, oldDirfd, str(a, oldName).address(), newDirfd, str(a, newName).address(), flags, 0);
        }
    }

    public static int unlinkat(int dirfd, String name, int flags) {
        try (Arena a = Arena.ofConfined()) {
            return (int) sys(SYS_UNLINKAT, dirfd, str(a, name).address(), flags);
        }
    }

    public static int renameat2(int oldDirfd, String oldName, int newDirfd, String newName, int flags) {
        try (Arena a = Arena.ofConfined()) {
            return (int) sys(SYS_RENAMEAT2, oldDirfd, str(a, oldName).address(), newDirfd, str(a, newName).address(), flags, 0);
        }
    }

    /** The target of the symbolic link {@code name} (Linux limits targets to 4095 bytes). */
    public static String readlinkat(int dirfd, String name) {
        try (Arena a = Arena.ofConfined()) {
            int size = 4096;
            MemorySegment buf = a.allocate(size);
            long r = check(sys(SYS_READLINKAT, dirfd, str(a, name).address(), buf.address(), size), "readlink " + name);
            return new String(buf.asSlice(0, r).toArray(JAVA_BYTE), StandardCharsets.UTF_8);
        }
    }

    private static long sys(long nr, long a1, long a2, long a3, long a4) {
        return sys(nr, a1, a2, a3, a4, 0, 0);
    }

    public static int fchownat(int dirfd, String name, int uid, int gid, int flags) {
        try (Arena a = Arena.ofConfined()) {
            return (int) sys(SYS_FCHOWNAT, dirfd, str(a, name).address(), uid, gid, flags, 0);
        }
    }

    public static int fchown(int fd, int uid, int gid) {
        return (int) sys(SYS_FCHOWN, fd, uid, gid);
    }

    public static int fchmod(int fd, int mode) {
        return (int) sys(SYS_FCHMOD, fd, mode, 0);
    }

    /** fchmodat(2), which follows a final symbolic link: only for names known not to be one. */
    public static int fchmodat(int dirfd, String name, int mode) {
        try (Arena a = Arena.ofConfined()) {
            return (int) sys(SYS_FCHMODAT, dirfd, str(a, name).address(), mode);
        }
    }

    /**
     * utimensat(2) setting both access and modification time to {@code sec.nsec}; with a null
     * {@code name}, the file {@code dirfd} itself.
     */
    public static int utimensat(int dirfd, String name, long sec, int nsec, int flags) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ts = a.allocate(32, 8);
            ts.set(JAVA_LONG, 0, sec);
            ts.set(JAVA_LONG, 8, nsec);
            ts.set(JAVA_LONG, 16, sec);
            ts.set(JAVA_LONG, 24, nsec);
            long path = name == null ? 0 : str(a, name).address();
            return (int) sys(SYS_UTIMENSAT, dirfd, path, ts.address(), flags);
        }
    }

    public static int fsetxattr(int fd, String name, byte[] value) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(Math.max(1, value.length));
            MemorySegment.copy(value, 0, v, JAVA_BYTE, 0, value.length);
            return (int) sys(SYS_FSETXATTR, fd, str(a, name).address(), v.address(), value.length, 0, 0);
        }
    }

    /** lsetxattr(2): on {@code path} itself when it is a symbolic link. */
    public static int lsetxattr(String path, String name, byte[] value) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(Math.max(1, value.length));
            MemorySegment.copy(value, 0, v, JAVA_BYTE, 0, value.length);
            return (int) sys(SYS_LSETXATTR, str(a, path).address(), str(a, name).address(), v.address(), value.length, 0, 0);
        }
    }

    /** The names of {@code path}'s extended attributes (not following a final symbolic link). */
    public static List<String> llistxattr(String path) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = str(a, path);
            for (;;) {
                long size = check(sys(SYS_LLISTXATTR, p.address(), 0, 0), "listxattr " + path);
                if (size == 0) return List.of();
                MemorySegment buf = a.allocate(size);
                long r = sys(SYS_LLISTXATTR, p.address(), buf.address(), size);
                if (r == -ERANGE) continue; // the list grew between the two calls
                check(r, "listxattr " + path);
                List<String> names = new ArrayList<>();
                byte[] bytes = buf.asSlice(0, r).toArray(JAVA_BYTE);
                for (int start = 0, i = 0; i < bytes.length; i++) {
                    if (bytes[i] == 0) {
                        names.add(new String(bytes, start, i - start, StandardCharsets.UTF_8));
                        start = i + 1;
                    }
                }
                return names;
            }
        }
    }

    /** The value of one extended attribute of {@code path}, or null if it has none by that name. */
    public static byte[] lgetxattr(String path, String name) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = str(a, path), n = str(a, name);
            for (;;) {
                long size = sys(SYS_LGETXATTR, p.address(), n.address(), 0, 0);
                if (size == -ENODATA) return null;
                check(size, "getxattr " + name + " of " + path);
                MemorySegment buf = a.allocate(Math.max(1, size));
                long r = sys(SYS_LGETXATTR, p.address(), n.address(), buf.address(), size);
                if (r == -ERANGE) continue; // the value grew between the two calls
                check(r, "getxattr " + name + " of " + path);
                return buf.asSlice(0, r).toArray(JAVA_BYTE);
            }
        }
    }

    /** What statx(2) tells about a file; times are seconds and nanoseconds. */
    public record Stat(int mode, int uid, int gid, long ino, long size, int nlink, int rdevMajor, int rdevMinor,
            int devMajor, int devMinor, long mtimeSec, int mtimeNsec, long attributes) {
        public int type() {
            return mode & S_IFMT;
        }

        public boolean isDirectory() {
            return type() == S_IFDIR;
        }

        public boolean isSymlink() {
            return type() == S_IFLNK;
        }

        public boolean isRegular() {
            return type() == S_IFREG;
        }

        public boolean isMountRoot() {
            return (attributes & STATX_ATTR_MOUNT_ROOT) != 0;
        }
    }

    /** statx(2) of {@code name} relative to {@code dirfd} (flags e.g. AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH). */
    public static Stat statx(int dirfd, String name, int flags) {
        Stat[] out = new Stat[1];
        long r = statx(dirfd, name, flags, out);
        check(r, "stat " + name);
        return out[0];
    }

    /** statx(2): 0 with the result in {@code out[0]}, or -errno. */
    public static long statx(int dirfd, String name, int flags, Stat[] out) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(256, 8);
            long r = sys(SYS_STATX, dirfd, str(a, name).address(), flags, 0x7ff /* STATX_BASIC_STATS */, buf.address(), 0);
            if (r < 0) return r;
            out[0] = new Stat(buf.get(JAVA_SHORT, 28) & 0xffff, buf.get(JAVA_INT, 20), buf.get(JAVA_INT, 24),
                    buf.get(JAVA_LONG, 32), buf.get(JAVA_LONG, 40), buf.get(JAVA_INT, 16), buf.get(JAVA_INT, 128),
                    buf.get(JAVA_INT, 132), buf.get(JAVA_INT, 136), buf.get(JAVA_INT, 140), buf.get(JAVA_LONG, 112),
                    buf.get(JAVA_INT, 120), buf.get(JAVA_LONG, 8) & buf.get(JAVA_LONG, 56));
            return 0;
        }
    }

    /** The names in the open directory {@code dirfd}, without "." and "..". */
    public static List<String> listDirectory(int dirfd) {
        List<String> names = new ArrayList<>();
        try (Arena a = Arena.ofConfined()) {
            int size = 32768;
            MemorySegment buf = a.allocate(size, 8);
            for (;;) {
                long n = check(sys(SYS_GETDENTS64, dirfd, buf.address(), size), "getdents64");
                if (n == 0) return names;
                for (long off = 0; off < n; ) {
                    int reclen = buf.get(JAVA_SHORT, off + 16) & 0xffff;
                    long nameStart = off + 19;
                    long end = nameStart;
                    while (buf.get(JAVA_BYTE, end) != 0) end++;
                    String name = new String(buf.asSlice(nameStart, end - nameStart).toArray(JAVA_BYTE), StandardCharsets.UTF_8);
                    if (!name.equals(".") && !name.equals("..")) names.add(name);
                    off += reclen;
                }
            }
        }
    }

    /**
     * Copies everything from {@code in} (from its offset) to {@code out}: copy_file_range(2),
     * which lets the file system share or copy blocks in the kernel, or read and write where
     * the kernel refuses it (EXDEV between different file systems, e.g. ext4 to overlayfs, or
     * before Linux 5.3). Bytes copied, or -errno.
     */
    public static long copyAll(int in, int out) {
        long total = 0;
        for (;;) {
            long r = sys(SYS_COPY_FILE_RANGE, in, 0, out, 0, 1L << 30, 0);
            if (r == -Errno.EINTR) continue;
            if (total == 0 && (r == -Errno.EXDEV || r == -Errno.EINVAL || r == -ENOSYS || r == -EOPNOTSUPP)) {
                return readWriteAll(in, out);
            }
            if (r < 0) return r;
            if (r == 0) return total;
            total += r;
        }
    }

    private static long readWriteAll(int in, int out) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(1 << 20);
            long total = 0;
            for (;;) {
                long n = read(in, buf, buf.byteSize());
                if (n == -Errno.EINTR) continue;
                if (n <= 0) return n < 0 ? n : total;
                long w = writeFully(out, buf, n);
                if (w < 0) return w;
                total += n;
            }
        }
    }

    public static int flock(int fd, int op) {
        return (int) sys(SYS_FLOCK, fd, op, 0);
    }

    /** mount(2); {@code data} may be null. */
    public static int mount(String source, String target, String fstype, long flags, String data) {
        try (Arena a = Arena.ofConfined()) {
            long d = data == null ? 0 : str(a, data).address();
            return (int) sys(SYS_MOUNT, str(a, source).address(), str(a, target).address(), str(a, fstype).address(),
                    flags, d, 0);
        }
    }

    public static int umount2(String target, int flags) {
        try (Arena a = Arena.ofConfined()) {
            return (int) sys(SYS_UMOUNT2, str(a, target).address(), flags, 0);
        }
    }
}
