package kurma.tests.support;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The caller's NOTIFY_SOCKET, as systemd holds it: a unix datagram socket the runtime relays
 * sd_notify messages to. The JDK has no unix datagram sockets, so libc through the FFM API.
 */
public final class NotifyListener implements AutoCloseable {
    private static final Linker L = Linker.nativeLinker();
    private static final MethodHandle SOCKET = fn("socket", JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT);
    private static final MethodHandle BIND = fn("bind", JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT);
    private static final MethodHandle RECV = fn("recv", JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT);
    private static final MethodHandle POLL = fn("poll", JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT);
    private static final MethodHandle CLOSE = fn("close", JAVA_INT, JAVA_INT);

    private static MethodHandle fn(String name, MemoryLayout ret, MemoryLayout... args) {
        return L.downcallHandle(L.defaultLookup().find(name).orElseThrow(), FunctionDescriptor.of(ret, args));
    }

    private final Path path;
    private final int fd;

    private NotifyListener(Path path, int fd) {
        this.path = path;
        this.fd = fd;
    }

    public static NotifyListener bind(Path path) throws Throwable {
        byte[] p = path.toString().getBytes(StandardCharsets.UTF_8);
        int fd = (int) SOCKET.invokeExact(1 /* AF_UNIX */, 2 /* SOCK_DGRAM */ | 02000000, 0);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sa = a.allocate(110);
            sa.set(JAVA_SHORT, 0, (short) 1);
            MemorySegment.copy(p, 0, sa, JAVA_BYTE, 2, p.length);
            if (fd < 0 || (int) BIND.invokeExact(fd, sa, 110) < 0) throw new IOException("cannot bind " + path);
        }
        return new NotifyListener(path, fd);
    }

    public Path path() {
        return path;
    }

    /** The next message, or null if none came in time. */
    public String receive(Duration timeout) throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment pfd = a.allocate(8), buf = a.allocate(4096);
            pfd.set(JAVA_INT, 0, fd);
            pfd.set(JAVA_SHORT, 4, (short) 1 /* POLLIN */);
            if ((int) POLL.invokeExact(pfd, 1L, (int) timeout.toMillis()) <= 0) return null;
            long n = (long) RECV.invokeExact(fd, buf, 4096L, 0);
            if (n < 0) throw new IOException("recv failed");
            return new String(buf.asSlice(0, n).toArray(JAVA_BYTE), StandardCharsets.UTF_8);
        }
    }

    @Override
    public void close() throws IOException {
        try {
            int ignored = (int) CLOSE.invokeExact(fd);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        Files.deleteIfExists(path);
    }
}
