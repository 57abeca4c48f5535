package kurma.image;

import java.util.function.Consumer;

/**
 * What a pull, push or import reports as it goes, so a command line can draw progress bars on
 * a terminal or print plain lines otherwise. Implementations must be thread-safe: blobs are
 * transferred several at a time. The library itself never prints.
 */
public interface Progress {

    /** A blob transfer starts; {@code offset} bytes are already there (a resumed download). */
    default void started(Descriptor blob, long offset) {}

    /** {@code done} of the blob's size bytes are held now. */
    default void advanced(Descriptor blob, long done) {}

    /** The blob is complete and verified; {@code skipped} if it was in the store already. */
    default void finished(Descriptor blob, boolean skipped) {}

    /** A retry after a failure, with the cause. */
    default void retrying(Descriptor blob, int attempt, String cause) {}

    /** A line about the whole operation ("resolved ... to sha256:..."). */
    default void note(String line) {}

    /** Reports nothing. */
    Progress NONE = new Progress() {};

    /**
     * Plain lines, for logs and pipes: one when each blob starts, finishes or is retried, no
     * per-chunk noise.
     */
    static Progress lines(Consumer<String> out) {
        return new Progress() {
            @Override
            public void started(Descriptor blob, long offset) {
                out.accept(blob.digest().shortHex() + ": " + (offset > 0 ? "resuming at " + offset + " of " : "fetching ")
                        + blob.size() + " bytes");
            }

            @Override
            public void finished(Descriptor blob, boolean skipped) {
                out.accept(blob.digest().shortHex() + ": " + (skipped ? "already present" : "done"));
            }

            @Override
            public void retrying(Descriptor blob, int attempt, String cause) {
                out.accept(blob.digest().shortHex() + ": retry " + attempt + " after: " + cause);
            }

            @Override
            public void note(String line) {
                out.accept(line);
            }
        };
    }
}
