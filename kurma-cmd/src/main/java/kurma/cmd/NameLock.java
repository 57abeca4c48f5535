package kurma.cmd;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** An exclusive lock on the containers directory while a name is checked and taken (two runs at once get different names). */
final class NameLock implements AutoCloseable {
    private final FileChannel channel;
    private final FileLock lock;

    private NameLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    static NameLock take(Path dir) throws IOException {
        FileChannel ch = FileChannel.open(dir.resolve(".names.lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        try {
            return new NameLock(ch, ch.lock());
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    @Override
    public void close() throws IOException {
        lock.release();
        channel.close();
    }
}
