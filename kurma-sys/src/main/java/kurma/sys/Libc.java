package kurma.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The C library calls Kurma's Java side makes, through the Foreign Function &amp; Memory API.
 *
 * <p>Each function is bound lazily in its own holder class: binding a downcall costs
 * start-up time, and a CLI invocation such as {@code state} needs only one or two of them.
 * Calls that report failure through errno capture it in the same call, since the JVM may
 * itself make system calls between two Java statements.
 */
public final class Libc {
    private Libc() {}

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
            CAPTURE.varHandle(java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));

    private static MethodHandle bind(String name, FunctionDescriptor fd, Linker.Option... options) {
        MemorySegment addr = LINKER.defaultLookup().find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
        return LINKER.downcallHandle(addr, fd, options);
    }

    private static MethodHandle bindErrno(String name, FunctionDescriptor fd) {
        return bind(name, fd, Linker.Option.captureCallState("errno"));
    }

    private static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }

    // ------------------------------------------------------------------ signals, processes

    public static final int SIGKILL = 9, SIGTERM = 15;
    public static final int WNOHANG = 1;

    private static final class Kill {
        static final MethodHandle H = bindErrno("kill", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    }

    /** kill(2); returns 0 or the errno (ESRCH for a process that is gone). */
    public static int kill(int pid, int signal) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            int r = (int) Kill.H.invokeExact(st, pid, signal);
            return r == 0 ? 0 : errno(st);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static final class WaitPid {
        static final MethodHandle H = bindErrno("waitpid", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    }

    /**
     * waitpid(2) for one child. Returns the raw wait status, or -1 with WNOHANG when the child
     * has not changed state. Retries on EINTR.
     */
    public static int waitpid(int pid, int options) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            MemorySegment status = a.allocate(JAVA_INT);
            while (true) {
                int r = (int) WaitPid.H.invokeExact(st, pid, status, options);
                if (r == pid) return status.get(JAVA_INT, 0);
                if (r == 0) return -1;
                int e = errno(st);
                if (e != Errno.EINTR) throw new SysException("waitpid(" + pid + ")", e);
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Exit code of a wait status: the code, or 128+signal for a killed process (shell convention). */
    public static int exitCode(int waitStatus) {
        int sig = waitStatus & 0x7f;
        return sig == 0 ? (waitStatus >> 8) & 0xff : 128 + sig;
    }

    private static final class Prctl {
        static final MethodHandle H = bind("prctl",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
                Linker.Option.captureCallState("errno"), Linker.Option.firstVariadicArg(1));
    }

    public static final int PR_SET_DUMPABLE = 4, PR_SET_CHILD_SUBREAPER = 36;

    public static void prctl(int option, long arg) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            int r = (int) Prctl.H.invokeExact(st, option, arg, 0L, 0L, 0L);
            if (r != 0) throw new SysException("prctl(" + option + ")", errno(st));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static final class GetEuid {
        static final MethodHandle H = bind("geteuid", FunctionDescriptor.of(JAVA_INT));
    }

    public static int geteuid() {
        try {
            return (int) GetEuid.H.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ------------------------------------------------------------------ file descriptors

    public static final int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_NONBLOCK = 0x800, O_CLOEXEC = 0x80000;

    private static final class Open {
        static final MethodHandle H = bind("open", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT),
                Linker.Option.captureCallState("errno"), Linker.Option.firstVariadicArg(2));
    }

    public static int open(String path, int flags) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            int fd = (int) Open.H.invokeExact(st, a.allocateFrom(path), flags, 0);
            if (fd < 0) throw new SysException("open " + path, errno(st));
            return fd;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static final class Close {
        static final MethodHandle H = bind("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    }

    public static void close(int fd) {
        try {
            int ignored = (int) Close.H.invokeExact(fd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static final class Read {
        static final MethodHandle H = bindErrno("read", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    }

    /** read(2) into buf; returns the count (0 at end of file), retrying EINTR. */
    public static int read(int fd, MemorySegment buf, long len) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            while (true) {
                long n = (long) Read.H.invokeExact(st, fd, buf, len);
                if (n >= 0) return (int) n;
                int e = errno(st);
                if (e != Errno.EINTR) throw new SysException("read", e);
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Reads exactly buf.byteSize() bytes; returns false on end of file before the first byte. */
    public static boolean readFully(int fd, MemorySegment buf) {
        long done = 0;
        while (done < buf.byteSize()) {
            int n = read(fd, buf.asSlice(done), buf.byteSize() - done);
            if (n == 0) {
                if (done == 0) return false;
                throw new SysException("read (short message)", Errno.EIO);
            }
            done += n;
        }
        return true;
    }

    private static final class Write {
        static final MethodHandle H = bindErrno("write", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    }

    /** Writes all of buf, retrying short writes and EINTR. */
    public static void writeFully(int fd, MemorySegment buf) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            long done = 0;
            while (done < buf.byteSize()) {
                long n = (long) Write.H.invokeExact(st, fd, buf.asSlice(done), buf.byteSize() - done);
                if (n < 0) {
                    int e = errno(st);
                    if (e == Errno.EINTR) continue;
                    throw new SysException("write", e);
                }
                done += n;
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static final class Poll {
        static final MethodHandle H = bindErrno("poll", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
    }

    public static final short POLLIN = 1;

    /** poll(2) on one fd; returns its revents, 0 on time-out. */
    public static int pollOne(int fd, short events, int timeoutMillis) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            MemorySegment pfd = a.allocate(8, 4);
            pfd.set(JAVA_INT, 0, fd);
            pfd.set(ValueLayout.JAVA_SHORT, 4, events);
            int r = (int) Poll.H.invokeExact(st, pfd, 1L, timeoutMillis);
            if (r < 0) {
                int e = errno(st);
                if (e == Errno.EINTR) return 0;
                throw new SysException("poll", e);
            }
            return r == 0 ? 0 : pfd.get(ValueLayout.JAVA_SHORT, 6);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static final class SocketPair {
        static final MethodHandle H = bindErrno("socketpair", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
    }

    private static final int AF_UNIX = 1, SOCK_STREAM = 1, SOCK_CLOEXEC = 0x80000;

    /** A connected AF_UNIX stream socket pair, both ends close-on-exec. */
    public static int[] socketpair() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            MemorySegment fds = a.allocate(JAVA_INT, 2);
            int r = (int) SocketPair.H.invokeExact(st, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds);
            if (r != 0) throw new SysException("socketpair", errno(st));
            return new int[] {fds.getAtIndex(JAVA_INT, 0), fds.getAtIndex(JAVA_INT, 1)};
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static final class Mkfifo {
        static final MethodHandle H = bindErrno("mkfifo", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    }

    public static void mkfifo(String path, int mode) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CAPTURE);
            int r = (int) Mkfifo.H.invokeExact(st, a.allocateFrom(path), mode);
            if (r != 0) throw new SysException("mkfifo " + path, errno(st));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static final class Strerror {
        static final MethodHandle H = bind("strerror", FunctionDescriptor.of(ADDRESS, JAVA_INT));
    }

    public static String strerror(int errno) {
        try {
            MemorySegment s = (MemorySegment) Strerror.H.invokeExact(errno);
            return s.reinterpret(4096).getString(0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ------------------------------------------------------------------ posix_spawn

    private static final class Spawn {
        static final MethodHandle SPAWN = bind("posix_spawn",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        static final MethodHandle FA_INIT = bind("posix_spawn_file_actions_init", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        static final MethodHandle FA_DUP2 = bind("posix_spawn_file_actions_adddup2",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
        static final MethodHandle FA_DESTROY = bind("posix_spawn_file_actions_destroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        static final MethodHandle ATTR_INIT = bind("posix_spawnattr_init", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        static final MethodHandle ATTR_FLAGS = bind("posix_spawnattr_setflags", FunctionDescriptor.of(JAVA_INT, ADDRESS, ValueLayout.JAVA_SHORT));
        static final MethodHandle ATTR_SIGMASK = bind("posix_spawnattr_setsigmask", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        static final MethodHandle ATTR_SIGDEF = bind("posix_spawnattr_setsigdefault", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        static final MethodHandle ATTR_DESTROY = bind("posix_spawnattr_destroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        static final MethodHandle SIGEMPTY = bind("sigemptyset", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        static final MethodHandle SIGFILL = bind("sigfillset", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    }

    private static final short POSIX_SPAWN_SETSIGDEF = 0x04, POSIX_SPAWN_SETSIGMASK = 0x08;

    /**
     * Starts {@code path} with posix_spawn, which is safe from a multi-threaded JVM (unlike
     * fork). The child gets an empty environment, an empty signal mask and default signal
     * dispositions; {@code dup2} lists (from, to) fd pairs applied in order. Every other fd
     * keeps its close-on-exec flag, so only fds the caller inherited without it get through.
     */
    public static int spawn(String path, List<String> argv, int[][] dup2) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment fa = a.allocate(256, 16);
            MemorySegment attr = a.allocate(512, 16);
            MemorySegment sigs = a.allocate(128, 16);
            check("posix_spawn_file_actions_init", (int) Spawn.FA_INIT.invokeExact(fa));
            check("posix_spawnattr_init", (int) Spawn.ATTR_INIT.invokeExact(attr));
            try {
                for (int[] d : dup2) {
                    check("posix_spawn_file_actions_adddup2", (int) Spawn.FA_DUP2.invokeExact(fa, d[0], d[1]));
                }
                check("sigemptyset", (int) Spawn.SIGEMPTY.invokeExact(sigs) == 0 ? 0 : Errno.EINVAL);
                check("posix_spawnattr_setsigmask", (int) Spawn.ATTR_SIGMASK.invokeExact(attr, sigs));
                check("sigfillset", (int) Spawn.SIGFILL.invokeExact(sigs) == 0 ? 0 : Errno.EINVAL);
                check("posix_spawnattr_setsigdefault", (int) Spawn.ATTR_SIGDEF.invokeExact(attr, sigs));
                check("posix_spawnattr_setflags",
                        (int) Spawn.ATTR_FLAGS.invokeExact(attr, (short) (POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)));

                MemorySegment args = a.allocate(ADDRESS, argv.size() + 1);
                for (int i = 0; i < argv.size(); i++) args.setAtIndex(ADDRESS, i, a.allocateFrom(argv.get(i)));
                args.setAtIndex(ADDRESS, argv.size(), MemorySegment.NULL);
                MemorySegment env = a.allocate(ADDRESS, 1);
                env.setAtIndex(ADDRESS, 0, MemorySegment.NULL);
                MemorySegment pid = a.allocate(JAVA_INT);
                int r = (int) Spawn.SPAWN.invokeExact(pid, a.allocateFrom(path), fa, attr, args, env);
                if (r != 0) throw new SysException("posix_spawn " + path, r);
                return pid.get(JAVA_INT, 0);
            } finally {
                int ignored = (int) Spawn.FA_DESTROY.invokeExact(fa);
                ignored = (int) Spawn.ATTR_DESTROY.invokeExact(attr);
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static void check(String call, int result) {
        if (result != 0) throw new SysException(call, result);
    }
}
