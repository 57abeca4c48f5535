package kurma.image.store;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

import kurma.image.ContentStore;
import kurma.image.Descriptor;
import kurma.image.Digest;
import kurma.image.Image;
import kurma.image.ImageConfig;
import kurma.image.ImageException;
import kurma.image.ImageIndex;
import kurma.image.ImageManifest;
import kurma.image.ManifestDocument;
import kurma.image.Platform;
import kurma.image.Progress;
import kurma.image.archive.ArchiveFormat;
import kurma.image.archive.ArchivedImage;
import kurma.image.archive.Archives;
import kurma.image.ref.ImageReference;
import kurma.image.registry.Puller;
import kurma.image.registry.Pusher;
import kurma.image.registry.RegistryOptions;
import kurma.sys.LockedFile;

/**
 * Kurma's image store under a state directory (default {@code /var/lib/kurma}):
 *
 * <pre>
 *   images/            an OCI image layout: oci-layout, index.json, blobs/sha256/HEX
 *   ingest/            downloads in progress (ALG-HEX.partial, resumable) and temp files
 *   lock               held exclusively to change index.json, and by gc
 *   inuse              writers hold a one-byte shared range while they add blobs; gc takes it all
 * </pre>
 *
 * index.json lists one manifest per name, with the full normalized name in the
 * {@code org.opencontainers.image.ref.name} annotation; it is the root of what gc keeps.
 * Blobs are added before the name that makes them reachable, and gc waits for writers, so a
 * pull running next to a gc loses nothing. Any number of processes may use one store at once.
 */
public final class ImageStore {
    public static final Path DEFAULT_STATE_DIR = Path.of("/var/lib/kurma");
    /** Where the digest the registry resolved a reference to is kept (an index's, for multi-platform images). */
    static final String REPO_DIGEST = "dev.kurma.image.repo-digest";
    /** Partial downloads older than this are dropped by gc; newer ones wait for a resume. */
    static final Duration PARTIAL_MAX_AGE = Duration.ofDays(1);

    private final Path stateDir;
    private final Path layout;
    private final BlobStore blobs;
    private final IndexFile index;

    private ImageStore(Path stateDir) {
        this.stateDir = stateDir;
        this.layout = stateDir.resolve("images");
        this.blobs = new BlobStore(layout, stateDir.resolve("ingest"));
        this.index = new IndexFile(layout);
    }

    /** Opens (creating if needed) the store under {@code stateDir}. */
    public static ImageStore open(Path stateDir) {
        ImageStore s = new ImageStore(stateDir.toAbsolutePath());
        try {
            Files.createDirectories(s.stateDir.resolve("ingest"));
            try (LockedFile l = s.lockIndex()) {
                IndexFile.init(s.layout);
            }
        } catch (IOException e) {
            throw new ImageException(ImageException.Reason.IO, "cannot open the image store in " + stateDir + ": " + e.getMessage(), e);
        }
        return s;
    }

    public Path stateDir() {
        return stateDir;
    }

    /** The OCI image layout directory ({@code images/}). */
    public Path layoutDir() {
        return layout;
    }

    /** The blobs, for the code that reads layers (unpacking) or writes them. */
    public ContentStore content() {
        return blobs;
    }

    /** A stream of a blob that verifies its digest as it is read (see {@link ContentStore#open}). */
    public InputStream openBlob(Digest digest) {
        return blobs.open(digest);
    }

    // ------------------------------------------------------------------ pull, push

    /** Pulls an image and names it by the normalized reference; returns it resolved. */
    public Image pull(String reference, RegistryOptions options) {
        ImageReference ref = ImageReference.parse(reference);
        try (LockedFile use = hold()) {
            Puller.Result r = Puller.pull(ref, blobs, options);
            Map<String, String> ann = new LinkedHashMap<>();
            ann.put(Descriptor.REF_NAME, ref.toString());
            ann.put(REPO_DIGEST, r.resolved().toString());
            Descriptor entry = r.manifest().withAnnotations(ann);
            addNames(List.of(entry));
            options.progress().note(ref + ": pulled " + r.manifest().digest());
            return image(ref.toString(), entry);
        }
    }

    /** Pushes a stored image to {@code destination} (a reference; its tag or digest names it there). */
    public void push(String nameOrId, String destination, RegistryOptions options) {
        Image img = resolve(nameOrId);
        ImageReference dest = ImageReference.parse(destination);
        ImageManifest m = manifest(img.manifest());
        Pusher.push(blobs, m, dest, options);
    }

    // ------------------------------------------------------------------ names

    /** Every entry of index.json resolved; unnamed ones (imports without tags) have a null name. */
    public List<Image> list() {
        List<Image> out = new ArrayList<>();
        for (Descriptor d : index.read()) out.add(image(d.refName(), d));
        return out;
    }

    /**
     * Finds an image by name ({@code alpine} = docker.io/library/alpine:latest; {@code
     * name@digest} also matches an image pulled by tag whose manifest or index has that digest)
     * or by id: the config digest or manifest digest, or a unique prefix of either's hex.
     */
    public Image resolve(String nameOrId) {
        List<Descriptor> entries = index.read();
        Descriptor byName = findByName(entries, nameOrId);
        if (byName != null) return image(byName.refName(), byName);
        Descriptor byId = findById(entries, nameOrId);
        if (byId != null) return image(byId.refName(), byId);
        throw new ImageException(ImageException.Reason.NOT_FOUND, nameOrId + ": no such image in the store");
    }

    private static Descriptor findByName(List<Descriptor> entries, String s) {
        ImageReference ref;
        try {
            ref = ImageReference.parse(s);
        } catch (ImageException notAName) {
            return null;
        }
        String full = ref.toString();
        for (Descriptor d : entries) {
            if (full.equals(d.refName())) return d;
        }
        if (ref.digest() != null) {
            for (Descriptor d : entries) {
                String n = d.refName();
                if (n == null) continue;
                ImageReference other = ImageReference.parse(n);
                if (other.name().equals(ref.name()) && (d.digest().equals(ref.digest())
                        || ref.digest().toString().equals(d.annotations().get(REPO_DIGEST)))) {
                    return d;
                }
            }
        }
        return null;
    }

    private Descriptor findById(List<Descriptor> entries, String s) {
        String hex = s.startsWith("sha256:") ? s.substring(7) : s;
        if (hex.isEmpty() || hex.length() > 64 || !hex.chars().allMatch(c -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return null;
        }
        Descriptor found = null;
        for (Descriptor d : entries) {
            Digest config = configDigest(d);
            if (!d.digest().hex().startsWith(hex) && (config == null || !config.hex().startsWith(hex))) continue;
            if (found != null && !found.digest().equals(d.digest())) {
                throw new ImageException(ImageException.Reason.INVALID, s + ": ambiguous id, it starts several images' digests");
            }
            if (found == null) found = d;
        }
        return found;
    }

    private Digest configDigest(Descriptor entry) {
        try {
            return manifest(entry).config().digest();
        } catch (ImageException e) {
            return null;
        }
    }

    /**
     * Names an image whose config and layers are in the store already (an image built or
     * committed locally); stores the manifest. {@code name} may be null (unnamed).
     */
    public Image addImage(ImageManifest manifest, String name) {
        String full = name == null ? null : ImageReference.parse(name).toString();
        try (LockedFile use = hold()) {
            for (Descriptor d : manifest.layers()) requireBlob(d);
            requireBlob(manifest.config());
            blobs.put(manifest.raw(), manifest.digest());
            Descriptor entry = manifest.descriptor();
            if (full != null) entry = entry.withAnnotations(Map.of(Descriptor.REF_NAME, full));
            addNames(List.of(entry));
            return image(full, entry);
        }
    }

    private void requireBlob(Descriptor d) {
        if (blobs.size(d.digest()) != d.size()) {
            throw new ImageException(ImageException.Reason.NOT_FOUND, "blob " + d.digest() + " of " + d.size() + " bytes is not in the store");
        }
    }

    /** Gives a stored image another name; returns it under the new name. */
    public Image tag(String nameOrId, String newName) {
        ImageReference ref = ImageReference.parse(newName);
        try (LockedFile use = hold()) {
            Image img = resolve(nameOrId);
            Map<String, String> ann = new LinkedHashMap<>();
            ann.put(Descriptor.REF_NAME, ref.toString());
            Descriptor entry = img.manifest().withAnnotations(ann);
            addNames(List.of(entry));
            return image(ref.toString(), entry);
        }
    }

    /**
     * Removes a name; given an id, every name of that image. The blobs stay until {@link #gc}.
     * Returns the names removed (an unnamed image is listed by its manifest digest).
     */
    public List<String> remove(String nameOrId) {
        try (LockedFile l = lockIndex()) {
            List<Descriptor> entries = new ArrayList<>(index.read());
            Descriptor target = findByName(entries, nameOrId);
            List<String> removed = new ArrayList<>();
            if (target != null) {
                entries.remove(target);
                removed.add(target.refName());
            } else {
                Descriptor byId = findById(entries, nameOrId);
                if (byId == null) throw new ImageException(ImageException.Reason.NOT_FOUND, nameOrId + ": no such image in the store");
                for (var it = entries.iterator(); it.hasNext(); ) {
                    Descriptor d = it.next();
                    if (d.digest().equals(byId.digest())) {
                        it.remove();
                        removed.add(d.refName() != null ? d.refName() : d.digest().toString());
                    }
                }
            }
            index.write(entries);
            return removed;
        } catch (IOException e) {
            throw new ImageException(ImageException.Reason.IO, "cannot update " + layout.resolve("index.json") + ": " + e.getMessage(), e);
        }
    }

    /**
     * Adds entries to index.json: a named one replaces the entry of that name, an unnamed one
     * is added unless that manifest is there already. The blobs must be in the store.
     */
    private void addNames(List<Descriptor> added) {
        try (LockedFile l = lockIndex()) {
            List<Descriptor> entries = new ArrayList<>(index.read());
            for (Descriptor a : added) {
                if (!blobs.contains(a.digest())) {
                    throw new ImageException(ImageException.Reason.NOT_FOUND, "manifest " + a.digest() + " is not in the store");
                }
                String name = a.refName();
                if (name != null) {
                    entries.removeIf(d -> name.equals(d.refName()));
                    entries.removeIf(d -> d.refName() == null && d.digest().equals(a.digest()));
                    entries.add(a);
                } else if (entries.stream().noneMatch(d -> d.digest().equals(a.digest()))) {
                    entries.add(a);
                }
            }
            index.write(entries);
        } catch (IOException e) {
            throw new ImageException(ImageException.Reason.IO, "cannot update " + layout.resolve("index.json") + ": " + e.getMessage(), e);
        }
    }

    // ------------------------------------------------------------------ reading images

    private ImageManifest manifest(Descriptor entry) {
        ManifestDocument doc = ManifestDocument.parse(blobs.read(entry.digest()), entry.mediaType(), "manifest " + entry.digest());
        if (doc instanceof ImageIndex idx) {
            // a layout written by another tool may name an index: take this host's image
            Descriptor chosen = idx.select(Platform.host(), "image index " + entry.digest());
            doc = ManifestDocument.parse(blobs.read(chosen.digest()), chosen.mediaType(), "manifest " + chosen.digest());
            if (doc instanceof ImageIndex) throw new ImageException(ImageException.Reason.INVALID, "nested image index " + chosen.digest());
        }
        return (ImageManifest) doc;
    }

    private Image image(String name, Descriptor entry) {
        try {
            ImageManifest m = manifest(entry);
            ImageConfig cfg = ImageConfig.parse(blobs.read(m.config().digest()), "config " + m.config().digest());
            Descriptor md = m.digest().equals(entry.digest()) ? entry : m.descriptor();
            return new Image(name, md, m.config(), cfg, m.layers());
        } catch (ImageException e) {
            throw e.about(name != null ? name : entry.digest().toString());
        }
    }

    // ------------------------------------------------------------------ archives

    /**
     * Imports a docker-archive ({@code docker save}) or oci-archive tarball; its names come
     * from the archive (RepoTags; full names in ref.name / io.containerd.image.name
     * annotations); an oci-archive entry whose ref.name is only a tag gets {@code baseName}
     * in front if one is given, else it is imported unnamed.
     */
    public List<Image> importArchive(Path archive, String baseName, Platform platform, Progress progress) {
        try (LockedFile use = hold()) {
            List<ArchivedImage> read = Archives.read(archive, blobs, baseName, platform, progress);
            List<Descriptor> entries = new ArrayList<>();
            for (ArchivedImage a : read) {
                Descriptor d = a.manifest().descriptor();
                if (a.name() != null) d = d.withAnnotations(Map.of(Descriptor.REF_NAME, a.name()));
                entries.add(d);
            }
            addNames(entries);
            List<Image> out = new ArrayList<>();
            for (Descriptor d : entries) out.add(image(d.refName(), d));
            return out;
        }
    }

    public List<Image> importArchive(Path archive) {
        return importArchive(archive, null, Platform.host(), Progress.NONE);
    }

    /** Writes images (by name or id) into a docker-archive or oci-archive tarball at {@code out}. */
    public void exportArchive(List<String> namesOrIds, Path out, ArchiveFormat format) {
        List<ArchivedImage> images = new ArrayList<>();
        try (LockedFile use = hold()) {
            for (String n : namesOrIds) {
                Image img = resolve(n);
                images.add(new ArchivedImage(img.name(), manifest(img.manifest())));
            }
            Archives.write(images, blobs, out, format);
        }
    }

    // ------------------------------------------------------------------ gc

    /** Called by gc, under the store's locks, with the images that stay. */
    public interface GcHook {
        void collect(LiveImages live);
    }

    /** The images index.json names (for the snapshot side's own bookkeeping). */
    public LiveImages liveImages() {
        return new LiveImages(list());
    }

    public GcResult gc() {
        return gc(live -> {});
    }

    /**
     * Removes every blob not reachable from index.json, temp files, and partial downloads older
     * than a day; then lets {@code hook} remove what it keeps for images that are gone
     * (snapshots). Waits for running pulls, imports and holders of {@link #hold()}.
     */
    public GcResult gc(GcHook hook) {
        try (LockedFile all = holdExclusive(); LockedFile l = lockIndex()) {
            List<Descriptor> entries = index.read();
            Set<Digest> live = new HashSet<>();
            List<Image> images = new ArrayList<>();
            for (Descriptor d : entries) {
                live.add(d.digest());
                try {
                    ManifestDocument doc = ManifestDocument.parse(blobs.read(d.digest()), d.mediaType(), "manifest " + d.digest());
                    if (doc instanceof ImageIndex idx) {
                        for (Descriptor m : idx.manifests()) {
                            live.add(m.digest());
                            if (blobs.contains(m.digest())) markManifest(m, live);
                        }
                    } else {
                        ImageManifest m = (ImageManifest) doc;
                        live.add(m.config().digest());
                        for (Descriptor layer : m.layers()) live.add(layer.digest());
                    }
                    images.add(image(d.refName(), d));
                } catch (ImageException e) {
                    // a damaged or missing manifest keeps nothing alive but itself; the name stays
                    // so that a pull can repair it
                }
            }
            List<Digest> removed = new ArrayList<>();
            long freed = 0;
            try (DirectoryStream<Path> algs = Files.newDirectoryStream(blobs.blobsDir())) {
                for (Path alg : algs) {
                    try (DirectoryStream<Path> files = Files.newDirectoryStream(alg)) {
                        for (Path f : files) {
                            Digest d;
                            try {
                                d = new Digest(alg.getFileName().toString(), f.getFileName().toString());
                            } catch (ImageException notABlob) {
                                continue; // not ours to judge
                            }
                            if (live.contains(d)) continue;
                            long size = Files.size(f);
                            Files.delete(f);
                            removed.add(d);
                            freed += size;
                        }
                    }
                }
            }
            int partials = 0;
            Instant cutoff = Instant.now().minus(PARTIAL_MAX_AGE);
            try (DirectoryStream<Path> in = Files.newDirectoryStream(blobs.ingestDir())) {
                for (Path f : in) {
                    String n = f.getFileName().toString();
                    FileTime mtime = Files.getLastModifiedTime(f);
                    // no writer runs now (we hold inuse), so temp files are leftovers of a crash
                    if (n.startsWith("tmp-") || (n.endsWith(".partial") && mtime.toInstant().isBefore(cutoff))) {
                        Files.deleteIfExists(f);
                        partials++;
                    }
                }
            }
            Fsync.dir(blobs.blobsDir().resolve("sha256"));
            hook.collect(new LiveImages(images));
            return new GcResult(removed, freed, partials);
        } catch (IOException e) {
            throw new ImageException(ImageException.Reason.IO, "garbage collection in " + stateDir + " failed: " + e.getMessage(), e);
        }
    }

    private void markManifest(Descriptor m, Set<Digest> live) {
        try {
            if (ManifestDocument.parse(blobs.read(m.digest()), m.mediaType(), "manifest " + m.digest()) instanceof ImageManifest im) {
                live.add(im.config().digest());
                for (Descriptor layer : im.layers()) live.add(layer.digest());
            }
        } catch (ImageException ignored) {
            // damaged: nothing more to keep
        }
    }

    /**
     * Checks every blob against its digest and removes the corrupt ones (a later pull fetches
     * them again); returns their digests.
     */
    public List<Digest> verify() {
        List<Digest> bad = new ArrayList<>();
        try (LockedFile use = hold(); DirectoryStream<Path> algs = Files.newDirectoryStream(blobs.blobsDir())) {
            for (Path alg : algs) {
                try (DirectoryStream<Path> files = Files.newDirectoryStream(alg)) {
                    for (Path f : files) {
                        Digest d;
                        try {
                            d = new Digest(alg.getFileName().toString(), f.getFileName().toString());
                        } catch (ImageException notABlob) {
                            continue;
                        }
                        try (InputStream in = blobs.open(d)) {
                            in.transferTo(java.io.OutputStream.nullOutputStream());
                        } catch (VerifyingInputStream.CorruptBlobException e) {
                            bad.add(d);
                        }
                    }
                }
            }
        } catch (IOException e) {
            throw new ImageException(ImageException.Reason.IO, "cannot verify the store in " + stateDir + ": " + e.getMessage(), e);
        }
        return bad;
    }

    // ------------------------------------------------------------------ locks

    /**
     * Keeps gc away while held: for code that adds blobs or relies on blobs staying (an unpack).
     * Any number of holders at once, in any processes.
     */
    public LockedFile hold() {
        // a one-byte shared range at a random offset: the JDK refuses overlapping ranges within
        // one JVM even when shared, and distinct ranges let pulls in one process run together
        long pos = ThreadLocalRandom.current().nextLong(1L << 62);
        return take("inuse", pos, 1, true);
    }

    private LockedFile holdExclusive() {
        return take("inuse", 0, Long.MAX_VALUE, false);
    }

    private LockedFile lockIndex() {
        return take("lock", 0, Long.MAX_VALUE, false);
    }

    private LockedFile take(String file, long pos, long size, boolean shared) {
        Path p = stateDir.resolve(file);
        try {
            return LockedFile.lock(p, pos, size, shared);
        } catch (IOException e) {
            throw new ImageException(ImageException.Reason.IO, "cannot lock " + p + ": " + e.getMessage(), e);
        }
    }
}
