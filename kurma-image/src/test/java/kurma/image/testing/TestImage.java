package kurma.image.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

import io.airlift.compress.v3.zstd.ZstdOutputStream;
import kurma.image.ContentStore;
import kurma.image.Descriptor;
import kurma.image.Digest;
import kurma.image.ImageManifest;
import kurma.image.MediaTypes;
import kurma.image.MediaTypes.Compression;
import kurma.image.Platform;
import kurma.image.registry.RegistryClient;
import kurma.spec.Json;

/**
 * An image built in memory for the tests: layers are real tars (commons-compress) of files
 * given here, compressed as asked; the config is a real OCI config with their diff_ids.
 */
public final class TestImage {
    public record Layer(Compression compression, byte[] tar, byte[] blob, Descriptor descriptor, Digest diffId) {}

    public final Platform platform;
    public final List<Layer> layers = new ArrayList<>();
    public byte[] config;
    public Descriptor configDescriptor;
    public ImageManifest manifest;

    private TestImage(Platform platform) {
        this.platform = platform;
    }

    /** An image of the given layers, each a map of path to content, compressed in turn as given. */
    public static TestImage of(Platform platform, List<Compression> compressions, List<Map<String, byte[]>> files) {
        TestImage img = new TestImage(platform);
        for (int i = 0; i < files.size(); i++) {
            byte[] tar = tar(files.get(i));
            Compression c = compressions.get(i);
            byte[] blob = compress(tar, c);
            img.layers.add(new Layer(c, tar, blob, new Descriptor(c.ociLayerType(), Digest.sha256(blob), blob.length),
                    Digest.sha256(tar)));
        }
        Map<String, Object> cfg = new LinkedHashMap<>();
        cfg.put("architecture", platform.architecture());
        cfg.put("os", platform.os());
        if (platform.variant() != null) cfg.put("variant", platform.variant());
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("Entrypoint", List.of("/bin/sh", "-c"));
        c.put("Cmd", List.of("echo hello"));
        c.put("Env", List.of("PATH=/usr/bin:/bin", "ARCH=" + platform.architecture()));
        c.put("WorkingDir", "/srv");
        c.put("User", "1000:1000");
        c.put("Labels", Map.of("org.example.test", "yes"));
        c.put("ExposedPorts", Map.of("8080/tcp", Map.of()));
        cfg.put("config", c);
        List<Object> diffIds = new ArrayList<>();
        for (Layer l : img.layers) diffIds.add(l.diffId.toString());
        cfg.put("rootfs", Map.of("type", "layers", "diff_ids", diffIds));
        img.config = Json.write(cfg).getBytes(StandardCharsets.UTF_8);
        img.configDescriptor = new Descriptor(MediaTypes.OCI_CONFIG, Digest.sha256(img.config), img.config.length);
        List<Descriptor> ds = new ArrayList<>();
        for (Layer l : img.layers) ds.add(l.descriptor);
        img.manifest = ImageManifest.create(img.configDescriptor, ds);
        return img;
    }

    /** A small three-layer image: gzip, uncompressed and zstd layers. */
    public static TestImage small(Platform platform, String marker) {
        return of(platform, List.of(Compression.GZIP, Compression.NONE, Compression.ZSTD), List.of(
                Map.of("etc/os-release", ("NAME=test " + marker + "\n").getBytes(StandardCharsets.UTF_8),
                        "bin/hello", "#!/bin/sh\necho hello\n".getBytes(StandardCharsets.UTF_8)),
                Map.of("srv/data.txt", ("data of " + marker + "\n").repeat(100).getBytes(StandardCharsets.UTF_8)),
                Map.of("srv/zstd.txt", ("zstd layer " + marker + "\n").repeat(1000).getBytes(StandardCharsets.UTF_8))));
    }

    public static byte[] tar(Map<String, byte[]> files) {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bos)) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            for (Map.Entry<String, byte[]> f : new java.util.TreeMap<>(files).entrySet()) {
                TarArchiveEntry e = new TarArchiveEntry(f.getKey());
                e.setSize(f.getValue().length);
                e.setMode(0100755);
                e.setModTime(1_700_000_000_000L);
                tar.putArchiveEntry(e);
                tar.write(f.getValue());
                tar.closeArchiveEntry();
            }
            tar.finish();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bos.toByteArray();
    }

    public static byte[] compress(byte[] tar, Compression c) {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try {
            OutputStream os = switch (c) {
                case NONE -> bos;
                case GZIP -> new GZIPOutputStream(bos);
                case ZSTD -> new ZstdOutputStream(bos);
            };
            os.write(tar);
            os.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bos.toByteArray();
    }

    /** Every blob of the image (config, layers, manifest) into a content store. */
    public void putInto(ContentStore store) {
        store.put(config, configDescriptor.digest());
        for (Layer l : layers) store.put(l.blob, l.descriptor.digest());
        store.put(manifest.raw(), manifest.digest());
    }

    /** Pushes the blobs and the manifest under {@code tagOrDigest} with a client of the target repository. */
    public void push(RegistryClient client, String tagOrDigest) throws IOException {
        client.putBlob(configDescriptor, () -> new java.io.ByteArrayInputStream(config));
        for (Layer l : layers) {
            if (!client.hasBlob(l.descriptor.digest())) client.putBlob(l.descriptor, () -> new java.io.ByteArrayInputStream(l.blob));
        }
        client.putManifest(tagOrDigest, manifest.mediaType(), manifest.raw());
    }

    public Descriptor manifestDescriptor() {
        return manifest.descriptor().withPlatform(platform);
    }
}
