package kurma.image.unpack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.Map;

import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import kurma.image.TarLayer;
import kurma.sys.Fs;

/** Unpacking real tar layers into a directory (runs as root: owners, devices, trusted xattrs). */
class LayerUnpackerTest {
    @TempDir
    Path tmp;

    /** cap_setuid+ep as a v2 file capability: the 0x80 byte is not valid UTF-8 on its own. */
    static final byte[] CAP_SETUID = {1, 0, 0, 2, (byte) 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    static final String CAP_PLACEHOLDER = "QQQQQQQQQQQQQQQQQQQQ";

    static final String LONG_DIR = "long/" + "x".repeat(120);
    static final String LONG_FILE = LONG_DIR + "/" + "y".repeat(150);
    static final String LONG_TARGET = "/" + "t".repeat(200);

    static byte[] everyKind() {
        byte[] tar = new TarLayer()
                .entry("./", TarConstants.LF_DIR, null, e -> e.setMode(040755))
                .entry("etc/", TarConstants.LF_DIR, null, e -> {
                    e.setMode(040750);
                    e.setIds(1234, 5678);
                    e.setModTime(FileTime.from(Instant.ofEpochSecond(1_500_000_000L)));
                })
                .entry("etc/passwd", TarConstants.LF_NORMAL, "root:x:0:0\n".getBytes(StandardCharsets.UTF_8), e -> {
                    e.setMode(0100640);
                    e.setIds(1234, 5678);
                    // A PAX mtime with a fraction (commons-compress writes 100 ns steps).
                    e.setModTime(FileTime.from(Instant.ofEpochSecond(1_400_000_000L, 123_456_700)));
                })
                .dir("bin", 0755)
                .file("bin/su", "su binary", 04755)
                .entry("bin/ping", TarConstants.LF_NORMAL, "ping".getBytes(StandardCharsets.UTF_8), e -> {
                    e.setMode(0100755);
                    e.addPaxHeader("SCHILY.xattr.security.capability", CAP_PLACEHOLDER);
                })
                .entry("data/", TarConstants.LF_DIR, null, e -> {
                    e.setMode(040700);
                    e.addPaxHeader("SCHILY.xattr.user.dir", "on a dir");
                })
                .entry("data/note", TarConstants.LF_NORMAL, "x".getBytes(StandardCharsets.UTF_8), e -> {
                    e.setMode(0100600);
                    e.addPaxHeader("SCHILY.xattr.user.note", "hello");
                })
                .dir("tmp", 01777)
                .entry("link", TarConstants.LF_SYMLINK, null, e -> {
                    e.setLinkName("../etc/passwd");
                    e.setIds(1234, 5678);
                    e.setModTime(FileTime.from(Instant.ofEpochSecond(1_300_000_000L)));
                })
                .hardlink("bin/su-again", "bin/su")
                .hardlink("hard-abs", "/bin/su")
                .dir("dev", 0755)
                .entry("dev/null", TarConstants.LF_CHR, null, e -> {
                    e.setMode(020666);
                    e.setDevMajor(1);
                    e.setDevMinor(3);
                })
                .entry("dev/loop0", TarConstants.LF_BLK, null, e -> {
                    e.setMode(060660);
                    e.setDevMajor(7);
                    e.setDevMinor(0);
                    e.setIds(0, 6);
                })
                .entry("dev/fifo", TarConstants.LF_FIFO, null, e -> e.setMode(010620))
                .file("implicit/a/b", "deep")
                .file(LONG_FILE, "long name")
                .symlink("long-link", LONG_TARGET)
                .tar();
        return TarLayer.patch(tar, CAP_PLACEHOLDER.getBytes(StandardCharsets.US_ASCII), CAP_SETUID);
    }

    enum Packing { PLAIN, GZIP, ZSTD }

    static byte[] pack(byte[] tar, Packing p) {
        return switch (p) {
            case PLAIN -> tar;
            case GZIP -> TarLayer.gzip(tar);
            case ZSTD -> TarLayer.zstd(tar);
        };
    }

    static Map<String, Object> attrs(Path p) throws IOException {
        return Files.readAttributes(p, "unix:*", LinkOption.NOFOLLOW_LINKS);
    }

    static int mode(Path p) throws IOException {
        return (int) attrs(p).get("mode");
    }

    static UnpackResult unpack(byte[] blob, LayerBlob layer, Path root) throws IOException {
        return LayerUnpacker.unpack(new ByteArrayInputStream(blob), layer, root, UnpackLimits.DEFAULT);
    }

    @ParameterizedTest
    @EnumSource(Packing.class)
    void keepsEveryKindOfEntryAndItsMetadata(Packing packing) throws IOException {
        byte[] tar = everyKind();
        byte[] blob = pack(tar, packing);
        Path root = Files.createDirectory(tmp.resolve("root"));
        UnpackResult r = unpack(blob, new LayerBlob(null, TarLayer.sha256(blob), TarLayer.sha256(tar)), root);
        assertEquals(TarLayer.sha256(tar), r.diffId());
        assertEquals(TarLayer.sha256(blob), r.digest());
        assertEquals(Compression.valueOf(packing == Packing.PLAIN ? "NONE" : packing.name()), r.compression());
        assertEquals(tar.length, r.uncompressedBytes());

        assertEquals(040755, mode(root));
        Path etc = root.resolve("etc");
        assertEquals(040750, mode(etc));
        assertEquals(1234, attrs(etc).get("uid"));
        assertEquals(5678, attrs(etc).get("gid"));
        // Directory times are set after their children were written.
        assertEquals(FileTime.from(Instant.ofEpochSecond(1_500_000_000L)), Files.getLastModifiedTime(etc));
        Path passwd = etc.resolve("passwd");
        assertEquals("root:x:0:0\n", Files.readString(passwd));
        assertEquals(0100640, mode(passwd));
        assertEquals(1234, attrs(passwd).get("uid"));
        assertEquals(Instant.ofEpochSecond(1_400_000_000L, 123_456_700), Files.getLastModifiedTime(passwd).toInstant());

        assertEquals(0104755, mode(root.resolve("bin/su")), "setuid kept (mode set after chown)");
        assertArrayEquals(CAP_SETUID, Fs.lgetxattr(root.resolve("bin/ping").toString(), "security.capability"),
                "binary capability kept byte for byte");
        assertArrayEquals("on a dir".getBytes(StandardCharsets.UTF_8), Fs.lgetxattr(root.resolve("data").toString(), "user.dir"));
        assertArrayEquals("hello".getBytes(StandardCharsets.UTF_8), Fs.lgetxattr(root.resolve("data/note").toString(), "user.note"));
        assertEquals(041777, mode(root.resolve("tmp")), "sticky bit kept");

        Path link = root.resolve("link");
        assertTrue(Files.isSymbolicLink(link));
        assertEquals("../etc/passwd", Files.readSymbolicLink(link).toString());
        assertEquals(1234, attrs(link).get("uid"), "symlink owner (lchown)");
        assertEquals(FileTime.from(Instant.ofEpochSecond(1_300_000_000L)), Files.getLastModifiedTime(link, LinkOption.NOFOLLOW_LINKS));

        Object suIno = attrs(root.resolve("bin/su")).get("ino");
        assertEquals(suIno, attrs(root.resolve("bin/su-again")).get("ino"), "hard link");
        assertEquals(suIno, attrs(root.resolve("hard-abs")).get("ino"), "absolute hard link target is inside the layer");
        assertEquals(3, attrs(root.resolve("bin/su")).get("nlink"));

        Map<String, Object> nul = attrs(root.resolve("dev/null"));
        assertEquals(020666, nul.get("mode"));
        assertEquals(Fs.makedev(1, 3), nul.get("rdev"));
        Map<String, Object> loop = attrs(root.resolve("dev/loop0"));
        assertEquals(060660, loop.get("mode"));
        assertEquals(Fs.makedev(7, 0), loop.get("rdev"));
        assertEquals(6, loop.get("gid"));
        assertEquals(010620, mode(root.resolve("dev/fifo")));

        assertEquals(040755, mode(root.resolve("implicit/a")), "implicit directories are 0755");
        assertEquals(0, attrs(root.resolve("implicit")).get("uid"));
        assertEquals("deep", Files.readString(root.resolve("implicit/a/b")));
        assertEquals("long name", Files.readString(root.resolve(LONG_FILE)));
        assertEquals(LONG_TARGET, Files.readSymbolicLink(root.resolve("long-link")).toString());
    }

    @Test
    void checksDigestAndDiffId() throws IOException {
        byte[] tar = new TarLayer().file("a", "a").tar();
        byte[] blob = TarLayer.gzip(tar);
        String wrong = "sha256:" + "0".repeat(64);
        LayerException e = assertThrows(LayerException.class,
                () -> unpack(blob, new LayerBlob(null, null, wrong), Files.createDirectory(tmp.resolve("r1"))));
        assertTrue(e.getMessage().contains("not the diff_id " + wrong), e.getMessage());
        assertTrue(e.getMessage().contains(TarLayer.sha256(tar)), e.getMessage());
        e = assertThrows(LayerException.class,
                () -> unpack(blob, new LayerBlob(null, wrong, null), Files.createDirectory(tmp.resolve("r2"))));
        assertTrue(e.getMessage().contains("the blob's digest is " + TarLayer.sha256(blob)), e.getMessage());
        e = assertThrows(LayerException.class,
                () -> unpack(blob, new LayerBlob(null, "md5:abc", null), Files.createDirectory(tmp.resolve("r3"))));
        assertTrue(e.getMessage().contains("only sha256 and sha512"), e.getMessage());
    }

    @Test
    void mediaTypeMustBeALayerButMagicBytesDecideTheCompression() throws IOException {
        byte[] tar = new TarLayer().file("a", "a").tar();
        // Labelled gzip, actually plain: read as what it is.
        unpack(tar, new LayerBlob("application/vnd.docker.image.rootfs.diff.tar.gzip", null, null), Files.createDirectory(tmp.resolve("r1")));
        assertEquals("a", Files.readString(tmp.resolve("r1/a")));
        unpack(TarLayer.zstd(tar), new LayerBlob("application/vnd.oci.image.layer.v1.tar+zstd", null, null), Files.createDirectory(tmp.resolve("r2")));
        assertEquals("a", Files.readString(tmp.resolve("r2/a")));
        LayerException e = assertThrows(LayerException.class, () -> unpack(tar,
                new LayerBlob("application/vnd.oci.image.config.v1+json", null, null), Files.createDirectory(tmp.resolve("r3"))));
        assertEquals("unsupported layer media type application/vnd.oci.image.config.v1+json", e.getMessage());
    }

    @Test
    void brokenCompressedStreamIsALayerError() throws IOException {
        byte[] gz = TarLayer.gzip(new TarLayer().file("a", "a".repeat(10000)).tar());
        byte[] cut = java.util.Arrays.copyOf(gz, gz.length / 2);
        LayerException e = assertThrows(LayerException.class,
                () -> unpack(cut, new LayerBlob(null, null, null), Files.createDirectory(tmp.resolve("r"))));
        assertTrue(e.getMessage().startsWith("layer (no digest): "), e.getMessage());
    }

    @Test
    void whiteoutsAndOpaqueDirectoriesInOverlayForm() throws IOException {
        byte[] tar = new TarLayer()
                .file("a/.wh.gone", "")
                .file(".wh.top", "")
                .file("o/.wh..wh..opq", "")
                .file("o/new", "new")
                .file(".wh..wh.plnk/123", "aufs hard link store")
                .tar();
        Path root = Files.createDirectory(tmp.resolve("root"));
        unpack(tar, new LayerBlob(null, null, null), root);
        for (String w : new String[] {"a/gone", "top"}) {
            Map<String, Object> a = attrs(root.resolve(w));
            assertEquals(Fs.S_IFCHR, (int) a.get("mode") & Fs.S_IFMT, w);
            assertEquals(0L, a.get("rdev"), w);
        }
        assertArrayEquals(new byte[] {'y'}, Fs.lgetxattr(root.resolve("o").toString(), "trusted.overlay.opaque"));
        assertEquals("new", Files.readString(root.resolve("o/new")));
        assertFalse(Files.exists(root.resolve(".wh..wh..opq")));
        assertFalse(Files.exists(root.resolve(".wh..wh.plnk"), LinkOption.NOFOLLOW_LINKS), "aufs metadata skipped");
        assertFalse(Files.exists(root.resolve("a/.wh.gone"), LinkOption.NOFOLLOW_LINKS));
    }

    @Test
    void layerCannotSetOverlayMetadata() throws IOException {
        byte[] tar = new TarLayer().entry("d/", TarConstants.LF_DIR, null, e -> {
            e.setMode(040755);
            e.addPaxHeader("SCHILY.xattr.trusted.overlay.opaque", "y");
            e.addPaxHeader("SCHILY.xattr.trusted.overlay.redirect", "/etc");
        }).tar();
        Path root = Files.createDirectory(tmp.resolve("root"));
        unpack(tar, new LayerBlob(null, null, null), root);
        assertNull(Fs.lgetxattr(root.resolve("d").toString(), "trusted.overlay.opaque"));
        assertNull(Fs.lgetxattr(root.resolve("d").toString(), "trusted.overlay.redirect"));
    }

    @Test
    void laterEntriesReplaceEarlierOnesWithoutFollowingThem() throws IOException {
        Path outside = Files.createDirectory(tmp.resolve("outside"));
        Files.writeString(outside.resolve("file"), "untouched");
        byte[] tar = new TarLayer()
                .symlink("s", outside.resolve("file").toString())
                .file("s", "replaced the link")
                .symlink("d", outside.toString())
                .dir("d", 0755)
                .file("d/inside", "in")
                .file("f", "file")
                .dir("f", 0700)
                .dir("g", 0755)
                .file("g/x", "x")
                .file("g", "dir replaced by a file")
                .tar();
        Path root = Files.createDirectory(tmp.resolve("root"));
        unpack(tar, new LayerBlob(null, null, null), root);
        assertEquals("replaced the link", Files.readString(root.resolve("s")));
        assertFalse(Files.isSymbolicLink(root.resolve("s")));
        assertTrue(Files.isDirectory(root.resolve("d"), LinkOption.NOFOLLOW_LINKS));
        assertEquals("in", Files.readString(root.resolve("d/inside")));
        assertEquals(040700, mode(root.resolve("f")));
        assertEquals("dir replaced by a file", Files.readString(root.resolve("g")));
        assertEquals("untouched", Files.readString(outside.resolve("file")));
        try (var s = Files.list(outside)) {
            assertEquals(1, s.count());
        }
    }

    @Test
    void tarFromGnuTarKeepsBinaryCapability() throws Exception {
        Path src = Files.createDirectory(tmp.resolve("src"));
        Files.writeString(src.resolve("newuidmap"), "binary");
        Fs.check(Fs.lsetxattr(src.resolve("newuidmap").toString(), "security.capability", CAP_SETUID), "setxattr");
        Path tarFile = tmp.resolve("layer.tar");
        Process p = new ProcessBuilder("tar", "--xattrs", "--xattrs-include=*", "-C", src.toString(), "-cf", tarFile.toString(), ".")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        Path root = Files.createDirectory(tmp.resolve("root"));
        unpack(Files.readAllBytes(tarFile), new LayerBlob(null, null, null), root);
        assertEquals("binary", Files.readString(root.resolve("newuidmap")));
        assertArrayEquals(CAP_SETUID, Fs.lgetxattr(root.resolve("newuidmap").toString(), "security.capability"));
    }

    @Test
    void decompressionBombStopsAtTheLimit() throws IOException {
        byte[] zeros = new byte[64 << 20];
        byte[] blob = TarLayer.gzip(new TarLayer().entry("bomb", TarConstants.LF_NORMAL, zeros, e -> e.setMode(0100644)).tar());
        assertTrue(blob.length < 1 << 20, "a small blob: " + blob.length);
        Path root = Files.createDirectory(tmp.resolve("root"));
        LayerException e = assertThrows(LayerException.class, () -> LayerUnpacker.unpack(new ByteArrayInputStream(blob),
                new LayerBlob(null, null, null), root, new UnpackLimits(8 << 20, 1000)));
        assertEquals("the layer expands to more than 8388608 bytes uncompressed, the limit", e.getMessage());
        assertTrue(Files.size(root.resolve("bomb")) <= 8 << 20);
    }

    @Test
    void entryCountLimit() throws IOException {
        TarLayer t = new TarLayer();
        for (int i = 0; i < 20; i++) t.file("f" + i, "");
        byte[] tar = t.tar();
        LayerException e = assertThrows(LayerException.class, () -> LayerUnpacker.unpack(new ByteArrayInputStream(tar),
                new LayerBlob(null, null, null), Files.createDirectory(tmp.resolve("root")), new UnpackLimits(1 << 30, 10)));
        assertEquals("layer (no digest) has more than 10 entries, the limit", e.getMessage());
    }

    @Test
    void hugeExtendedHeaderIsRefusedBeforeItIsRead() throws IOException {
        byte[] tar = new TarLayer().entry("a", TarConstants.LF_NORMAL, null, e -> e.addPaxHeader("comment", "c".repeat(2 << 20))).tar();
        LayerException e = assertThrows(LayerException.class,
                () -> unpack(tar, new LayerBlob(null, null, null), Files.createDirectory(tmp.resolve("root"))));
        assertTrue(e.getMessage().contains("PAX extended header, more than the 1048576 bytes allowed"), e.getMessage());
    }
}
