package kurma.image.archive;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import kurma.image.Descriptor;
import kurma.image.Digest;
import kurma.image.Image;
import kurma.image.ImageException;
import kurma.image.MediaTypes;
import kurma.image.MediaTypes.Compression;
import kurma.image.Platform;
import kurma.image.store.ImageStore;
import kurma.image.testing.TestImage;
import kurma.spec.Json;

class ArchiveTest {
    private static final Platform AMD64 = new Platform("linux", "amd64", null);

    @TempDir
    Path dir;

    private ImageStore storeWith(String name, TestImage img) {
        ImageStore s = ImageStore.open(dir.resolve("src"));
        img.putInto(s.content());
        s.addImage(img.manifest, name);
        return s;
    }

    private static Map<String, byte[]> entries(Path tar) throws IOException {
        Map<String, byte[]> out = new LinkedHashMap<>();
        try (TarArchiveInputStream in = new TarArchiveInputStream(Files.newInputStream(tar))) {
            TarArchiveEntry e;
            while ((e = in.getNextEntry()) != null) out.put(e.getName(), e.isFile() ? in.readAllBytes() : null);
        }
        return out;
    }

    @Test
    void ociArchiveRoundTrip() throws Exception {
        TestImage img = TestImage.small(AMD64, "oci");
        ImageStore src = storeWith("localhost/app:1", img);
        Path tar = dir.resolve("app.oci.tar");
        src.exportArchive(List.of("localhost/app:1"), tar, ArchiveFormat.OCI_ARCHIVE);
        Map<String, byte[]> e = entries(tar);
        assertEquals("{\"imageLayoutVersion\":\"1.0.0\"}", new String(e.get("oci-layout"), StandardCharsets.UTF_8));
        assertTrue(e.containsKey("blobs/sha256/" + img.manifest.digest().hex()));
        for (TestImage.Layer l : img.layers) assertTrue(e.containsKey("blobs/sha256/" + l.descriptor().digest().hex()));
        assertTrue(new String(e.get("index.json"), StandardCharsets.UTF_8).contains("\"org.opencontainers.image.ref.name\":\"localhost/app:1\""));

        ImageStore dst = ImageStore.open(dir.resolve("dst"));
        List<Image> imported = dst.importArchive(tar);
        assertEquals(1, imported.size());
        assertEquals("localhost/app:1", imported.get(0).name());
        assertEquals(img.manifest.digest(), imported.get(0).manifestDigest(), "the OCI archive carries the manifest as it is");
        assertEquals(img.manifest.digest(), dst.resolve("localhost/app:1").manifestDigest());
        assertEquals(List.of(), dst.verify());
    }

    @Test
    void dockerArchiveRoundTrip() throws Exception {
        TestImage img = TestImage.small(AMD64, "docker");
        ImageStore src = storeWith("app:1", img);
        Path tar = dir.resolve("app.docker.tar");
        src.exportArchive(List.of("app:1"), tar, ArchiveFormat.DOCKER_ARCHIVE);
        Map<String, byte[]> e = entries(tar);
        Object manifest = Json.parse(new String(e.get("manifest.json"), StandardCharsets.UTF_8));
        Map<?, ?> m = (Map<?, ?>) ((List<?>) manifest).get(0);
        assertEquals(img.configDescriptor.digest().hex() + ".json", m.get("Config"));
        assertEquals(List.of("app:1"), m.get("RepoTags"));
        List<String> layers = new ArrayList<>();
        for (TestImage.Layer l : img.layers) layers.add(l.diffId().hex() + "/layer.tar");
        assertEquals(layers, m.get("Layers"));
        for (TestImage.Layer l : img.layers) {
            assertEquals(l.diffId(), Digest.sha256(e.get(l.diffId().hex() + "/layer.tar")), "layers are stored uncompressed");
        }
        assertTrue(new String(e.get("repositories"), StandardCharsets.UTF_8).contains("\"app\":{\"1\":\""));

        ImageStore dst = ImageStore.open(dir.resolve("dst"));
        Image back = dst.importArchive(tar).get(0);
        assertEquals("docker.io/library/app:1", back.name());
        assertEquals(img.configDescriptor.digest(), back.id(), "same config, same image id");
        for (int i = 0; i < img.layers.size(); i++) {
            assertEquals(img.layers.get(i).diffId(), back.diffIds().get(i));
            assertEquals(MediaTypes.OCI_LAYER, back.layers().get(i).mediaType());
            assertEquals(img.layers.get(i).diffId(), back.layers().get(i).digest());
        }
        // and back out as an OCI archive, in again: nothing lost
        Path oci = dir.resolve("again.tar");
        dst.exportArchive(List.of("app:1"), oci, ArchiveFormat.OCI_ARCHIVE);
        ImageStore third = ImageStore.open(dir.resolve("third"));
        assertEquals(back.manifestDigest(), third.importArchive(oci).get(0).manifestDigest());
    }

    /** A tarball as older `docker save` writes it: layer dirs with json and VERSION, a symlinked duplicate layer, gzip'd. */
    @Test
    void importsAHandMadeDockerSave() throws Exception {
        byte[] l1 = TestImage.tar(Map.of("a.txt", "one".getBytes(StandardCharsets.UTF_8)));
        byte[] l2 = l1.clone(); // the same layer twice, as images that repeat a layer have
        Digest d1 = Digest.sha256(l1);
        Map<String, Object> cfg = new LinkedHashMap<>();
        cfg.put("architecture", "amd64");
        cfg.put("os", "linux");
        cfg.put("config", Map.of("Cmd", List.of("/bin/true")));
        cfg.put("rootfs", Map.of("type", "layers", "diff_ids", List.of(d1.toString(), Digest.sha256(l2).toString())));
        byte[] config = Json.write(cfg).getBytes(StandardCharsets.UTF_8);
        Digest cd = Digest.sha256(config);
        String id1 = "1".repeat(64), id2 = "2".repeat(64);
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (OutputStream gz = new GZIPOutputStream(bos); TarArchiveOutputStream t = new TarArchiveOutputStream(gz)) {
            put(t, id1 + "/VERSION", "1.0".getBytes(StandardCharsets.UTF_8));
            put(t, id1 + "/json", ("{\"id\":\"" + id1 + "\"}").getBytes(StandardCharsets.UTF_8));
            put(t, id1 + "/layer.tar", l1);
            TarArchiveEntry link = new TarArchiveEntry(id2 + "/layer.tar", TarArchiveEntry.LF_SYMLINK);
            link.setLinkName("../" + id1 + "/layer.tar");
            t.putArchiveEntry(link);
            t.closeArchiveEntry();
            put(t, cd.hex() + ".json", config);
            put(t, "manifest.json", ("[{\"Config\":\"" + cd.hex() + ".json\",\"RepoTags\":[\"example.com/tools/app:v2\",\"app:latest\"],"
                    + "\"Layers\":[\"" + id1 + "/layer.tar\",\"./" + id2 + "/layer.tar\"]}]").getBytes(StandardCharsets.UTF_8));
            put(t, "repositories", "{}".getBytes(StandardCharsets.UTF_8));
        }
        Path tar = dir.resolve("saved.tar.gz");
        Files.write(tar, bos.toByteArray());
        ImageStore s = ImageStore.open(dir.resolve("s"));
        List<Image> images = s.importArchive(tar);
        assertEquals(List.of("example.com/tools/app:v2", "docker.io/library/app:latest"), images.stream().map(Image::name).toList());
        Image i = s.resolve("app");
        assertEquals(cd, i.id());
        assertEquals(List.of("/bin/true"), i.imageConfig().cmd());
        assertEquals(List.of(d1, d1), i.layers().stream().map(Descriptor::digest).toList());
        // the per-layer json and VERSION files are no blobs: gc finds nothing to remove
        assertEquals(List.of(), s.gc().removedBlobs());
    }

    private static void put(TarArchiveOutputStream t, String name, byte[] b) throws IOException {
        TarArchiveEntry e = new TarArchiveEntry(name);
        e.setSize(b.length);
        t.putArchiveEntry(e);
        t.write(b);
        t.closeArchiveEntry();
    }

    @Test
    void badArchivesAreRefusedAndLeaveNoName() throws Exception {
        ImageStore s = ImageStore.open(dir.resolve("s"));
        Path junk = dir.resolve("junk.tar");
        Files.write(junk, "this is not a tar archive at all, just some text".repeat(20).getBytes(StandardCharsets.UTF_8));
        ImageException e = assertThrows(ImageException.class, () -> s.importArchive(junk));
        assertEquals(ImageException.Reason.INVALID, e.reason());
        assertTrue(e.getMessage().startsWith(junk.toString()), e.getMessage());

        ImageException missing = assertThrows(ImageException.class, () -> s.importArchive(dir.resolve("none.tar")));
        assertEquals(ImageException.Reason.NOT_FOUND, missing.reason());

        // a docker archive whose layer is not what the config's diff_id says
        TestImage img = TestImage.small(AMD64, "tampered");
        ImageStore src = storeWith("app:1", img);
        Path good = dir.resolve("good.tar");
        src.exportArchive(List.of("app:1"), good, ArchiveFormat.DOCKER_ARCHIVE);
        Path bad = dir.resolve("bad.tar");
        rewrite(good, bad, img.layers.get(1).diffId().hex() + "/layer.tar");
        e = assertThrows(ImageException.class, () -> s.importArchive(bad));
        assertEquals(ImageException.Reason.DIGEST_MISMATCH, e.reason());
        assertTrue(e.getMessage().contains("digest mismatch"), e.getMessage());

        // an OCI archive whose blob is not what its name says
        Path goodOci = dir.resolve("good-oci.tar");
        src.exportArchive(List.of("app:1"), goodOci, ArchiveFormat.OCI_ARCHIVE);
        Path badOci = dir.resolve("bad-oci.tar");
        rewrite(goodOci, badOci, "blobs/sha256/" + img.layers.get(0).descriptor().digest().hex());
        e = assertThrows(ImageException.class, () -> s.importArchive(badOci));
        assertEquals(ImageException.Reason.DIGEST_MISMATCH, e.reason());
        assertEquals(List.of(), s.list());
        assertFalse(s.content().contains(img.layers.get(0).descriptor().digest()));
    }

    /** Copies a tar, flipping one byte in the middle of entry {@code victim}. */
    private static void rewrite(Path from, Path to, String victim) throws IOException {
        try (TarArchiveInputStream in = new TarArchiveInputStream(Files.newInputStream(from));
             TarArchiveOutputStream out = new TarArchiveOutputStream(Files.newOutputStream(to))) {
            out.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            TarArchiveEntry e;
            boolean hit = false;
            while ((e = in.getNextEntry()) != null) {
                byte[] b = e.isFile() ? in.readAllBytes() : new byte[0];
                if (e.getName().equals(victim)) {
                    b[b.length / 2] ^= 0x20;
                    hit = true;
                }
                out.putArchiveEntry(e);
                out.write(b);
                out.closeArchiveEntry();
            }
            assertTrue(hit, victim);
        }
    }

    @Test
    void exportRefusesUnknownImagesAndLeavesNoFile() {
        ImageStore s = ImageStore.open(dir.resolve("s"));
        Path out = dir.resolve("out.tar");
        ImageException e = assertThrows(ImageException.class, () -> s.exportArchive(List.of("nope"), out, ArchiveFormat.DOCKER_ARCHIVE));
        assertEquals(ImageException.Reason.NOT_FOUND, e.reason());
        assertFalse(Files.exists(out));
        assertEquals(ArchiveFormat.OCI_ARCHIVE, ArchiveFormat.parse("oci-archive"));
        assertThrows(ImageException.class, () -> ArchiveFormat.parse("zip"));
    }

    @Test
    void anUnnamedOciEntryTakesTheBaseName() throws Exception {
        TestImage img = TestImage.small(AMD64, "tagonly");
        ImageStore src = storeWith("localhost/app:1", img);
        Path tar = dir.resolve("a.tar");
        src.exportArchive(List.of("localhost/app:1"), tar, ArchiveFormat.OCI_ARCHIVE);
        // rewrite index.json to carry only a tag, as `skopeo copy ... oci-archive:f.tar:v3` writes it
        Path tagOnly = dir.resolve("b.tar");
        try (TarArchiveInputStream in = new TarArchiveInputStream(Files.newInputStream(tar));
             TarArchiveOutputStream out = new TarArchiveOutputStream(Files.newOutputStream(tagOnly))) {
            TarArchiveEntry e;
            while ((e = in.getNextEntry()) != null) {
                byte[] b = e.isFile() ? in.readAllBytes() : new byte[0];
                if (e.getName().equals("index.json")) {
                    b = new String(b, StandardCharsets.UTF_8).replace("\"io.containerd.image.name\":\"localhost/app:1\",", "")
                            .replace("\"localhost/app:1\"", "\"v3\"").getBytes(StandardCharsets.UTF_8);
                    e.setSize(b.length);
                }
                out.putArchiveEntry(e);
                out.write(b);
                out.closeArchiveEntry();
            }
        }
        ImageStore a = ImageStore.open(dir.resolve("a"));
        assertNull(a.importArchive(tagOnly).get(0).name());
        assertEquals(img.manifest.digest(), a.resolve(img.configDescriptor.digest().hex().substring(0, 10)).manifestDigest());
        ImageStore b = ImageStore.open(dir.resolve("b"));
        assertEquals("quay.io/x/y:v3", b.importArchive(tagOnly, "quay.io/x/y", AMD64, kurma.image.Progress.NONE).get(0).name());
    }

    @Test
    void layersDecompress() throws Exception {
        byte[] tar = TestImage.tar(Map.of("f", "content".getBytes(StandardCharsets.UTF_8)));
        for (Compression c : Compression.values()) {
            byte[] blob = TestImage.compress(tar, c);
            assertEquals(c, Compression.sniff(blob, blob.length));
            try (InputStream in = Layers.decompress(new java.io.ByteArrayInputStream(blob), c)) {
                assertEquals(Digest.sha256(tar), Digest.sha256(in.readAllBytes()));
            }
        }
    }
}
