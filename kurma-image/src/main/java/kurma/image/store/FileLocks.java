package kurma.image.store;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;

/**
 * Blocking POSIX record locks that also wait for holders in this JVM. The JDK tracks locks per
 * JVM and throws OverlappingFileLockException instead of waiting when another thread (another
 * ImageStore object, another pull) holds an overlapping range; the kernel would not make us
 * wait for ourselves at all. So overlap within the JVM is waited out by polling.
 */
final class FileLocks {
    private FileLocks() {}

    static FileLock lock(FileChannel ch, long position, long size, boolean shared) throws IOException {
        while (true) {
            try {
                return ch.lock(position, size, shared);
            } catch (OverlappingFileLockException held) {
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException("interrupted while waiting for a store lock");
                }
            }
        }
    }
}
