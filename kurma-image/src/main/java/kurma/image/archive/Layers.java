package kurma.image.archive;

import java.io.IOException;
import java.io.InputStream;
import java.util.zip.GZIPInputStream;

import io.airlift.compress.v3.zstd.ZstdInputStream;
import kurma.image.ContentStore;
import kurma.image.Digest;
import kurma.image.MediaTypes.Compression;

/** Layer blobs as tar streams: gzip through the JDK, zstd through aircompressor (pure Java). */
public final class Layers {
    private Layers() {}

    /** The uncompressed tar stream of a layer blob. */
    public static InputStream decompress(InputStream in, Compression c) throws IOException {
        return switch (c) {
            case NONE -> in;
            case GZIP -> new GZIPInputStream(in, 1 << 16);
            case ZSTD -> new ZstdInputStream(in);
        };
    }

    /** A layer's compression, as its first bytes say, and its diff_id. */
    public record Examined(Compression compression, Digest diffId) {}

    /**
     * Reads a stored layer once: its compression from the magic bytes, and its diff_id (the
     * sha256 of the uncompressed tar), through the store's verifying stream.
     */
    public static Examined examine(ContentStore store, Digest blob) throws IOException {
        java.security.MessageDigest md = Digest.hasher("sha256");
        try (InputStream raw = new java.io.BufferedInputStream(store.open(blob), 1 << 16)) {
            raw.mark(4);
            byte[] head = raw.readNBytes(4);
            raw.reset();
            Compression c = Compression.sniff(head, head.length);
            try (InputStream in = decompress(raw, c)) {
                byte[] buf = new byte[1 << 16];
                int n;
                while ((n = in.read(buf)) > 0) md.update(buf, 0, n);
            }
            return new Examined(c, Digest.of("sha256", md));
        }
    }
}
