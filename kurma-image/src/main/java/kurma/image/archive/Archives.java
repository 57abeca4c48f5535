package kurma.image.archive;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.zip.GZIPInputStream;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

import io.airlift.compress.v3.zstd.ZstdInputStream;
import kurma.image.ContentStore;
import kurma.image.Descriptor;
import kurma.image.Digest;
import kurma.image.ImageConfig;
import kurma.image.ImageException;
import kurma.image.ImageIndex;
import kurma.image.ImageManifest;
import kurma.image.ManifestDocument;
import kurma.image.MediaTypes;
import kurma.image.MediaTypes.Compression;
import kurma.image.Platform;
import kurma.image.Progress;
import kurma.image.ref.ImageReference;
import kurma.spec.Json;

/**
 * docker-archive and oci-archive tarballs in and out of a content store.
 *
 * <p>Reading is one pass over the tar (which may itself be gzip- or zstd-compressed, as
 * {@code docker save | gzip} makes): every file that may be a blob streams straight into the
 * store, hashed on the way (OCI blobs are checked against the digest their path names), and
 * the small JSON files stay in memory; the format is decided at the end from manifest.json
 * (docker; also what Docker 25+ adds to its OCI-layout archives) or index.json (OCI). Nothing
 * is ever written outside the store, so entry names cannot escape anywhere. A layer's
 * diff_id is checked against the config's before the image is accepted.
 *
 * <p>Writing goes to a temp file beside the target, renamed into place when complete.
 */
public final class Archives {
    private Archives() {}

    /** JSON documents and small metadata files are kept in memory; this is their ceiling. */
    private static final long MAX_METADATA = 16 << 20;
    private static final String CONTAINERD_NAME = "io.containerd.image.name";

    // ------------------------------------------------------------------ reading

    public static List<ArchivedImage> read(Path archive, ContentStore store, String baseName, Platform platform,
                                           Progress progress) {
        Map<String, byte[]> small = new HashMap<>();
        Map<String, Digest> stored = new HashMap<>();
        Map<String, String> links = new HashMap<>();
        try (InputStream file = new BufferedInputStream(Files.newInputStream(archive), 1 << 16);
             InputStream plain = uncompressed(file);
             TarArchiveInputStream tar = new TarArchiveInputStream(plain)) {
            TarArchiveEntry e;
            while ((e = tar.getNextEntry()) != null) {
                String name = clean(e.getName());
                if (name.isEmpty() || e.isDirectory()) continue;
                if (e.isSymbolicLink()) {
                    String parent = name.lastIndexOf('/') < 0 ? "" : name.substring(0, name.lastIndexOf('/') + 1);
                    links.put(name, clean(e.getLinkName().startsWith("/") ? e.getLinkName() : parent + e.getLinkName()));
                } else if (e.isLink()) {
                    links.put(name, clean(e.getLinkName()));
                } else if (e.isFile()) {
                    if (isMetadata(name) && e.getSize() <= MAX_METADATA) {
                        small.put(name, tar.readAllBytes());
                    } else {
                        Digest expected = blobPathDigest(name);
                        stored.put(name, store.put(tar, expected, e.getSize()));
                    }
                }
            }
        } catch (NoSuchFileException e) {
            throw new ImageException(ImageException.Reason.NOT_FOUND, archive + ": no such file");
        } catch (ImageException e) {
            throw e.about(archive.toString());
        } catch (IOException | IllegalArgumentException e) {
            throw new ImageException(ImageException.Reason.INVALID, archive + ": not a readable tar archive: " + e.getMessage(), e);
        }
        Contents c = new Contents(small, stored, links, store);
        try {
            if (small.containsKey("manifest.json")) return readDocker(c, progress);
            if (small.containsKey("index.json")) return readOci(c, baseName, platform, progress);
        } catch (ImageException e) {
            throw e.about(archive.toString());
        } catch (IOException e) {
            throw new ImageException(ImageException.Reason.IO, archive + ": " + e.getMessage(), e);
        }
        throw new ImageException(ImageException.Reason.INVALID,
                archive + ": neither a docker-archive nor an oci-archive (no manifest.json or index.json)");
    }

    private static InputStream uncompressed(InputStream in) throws IOException {
        in.mark(4);
        byte[] head = in.readNBytes(4);
        in.reset();
        return switch (Compression.sniff(head, head.length)) {
            case GZIP -> new GZIPInputStream(in, 1 << 16);
            case ZSTD -> new ZstdInputStream(in);
            case NONE -> in;
        };
    }

    private static String clean(String name) {
        // lexical normalization within the archive's own name space: "./a//b/../c" is "a/c"
        List<String> parts = new ArrayList<>();
        for (String p : name.split("/")) {
            if (p.isEmpty() || p.equals(".")) continue;
            if (p.equals("..")) {
                if (!parts.isEmpty()) parts.removeLast();
                continue;
            }
            parts.add(p);
        }
        return String.join("/", parts);
    }

    private static boolean isMetadata(String name) {
        if (name.startsWith("blobs/")) return false;
        return name.endsWith(".json") || name.equals("repositories") || name.equals("oci-layout") || name.endsWith("/VERSION")
                || name.endsWith("/json");
    }

    /** The digest an OCI layout path ({@code blobs/ALG/HEX}) names, or null for other paths. */
    private static Digest blobPathDigest(String name) {
        String[] p = name.split("/");
        if (p.length == 3 && p[0].equals("blobs")) {
            try {
                return new Digest(p[1], p[2]);
            } catch (ImageException notADigest) {
                return null;
            }
        }
        return null;
    }

    /** What the archive held, by path, following its links. */
    private record Contents(Map<String, byte[]> small, Map<String, Digest> stored, Map<String, String> links,
                            ContentStore store) {
        String follow(String path) {
            String p = clean(path);
            for (int i = 0; i < 40 && links.containsKey(p); i++) p = links.get(p);
            return p;
        }

        byte[] bytes(String path) {
            String p = follow(path);
            if (small.containsKey(p)) return small.get(p);
            if (stored.containsKey(p)) return store.read(stored.get(p));
            throw new ImageException(ImageException.Reason.INVALID, "the archive has no file " + path);
        }

        /** The stored blob of a path; a small file that is a blob after all is put into the store. */
        Digest blob(String path) {
            String p = follow(path);
            if (stored.containsKey(p)) return stored.get(p);
            if (small.containsKey(p)) return store.put(small.get(p), null);
            throw new ImageException(ImageException.Reason.INVALID, "the archive has no file " + path);
        }
    }

    private static List<ArchivedImage> readDocker(Contents c, Progress progress) throws IOException {
        Object json = parse(c.bytes("manifest.json"), "manifest.json");
        if (!(json instanceof List<?> entries)) throw new ImageException(ImageException.Reason.INVALID, "manifest.json is not an array");
        List<ArchivedImage> out = new ArrayList<>();
        for (Object o : entries) {
            if (!(o instanceof Map<?, ?> m) || !(m.get("Config") instanceof String configPath) || !(m.get("Layers") instanceof List<?> layerPaths)) {
                throw new ImageException(ImageException.Reason.INVALID, "manifest.json: an entry lacks Config or Layers");
            }
            byte[] configRaw = c.bytes(configPath);
            Digest configDigest = c.store().put(configRaw, null);
            ImageConfig config = ImageConfig.parse(configRaw, "config " + configPath);
            if (config.diffIds().size() != layerPaths.size()) {
                throw new ImageException(ImageException.Reason.INVALID, "manifest.json: " + layerPaths.size()
                        + " layers but " + config.diffIds().size() + " diff_ids in " + configPath);
            }
            List<Descriptor> layers = new ArrayList<>();
            for (int i = 0; i < layerPaths.size(); i++) {
                String lp = String.valueOf(layerPaths.get(i));
                Digest blob = c.blob(lp);
                Layers.Examined x = Layers.examine(c.store(), blob);
                if (!x.diffId().equals(config.diffIds().get(i))) {
                    throw new ImageException(ImageException.Reason.DIGEST_MISMATCH, "layer " + lp + ": digest mismatch: its content is "
                            + x.diffId() + " but the config says " + config.diffIds().get(i));
                }
                layers.add(new Descriptor(x.compression().ociLayerType(), blob, c.store().size(blob)));
            }
            ImageManifest manifest = ImageManifest.create(new Descriptor(MediaTypes.OCI_CONFIG, configDigest, configRaw.length), layers);
            c.store().put(manifest.raw(), manifest.digest());
            List<String> names = new ArrayList<>();
            if (m.get("RepoTags") instanceof List<?> tags) {
                for (Object t : tags) names.add(ImageReference.parse(String.valueOf(t)).toString());
            }
            if (names.isEmpty()) names.add(null);
            for (String n : names) {
                out.add(new ArchivedImage(n, manifest));
                progress.note("loaded " + (n != null ? n : manifest.digest().toString()));
            }
        }
        return out;
    }

    private static List<ArchivedImage> readOci(Contents c, String baseName, Platform platform, Progress progress) {
        Object layout = parse(c.small().getOrDefault("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}".getBytes(StandardCharsets.UTF_8)), "oci-layout");
        if (!(layout instanceof Map<?, ?> lm) || !"1.0.0".equals(lm.get("imageLayoutVersion"))) {
            throw new ImageException(ImageException.Reason.INVALID, "oci-layout: unsupported imageLayoutVersion");
        }
        ManifestDocument top = ManifestDocument.parse(c.bytes("index.json"), MediaTypes.OCI_INDEX, "index.json");
        if (!(top instanceof ImageIndex index)) throw new ImageException(ImageException.Reason.INVALID, "index.json is not an image index");
        List<ArchivedImage> out = new ArrayList<>();
        for (Descriptor d : index.manifests()) {
            ManifestDocument doc = document(c, d);
            for (int depth = 0; doc instanceof ImageIndex idx; depth++) {
                if (depth > 2) throw new ImageException(ImageException.Reason.INVALID, "image indexes nested too deep");
                doc = document(c, idx.select(platform, "image index " + d.digest()));
            }
            ImageManifest m = (ImageManifest) doc;
            for (Descriptor b : m.layers()) requireBlob(c, b);
            requireBlob(c, m.config());
            ImageConfig.parse(c.store().read(m.config().digest()), "config " + m.config().digest());
            String name = ociName(d, baseName);
            out.add(new ArchivedImage(name, m));
            progress.note("loaded " + (name != null ? name : m.digest().toString()));
        }
        return out;
    }

    private static ManifestDocument document(Contents c, Descriptor d) {
        requireBlob(c, d);
        byte[] raw = c.store().read(d.digest());
        return ManifestDocument.parse(raw, d.mediaType(), "manifest " + d.digest());
    }

    private static void requireBlob(Contents c, Descriptor d) {
        if (!c.stored().containsValue(d.digest()) || !c.store().contains(d.digest())) {
            throw new ImageException(ImageException.Reason.INVALID, "the archive lacks blob " + d.digest());
        }
        if (c.store().size(d.digest()) != d.size()) {
            throw new ImageException(ImageException.Reason.DIGEST_MISMATCH, "blob " + d.digest() + ": size mismatch with its descriptor");
        }
    }

    /**
     * An OCI entry's name: containerd's full-name annotation; else ref.name if it is a full
     * reference (has a / : or @); a bare ref.name is a tag for {@code baseName}, or nothing.
     */
    private static String ociName(Descriptor d, String baseName) {
        String full = d.annotations().get(CONTAINERD_NAME);
        if (full != null) return ImageReference.parse(full).toString();
        String ref = d.refName();
        if (ref == null || ref.isEmpty()) return null;
        if (ref.indexOf('/') >= 0 || ref.indexOf(':') >= 0 || ref.indexOf('@') >= 0) return ImageReference.parse(ref).toString();
        if (baseName != null) return ImageReference.parse(baseName + ":" + ref).toString();
        return null;
    }

    private static Object parse(byte[] raw, String what) {
        try {
            return Json.parse(new String(raw, StandardCharsets.UTF_8));
        } catch (RuntimeException e) {
            throw new ImageException(ImageException.Reason.INVALID, what + ": bad JSON: " + e.getMessage(), e);
        }
    }

    // ------------------------------------------------------------------ writing

    public static void write(List<ArchivedImage> images, ContentStore store, Path out, ArchiveFormat format) {
        Path dir = out.toAbsolutePath().getParent();
        Path tmp = dir.resolve("." + out.getFileName() + ".tmp-" + UUID.randomUUID());
        try {
            try (OutputStream os = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16);
                 TarArchiveOutputStream tar = new TarArchiveOutputStream(os)) {
                tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
                tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
                switch (format) {
                    case OCI_ARCHIVE -> writeOci(images, store, tar);
                    case DOCKER_ARCHIVE -> writeDocker(images, store, tar, dir);
                }
                tar.finish();
            }
            Files.move(tmp, out, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (ImageException e) {
            throw e.about(out.toString());
        } catch (IOException e) {
            throw new ImageException(ImageException.Reason.IO, out + ": " + e.getMessage(), e);
        } finally {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // best effort
            }
        }
    }

    private static void writeOci(List<ArchivedImage> images, ContentStore store, TarArchiveOutputStream tar) throws IOException {
        file(tar, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}".getBytes(StandardCharsets.UTF_8));
        List<Object> manifests = new ArrayList<>();
        Set<Digest> blobs = new LinkedHashSet<>();
        for (ArchivedImage img : images) {
            Descriptor d = img.manifest().descriptor();
            if (img.name() != null) {
                Map<String, String> ann = new LinkedHashMap<>();
                ann.put(Descriptor.REF_NAME, img.name());
                ann.put(CONTAINERD_NAME, img.name());
                d = d.withAnnotations(ann);
            }
            manifests.add(d.toJson());
            blobs.add(img.manifest().digest());
            blobs.add(img.manifest().config().digest());
            for (Descriptor l : img.manifest().layers()) blobs.add(l.digest());
        }
        Map<String, Object> index = new LinkedHashMap<>();
        index.put("schemaVersion", 2L);
        index.put("mediaType", MediaTypes.OCI_INDEX);
        index.put("manifests", manifests);
        file(tar, "index.json", Json.write(index).getBytes(StandardCharsets.UTF_8));
        dirEntry(tar, "blobs/");
        Set<String> algs = new LinkedHashSet<>();
        for (Digest b : blobs) {
            if (algs.add(b.algorithm())) dirEntry(tar, "blobs/" + b.algorithm() + "/");
            long size = store.size(b);
            if (size < 0) throw new ImageException(ImageException.Reason.NOT_FOUND, "blob " + b + " is not in the store");
            try (InputStream in = store.open(b)) {
                stream(tar, "blobs/" + b.algorithm() + "/" + b.hex(), in, size);
            }
        }
    }

    private static void writeDocker(List<ArchivedImage> images, ContentStore store, TarArchiveOutputStream tar, Path tmpDir)
            throws IOException {
        List<Object> manifest = new ArrayList<>();
        Map<String, Map<String, Object>> repositories = new TreeMap<>();
        Set<String> written = new java.util.HashSet<>();
        for (ArchivedImage img : images) {
            Digest configDigest = img.manifest().config().digest();
            byte[] configRaw = store.read(configDigest);
            ImageConfig config = ImageConfig.parse(configRaw, "config " + configDigest);
            String configName = configDigest.hex() + ".json";
            if (written.add(configName)) file(tar, configName, configRaw);
            List<Object> layerPaths = new ArrayList<>();
            List<Descriptor> layers = img.manifest().layers();
            if (layers.size() != config.diffIds().size()) {
                throw new ImageException(ImageException.Reason.INVALID, "image " + img.manifest().digest() + ": layers and diff_ids differ in number");
            }
            String last = null;
            for (int i = 0; i < layers.size(); i++) {
                Digest diffId = config.diffIds().get(i);
                String path = diffId.hex() + "/layer.tar";
                layerPaths.add(path);
                last = diffId.hex();
                if (!written.add(path)) continue;
                dirEntry(tar, diffId.hex() + "/");
                file(tar, diffId.hex() + "/VERSION", "1.0".getBytes(StandardCharsets.UTF_8));
                writeLayer(tar, path, store, layers.get(i), diffId, tmpDir);
            }
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("Config", configName);
            List<Object> tags = new ArrayList<>();
            if (img.name() != null) {
                ImageReference ref = ImageReference.parse(img.name());
                if (ref.tag() != null) {
                    ImageReference tagged = new ImageReference(ref.registry(), ref.repository(), ref.tag(), null);
                    tags.add(tagged.familiar());
                    if (last != null) {
                        String repo = tagged.familiar().substring(0, tagged.familiar().length() - ref.tag().length() - 1);
                        repositories.computeIfAbsent(repo, k -> new LinkedHashMap<>()).put(ref.tag(), last);
                    }
                }
            }
            entry.put("RepoTags", tags.isEmpty() ? null : tags);
            entry.put("Layers", layerPaths);
            manifest.add(entry);
        }
        file(tar, "manifest.json", Json.write(manifest).getBytes(StandardCharsets.UTF_8));
        if (!repositories.isEmpty()) file(tar, "repositories", Json.write(repositories).getBytes(StandardCharsets.UTF_8));
    }

    /**
     * A layer as docker-archive wants it, uncompressed; a compressed blob is inflated to a temp
     * file first (a tar entry needs its size up front), and either way the result must hash to
     * the config's diff_id.
     */
    private static void writeLayer(TarArchiveOutputStream tar, String path, ContentStore store, Descriptor layer,
                                   Digest diffId, Path tmpDir) throws IOException {
        Compression c = Compression.ofLayer(layer.mediaType());
        if (c == Compression.NONE) {
            if (!layer.digest().equals(diffId)) {
                throw new ImageException(ImageException.Reason.DIGEST_MISMATCH, "layer " + layer.digest() + " is not its diff_id " + diffId);
            }
            try (InputStream in = store.open(layer.digest())) {
                stream(tar, path, in, store.size(layer.digest()));
            }
            return;
        }
        Path tmp = Files.createTempFile(tmpDir, ".layer-", ".tar");
        try {
            MessageDigest md = Digest.hasher("sha256");
            try (InputStream raw = store.open(layer.digest()); InputStream in = Layers.decompress(raw, c);
                 OutputStream os = new java.security.DigestOutputStream(new BufferedOutputStream(Files.newOutputStream(tmp)), md)) {
                in.transferTo(os);
            }
            Digest actual = Digest.of("sha256", md);
            if (!actual.equals(diffId)) {
                throw new ImageException(ImageException.Reason.DIGEST_MISMATCH, "layer " + layer.digest() + " uncompresses to "
                        + actual + ", not its diff_id " + diffId);
            }
            try (InputStream in = new BufferedInputStream(Files.newInputStream(tmp), 1 << 16)) {
                stream(tar, path, in, Files.size(tmp));
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static TarArchiveEntry entry(String name, long size) {
        TarArchiveEntry e = new TarArchiveEntry(name);
        e.setSize(size);
        e.setMode(name.endsWith("/") ? 040755 : 0100644);
        // fixed times: the same images give the same archive bytes
        e.setModTime(0);
        return e;
    }

    private static void dirEntry(TarArchiveOutputStream tar, String name) throws IOException {
        tar.putArchiveEntry(entry(name, 0));
        tar.closeArchiveEntry();
    }

    private static void file(TarArchiveOutputStream tar, String name, byte[] content) throws IOException {
        tar.putArchiveEntry(entry(name, content.length));
        tar.write(content);
        tar.closeArchiveEntry();
    }

    private static void stream(TarArchiveOutputStream tar, String name, InputStream in, long size) throws IOException {
        tar.putArchiveEntry(entry(name, size));
        long n = in.transferTo(tar);
        if (n != size) throw new IOException(name + ": " + n + " bytes where " + size + " were expected");
        tar.closeArchiveEntry();
    }
}
