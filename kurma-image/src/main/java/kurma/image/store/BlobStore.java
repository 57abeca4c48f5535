package kurma.image.store;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.UUID;
import java.util.function.LongConsumer;

import kurma.image.ContentStore;
import kurma.image.Digest;
import kurma.image.ImageException;

/**
 * The blobs of an OCI image layout ({@code blobs/<alg>/<hex>}) with their writes staged in
 * {@code ingest/}. The rule that keeps the store sound: a file appears under its digest only by
 * a rename of a temp file that was verified (digest and size) while it was written and then
 * fsync'ed, and the directory is fsync'ed after the rename; so after a crash at any point a
 * blob is either whole and right or absent. A blob damaged later on disk is caught on read
 * (every read verifies) and removed.
 */
final class BlobStore implements ContentStore {
    private final Path blobs;
    private final Path ingest;

    BlobStore(Path layout, Path ingest) {
        this.blobs = layout.resolve("blobs");
        this.ingest = ingest;
    }

    Path path(Digest d) {
        return blobs.resolve(d.algorithm()).resolve(d.hex());
    }

    Path blobsDir() {
        return blobs;
    }

    Path ingestDir() {
        return ingest;
    }

    @Override
    public boolean contains(Digest digest) {
        return Files.isRegularFile(path(digest));
    }

    @Override
    public long size(Digest digest) {
        try {
            return Files.size(path(digest));
        } catch (IOException e) {
            return -1;
        }
    }

    @Override
    public InputStream open(Digest digest) {
        Path p = path(digest);
        try {
            return new VerifyingInputStream(Files.newInputStream(p), digest, () -> discard(p));
        } catch (NoSuchFileException e) {
            throw notFound(digest);
        } catch (IOException e) {
            throw new ImageException(ImageException.Reason.IO, "cannot open blob " + digest + ": " + e.getMessage(), e);
        }
    }

    @Override
    public byte[] read(Digest digest) {
        Path p = path(digest);
        byte[] b;
        try {
            b = Files.readAllBytes(p);
        } catch (NoSuchFileException e) {
            throw notFound(digest);
        } catch (IOException e) {
            throw new ImageException(ImageException.Reason.IO, "cannot read blob " + digest + ": " + e.getMessage(), e);
        }
        if (!digest.matches(b)) {
            discard(p);
            throw new ImageException(ImageException.Reason.DIGEST_MISMATCH, "blob " + digest
                    + " is corrupt on disk (digest mismatch); it was removed, pull the image again");
        }
        return b;
    }

    private static ImageException notFound(Digest d) {
        return new ImageException(ImageException.Reason.NOT_FOUND, "blob " + d + " is not in the store");
    }

    /** Removes a corrupt blob so that the next pull fetches it again instead of trusting it. */
    private static void discard(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // it will fail verification again next time
        }
    }

    @Override
    public Digest put(byte[] content, Digest expected) {
        if (expected != null) expected.verify(content, "blob " + expected);
        return put(new java.io.ByteArrayInputStream(content), expected, content.length);
    }

    @Override
    public Digest put(InputStream content, Digest expected, long expectedSize) {
        if (expected != null && contains(expected)) {
            drain(content);
            return expected;
        }
        String algorithm = expected != null ? expected.algorithm() : "sha256";
        Path tmp = ingest.resolve("tmp-" + UUID.randomUUID());
        try {
            Files.createDirectories(ingest);
            MessageDigest md = Digest.hasher(algorithm);
            long size = 0;
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                byte[] buf = new byte[1 << 16];
                int n;
                while ((n = content.read(buf)) > 0) {
                    md.update(buf, 0, n);
                    size += n;
                    if (expectedSize >= 0 && size > expectedSize) break;
                    writeFully(ch, ByteBuffer.wrap(buf, 0, n));
                }
                Digest actual = Digest.of(algorithm, md);
                if (expectedSize >= 0 && size != expectedSize) {
                    throw new ImageException(ImageException.Reason.DIGEST_MISMATCH, "blob " + (expected != null ? expected : actual)
                            + ": size mismatch: expected " + expectedSize + " bytes, got " + (size > expectedSize ? "more" : size));
                }
                if (expected != null && !actual.equals(expected)) {
                    throw new ImageException(ImageException.Reason.DIGEST_MISMATCH,
                            "blob " + expected + ": digest mismatch: got " + actual);
                }
                ch.force(true);
                publish(tmp, actual);
                return actual;
            }
        } catch (IOException e) {
            throw new ImageException(ImageException.Reason.IO, "cannot store a blob: " + e.getMessage(), e);
        } finally {
            discard(tmp);
        }
    }

    private static void drain(InputStream in) {
        try {
            in.transferTo(java.io.OutputStream.nullOutputStream());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }

    /** Renames a verified, synced temp file into place and syncs the directory. */
    private void publish(Path tmp, Digest d) throws IOException {
        Path target = path(d);
        Files.createDirectories(target.getParent());
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("the ingest directory " + ingest + " is not on the file system of " + blobs, e);
        }
        Fsync.dir(target.getParent());
    }

    @Override
    public Ingest ingest(Digest digest, long size) {
        try {
            Files.createDirectories(ingest);
            Path partial = ingest.resolve(digest.algorithm() + "-" + digest.hex() + ".partial");
            FileChannel ch = FileChannel.open(partial, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            FileLock lock;
            try {
                // another pull of the same blob (this process or another) finishes first
                lock = kurma.sys.LockedFile.waitFor(ch, 0, Long.MAX_VALUE, false);
            } catch (IOException | RuntimeException e) {
                ch.close();
                throw e;
            }
            return new PartialBlob(this, digest, size, partial, ch, lock);
        } catch (IOException e) {
            throw new ImageException(ImageException.Reason.IO, "cannot start the download of " + digest + ": " + e.getMessage(), e);
        }
    }

    /** A locked {@code ingest/<alg>-<hex>.partial}: appended to, then verified and renamed. */
    private static final class PartialBlob implements Ingest {
        private final BlobStore store;
        private final Digest digest;
        private final long size;
        private final Path partial;
        private final FileChannel ch;
        private final FileLock lock;
        private MessageDigest hasher;
        private long offset;
        private boolean done;

        PartialBlob(BlobStore store, Digest digest, long size, Path partial, FileChannel ch, FileLock lock) throws IOException {
            this.store = store;
            this.digest = digest;
            this.size = size;
            this.partial = partial;
            this.ch = ch;
            this.lock = lock;
            if (store.contains(digest)) {
                // whoever held the lock finished it; our channel may be on the renamed file now
                done = true;
                offset = size;
                return;
            }
            this.hasher = digest.newHasher();
            long have = ch.size();
            if (have > size) {
                ch.truncate(0);
                have = 0;
            }
            // the hash state is not saved: hash again what an earlier attempt left
            ByteBuffer buf = ByteBuffer.allocate(1 << 16);
            long pos = 0;
            while (pos < have) {
                buf.clear();
                int n = ch.read(buf, pos);
                if (n < 0) break;
                hasher.update(buf.array(), 0, n);
                pos += n;
            }
            offset = pos;
        }

        @Override
        public long offset() {
            return offset;
        }

        @Override
        public void restart() {
            if (done) return;
            try {
                ch.truncate(0);
            } catch (IOException e) {
                throw new ImageException(ImageException.Reason.IO, "cannot truncate " + partial + ": " + e.getMessage(), e);
            }
            hasher.reset();
            offset = 0;
        }

        @Override
        public void append(InputStream in, LongConsumer progress) throws IOException {
            if (done) return;
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) > 0) {
                if (offset + n > size) {
                    restart();
                    throw new ImageException(ImageException.Reason.DIGEST_MISMATCH,
                            "blob " + digest + ": the registry sent more than the " + size + " bytes announced");
                }
                ByteBuffer b = ByteBuffer.wrap(buf, 0, n);
                long pos = offset;
                while (b.hasRemaining()) pos += ch.write(b, pos);
                hasher.update(buf, 0, n);
                offset += n;
                progress.accept(offset);
            }
        }

        @Override
        public void commit() {
            if (done) return;
            Digest actual = Digest.of(digest.algorithm(), hasher);
            if (offset != size || !actual.equals(digest)) {
                restart();
                throw new ImageException(ImageException.Reason.DIGEST_MISMATCH, "blob " + digest + ": digest mismatch: got "
                        + (offset != size ? offset + " bytes instead of " + size : "content hashing to " + actual));
            }
            try {
                ch.force(true);
                store.publish(partial, digest);
                done = true;
            } catch (IOException e) {
                throw new ImageException(ImageException.Reason.IO, "cannot store blob " + digest + ": " + e.getMessage(), e);
            }
        }

        @Override
        public void close() {
            try {
                if (!done && offset == 0) Files.deleteIfExists(partial);
                if (done && Files.isRegularFile(partial) && Files.size(partial) == 0) {
                    // opened just after a finished download renamed the partial away: we made a new empty one
                    Files.deleteIfExists(partial);
                }
            } catch (IOException ignored) {
                // a stray empty partial is harmless; gc removes old ones
            }
            try {
                lock.release();
            } catch (IOException ignored) {
                // closing the channel releases it too
            }
            try {
                ch.close();
            } catch (IOException ignored) {
                // nothing more to do
            }
        }
    }
}
