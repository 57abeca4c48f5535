package kurma.sys;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * What relaying a container's terminal takes from the kernel: a unix stream socket to receive
 * the pty master on (SCM_RIGHTS, which the JDK's channels cannot receive), reads and writes on
 * that fd, the caller's terminal in raw mode and its window size. All through Libc's one
 * syscall binding; only `run` with a terminal in the foreground pays for it.
 */
public final class Pty {
    private Pty() {}

    private static final boolean ARM = "aarch64".equals(System.getProperty("os.arch"));
    private static final long SYS_READ = ARM ? 63 : 0, SYS_WRITE = ARM ? 64 : 1, SYS_IOCTL = ARM ? 29 : 16,
            SYS_LISTEN = ARM ? 201 : 50,
            SYS_ACCEPT4 = ARM ? 242 : 288, SYS_RECVMSG = ARM ? 212 : 47, SYS_CLOSE = ARM ? 57 : 3;
    private static final long TCGETS = 0x5401, TCSETS = 0x5402, TIOCGWINSZ = 0x5413, TIOCSWINSZ = 0x5414;
    private static final long SOCK_CLOEXEC = 02000000;

    /** A listening unix stream socket at path (one longer than sun_path is bound through its directory's fd). */
    public static int listen(String path) {
        int fd = Libc.unixSocket(1 /* SOCK_STREAM */, path);
        long r = Libc.sys6(SYS_LISTEN, fd, 1, 0, 0, 0, 0);
        if (r < 0) {
            Libc.close(fd);
            throw new SysException("listen on " + path, (int) -r);
        }
        return fd;
    }

    /** Accepts one connection on a listening socket and returns the fd it sends (SCM_RIGHTS). */
    public static int receiveFd(int listening) {
        long conn = Libc.sys6(SYS_ACCEPT4, listening, 0, 0, SOCK_CLOEXEC, 0, 0);
        if (conn < 0) throw new SysException("accept", (int) -conn);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment data = a.allocate(256), iov = a.allocate(16), control = a.allocate(64), msg = a.allocate(56);
            iov.set(JAVA_LONG, 0, data.address());
            iov.set(JAVA_LONG, 8, 256);
            msg.set(JAVA_LONG, 16, iov.address());
            msg.set(JAVA_LONG, 24, 1);
            msg.set(JAVA_LONG, 32, control.address());
            msg.set(JAVA_LONG, 40, 64);
            long n = Libc.sys6(SYS_RECVMSG, conn, msg.address(), 0x40000000 /* MSG_CMSG_CLOEXEC */, 0, 0, 0);
            if (n < 0) throw new SysException("recvmsg", (int) -n);
            // struct cmsghdr: size_t len, int level (SOL_SOCKET 1), int type (SCM_RIGHTS 1), the fd.
            if (msg.get(JAVA_LONG, 40) < 20 || control.get(JAVA_INT, 8) != 1 || control.get(JAVA_INT, 12) != 1) {
                throw new SysException("recvmsg: no file descriptor received", 22 /* EINVAL */);
            }
            return control.get(JAVA_INT, 16);
        } finally {
            Libc.close((int) conn);
        }
    }

    /** read(2) into buf; returns the count, 0 at end, or -errno (EIO: every slave is closed). */
    public static int read(int fd, byte[] buf) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(buf.length);
            long n = Libc.sys6(SYS_READ, fd, m.address(), buf.length, 0, 0, 0);
            if (n > 0) MemorySegment.copy(m, JAVA_BYTE, 0, buf, 0, (int) n);
            return (int) n;
        }
    }

    /** write(2) of all of buf[0..len); returns 0 or the errno. */
    public static int write(int fd, byte[] buf, int len) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(Math.max(1, len));
            MemorySegment.copy(buf, 0, m, JAVA_BYTE, 0, len);
            long done = 0;
            while (done < len) {
                long n = Libc.sys6(SYS_WRITE, fd, m.address() + done, len - done, 0, 0, 0);
                if (n == -4 /* EINTR */) continue;
                if (n < 0) return (int) -n;
                done += n;
            }
            return 0;
        }
    }

    /** The terminal's settings (struct termios, 36 bytes), or null if fd is not a terminal. */
    public static byte[] termios(int fd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment t = a.allocate(64);
            if (Libc.sys6(SYS_IOCTL, fd, TCGETS, t.address(), 0, 0, 0) < 0) return null;
            return t.asSlice(0, 36).toArray(JAVA_BYTE);
        }
    }

    public static void setTermios(int fd, byte[] termios) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment t = a.allocate(64);
            MemorySegment.copy(termios, 0, t, JAVA_BYTE, 0, termios.length);
            Libc.sys6(SYS_IOCTL, fd, TCSETS, t.address(), 0, 0, 0);
        }
    }

    /** termios made raw, as cfmakeraw(3) does: no echo, no line editing, no signals, 8 bits. */
    public static byte[] raw(byte[] termios) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(termios.clone()).order(java.nio.ByteOrder.nativeOrder());
        int iflag = b.getInt(0), oflag = b.getInt(4), cflag = b.getInt(8), lflag = b.getInt(12);
        iflag &= ~(0000001 | 0000002 | 0000010 | 0000040 | 0000100 | 0000200 | 0000400 | 0002000); // IGNBRK BRKINT PARMRK ISTRIP INLCR IGNCR ICRNL IXON
        oflag &= ~0000001; // OPOST
        lflag &= ~(0000010 | 0000100 | 0000002 | 0000001 | 0100000); // ECHO ECHONL ICANON ISIG IEXTEN
        cflag &= ~(0000060 | 0000400); // CSIZE PARENB
        cflag |= 0000060; // CS8
        b.putInt(0, iflag).putInt(4, oflag).putInt(8, cflag).putInt(12, lflag);
        byte[] out = b.array();
        out[17 + 6] = 1; // c_cc[VMIN]
        out[17 + 5] = 0; // c_cc[VTIME]
        return out;
    }

    /** Copies fd from's window size to fd to; false if from is not a terminal. */
    public static boolean copyWindowSize(int from, int to) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ws = a.allocate(8);
            if (Libc.sys6(SYS_IOCTL, from, TIOCGWINSZ, ws.address(), 0, 0, 0) < 0) return false;
            return Libc.sys6(SYS_IOCTL, to, TIOCSWINSZ, ws.address(), 0, 0, 0) == 0;
        }
    }

    public static void close(int fd) {
        Libc.sys6(SYS_CLOSE, fd, 0, 0, 0, 0, 0);
    }
}
