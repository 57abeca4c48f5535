package kurma.sys;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A file held under a POSIX record lock; closing releases the lock and the file. One holder
 * for the runtime's container locks, the image store's locks and kurma's name lock.
 *
 * <p>The JDK tracks locks per JVM and throws OverlappingFileLockException instead of waiting
 * when another thread (another store object, another pull) holds an overlapping range, where
 * the kernel would not make us wait for ourselves at all; so overlap within the JVM is waited
 * out by polling, and every lock here blocks until it is ours.
 */
public final class LockedFile implements AutoCloseable {
    private final FileChannel channel;
    private final FileLock lock;

    private LockedFile(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /** Opens (creating) path and waits for an exclusive lock on all of it. */
    public static LockedFile exclusive(Path path) throws IOException {
        return lock(path, 0, Long.MAX_VALUE, false);
    }

    /**
     * Opens (creating) path, for reading too (a shared lock needs it), and waits for a lock on
     * the range; the file is closed again if that fails.
     */
    public static LockedFile lock(Path path, long position, long size, boolean shared) throws IOException {
        FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        try {
            return new LockedFile(ch, waitFor(ch, position, size, shared));
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** A blocking lock on a range of an open channel, waiting out holders in this JVM too. */
    public static FileLock waitFor(FileChannel ch, long position, long size, boolean shared) throws IOException {
        while (true) {
            try {
                return ch.lock(position, size, shared);
            } catch (OverlappingFileLockException held) {
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException("interrupted while waiting for a lock on a file");
                }
            }
        }
    }

    @Override
    public void close() {
        try {
            lock.release();
        } catch (IOException ignored) {
            // closing the channel releases it too
        }
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing more to release
        }
    }
}
