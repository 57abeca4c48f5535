package kurma.sys;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The system calls Kurma's Java side makes itself, through the Foreign Function &amp; Memory API.
 *
 * <p>Binding a downcall costs start-up time (the first about 20 ms, each further one about
 * 5 ms, even from the AOT cache), and the runtime CLI is started several times per
 * container. So the container start path makes no native call at all (stage2 is spawned with
 * ProcessBuilder and takes what it needs itself), and the calls here, which only some
 * commands need (kill with any signal, prctl, a file for libseccomp to export into), all go
 * through one binding: libc's generic {@code syscall(2)}, with errno captured in the same call.
 */
public final class Libc {
    private Libc() {}

    private static final class Native {
        static final Linker LINKER = Linker.nativeLinker();
        static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
        static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
        static final MethodHandle SYSCALL = LINKER.downcallHandle(
                LINKER.defaultLookup().find("syscall").orElseThrow(),
                FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
                Linker.Option.captureCallState("errno"), Linker.Option.firstVariadicArg(1));
    }

    /** System call numbers, per architecture (the JVM runs on x86_64 or aarch64 Linux). */
    private static final boolean ARM = "aarch64".equals(System.getProperty("os.arch"));
    private static final long SYS_KILL = ARM ? 129 : 62, SYS_PRCTL = ARM ? 167 : 157, SYS_OPENAT = ARM ? 56 : 257,
            SYS_CLOSE = ARM ? 57 : 3, SYS_BPF = ARM ? 280 : 321, SYS_SOCKET = ARM ? 198 : 41, SYS_BIND = ARM ? 200 : 49,
            SYS_SENDTO = ARM ? 206 : 44, SYS_RECVFROM = ARM ? 207 : 45, SYS_PPOLL = ARM ? 73 : 271;
    private static final long AT_FDCWD = -100, O_WRONLY = 1, O_CREAT = 0100, O_TRUNC = 01000, O_CLOEXEC = 02000000;
    /** O_RDONLY is 0; O_DIRECTORY differs between x86_64 and the generic (aarch64) flags. */
    private static final long O_DIRECTORY = ARM ? 040000 : 0200000;

    /** syscall(2); returns the result, or -errno. */
    private static long sys(long nr, long a1, long a2, long a3) {
        return sys(nr, a1, a2, a3, 0);
    }

    private static long sys(long nr, long a1, long a2, long a3, long a4) {
        return sys6(nr, a1, a2, a3, a4, 0, 0);
    }

    /** syscall(2) with six arguments; returns the result or -errno. For the other classes of this package. */
    static long sys6(long nr, long a1, long a2, long a3, long a4, long a5, long a6) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(Native.CAPTURE);
            long r = (long) Native.SYSCALL.invokeExact(st, nr, a1, a2, a3, a4, a5, a6);
            return r == -1 ? -(int) Native.ERRNO.get(st, 0L) : r;
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** kill(2); returns 0 or the errno (ESRCH for a process that is gone). */
    public static int kill(int pid, int signal) {
        long r = sys(SYS_KILL, pid, signal, 0);
        return r == 0 ? 0 : (int) -r;
    }

    /** A new (or truncated) file for writing, for a C library that writes to an fd. */
    public static int openForWriting(String path, int mode) {
        try (Arena a = Arena.ofConfined()) {
            long r = sys(SYS_OPENAT, AT_FDCWD, a.allocateFrom(path).address(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
            if (r < 0) throw new SysException("open " + path, (int) -r);
            return (int) r;
        }
    }

    /** A directory opened read-only (close-on-exec), e.g. a cgroup for bpf(BPF_PROG_ATTACH). */
    public static int openDirectory(String path) {
        try (Arena a = Arena.ofConfined()) {
            long r = sys(SYS_OPENAT, AT_FDCWD, a.allocateFrom(path).address(), O_DIRECTORY | O_CLOEXEC, 0);
            if (r < 0) throw new SysException("open " + path, (int) -r);
            return (int) r;
        }
    }

    /**
     * bpf(2) with {@code size} bytes of {@code attr} (a union bpf_attr the caller filled, zero
     * past the fields it uses). Returns the result (a new fd for the commands that make one),
     * or -errno.
     */
    public static long bpf(int cmd, MemorySegment attr, long size) {
        return sys(SYS_BPF, cmd, attr.address(), size);
    }

    public static void close(int fd) {
        sys(SYS_CLOSE, fd, 0, 0);
    }

    // ---- unix datagram sockets (NOTIFY_SOCKET: sd_notify messages are datagrams, which the JDK's
    // unix-domain channels do not do)

    private static final long AF_UNIX = 1, SOCK_DGRAM = 2, SOCK_CLOEXEC = 02000000;

    /** A new unix datagram socket, bound to path (a leading '@' names an abstract address) unless path is null. */
    public static int unixDatagram(String path) {
        return unixSocket(SOCK_DGRAM, path);
    }

    /**
     * A new unix socket of {@code type} (close-on-exec), bound to path unless it is null. A path
     * too long for sun_path (108 bytes) is bound through an fd of its directory.
     */
    static int unixSocket(long type, String path) {
        if (path != null && !path.startsWith("@") && path.getBytes(java.nio.charset.StandardCharsets.UTF_8).length >= 108) {
            int slash = path.lastIndexOf('/');
            int dir = openDirectory(slash <= 0 ? "/" : path.substring(0, slash));
            try {
                return unixSocket(type, "/proc/self/fd/" + dir + "/" + path.substring(slash + 1));
            } finally {
                close(dir);
            }
        }
        long fd = sys(SYS_SOCKET, AF_UNIX, type | SOCK_CLOEXEC, 0);
        if (fd < 0) throw new SysException("socket", (int) -fd);
        if (path != null) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment sa = sockaddr(a, path);
                long r = sys(SYS_BIND, fd, sa.address(), sa.byteSize());
                if (r < 0) {
                    close((int) fd);
                    throw new SysException("bind " + path, (int) -r);
                }
            }
        }
        return (int) fd;
    }

    /** Sends one datagram to the socket at path; returns 0 or the errno. */
    public static int sendTo(int fd, byte[] data, String path) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sa = sockaddr(a, path), buf = a.allocate(Math.max(1, data.length));
            MemorySegment.copy(data, 0, buf, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, data.length);
            long r = sys6(SYS_SENDTO, fd, buf.address(), data.length, 0x4000 /* MSG_NOSIGNAL */, sa.address(), sa.byteSize());
            return r < 0 ? (int) -r : 0;
        }
    }

    /** Receives one datagram, waiting at most timeoutMs; null on timeout. */
    public static byte[] receive(int fd, int timeoutMs) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment pfd = a.allocate(8), ts = a.allocate(16), buf = a.allocate(65536);
            pfd.set(java.lang.foreign.ValueLayout.JAVA_INT, 0, fd);
            pfd.set(java.lang.foreign.ValueLayout.JAVA_SHORT, 4, (short) 1 /* POLLIN */);
            ts.set(JAVA_LONG, 0, timeoutMs / 1000);
            ts.set(JAVA_LONG, 8, (timeoutMs % 1000) * 1_000_000L);
            long r = sys(SYS_PPOLL, pfd.address(), 1, ts.address(), 0);
            if (r < 0 && r != -4 /* EINTR */) throw new SysException("ppoll", (int) -r);
            if (r <= 0) return null;
            long n = sys6(SYS_RECVFROM, fd, buf.address(), buf.byteSize(), 0, 0, 0);
            if (n < 0) throw new SysException("recvfrom", (int) -n);
            return buf.asSlice(0, n).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        }
    }

    /** struct sockaddr_un for path; '@' first is the abstract namespace (a NUL byte). */
    private static MemorySegment sockaddr(Arena a, String path) {
        byte[] p = path.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        if (p.length >= 108) throw new SysException("socket path " + path, 36 /* ENAMETOOLONG */);
        boolean abstractName = p.length > 0 && p[0] == '@';
        MemorySegment sa = a.allocate(2 + p.length + (abstractName ? 0 : 1));
        sa.set(java.lang.foreign.ValueLayout.JAVA_SHORT, 0, (short) AF_UNIX);
        MemorySegment.copy(p, 0, sa, java.lang.foreign.ValueLayout.JAVA_BYTE, 2, p.length);
        if (abstractName) sa.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 2, (byte) 0);
        return sa;
    }

    public static final int PR_SET_DUMPABLE = 4;

    public static void prctl(int option, long arg) {
        long r = sys(SYS_PRCTL, option, arg, 0);
        if (r < 0) throw new SysException("prctl " + option, (int) -r);
    }
}
