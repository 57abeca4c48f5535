package kurma.tests.support;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The engine's side of {@code --console-socket}, as containerd-shim and conmon play it: a
 * listening unix socket; the runtime connects and sends the pty master with SCM_RIGHTS. The JDK
 * cannot receive file descriptors, so this uses libc through the FFM API (x86_64 layouts).
 */
public final class ConsoleSocket implements AutoCloseable {
    private static final Linker L = Linker.nativeLinker();
    private static final MethodHandle SOCKET = fn("socket", JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT);
    private static final MethodHandle BIND = fn("bind", JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT);
    private static final MethodHandle LISTEN = fn("listen", JAVA_INT, JAVA_INT, JAVA_INT);
    private static final MethodHandle ACCEPT4 = fn("accept4", JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT);
    private static final MethodHandle RECVMSG = fn("recvmsg", JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT);
    private static final MethodHandle READ = fn("read", JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG);
    private static final MethodHandle WRITE = fn("write", JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG);
    private static final MethodHandle POLL = fn("poll", JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT);
    private static final MethodHandle CLOSE = fn("close", JAVA_INT, JAVA_INT);
    private static final int AF_UNIX = 1, SOCK_STREAM = 1, SOCK_CLOEXEC = 02000000, POLLIN = 1;

    private static MethodHandle fn(String name, java.lang.foreign.MemoryLayout ret, java.lang.foreign.MemoryLayout... args) {
        return L.downcallHandle(L.defaultLookup().find(name).orElseThrow(), FunctionDescriptor.of(ret, args));
    }

    private final Path path;
    private final int fd;

    private ConsoleSocket(Path path, int fd) {
        this.path = path;
        this.fd = fd;
    }

    /** Listens at path; a runtime may connect (and send) before {@link #receive} is called. */
    public static ConsoleSocket listen(Path path) throws Throwable {
        byte[] p = path.toString().getBytes(StandardCharsets.UTF_8);
        if (p.length >= 108) throw new IllegalArgumentException("socket path too long: " + path);
        int fd = (int) SOCKET.invokeExact(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) throw new IOException("socket failed");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sa = a.allocate(110);
            sa.set(JAVA_SHORT, 0, (short) AF_UNIX);
            MemorySegment.copy(p, 0, sa, java.lang.foreign.ValueLayout.JAVA_BYTE, 2, p.length);
            if ((int) BIND.invokeExact(fd, sa, 110) < 0 || (int) LISTEN.invokeExact(fd, 4) < 0) {
                closeFd(fd);
                throw new IOException("cannot listen at " + path);
            }
        }
        return new ConsoleSocket(path, fd);
    }

    public Path path() {
        return path;
    }

    /** Accepts one connection and receives the pty master it carries, with the name sent along. */
    public Terminal receive(Duration timeout) throws Throwable {
        if (!readable(fd, timeout)) throw new IOException("no runtime connected to " + path + " within " + timeout);
        int conn = (int) ACCEPT4.invokeExact(fd, MemorySegment.NULL, MemorySegment.NULL, SOCK_CLOEXEC);
        if (conn < 0) throw new IOException("accept failed");
        try (Arena a = Arena.ofConfined()) {
            if (!readable(conn, timeout)) throw new IOException("the runtime sent nothing on " + path);
            MemorySegment data = a.allocate(4096), iov = a.allocate(16), control = a.allocate(64), msg = a.allocate(56);
            iov.set(ADDRESS, 0, data);
            iov.set(JAVA_LONG, 8, 4096);
            msg.set(ADDRESS, 16, iov);
            msg.set(JAVA_LONG, 24, 1);
            msg.set(ADDRESS, 32, control);
            msg.set(JAVA_LONG, 40, 64);
            long n = (long) RECVMSG.invokeExact(conn, msg, 0);
            if (n < 0) throw new IOException("recvmsg failed");
            long controlLen = msg.get(JAVA_LONG, 40);
            // cmsghdr: size_t len, int level (SOL_SOCKET 1), int type (SCM_RIGHTS 1), then the fd.
            if (controlLen < 20 || control.get(JAVA_INT, 8) != 1 || control.get(JAVA_INT, 12) != 1) {
                throw new IOException("the runtime sent no file descriptor on " + path);
            }
            int master = control.get(JAVA_INT, 16);
            String name = new String(data.asSlice(0, n).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
            return new Terminal(master, name);
        } finally {
            closeFd(conn);
        }
    }

    private static boolean readable(int fd, Duration timeout) throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment pfd = a.allocate(8);
            pfd.set(JAVA_INT, 0, fd);
            pfd.set(JAVA_SHORT, 4, (short) POLLIN);
            return (int) POLL.invokeExact(pfd, 1L, (int) timeout.toMillis()) > 0;
        }
    }

    @Override
    public void close() throws IOException {
        closeFd(fd);
        Files.deleteIfExists(path);
    }

    private static void closeFd(int fd) {
        try {
            int ignored = (int) CLOSE.invokeExact(fd);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** The master side of a container's terminal. */
    public static final class Terminal implements AutoCloseable {
        private final int fd;
        private final String name;
        private final StringBuilder seen = new StringBuilder();

        Terminal(int fd, String name) {
            this.fd = fd;
            this.name = name;
        }

        /** What the runtime sent along with the fd (runc and Kurma: the pty's path). */
        public String name() {
            return name;
        }

        public void write(String s) throws Throwable {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            try (Arena a = Arena.ofConfined()) {
                MemorySegment m = a.allocate(b.length);
                MemorySegment.copy(b, 0, m, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, b.length);
                if ((long) WRITE.invokeExact(fd, m, (long) b.length) != b.length) throw new IOException("short write");
            }
        }

        /** Reads until the output so far contains marker (or the pty closes, or time runs out); returns it all. */
        public String readUntil(String marker, Duration timeout) throws Throwable {
            long end = System.nanoTime() + timeout.toNanos();
            try (Arena a = Arena.ofConfined()) {
                MemorySegment buf = a.allocate(4096);
                while (!seen.toString().contains(marker)) {
                    long left = (end - System.nanoTime()) / 1_000_000;
                    if (left <= 0 || !readable(fd, Duration.ofMillis(left))) break;
                    long n = (long) READ.invokeExact(fd, buf, 4096L);
                    if (n <= 0) break; // EIO: every slave fd is closed
                    seen.append(new String(buf.asSlice(0, n).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8));
                }
            }
            return seen.toString();
        }

        @Override
        public void close() {
            closeFd(fd);
        }
    }
}
