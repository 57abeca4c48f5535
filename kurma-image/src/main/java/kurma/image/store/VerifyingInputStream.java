package kurma.image.store;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;

import kurma.image.Digest;

/**
 * Hashes what it passes on and checks the digest when the end is reached: the read that hits
 * the end throws if the content was not what its digest names. Closing early reads the rest
 * first, so a consumer that stops at a tar's end marker still learns of a corrupt blob.
 */
final class VerifyingInputStream extends FilterInputStream {
    private final Digest expected;
    private final MessageDigest hasher;
    private final Runnable onMismatch;
    private boolean checked;

    VerifyingInputStream(InputStream in, Digest expected, Runnable onMismatch) {
        super(in);
        this.expected = expected;
        this.hasher = expected.newHasher();
        this.onMismatch = onMismatch;
    }

    @Override
    public int read() throws IOException {
        int b = super.read();
        if (b < 0) check();
        else hasher.update((byte) b);
        return b;
    }

    @Override
    public int read(byte[] buf, int off, int len) throws IOException {
        int n = super.read(buf, off, len);
        if (n < 0) check();
        else hasher.update(buf, off, n);
        return n;
    }

    @Override
    public long skip(long n) throws IOException {
        // skipping must still hash: read through
        byte[] buf = new byte[8192];
        long done = 0;
        while (done < n) {
            int r = read(buf, 0, (int) Math.min(buf.length, n - done));
            if (r < 0) break;
            done += r;
        }
        return done;
    }

    @Override
    public boolean markSupported() {
        return false;
    }

    @Override
    public void close() throws IOException {
        try {
            if (!checked) {
                byte[] buf = new byte[65536];
                while (read(buf, 0, buf.length) >= 0) {
                    // reading to the end runs check()
                }
            }
        } finally {
            super.close();
        }
    }

    private void check() throws IOException {
        if (checked) return;
        checked = true;
        Digest actual = Digest.of(expected.algorithm(), hasher);
        if (!actual.equals(expected)) {
            onMismatch.run();
            throw new CorruptBlobException("blob " + expected + " is corrupt on disk (its content hashes to " + actual
                    + "); it was removed, pull the image again");
        }
    }

    /** A stored blob that no longer matches its digest. */
    static final class CorruptBlobException extends IOException {
        CorruptBlobException(String message) {
            super(message);
        }
    }
}
