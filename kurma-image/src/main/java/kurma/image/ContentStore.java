package kurma.image;

import java.io.InputStream;

/**
 * Content-addressed blobs, as the registry client and the archive readers/writers see the
 * store: they put and get blobs by digest and never touch files. A blob is visible under its
 * digest only once complete and verified.
 */
public interface ContentStore {

    boolean contains(Digest digest);

    /** The blob's size, or -1 if absent. */
    long size(Digest digest);

    /**
     * A stream of the blob that checks its digest and size as it is read: the read that reaches
     * the end (or close) throws an IOException if the bytes on disk no longer match, so a
     * consumer that reads to the end never accepts corrupt content. NOT_FOUND if absent.
     */
    InputStream open(Digest digest);

    /** The whole blob, verified before it is returned (for manifests and configs). */
    byte[] read(Digest digest);

    /** Stores bytes, verifying them against {@code expected} unless it is null; returns the digest. */
    Digest put(byte[] content, Digest expected);

    /**
     * Stores a stream, verifying digest and size while writing (null / -1: not checked, computed);
     * returns the digest. Nothing is stored if the content does not match.
     */
    Digest put(InputStream content, Digest expected, long expectedSize);

    /**
     * Starts or resumes a download of a blob: the partial content kept from an earlier attempt
     * stays until the blob is complete or turns out wrong.
     */
    Ingest ingest(Digest digest, long size);

    /** A resumable write of one blob. Close releases it; an uncommitted partial stays for a later resume. */
    interface Ingest extends AutoCloseable {
        /** Bytes already held (resume from here). */
        long offset();

        /** Forgets the partial content (when the server cannot resume). */
        void restart();

        /** Appends {@code in} to its end; {@code progress} gets the running total of bytes held. */
        void append(InputStream in, java.util.function.LongConsumer progress) throws java.io.IOException;

        /**
         * Verifies size and digest, then makes the blob visible. DIGEST_MISMATCH (and the partial
         * is discarded) if the content is wrong.
         */
        void commit();

        @Override
        void close();
    }
}
