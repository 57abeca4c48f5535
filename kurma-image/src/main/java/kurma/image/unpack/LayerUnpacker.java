package kurma.image.unpack;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

import java.io.BufferedInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

import kurma.sys.Fs;

/**
 * Unpacks one layer blob (a tar, plain, gzip or zstd) into a directory, in the overlayfs lower
 * directory form (see {@link TreeWriter}): whiteouts {@code .wh.NAME} become 0:0 character
 * devices, {@code .wh..wh..opq} the xattr trusted.overlay.opaque=y on its directory; other
 * {@code .wh..wh.*} names (aufs metadata) are skipped, as Docker does.
 *
 * <p>While it unpacks it computes the blob digest and the diff_id (digest of the whole
 * uncompressed stream, read to its end) and checks them against the expected ones; it stops
 * with an error as soon as the uncompressed stream or the entry count passes the
 * {@link UnpackLimits}. On any error the directory holds a partial tree: the caller unpacks into
 * a temporary directory and removes it (see kurma.image.snapshot.Snapshots).
 */
public final class LayerUnpacker {
    private LayerUnpacker() {}

    private static final int BUFFER = 1 << 20;

    /** Unpacks {@code blob} (which it closes) into the existing empty directory {@code root}. */
    public static UnpackResult unpack(InputStream blob, LayerBlob layer, Path root, UnpackLimits limits) throws IOException {
        Compression.ofMediaType(layer.mediaType()); // a layer type, or refused
        MessageDigest blobDigest = digestFor(layer.digest(), "digest");
        MessageDigest diffDigest = digestFor(layer.diffId(), "diff_id");
        DigestInputStream raw = new DigestInputStream(blob, blobDigest);
        BufferedInputStream buffered = new BufferedInputStream(raw, 65536);
        buffered.mark(4);
        byte[] head = new byte[4];
        int got = buffered.readNBytes(head, 0, 4);
        buffered.reset();
        Compression compression = Compression.detect(head, got);
        Bounded bounded;
        try {
            bounded = new Bounded(compression.decompress(buffered), limits.maxBytes());
        } catch (IOException e) {
            throw new LayerException("layer " + name(layer) + ": not valid " + compression.name().toLowerCase() + ": " + e.getMessage(), e);
        }
        DigestInputStream plain = new DigestInputStream(bounded, diffDigest);
        TarHeaderTap tap = new TarHeaderTap(plain);
        long entries = 0;
        try (Arena arena = Arena.ofConfined(); TreeWriter writer = TreeWriter.open(root, TreeWriter.Mode.OVERLAY);
                TarArchiveInputStream tar = new TarArchiveInputStream(tap, "UTF-8")) {
            MemorySegment nativeBuf = arena.allocate(BUFFER);
            byte[] heapBuf = new byte[BUFFER];
            for (TarArchiveEntry te; (te = tar.getNextEntry()) != null; ) {
                TarHeaderTap.Header h = tap.next();
                if (h.type() != te.getLinkFlag() || (!te.isSparse() && h.size() != te.getSize())) {
                    throw new LayerException("the tar stream is malformed near " + EntryPaths.quote(te.getName()));
                }
                if (++entries > limits.maxEntries()) {
                    throw new LayerException("layer " + name(layer) + " has more than " + limits.maxEntries() + " entries, the limit");
                }
                Entry e = toEntry(te, h);
                if (e == null) continue;
                TarArchiveInputStream in = tar;
                writer.apply(e, fd -> {
                    for (int n; (n = in.read(heapBuf)) > 0; ) {
                        MemorySegment.copy(heapBuf, 0, nativeBuf, JAVA_BYTE, 0, n);
                        Fs.check(Fs.writeFully(fd, nativeBuf, n), "write " + e.path());
                    }
                });
            }
            writer.finish();
            // The diff_id covers the whole uncompressed stream (end-of-archive blocks and any
            // padding after them), the digest the whole blob: read both to their ends.
            plain.transferTo(OutputStream.nullOutputStream());
            buffered.transferTo(OutputStream.nullOutputStream());
        } catch (LayerException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            // Decoder and tar parser errors: java.util.zip, aircompressor (unchecked), commons-compress.
            throw new LayerException("layer " + name(layer) + ": " + describe(e), e);
        }
        String digest = format(layer.digest(), blobDigest);
        String diffId = format(layer.diffId(), diffDigest);
        if (layer.digest() != null && !layer.digest().equals(digest)) {
            throw new LayerException("layer " + layer.digest() + ": the blob's digest is " + digest + ", not the expected one");
        }
        if (layer.diffId() != null && !layer.diffId().equals(diffId)) {
            throw new LayerException("layer " + name(layer) + ": the uncompressed content's digest is " + diffId
                    + ", not the diff_id " + layer.diffId() + " the image config gives");
        }
        return new UnpackResult(digest, diffId, compression, entries, bounded.count);
    }

    /** The entry to apply for a tar entry, or null for one that is skipped. */
    static Entry toEntry(TarArchiveEntry te, TarHeaderTap.Header h) throws LayerException {
        String path = EntryPaths.normalize(te.getName());
        for (String c : path.split("/")) {
            // aufs hard-link and metadata directories (.wh..wh.plnk, .wh..wh.aufs): not content.
            if (c.startsWith(".wh..wh.") && !c.equals(".wh..wh..opq")) return null;
        }
        String name = TreeWriter.nameOf(path);
        if (name.startsWith(".wh.")) {
            String parent = TreeWriter.parentOf(path);
            if (name.equals(".wh..wh..opq")) return new Entry.Opaque(parent);
            String hidden = name.substring(4);
            if (hidden.isEmpty() || hidden.equals(".") || hidden.equals("..")) {
                throw new LayerException(EntryPaths.quote(te.getName()) + " is a whiteout that names no file");
            }
            return new Entry.Whiteout(parent.isEmpty() ? hidden : parent + "/" + hidden);
        }
        Attrs attrs = attrs(te, h);
        byte flag = te.getLinkFlag();
        if (te.isDirectory()) return new Entry.Directory(path, attrs);
        if (te.isSymbolicLink()) return new Entry.Symlink(path, attrs, te.getLinkName());
        if (te.isLink()) return new Entry.HardLink(path, EntryPaths.normalize(te.getLinkName()));
        if (te.isCharacterDevice()) return new Entry.Device(path, attrs, Entry.Device.Kind.CHAR, te.getDevMajor(), te.getDevMinor());
        if (te.isBlockDevice()) return new Entry.Device(path, attrs, Entry.Device.Kind.BLOCK, te.getDevMajor(), te.getDevMinor());
        if (te.isFIFO()) return new Entry.Device(path, attrs, Entry.Device.Kind.FIFO, 0, 0);
        if (flag == '0' || flag == 0 || flag == '7' || te.isSparse()) return new Entry.RegularFile(path, attrs, te.getRealSize());
        throw new LayerException(EntryPaths.quote(te.getName()) + " has the tar type '" + (char) flag + "', which a layer cannot have");
    }

    private static Attrs attrs(TarArchiveEntry te, TarHeaderTap.Header h) {
        Map<String, byte[]> xattrs = new HashMap<>();
        // Raw values from the tap; values only commons-compress saw (from a global PAX header)
        // are text already.
        for (Map.Entry<String, String> x : te.getExtraPaxHeaders().entrySet()) {
            if (x.getKey().startsWith("SCHILY.xattr.")) {
                xattrs.put(x.getKey().substring("SCHILY.xattr.".length()), x.getValue().getBytes(StandardCharsets.UTF_8));
            }
        }
        xattrs.putAll(h.xattrs());
        FileTime t = te.getLastModifiedTime();
        Instant mtime = t == null ? Instant.EPOCH : t.toInstant();
        return new Attrs((int) te.getLongUserId(), (int) te.getLongGroupId(), te.getMode(), mtime.getEpochSecond(), mtime.getNano(), xattrs);
    }

    private static MessageDigest digestFor(String expected, String what) throws LayerException {
        String algorithm = "sha256";
        if (expected != null) {
            int colon = expected.indexOf(':');
            algorithm = colon < 0 ? "" : expected.substring(0, colon);
            int hexLength = switch (algorithm) {
                case "sha256" -> 64;
                case "sha512" -> 128;
                default -> throw new LayerException(what + " " + expected + ": only sha256 and sha512 digests are supported");
            };
            String hex = expected.substring(colon + 1);
            if (hex.length() != hexLength || !hex.chars().allMatch(c -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
                throw new LayerException(what + " " + expected + " is not a valid " + algorithm + " digest");
            }
        }
        try {
            return MessageDigest.getInstance(algorithm.equals("sha256") ? "SHA-256" : "SHA-512");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String format(String expected, MessageDigest d) {
        String algorithm = expected == null ? "sha256" : expected.substring(0, expected.indexOf(':'));
        return algorithm + ":" + HexFormat.of().formatHex(d.digest());
    }

    private static String name(LayerBlob layer) {
        return layer.digest() != null ? layer.digest() : layer.diffId() != null ? layer.diffId() : "(no digest)";
    }

    private static String describe(Throwable e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }

    /** Counts the uncompressed bytes and stops past the limit (a decompression bomb). */
    private static final class Bounded extends FilterInputStream {
        private final long max;
        long count;

        Bounded(InputStream in, long max) {
            super(in);
            this.max = max;
        }

        @Override
        public int read() throws IOException {
            int b = in.read();
            if (b >= 0) add(1);
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = in.read(b, off, len);
            if (n > 0) add(n);
            return n;
        }

        /** Skipped bytes count too: read them. */
        @Override
        public long skip(long n) throws IOException {
            byte[] buf = new byte[8192];
            long done = 0;
            while (done < n) {
                int r = read(buf, 0, (int) Math.min(buf.length, n - done));
                if (r < 0) break;
                done += r;
            }
            return done;
        }

        private void add(long n) throws LayerException {
            count += n;
            if (count > max) {
                throw new LayerException("the layer expands to more than " + max + " bytes uncompressed, the limit");
            }
        }
    }
}
