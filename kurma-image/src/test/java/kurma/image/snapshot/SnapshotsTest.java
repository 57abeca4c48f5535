package kurma.image.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import kurma.image.TarLayer;
import kurma.image.unpack.LayerBlob;
import kurma.image.unpack.LayerException;
import kurma.image.unpack.UnpackLimits;

class SnapshotsTest {
    @TempDir
    Path tmp;
    Path canary;
    Snapshots store;

    @BeforeEach
    void setUp() throws IOException {
        canary = Files.createDirectory(tmp.resolve("canary"));
        Files.writeString(canary.resolve("secret"), "secret");
        Files.createDirectory(canary.resolve("sub"));
        store = new Snapshots(tmp.resolve("state"));
    }

    static LayerBlob blob(byte[] tar) {
        return new LayerBlob("application/vnd.oci.image.layer.v1.tar", null, TarLayer.sha256(tar));
    }

    @Test
    void chainIdsFollowTheImageSpec() {
        String d0 = "sha256:" + "a".repeat(64), d1 = "sha256:" + "b".repeat(64);
        assertEquals(d0, ChainId.of(null, d0));
        String c1 = TarLayer.sha256((d0 + " " + d1).getBytes());
        assertEquals(c1, ChainId.of(d0, d1));
        assertEquals(List.of(d0, c1), ChainId.of(List.of(d0, d1)));
        assertThrows(IllegalArgumentException.class, () -> ChainId.of(null, "sha512:" + "a".repeat(128)));
    }

    @Test
    void unpacksEachLayerOnceAndKeysItByChainId() throws IOException {
        byte[] l0 = new TarLayer().file("etc/os-release", "ID=test").tar();
        byte[] l1 = new TarLayer().file("etc/hostname", "h").tar();
        List<Integer> opened = new ArrayList<>();
        List<LayerBlob> layers = List.of(blob(l0), blob(l1));
        List<Snapshot> snaps = store.unpackImage(layers, l -> {
            opened.add(l == layers.get(0) ? 0 : 1);
            return new ByteArrayInputStream(l == layers.get(0) ? l0 : l1);
        });
        assertEquals(List.of(0, 1), opened);
        List<String> chain = ChainId.of(List.of(TarLayer.sha256(l0), TarLayer.sha256(l1)));
        assertEquals(chain, snaps.stream().map(Snapshot::chainId).toList());
        assertEquals(store.directory().resolve(chain.get(1).substring(7)), snaps.get(1).dir());
        assertEquals(chain.get(0), snaps.get(1).parent());
        assertEquals("h", Files.readString(snaps.get(1).fs().resolve("etc/hostname")));
        assertFalse(Files.exists(snaps.get(1).fs().resolve("etc/os-release")), "a snapshot holds its own layer only");

        List<Snapshot> again = store.unpackImage(layers, l -> fail("layer read again"));
        assertEquals(snaps, again);
        assertEquals(snaps, store.chain(chain.get(1)));
        assertEquals(2, store.list().size());

        // The same layer over another parent is another snapshot.
        Snapshot alone = store.unpack(null, blob(l1), new ByteArrayInputStream(l1));
        assertEquals(TarLayer.sha256(l1), alone.chainId());
        assertEquals(3, store.list().size());
    }

    @Test
    void theParentMustExist() {
        byte[] l = new TarLayer().file("a", "a").tar();
        LayerException e = assertThrows(LayerException.class,
                () -> store.unpack("sha256:" + "c".repeat(64), blob(l), new ByteArrayInputStream(l)));
        assertTrue(e.getMessage().contains("that snapshot does not exist"), e.getMessage());
    }

    @Test
    void twoCommandsUnpackingTheSameLayerGetOneSnapshot() throws Exception {
        TarLayer t = new TarLayer();
        for (int i = 0; i < 200; i++) t.file("d/f" + i, "content " + i);
        byte[] l = t.tar();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<Snapshot>> fs = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                // Separate Snapshots objects, as two processes would have.
                Snapshots s = new Snapshots(tmp.resolve("state"));
                fs.add(pool.submit(() -> {
                    start.await();
                    // No diff_id given: neither can skip the work by looking first.
                    return s.unpack(null, new LayerBlob(null, null, null), new ByteArrayInputStream(l));
                }));
            }
            start.countDown();
            assertEquals(fs.get(0).get(60, TimeUnit.SECONDS), fs.get(1).get(60, TimeUnit.SECONDS));
        } finally {
            pool.shutdownNow();
        }
        assertEquals(List.of(TarLayer.sha256(l).substring(7), "lock"), names(store.directory()), "no temporary directory left");
    }

    @Test
    void garbageCollectionKeepsWhatIsReferencedAndItsParents() throws IOException {
        byte[] a = new TarLayer().file("a", "a").tar(), b = new TarLayer().file("b", "b").tar(),
                c = new TarLayer().file("c", "c").tar(), d = new TarLayer().file("d", "d").tar();
        List<Snapshot> abc = store.unpackImage(List.of(blob(a), blob(b), blob(c)), l -> new ByteArrayInputStream(
                l.diffId().equals(TarLayer.sha256(a)) ? a : l.diffId().equals(TarLayer.sha256(b)) ? b : c));
        Snapshot other = store.unpack(null, blob(d), new ByteArrayInputStream(d));
        // What a crash half-way through an unpack leaves.
        Path crashed = Files.createDirectories(store.directory().resolve("tmp-123/fs/usr"));
        Files.writeString(crashed.resolve("half"), "x");

        Snapshots.GcResult r = store.retainOnly(Set.of(abc.get(2).chainId()));
        assertEquals(List.of(other.chainId()), r.removedSnapshots());
        assertEquals(1, r.removedTempDirs());
        List<String> expected = new ArrayList<>(abc.stream().map(s -> s.dir().getFileName().toString()).toList());
        expected.add("lock");
        assertEquals(expected.stream().sorted().toList(), names(store.directory()));
        assertEquals(abc, store.chain(abc.get(2).chainId()));

        r = store.retainOnly(Set.of());
        assertEquals(3, r.removedSnapshots().size());
        assertEquals(List.of("lock"), names(store.directory()));
    }

    @Test
    void garbageCollectionWaitsForLeases() throws Exception {
        byte[] a = new TarLayer().file("a", "a").tar();
        Snapshot s = store.unpack(null, blob(a), new ByteArrayInputStream(a));
        Snapshots other = new Snapshots(tmp.resolve("state"));
        CompletableFuture<Snapshots.GcResult> gc;
        try (Snapshots.Lease lease = store.lease()) {
            assertThrows(IllegalStateException.class, () -> store.retainOnly(Set.of()));
            gc = CompletableFuture.supplyAsync(() -> {
                try {
                    return other.retainOnly(Set.of());
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            assertThrows(TimeoutException.class, () -> gc.get(500, TimeUnit.MILLISECONDS));
            assertTrue(Files.isDirectory(s.fs()), "kept while the lease is held");
        }
        assertEquals(List.of(s.chainId()), gc.get(60, TimeUnit.SECONDS).removedSnapshots());
        assertFalse(Files.exists(s.dir()));
    }

    /** Layers that try to write outside their root, each in its own way. */
    static Stream<Arguments> maliciousLayers() {
        String up = "../../../../canary"; // from <tmp>/state/snapshots/tmp-X/fs to <tmp>/canary
        return Stream.of(
                Arguments.of("dot-dot", new TarLayer().file("../escape", "x").tar(), "has a \"..\" component"),
                Arguments.of("dot-dot to canary", new TarLayer().file(up + "/secret", "x").tar(), "has a \"..\" component"),
                Arguments.of("dot-dot inside", new TarLayer().file("a/../../escape", "x").tar(), "has a \"..\" component"),
                Arguments.of("relative symlink then write through it",
                        new TarLayer().symlink("link", up).file("link/secret", "pwned").tar(), "\"link\" is a symbolic link"),
                Arguments.of("absolute symlink then write through it",
                        new TarLayer().symlink("link", "CANARY").file("link/new", "pwned").tar(), "\"link\" is a symbolic link"),
                Arguments.of("symlink then directory through it",
                        new TarLayer().symlink("link", "CANARY").dir("link/sub/deeper", 0755).tar(), "\"link\" is a symbolic link"),
                Arguments.of("symlink chain",
                        new TarLayer().symlink("b", "CANARY").symlink("a", "b").file("a/new", "pwned").tar(), "\"a\" is a symbolic link"),
                Arguments.of("symlink in the middle",
                        new TarLayer().dir("d", 0755).symlink("d/l", "CANARY").file("d/l/sub/new", "x").tar(), "\"d/l\" is a symbolic link"),
                Arguments.of("hard link with dot-dot", new TarLayer().hardlink("hl", "../../etc/passwd").tar(), "has a \"..\" component"),
                Arguments.of("hard link to an absolute path",
                        new TarLayer().hardlink("hl", "/etc/passwd").tar(), "hard link target \"etc/passwd\" is not in this layer"),
                Arguments.of("hard link through a symlink",
                        new TarLayer().symlink("d", "CANARY").hardlink("hl", "d/secret").tar(), "\"d\" is a symbolic link"),
                Arguments.of("whiteout through a symlink",
                        new TarLayer().symlink("w", "CANARY").file("w/.wh.secret", "").tar(), "\"w\" is a symbolic link"),
                Arguments.of("opaque marker through a symlink",
                        new TarLayer().symlink("w", "CANARY").file("w/.wh..wh..opq", "").tar(), "\"w\" is a symbolic link"),
                Arguments.of("whiteout of dot-dot", new TarLayer().file(".wh...", "").tar(), "is a whiteout that names no file"),
                Arguments.of("device through a symlink", new TarLayer().symlink("w", "CANARY")
                        .entry("w/null", TarConstants.LF_CHR, null, e -> e.setDevMajor(1)).tar(), "\"w\" is a symbolic link"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("maliciousLayers")
    void maliciousLayersAreRefusedWithNothingWrittenOutside(String name, byte[] template, String message) throws IOException {
        // Absolute targets point at this test's canary.
        byte[] tar = new String(template, java.nio.charset.StandardCharsets.ISO_8859_1).contains("CANARY")
                ? TarLayer.patchAll(template, "CANARY", canary.toString()) : template;
        var before = snapshotOf(tmp);
        LayerException e = assertThrows(LayerException.class,
                () -> store.unpack(null, new LayerBlob(null, null, null), new ByteArrayInputStream(tar)));
        assertTrue(e.getMessage().contains(message), e.getMessage());
        var after = snapshotOf(tmp);
        // The store's own directory changed time: a temporary directory came and went.
        before.remove("state/snapshots");
        after.remove("state/snapshots");
        assertEquals(before, after, "nothing written or left anywhere, no half snapshot");
        assertEquals(List.of("lock"), names(store.directory()));
    }

    @Test
    void absoluteNamesAreRelativeToTheLayer() throws IOException {
        byte[] tar = new TarLayer().file(canary.resolve("secret").toString(), "inside").file("/abs/path", "p").tar();
        var before = snapshotOf(canary);
        Snapshot s = store.unpack(null, blob(tar), new ByteArrayInputStream(tar));
        assertEquals("inside", Files.readString(s.fs().resolve(canary.toString().substring(1)).resolve("secret")));
        assertEquals("p", Files.readString(s.fs().resolve("abs/path")));
        assertEquals(before, snapshotOf(canary));
    }

    @Test
    void aRefusedLayerOverAParentLeavesTheParent() throws IOException {
        byte[] ok = new TarLayer().file("a", "a").tar();
        Snapshot base = store.unpack(null, blob(ok), new ByteArrayInputStream(ok));
        byte[] bad = new TarLayer().file("b", "b").file("../x", "x").tar();
        assertThrows(LayerException.class, () -> store.unpack(base.chainId(), blob(bad), new ByteArrayInputStream(bad)));
        assertEquals(List.of(base), store.list());
        assertEquals(List.of("lock", base.dir().getFileName().toString()).stream().sorted().toList(), names(store.directory()));
    }

    @Test
    void bombIsRefusedAndLeavesNothing() throws IOException {
        Snapshots small = new Snapshots(tmp.resolve("state"), new UnpackLimits(1 << 20, 100));
        byte[] tar = new TarLayer().entry("zeros", TarConstants.LF_NORMAL, new byte[4 << 20], null).tar();
        LayerException e = assertThrows(LayerException.class,
                () -> small.unpack(null, new LayerBlob(null, null, null), new ByteArrayInputStream(TarLayer.zstd(tar))));
        assertTrue(e.getMessage().contains("more than 1048576 bytes uncompressed"), e.getMessage());
        assertEquals(List.of("lock"), names(store.directory()));
    }

    static List<String> names(Path dir) throws IOException {
        try (var s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** Every path under {@code dir} with its type, size, mode and mtime. */
    static TreeMap<String, String> snapshotOf(Path dir) throws IOException {
        TreeMap<String, String> out = new TreeMap<>();
        try (var s = Files.walk(dir)) {
            for (Path p : s.toList()) {
                var a = Files.readAttributes(p, "unix:*", LinkOption.NOFOLLOW_LINKS);
                out.put(dir.relativize(p).toString(), a.get("mode") + " " + a.get("size") + " " + a.get("lastModifiedTime"));
            }
        }
        return out;
    }
}
