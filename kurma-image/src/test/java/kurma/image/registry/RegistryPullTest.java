package kurma.image.registry;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import kurma.image.Descriptor;
import kurma.image.Digest;
import kurma.image.Image;
import kurma.image.ImageException;
import kurma.image.ImageIndex;
import kurma.image.MediaTypes;
import kurma.image.MediaTypes.Compression;
import kurma.image.Platform;
import kurma.image.Progress;
import kurma.image.archive.Layers;
import kurma.image.ref.ImageReference;
import kurma.image.store.ImageStore;
import kurma.image.testing.CuttingProxy;
import kurma.image.testing.RegistryServer;
import kurma.image.testing.TestImage;
import kurma.spec.Json;

/** Pulls from a real docker-registry on loopback, with images this test builds and pushes. */
class RegistryPullTest {
    private static final Platform AMD64 = new Platform("linux", "amd64", null);
    private static final Platform ARM64 = new Platform("linux", "arm64", "v8");

    @TempDir
    static Path shared;
    static RegistryServer registry;

    @TempDir
    Path dir;

    @BeforeAll
    static void startRegistry() throws Exception {
        registry = RegistryServer.start(shared.resolve("registry"), new RegistryServer.None());
    }

    @AfterAll
    static void stopRegistry() {
        if (registry != null) registry.close();
    }

    static RegistryOptions plain() {
        return RegistryOptions.defaults().withAuthFiles(List.of()).withPlainHttp(true).withPlatform(AMD64).withRetries(1);
    }

    static TestImage push(String repoAndTag, TestImage img) throws IOException {
        ImageReference ref = ImageReference.parse(registry.host() + "/" + repoAndTag);
        img.push(RegistryClient.forPush(ref, plain()), ref.manifestReference());
        return img;
    }

    private static void assertLayersAsBuilt(ImageStore store, Image image, TestImage img) throws IOException {
        assertEquals(img.layers.size(), image.layers().size());
        for (int i = 0; i < img.layers.size(); i++) {
            Descriptor l = image.layers().get(i);
            assertEquals(img.layers.get(i).descriptor().digest(), l.digest());
            assertEquals(img.layers.get(i).diffId(), image.diffIds().get(i));
            try (InputStream raw = store.openBlob(l.digest());
                 InputStream tar = Layers.decompress(raw, Compression.ofLayer(l.mediaType()))) {
                assertArrayEquals(img.layers.get(i).tar(), tar.readAllBytes(), "layer " + i + " (" + l.mediaType() + ")");
            }
        }
    }

    @Test
    void pullsByTagAndByDigestWithGzipPlainAndZstdLayers() throws Exception {
        TestImage img = push("test/small:v1", TestImage.small(AMD64, "small"));
        ImageStore store = ImageStore.open(dir.resolve("a"));
        List<String> lines = Collections.synchronizedList(new ArrayList<>());
        Image pulled = store.pull(registry.host() + "/test/small:v1", plain().withProgress(Progress.lines(lines::add)));
        assertEquals(registry.host() + "/test/small:v1", pulled.name());
        assertEquals(img.manifest.digest(), pulled.manifestDigest());
        assertEquals(img.configDescriptor.digest(), pulled.id());
        assertEquals(List.of("ARCH=amd64"), pulled.imageConfig().env().subList(1, 2));
        assertEquals("amd64", pulled.imageConfig().architecture());
        assertEquals(List.of(MediaTypes.OCI_LAYER_GZIP, MediaTypes.OCI_LAYER, MediaTypes.OCI_LAYER_ZSTD),
                pulled.layers().stream().map(Descriptor::mediaType).toList());
        assertLayersAsBuilt(store, pulled, img);
        assertTrue(lines.stream().anyMatch(l -> l.endsWith(": done")), lines.toString());

        // the same again: everything is there already
        lines.clear();
        store.pull(registry.host() + "/test/small:v1", plain().withProgress(Progress.lines(lines::add)));
        assertEquals(4, lines.stream().filter(l -> l.endsWith("already present")).count(), lines.toString());

        ImageStore other = ImageStore.open(dir.resolve("b"));
        String byDigest = registry.host() + "/test/small@" + img.manifest.digest();
        Image d = other.pull(byDigest, plain());
        assertEquals(byDigest, d.name());
        assertEquals(pulled.id(), d.id());
        assertEquals(d.manifestDigest(), other.resolve(byDigest).manifestDigest());
        assertLayersAsBuilt(other, d, img);
    }

    @Test
    void aMultiPlatformIndexGivesTheWantedPlatform() throws Exception {
        TestImage amd = TestImage.small(AMD64, "amd");
        TestImage arm = TestImage.small(ARM64, "arm");
        push("test/multi@" + amd.manifest.digest(), amd);
        push("test/multi@" + arm.manifest.digest(), arm);
        ImageIndex index = ImageIndex.create(List.of(amd.manifestDescriptor(), arm.manifestDescriptor()));
        ImageReference ref = ImageReference.parse(registry.host() + "/test/multi:latest");
        RegistryClient.forPush(ref, plain()).putManifest("latest", index.mediaType(), index.raw());

        ImageStore s1 = ImageStore.open(dir.resolve("amd"));
        Image a = s1.pull(registry.host() + "/test/multi", plain());
        assertEquals(amd.manifest.digest(), a.manifestDigest());
        assertEquals("amd64", a.imageConfig().architecture());
        // the index digest also finds it, as Docker's RepoDigests do
        assertEquals(a.manifestDigest(), s1.resolve(registry.host() + "/test/multi@" + index.digest()).manifestDigest());

        ImageStore s2 = ImageStore.open(dir.resolve("arm"));
        Image b = s2.pull(registry.host() + "/test/multi:latest", plain().withPlatform(Platform.parse("linux/arm64")));
        assertEquals(arm.manifest.digest(), b.manifestDigest());
        assertEquals("arm64", b.imageConfig().architecture());
        assertLayersAsBuilt(s2, b, arm);
        assertFalse(s2.content().contains(amd.layers.get(0).descriptor().digest()), "only the chosen platform's layers");

        ImageException e = assertThrows(ImageException.class,
                () -> s2.pull(registry.host() + "/test/multi", plain().withPlatform(Platform.parse("linux/s390x"))));
        assertEquals(ImageException.Reason.PLATFORM, e.reason());
        assertTrue(e.getMessage().contains("no image for platform linux/s390x") && e.getMessage().contains("linux/arm64/v8"),
                e.getMessage());
    }

    @Test
    void dockerSchema2ManifestsAndManifestLists() throws Exception {
        TestImage img = TestImage.small(AMD64, "docker");
        ImageReference ref = ImageReference.parse(registry.host() + "/test/docker:v2");
        RegistryClient c = RegistryClient.forPush(ref, plain());
        // the same blobs under Docker's media types (a gzip layer only: Docker has no zstd type)
        TestImage.Layer gz = img.layers.get(0);
        c.putBlob(img.configDescriptor, () -> new java.io.ByteArrayInputStream(img.config));
        c.putBlob(gz.descriptor(), () -> new java.io.ByteArrayInputStream(gz.blob()));
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("schemaVersion", 2L);
        m.put("mediaType", MediaTypes.DOCKER_MANIFEST);
        m.put("config", new Descriptor(MediaTypes.DOCKER_CONFIG, img.configDescriptor.digest(), img.configDescriptor.size()).toJson());
        m.put("layers", List.of(new Descriptor(MediaTypes.DOCKER_LAYER_GZIP, gz.descriptor().digest(), gz.descriptor().size()).toJson()));
        // a config with a single diff_id to match
        byte[] config = new String(img.config, StandardCharsets.UTF_8).replaceAll(",\"sha256:[0-9a-f]{64}\",\"sha256:[0-9a-f]{64}\"", "")
                .getBytes(StandardCharsets.UTF_8);
        Descriptor cd = new Descriptor(MediaTypes.DOCKER_CONFIG, Digest.sha256(config), config.length);
        c.putBlob(cd, () -> new java.io.ByteArrayInputStream(config));
        m.put("config", cd.toJson());
        byte[] manifest = Json.write(m).getBytes(StandardCharsets.UTF_8);
        Digest md = Digest.sha256(manifest);
        c.putManifest(md.toString(), MediaTypes.DOCKER_MANIFEST, manifest);
        Map<String, Object> list = new LinkedHashMap<>();
        list.put("schemaVersion", 2L);
        list.put("mediaType", MediaTypes.DOCKER_MANIFEST_LIST);
        list.put("manifests", List.of(new Descriptor(MediaTypes.DOCKER_MANIFEST, md, manifest.length, AMD64, Map.of()).toJson()));
        byte[] listRaw = Json.write(list).getBytes(StandardCharsets.UTF_8);
        c.putManifest("v2", MediaTypes.DOCKER_MANIFEST_LIST, listRaw);
        c.putManifest("single", MediaTypes.DOCKER_MANIFEST, manifest);

        ImageStore s = ImageStore.open(dir);
        for (String tag : List.of("v2", "single")) {
            Image i = s.pull(registry.host() + "/test/docker:" + tag, plain());
            assertEquals(md, i.manifestDigest());
            assertEquals(MediaTypes.DOCKER_MANIFEST, i.manifest().mediaType());
            assertEquals(List.of(gz.diffId()), i.diffIds());
            try (InputStream raw = s.openBlob(i.layers().get(0).digest());
                 InputStream tar = Layers.decompress(raw, Compression.ofLayer(i.layers().get(0).mediaType()))) {
                assertArrayEquals(gz.tar(), tar.readAllBytes());
            }
        }
    }

    @Test
    void unknownImagesAreNamedInTheError() {
        ImageStore s = ImageStore.open(dir);
        ImageException e = assertThrows(ImageException.class, () -> s.pull(registry.host() + "/test/nothing:here", plain()));
        assertEquals(ImageException.Reason.NOT_FOUND, e.reason());
        assertEquals(registry.host() + "/test/nothing:here: manifest unknown", e.getMessage());
        assertEquals(List.of(), s.list());
    }

    @Test
    void aCorruptBlobInTheRegistryIsDetectedAndNothingIsStored() throws Exception {
        TestImage img = push("test/corrupt:v1", TestImage.small(AMD64, "corrupt"));
        Digest layer = img.layers.get(1).descriptor().digest();
        Path data = registry.blobData(layer);
        try (RandomAccessFile raf = new RandomAccessFile(data.toFile(), "rw")) {
            raf.seek(600); // inside the first file's content, same size
            raf.write('#');
        }
        ImageStore s = ImageStore.open(dir);
        ImageException e = assertThrows(ImageException.class, () -> s.pull(registry.host() + "/test/corrupt:v1", plain()));
        assertEquals(ImageException.Reason.DIGEST_MISMATCH, e.reason());
        assertTrue(e.getMessage().startsWith(registry.host() + "/test/corrupt:v1: blob " + layer + ": digest mismatch"), e.getMessage());
        assertFalse(s.content().contains(layer));
        assertEquals(List.of(), s.list());
        // the wrong blob's download is dropped (other blobs cut short by the failure may stay, for a resume)
        assertFalse(Files.exists(dir.resolve("ingest/sha256-" + layer.hex() + ".partial")));
    }

    @Test
    void anInterruptedPullResumesWithARangeRequest() throws Exception {
        byte[] big = new byte[3 << 20];
        new java.util.Random(42).nextBytes(big);
        TestImage img = push("test/big:v1", TestImage.of(AMD64, List.of(Compression.NONE),
                List.of(Map.of("big.bin", big))));
        Digest layer = img.layers.get(0).descriptor().digest();
        try (CuttingProxy proxy = new CuttingProxy(registry.port())) {
            String ref = proxy.host() + "/test/big:v1";
            ImageStore s = ImageStore.open(dir);

            // no retries: the pull fails, and the part that came is kept
            proxy.cut("/blobs/" + layer, 1 << 20, 1);
            ImageException e = assertThrows(ImageException.class, () -> s.pull(ref, plain().withRetries(0)));
            assertEquals(ImageException.Reason.REGISTRY, e.reason());
            assertTrue(e.getMessage().startsWith(ref + ": blob " + layer), e.getMessage());
            Path partial = dir.resolve("ingest/sha256-" + layer.hex() + ".partial");
            long kept = Files.size(partial);
            // what reached the store before the break (the client may drop a last buffer)
            assertTrue(kept > 0 && kept <= 1 << 20, "kept " + kept);
            assertEquals(List.of(), s.list());

            // the next pull asks for the rest only
            Image i = s.pull(ref, plain().withRetries(0));
            assertEquals(img.manifest.digest(), i.manifestDigest());
            List<CuttingProxy.Request> gets = blobGets(proxy, layer);
            assertEquals(2, gets.size(), gets.toString());
            assertEquals(null, gets.get(0).headers().get("range"));
            assertEquals("bytes=" + kept + "-", gets.get(1).headers().get("range"));
            assertFalse(Files.exists(partial));
            assertLayersAsBuilt(s, i, img);

            // within one pull: a retry resumes where the cut left off
            ImageStore s2 = ImageStore.open(dir.resolve("second"));
            proxy.cut("/blobs/" + layer, 1_500_000, 1);
            Image j = s2.pull(ref, plain().withRetries(2));
            assertEquals(img.manifest.digest(), j.manifestDigest());
            gets = blobGets(proxy, layer);
            assertEquals(4, gets.size(), gets.toString());
            String range = gets.get(3).headers().get("range");
            assertTrue(range != null && range.matches("bytes=[1-9][0-9]*-"), range);
            assertTrue(Long.parseLong(range.substring(6, range.length() - 1)) <= 1_500_000, range);
        }
    }

    private static List<CuttingProxy.Request> blobGets(CuttingProxy proxy, Digest d) {
        return proxy.requests().stream().filter(r -> r.line().startsWith("GET ") && r.line().contains("/blobs/" + d)).toList();
    }

    @Test
    void aLoopbackRegistryWithoutTlsIsReachedOverPlainHttp() throws Exception {
        TestImage img = push("test/loop:v1", TestImage.small(AMD64, "loop"));
        ImageStore s = ImageStore.open(dir);
        // neither --plain-http nor --tls-verify=false: loopback registries may fall back, as in Docker
        RegistryOptions o = RegistryOptions.defaults().withAuthFiles(List.of()).withPlatform(AMD64);
        assertEquals(img.manifest.digest(), s.pull(registry.host() + "/test/loop:v1", o).manifestDigest());
        assertEquals(img.manifest.digest(), s.pull(registry.host() + "/test/loop:v1", o.withTlsVerify(false)).manifestDigest());
    }

    @Test
    void pushFromTheStoreAndPullItBack() throws Exception {
        TestImage img = push("test/src:v1", TestImage.small(AMD64, "roundtrip"));
        ImageStore s = ImageStore.open(dir.resolve("one"));
        s.pull(registry.host() + "/test/src:v1", plain());
        s.push(registry.host() + "/test/src:v1", registry.host() + "/test/copy:v9", plain());
        ImageStore t = ImageStore.open(dir.resolve("two"));
        Image back = t.pull(registry.host() + "/test/copy:v9", plain());
        assertEquals(img.manifest.digest(), back.manifestDigest());
        assertLayersAsBuilt(t, back, img);
    }

    @Test
    void concurrentPullsOfOneImageIntoOneStore() throws Exception {
        TestImage img = push("test/conc:v1", TestImage.small(AMD64, "concurrent"));
        List<Throwable> errors = Collections.synchronizedList(new ArrayList<>());
        List<Thread> ts = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            ts.add(Thread.ofPlatform().start(() -> {
                try {
                    ImageStore.open(dir).pull(registry.host() + "/test/conc:v1", plain());
                } catch (Throwable t) {
                    errors.add(t);
                }
            }));
        }
        for (Thread t : ts) t.join();
        assertEquals(List.of(), errors);
        ImageStore s = ImageStore.open(dir);
        assertEquals(1, s.list().size());
        assertEquals(img.manifest.digest(), s.resolve(registry.host() + "/test/conc:v1").manifestDigest());
        assertEquals(List.of(), s.verify());
    }
}
