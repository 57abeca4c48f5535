package kurma.image.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import kurma.image.ContentStore;
import kurma.image.Digest;
import kurma.image.Image;
import kurma.image.ImageException;
import kurma.image.Platform;
import kurma.image.testing.StoreWriter;
import kurma.image.testing.TestImage;

class ImageStoreTest {
    private static final Platform AMD64 = new Platform("linux", "amd64", null);

    @TempDir
    Path dir;

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void opensAnOciLayout() throws IOException {
        ImageStore s = ImageStore.open(dir);
        assertEquals("{\"imageLayoutVersion\":\"1.0.0\"}", Files.readString(dir.resolve("images/oci-layout")));
        assertTrue(Files.readString(dir.resolve("images/index.json")).contains("\"manifests\": []"));
        assertTrue(Files.isDirectory(dir.resolve("images/blobs/sha256")));
        assertEquals(List.of(), s.list());
    }

    @Test
    void blobsAreVerifiedOnTheWayIn() throws IOException {
        ContentStore c = ImageStore.open(dir).content();
        byte[] b = bytes("layer content");
        Digest d = Digest.sha256(b);
        assertEquals(d, c.put(b, d));
        assertTrue(Files.isRegularFile(dir.resolve("images/blobs/sha256/" + d.hex())));
        assertArrayEquals(b, c.read(d));

        byte[] evil = bytes("something else");
        Digest claimed = Digest.sha256(bytes("what it claims to be"));
        ImageException e = assertThrows(ImageException.class, () -> c.put(evil, claimed));
        assertEquals(ImageException.Reason.DIGEST_MISMATCH, e.reason());
        e = assertThrows(ImageException.class, () -> c.put(new ByteArrayInputStream(evil), claimed, evil.length));
        assertEquals(ImageException.Reason.DIGEST_MISMATCH, e.reason());
        e = assertThrows(ImageException.class, () -> c.put(new ByteArrayInputStream(b), null, b.length + 1));
        assertEquals(ImageException.Reason.DIGEST_MISMATCH, e.reason());
        assertFalse(c.contains(claimed));
        assertFalse(Files.exists(dir.resolve("images/blobs/sha256/" + claimed.hex())));
        try (var files = Files.list(dir.resolve("ingest"))) {
            assertEquals(0, files.count(), "no temp file left behind");
        }
    }

    @Test
    void aCorruptOrTruncatedBlobIsNeverServed() throws IOException {
        ImageStore s = ImageStore.open(dir);
        ContentStore c = s.content();
        byte[] b = bytes("x".repeat(100_000));
        Digest d = c.put(b, null);
        Path f = dir.resolve("images/blobs/sha256/" + d.hex());

        // one flipped byte, same size: read() refuses and drops the blob
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.seek(50_000);
            raf.write('y');
        }
        ImageException e = assertThrows(ImageException.class, () -> c.read(d));
        assertEquals(ImageException.Reason.DIGEST_MISMATCH, e.reason());
        assertFalse(c.contains(d), "the corrupt blob is removed so that a pull fetches it again");

        // truncated: the stream delivers what is there but fails at the end, and on close
        c.put(b, d);
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(60_000);
        }
        try (InputStream in = s.openBlob(d)) {
            assertThrows(IOException.class, () -> in.transferTo(java.io.OutputStream.nullOutputStream()));
        }
        assertFalse(c.contains(d));

        // a consumer that stops early still learns it on close
        c.put(b, d);
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.seek(99_999);
            raf.write('z');
        }
        InputStream in = s.openBlob(d);
        assertEquals('x', in.read());
        assertThrows(IOException.class, in::close);

        c.put(b, d);
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.seek(10);
            raf.write('q');
        }
        assertEquals(List.of(d), s.verify());
        assertFalse(c.contains(d));
    }

    @Test
    void aBrokenDownloadResumesAndAWrongOneIsDiscarded() throws IOException {
        ContentStore c = ImageStore.open(dir).content();
        byte[] b = new byte[300_000];
        new java.util.Random(1).nextBytes(b);
        Digest d = Digest.sha256(b);
        try (ContentStore.Ingest in = c.ingest(d, b.length)) {
            assertEquals(0, in.offset());
            in.append(new ByteArrayInputStream(b, 0, 120_000), n -> {});
        }
        assertFalse(c.contains(d), "an incomplete download is not a blob");
        Path partial = dir.resolve("ingest/sha256-" + d.hex() + ".partial");
        assertEquals(120_000, Files.size(partial));
        try (ContentStore.Ingest in = c.ingest(d, b.length)) {
            assertEquals(120_000, in.offset());
            in.append(new ByteArrayInputStream(b, 120_000, b.length - 120_000), n -> {});
            in.commit();
        }
        assertArrayEquals(b, c.read(d));
        assertFalse(Files.exists(partial));

        byte[] wrong = b.clone();
        wrong[5] ^= 1;
        Digest d2 = Digest.sha256(bytes("another"));
        try (ContentStore.Ingest in = c.ingest(d2, b.length)) {
            in.append(new ByteArrayInputStream(wrong), n -> {});
            ImageException e = assertThrows(ImageException.class, in::commit);
            assertEquals(ImageException.Reason.DIGEST_MISMATCH, e.reason());
            assertEquals(0, in.offset(), "the wrong content is dropped");
        }
        assertFalse(c.contains(d2));
        assertFalse(Files.exists(dir.resolve("ingest/sha256-" + d2.hex() + ".partial")));
    }

    @Test
    void namesResolveByNameIdAndDigest() {
        ImageStore s = ImageStore.open(dir);
        TestImage img = TestImage.small(AMD64, "a");
        img.putInto(s.content());
        Image added = s.addImage(img.manifest, "localhost:5000/app:1");
        assertEquals("localhost:5000/app:1", added.name());
        assertEquals(img.manifest.digest(), added.manifestDigest());
        assertEquals(img.configDescriptor.digest(), added.id());
        assertEquals(List.of("/bin/sh", "-c"), added.imageConfig().entrypoint());
        assertEquals(List.of("echo hello"), added.imageConfig().cmd());
        assertEquals("/srv", added.imageConfig().workingDir());
        assertEquals("1000:1000", added.imageConfig().user());
        assertEquals(Set.of("8080/tcp"), added.imageConfig().exposedPorts());
        assertEquals("yes", added.imageConfig().labels().get("org.example.test"));
        assertEquals(3, added.layers().size());
        assertEquals(img.layers.get(2).diffId(), added.diffIds().get(2));

        assertEquals(added.manifestDigest(), s.resolve("localhost:5000/app:1").manifestDigest());
        assertEquals(added.manifestDigest(), s.resolve(added.id().hex().substring(0, 12)).manifestDigest());
        assertEquals(added.manifestDigest(), s.resolve(added.id().toString()).manifestDigest());
        assertEquals(added.manifestDigest(), s.resolve("localhost:5000/app@" + added.manifestDigest()).manifestDigest());
        ImageException e = assertThrows(ImageException.class, () -> s.resolve("localhost:5000/app:2"));
        assertEquals(ImageException.Reason.NOT_FOUND, e.reason());
        assertTrue(e.getMessage().startsWith("localhost:5000/app:2: "), e.getMessage());

        s.tag("localhost:5000/app:1", "app:latest");
        assertEquals(added.manifestDigest(), s.resolve("app").manifestDigest());
        assertEquals("docker.io/library/app:latest", s.resolve("app").name());
        assertEquals(2, s.list().size());
        assertEquals(List.of("docker.io/library/app:latest"), s.remove("app"));
        assertEquals(1, s.list().size());
        assertEquals(List.of("localhost:5000/app:1"), s.remove(added.id().hex().substring(0, 8)));
        assertEquals(List.of(), s.list());
    }

    @Test
    void addingAnImageNeedsItsBlobs() {
        ImageStore s = ImageStore.open(dir);
        TestImage img = TestImage.small(AMD64, "missing");
        ImageException e = assertThrows(ImageException.class, () -> s.addImage(img.manifest, "x"));
        assertEquals(ImageException.Reason.NOT_FOUND, e.reason());
        assertEquals(List.of(), s.list());
    }

    @Test
    void gcRemovesWhatNoNameReaches() throws Exception {
        ImageStore s = ImageStore.open(dir);
        TestImage a = TestImage.small(AMD64, "a");
        TestImage b = TestImage.small(AMD64, "b");
        a.putInto(s.content());
        b.putInto(s.content());
        s.addImage(a.manifest, "a");
        s.addImage(b.manifest, "b");
        Digest stray = s.content().put(bytes("nobody refers to me"), null);
        Files.writeString(dir.resolve("ingest/tmp-leftover"), "crashed write");
        Path fresh = dir.resolve("ingest/sha256-" + "1".repeat(64) + ".partial");
        Files.writeString(fresh, "resumable");

        AtomicReference<LiveImages> seen = new AtomicReference<>();
        GcResult r = s.gc(seen::set);
        assertEquals(List.of(stray), r.removedBlobs());
        assertEquals(1, r.removedPartials());
        assertTrue(Files.exists(fresh), "a recent partial download stays for a resume");
        assertEquals(2, seen.get().images().size());

        s.remove("b");
        r = s.gc(seen::set);
        Set<Digest> expected = new HashSet<>();
        expected.add(b.manifest.digest());
        expected.add(b.configDescriptor.digest());
        for (TestImage.Layer l : b.layers) expected.add(l.descriptor().digest());
        assertEquals(expected, new HashSet<>(r.removedBlobs()));
        assertEquals(Set.copyOf(Image.chainIds(List.of(a.layers.get(0).diffId(), a.layers.get(1).diffId(),
                a.layers.get(2).diffId()))), seen.get().chainIds());
        Image left = s.resolve("a");
        for (var l : left.layers()) assertTrue(s.content().contains(l.digest()));
        Files.setLastModifiedTime(fresh, java.nio.file.attribute.FileTime.fromMillis(0));
        assertEquals(1, s.gc().removedPartials());
        assertFalse(Files.exists(fresh));
    }

    @Test
    void gcWaitsForWritersInProgress() throws Exception {
        ImageStore s = ImageStore.open(dir);
        ImageStore other = ImageStore.open(dir); // as another command would
        Digest d;
        CountDownLatch done = new CountDownLatch(1);
        try (kurma.sys.LockedFile h = s.hold()) {
            d = s.content().put(bytes("being pulled"), null); // not named yet
            Thread t = Thread.ofPlatform().start(() -> {
                other.gc();
                done.countDown();
            });
            assertFalse(done.await(500, TimeUnit.MILLISECONDS), "gc must wait while a writer holds the store");
            assertTrue(s.content().contains(d));
        }
        assertTrue(done.await(30, TimeUnit.SECONDS));
        assertFalse(s.content().contains(d), "unnamed once the writer let go: collected");
    }

    @Test
    void concurrentCommandsLoseNoName() throws Exception {
        // a second JVM and two threads here add names at once: every one must be in index.json
        ImageStore.open(dir);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                StoreWriter.class.getName(), dir.toString(), "child", "8")
                .redirectErrorStream(true).redirectOutput(dir.resolve("child.log").toFile()).start();
        List<Thread> threads = new ArrayList<>();
        for (String p : List.of("t1", "t2")) {
            threads.add(Thread.ofPlatform().start(() -> StoreWriter.main(new String[] {dir.toString(), p, "8"})));
        }
        for (Thread t : threads) t.join();
        assertTrue(child.waitFor(120, TimeUnit.SECONDS), "child writer hung");
        assertEquals(0, child.exitValue(), Files.readString(dir.resolve("child.log")));
        Set<String> names = new HashSet<>();
        for (Image i : ImageStore.open(dir).list()) names.add(i.name());
        assertEquals(24, names.size(), names.toString());
        for (String p : List.of("child", "t1", "t2")) {
            for (int i = 0; i < 8; i++) assertTrue(names.contains("localhost/" + p + ":" + i), p + i);
        }
        assertNull(ImageStore.open(dir).gc().removedBlobs().stream().findAny().orElse(null));
    }
}
