package kurma.image.snapshot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import kurma.image.TarLayer;
import kurma.image.unpack.LayerBlob;
import kurma.sys.Fs;

/** Root filesystems from snapshots: a real overlayfs mount, and the copy fallback. */
class RootFsTest {
    @TempDir
    Path tmp;
    Path canary;
    Snapshots store;
    final List<RootFs.Mounted> mounted = new ArrayList<>();

    @BeforeEach
    void setUp() throws IOException {
        canary = Files.createDirectory(tmp.resolve("canary"));
        Files.writeString(canary.resolve("secret"), "secret");
        store = new Snapshots(tmp.resolve("state"));
    }

    @AfterEach
    void unmountAll() throws IOException {
        for (RootFs.Mounted m : mounted) m.close();
    }

    RootFs.Mounted mount(List<Snapshot> snaps, Path containerDir, RootFs.Mode mode) throws IOException {
        RootFs.Mounted m = RootFs.mount(snaps.stream().map(Snapshot::fs).toList(), containerDir, mode);
        mounted.add(m);
        return m;
    }

    List<Snapshot> unpack(byte[]... tars) throws IOException {
        List<LayerBlob> blobs = new ArrayList<>();
        for (byte[] t : tars) blobs.add(new LayerBlob(null, null, TarLayer.sha256(t)));
        return store.unpackImage(blobs, l -> new ByteArrayInputStream(tars[blobs.indexOf(l)]));
    }

    /** Two layers: the upper deletes a file and a whole file tree, makes a directory opaque, replaces a symlink. */
    List<Snapshot> twoLayers() throws IOException {
        byte[] lower = new TarLayer()
                .dir("a", 0755)
                .file("a/keep", "kept")
                .file("a/gone", "deleted by the upper layer")
                .file("top", "deleted too")
                .dir("tree", 0755)
                .file("tree/x/y", "a whole tree deleted")
                .dir("o", 0755)
                .file("o/old1", "hidden by the opaque directory")
                .file("o/sub/old2", "hidden too")
                .symlink("lib", canary.toString())
                .entry("etc/owned", TarConstants.LF_NORMAL, "o".getBytes(StandardCharsets.UTF_8), e -> {
                    e.setIds(1234, 1234);
                    e.setMode(0100604);
                    e.addPaxHeader("SCHILY.xattr.user.k", "v");
                })
                .file("hl1", "linked")
                .hardlink("hl2", "hl1")
                .entry("dev/null", TarConstants.LF_CHR, null, e -> {
                    e.setMode(020666);
                    e.setDevMajor(1);
                    e.setDevMinor(3);
                })
                .entry("fifo", TarConstants.LF_FIFO, null, e -> e.setMode(010600))
                .tar();
        byte[] upper = new TarLayer()
                .file("a/.wh.gone", "")
                .file(".wh.top", "")
                .file(".wh.tree", "")
                .file("o/.wh..wh..opq", "")
                .file("o/new", "new")
                .dir("lib", 0755)
                .file("lib/x", "a directory now")
                .file("a/added", "added")
                .tar();
        return unpack(lower, upper);
    }

    void checkMergedView(Path root) throws IOException {
        assertEquals(List.of("added", "keep"), SnapshotsTest.names(root.resolve("a")));
        assertEquals("kept", Files.readString(root.resolve("a/keep")));
        assertFalse(Files.exists(root.resolve("top"), LinkOption.NOFOLLOW_LINKS));
        assertFalse(Files.exists(root.resolve("tree"), LinkOption.NOFOLLOW_LINKS));
        assertEquals(List.of("new"), SnapshotsTest.names(root.resolve("o")), "opaque: only the upper layer's entries");
        assertTrue(Files.isDirectory(root.resolve("lib"), LinkOption.NOFOLLOW_LINKS));
        assertEquals(List.of("x"), SnapshotsTest.names(root.resolve("lib")));
        Map<String, Object> owned = Files.readAttributes(root.resolve("etc/owned"), "unix:*", LinkOption.NOFOLLOW_LINKS);
        assertEquals(1234, owned.get("uid"));
        assertEquals(0100604, owned.get("mode"));
        assertArrayEquals("v".getBytes(StandardCharsets.UTF_8), Fs.lgetxattr(root.resolve("etc/owned").toString(), "user.k"));
        assertEquals(Files.getAttribute(root.resolve("hl1"), "unix:ino"), Files.getAttribute(root.resolve("hl2"), "unix:ino"));
        assertEquals(Fs.makedev(1, 3), Files.getAttribute(root.resolve("dev/null"), "unix:rdev", LinkOption.NOFOLLOW_LINKS));
        assertEquals(010600, Files.getAttribute(root.resolve("fifo"), "unix:mode", LinkOption.NOFOLLOW_LINKS));
        assertEquals(List.of("secret"), SnapshotsTest.names(canary));
    }

    @ParameterizedTest
    @EnumSource(value = RootFs.Mode.class, names = {"OVERLAY", "COPY"})
    void mergedViewHonoursWhiteoutsAndOpaqueDirectories(RootFs.Mode mode) throws IOException {
        List<Snapshot> snaps = twoLayers();
        Path container = tmp.resolve("containers/c1");
        RootFs.Mounted m = mount(snaps, container, mode);
        Class<?> expected = mode == RootFs.Mode.OVERLAY ? RootFs.Overlay.class : RootFs.Copy.class;
        assertEquals(expected, m.getClass());
        assertEquals(container.resolve("rootfs").toAbsolutePath(), m.rootfs());
        checkMergedView(m.rootfs());

        // The container writes and deletes; the snapshots stay as they were.
        Files.writeString(m.rootfs().resolve("a/keep"), "changed");
        Files.delete(m.rootfs().resolve("o/new"));
        assertEquals("kept", Files.readString(snaps.get(0).fs().resolve("a/keep")));
        assertEquals("new", Files.readString(snaps.get(1).fs().resolve("o/new")));
        if (m instanceof RootFs.Overlay o) {
            assertTrue(o.options().startsWith("lowerdir=" + snaps.get(1).fs() + ":" + snaps.get(0).fs() + ",upperdir="), o.options());
            assertEquals("changed", Files.readString(container.resolve("upper/a/keep")));
            assertTrue(RootFs.isMountPoint(m.rootfs()));
            m.close();
            assertFalse(RootFs.isMountPoint(m.rootfs()));
            assertEquals(List.of(), SnapshotsTest.names(m.rootfs()));
        }
    }

    @Test
    void autoMountsAnOverlayHere() throws IOException {
        List<Snapshot> snaps = unpack(new TarLayer().file("only", "one layer").tar());
        RootFs.Mounted m = mount(snaps, tmp.resolve("c"), RootFs.Mode.AUTO);
        assertInstanceOf(RootFs.Overlay.class, m, "overlayfs works on this kernel and ext4");
        assertEquals("one layer", Files.readString(m.rootfs().resolve("only")));
    }

    @Test
    void tooManyLayersForOnePageFallBackToCopy() throws IOException {
        // Long snapshot paths: a state directory deep enough that 40 lowerdirs pass 4096 bytes.
        store = new Snapshots(tmp.resolve("d".repeat(100)).resolve("e".repeat(100)));
        byte[][] tars = new byte[40][];
        for (int i = 0; i < tars.length; i++) tars[i] = new TarLayer().file("f" + i, "layer " + i).file("last", "" + i).tar();
        List<Snapshot> snaps = unpack(tars);
        RootFs.Mounted m = mount(snaps, tmp.resolve("c"), RootFs.Mode.AUTO);
        RootFs.Copy copy = assertInstanceOf(RootFs.Copy.class, m);
        assertTrue(copy.reason().contains("more than one page"), copy.reason());
        assertEquals("39", Files.readString(m.rootfs().resolve("last")));
        assertEquals("layer 0", Files.readString(m.rootfs().resolve("f0")));
        IOException e = assertThrows(IOException.class, () -> mount(snaps, tmp.resolve("c2"), RootFs.Mode.OVERLAY));
        assertTrue(e.getMessage().contains("more than one page"), e.getMessage());
    }

    @Test
    void fallsBackToCopyWhereOverlayfsRefusesTheUpperDirectory() throws IOException {
        List<Snapshot> snaps = twoLayers();
        // overlayfs cannot be the upper file system of another overlay (as for a state
        // directory inside a container): the mount fails with EINVAL, the layers are copied.
        RootFs.Mounted outer = mount(snaps, tmp.resolve("outer"), RootFs.Mode.OVERLAY);
        Path inner = outer.rootfs().resolve("var/lib/c2");
        RootFs.Mounted m = mount(snaps, inner, RootFs.Mode.AUTO);
        RootFs.Copy copy = assertInstanceOf(RootFs.Copy.class, m);
        assertTrue(copy.reason().startsWith("mount overlay: "), copy.reason());
        assertFalse(Files.exists(inner.resolve("upper")), "no leftover of the failed attempt");
        checkMergedView(m.rootfs());
    }

    @Test
    void deleteUnmountsAndRemovesTheContainerDirectory() throws IOException {
        List<Snapshot> snaps = unpack(new TarLayer().file("f", "f").tar());
        Path container = tmp.resolve("c");
        RootFs.Mounted m = mount(snaps, container, RootFs.Mode.OVERLAY);
        Files.writeString(m.rootfs().resolve("written"), "w");
        RootFs.delete(container); // as after a crash: nobody closed the handle
        assertFalse(Files.exists(container));
        assertEquals("f", Files.readString(snaps.get(0).fs().resolve("f")), "the snapshot is untouched");
        assertFalse(Files.exists(snaps.get(0).fs().resolve("written")));
    }

    @Test
    void theRootfsMustBeEmpty() throws IOException {
        List<Snapshot> snaps = unpack(new TarLayer().file("f", "f").tar());
        Path container = tmp.resolve("c");
        Files.createDirectories(container.resolve("rootfs/leftover"));
        IOException e = assertThrows(IOException.class, () -> mount(snaps, container, RootFs.Mode.AUTO));
        assertTrue(e.getMessage().endsWith("rootfs is not empty"), e.getMessage());
    }
}
