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
            SYS_CLOSE = ARM ? 57 : 3, SYS_BPF = ARM ? 280 : 321;
    private static final long AT_FDCWD = -100, O_WRONLY = 1, O_CREAT = 0100, O_TRUNC = 01000, O_CLOEXEC = 02000000;
    /** O_RDONLY is 0; O_DIRECTORY differs between x86_64 and the generic (aarch64) flags. */
    private static final long O_DIRECTORY = ARM ? 040000 : 0200000;

    /** syscall(2); returns the result, or -errno. */
    private static long sys(long nr, long a1, long a2, long a3) {
        return sys(nr, a1, a2, a3, 0);
    }

    private static long sys(long nr, long a1, long a2, long a3, long a4) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(Native.CAPTURE);
            long r = (long) Native.SYSCALL.invokeExact(st, nr, a1, a2, a3, a4, 0L, 0L);
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

    public static final int PR_SET_DUMPABLE = 4;

    public static void prctl(int option, long arg) {
        long r = sys(SYS_PRCTL, option, arg, 0);
        if (r < 0) throw new SysException("prctl " + option, (int) -r);
    }
}
