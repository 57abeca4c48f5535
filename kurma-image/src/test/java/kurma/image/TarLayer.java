package kurma.image;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.function.Consumer;
import java.util.zip.GZIPOutputStream;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

import io.airlift.compress.v3.zstd.ZstdOutputStream;

/** Builds tar layers for tests with commons-compress, the way image builders write them (PAX). */
public final class TarLayer {
    public static final long MTIME = 1_600_000_000L;

    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final TarArchiveOutputStream tar;

    public TarLayer() {
        tar = new TarArchiveOutputStream(bytes, "UTF-8");
        tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
        tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
        tar.setAddPaxHeadersForNonAsciiNames(true);
    }

    /** An entry with the name kept as given (absolute, "..": commons would strip a leading /). */
    public TarLayer entry(String name, byte type, byte[] data, Consumer<TarArchiveEntry> setup) {
        TarArchiveEntry e = new TarArchiveEntry(name, type, true);
        e.setModTime(FileTime.from(Instant.ofEpochSecond(MTIME)));
        e.setIds(0, 0);
        e.setUserName("");
        e.setGroupName("");
        if (setup != null) setup.accept(e);
        e.setSize(data == null ? 0 : data.length);
        try {
            tar.putArchiveEntry(e);
            if (data != null) tar.write(data);
            tar.closeArchiveEntry();
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
        return this;
    }

    public TarLayer dir(String name, int mode) {
        return entry(name, TarConstants.LF_DIR, null, e -> e.setMode(040000 | mode));
    }

    public TarLayer file(String name, String content) {
        return file(name, content, 0644);
    }

    public TarLayer file(String name, String content, int mode) {
        return entry(name, TarConstants.LF_NORMAL, content.getBytes(StandardCharsets.UTF_8), e -> e.setMode(0100000 | mode));
    }

    public TarLayer symlink(String name, String target) {
        return entry(name, TarConstants.LF_SYMLINK, null, e -> {
            e.setLinkName(target);
            e.setMode(0120777);
        });
    }

    public TarLayer hardlink(String name, String target) {
        return entry(name, TarConstants.LF_LINK, null, e -> e.setLinkName(target));
    }

    /** Closes the archive and returns the plain tar. */
    public byte[] tar() {
        try {
            tar.finish();
            tar.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    public static byte[] gzip(byte[] tar) {
        return compress(tar, o -> {
            try {
                return new GZIPOutputStream(o);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    public static byte[] zstd(byte[] tar) {
        return compress(tar, o -> {
            try {
                return new ZstdOutputStream(o);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    private static byte[] compress(byte[] data, java.util.function.Function<OutputStream, OutputStream> f) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (OutputStream o = f.apply(out)) {
            o.write(data);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    public static String sha256(byte[] data) {
        try {
            return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * {@code tar} with every {@code placeholder} in names and link targets replaced by
     * {@code value}: rebuilt by reading and writing it again, since lengths change.
     */
    public static byte[] patchAll(byte[] tar, String placeholder, String value) {
        TarLayer out = new TarLayer();
        try (var in = new org.apache.commons.compress.archivers.tar.TarArchiveInputStream(new java.io.ByteArrayInputStream(tar), "UTF-8")) {
            for (TarArchiveEntry e; (e = in.getNextEntry()) != null; ) {
                byte[] data = in.readAllBytes();
                TarArchiveEntry src = e;
                out.entry(e.getName().replace(placeholder, value), e.getLinkFlag(), data.length == 0 ? null : data, n -> {
                    n.setMode(src.getMode());
                    n.setLinkName(src.getLinkName().replace(placeholder, value));
                    n.setDevMajor(src.getDevMajor());
                    n.setDevMinor(src.getDevMinor());
                });
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.tar();
    }

    /** {@code data} with the first occurrence of {@code placeholder} replaced by {@code raw} (same length). */
    public static byte[] patch(byte[] data, byte[] placeholder, byte[] raw) {
        if (placeholder.length != raw.length) throw new IllegalArgumentException("lengths differ");
        outer:
        for (int i = 0; i + placeholder.length <= data.length; i++) {
            for (int j = 0; j < placeholder.length; j++) if (data[i + j] != placeholder[j]) continue outer;
            byte[] out = data.clone();
            System.arraycopy(raw, 0, out, i, raw.length);
            return out;
        }
        throw new IllegalArgumentException("placeholder not found");
    }
}
