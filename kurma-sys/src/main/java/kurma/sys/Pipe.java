package kurma.sys;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A pipe(2) this process owns, by its two fd numbers: what a caller hands a container as its
 * stdin, stdout or stderr (kurma.runtime.Stdio takes fd numbers) and reads or writes itself.
 * Both ends are close-on-exec, so no child of this JVM inherits them; the runtime copies the
 * end it is given into the container explicitly. Not thread-safe: one owner at a time.
 */
public final class Pipe implements AutoCloseable {
    private static final boolean ARM = "aarch64".equals(System.getProperty("os.arch"));
    private static final long SYS_PIPE2 = ARM ? 59 : 293;
    private static final int O_CLOEXEC = 02000000;

    private int readFd;
    private int writeFd;

    private Pipe(int readFd, int writeFd) {
        this.readFd = readFd;
        this.writeFd = writeFd;
    }

    /** A new pipe. */
    public static Pipe open() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment fds = a.allocate(JAVA_INT, 2);
            Fs.check(Libc.sys6(SYS_PIPE2, fds.address(), O_CLOEXEC, 0, 0, 0, 0), "pipe2");
            return new Pipe(fds.getAtIndex(JAVA_INT, 0), fds.getAtIndex(JAVA_INT, 1));
        }
    }

    /** The read end's fd number (-1 once closed). */
    public int readFd() {
        return readFd;
    }

    /** The write end's fd number (-1 once closed). */
    public int writeFd() {
        return writeFd;
    }

    /** Closes this process's write end: the reader sees end-of-file once every other writer is gone. */
    public void closeWrite() {
        if (writeFd >= 0) Fs.close(writeFd);
        writeFd = -1;
    }

    /** Closes this process's read end. */
    public void closeRead() {
        if (readFd >= 0) Fs.close(readFd);
        readFd = -1;
    }

    /** Reads until end-of-file (close the write end first, or this waits for ever). */
    public byte[] readAll() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(8192);
            while (true) {
                long n = Fs.read(readFd, buf, buf.byteSize());
                if (n == -Errno.EINTR) continue;
                if (n == 0) return out.toByteArray();
                Fs.check(n, "read from a pipe");
                out.write(buf.asSlice(0, n).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), 0, (int) n);
            }
        }
    }

    /** Writes all of data to the write end. */
    public void write(byte[] data) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = a.allocateFrom(java.lang.foreign.ValueLayout.JAVA_BYTE, data);
            Fs.check(Fs.writeFully(writeFd, seg, data.length), "write to a pipe");
        }
    }

    @Override
    public void close() {
        closeRead();
        closeWrite();
    }
}
