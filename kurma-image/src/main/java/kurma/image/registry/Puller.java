package kurma.image.registry;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import kurma.image.ContentStore;
import kurma.image.Descriptor;
import kurma.image.Digest;
import kurma.image.ImageException;
import kurma.image.ImageIndex;
import kurma.image.ImageManifest;
import kurma.image.ManifestDocument;
import kurma.image.MediaTypes;
import kurma.image.Progress;
import kurma.image.ref.ImageReference;

/**
 * Pulls one image into a content store: resolves the reference to a manifest (through an
 * index for the wanted platform), then fetches the config and the layers a few at a time,
 * each verified against its digest before it becomes visible. A download cut half-way is kept
 * and resumed with an HTTP Range request, by the next retry or by the next pull.
 */
public final class Puller {
    private Puller() {}

    /**
     * What was pulled.
     *
     * @param resolved the digest the reference resolved to at the registry (an index's, for a
     *                 multi-platform image; the manifest's otherwise)
     * @param manifest the descriptor of the platform's manifest, with the platform if known
     */
    public record Result(ImageReference reference, Digest resolved, Descriptor manifest, ImageManifest document) {}

    public static Result pull(ImageReference ref, ContentStore store, RegistryOptions options) {
        Progress progress = options.progress();
        try (RegistryClient client = RegistryClient.forPull(ref, options)) {
            ManifestDocument doc = fetchManifest(client, ref.manifestReference(), ref.digest(), -1, options);
            Digest resolved = ref.digest() != null ? ref.digest() : Digest.sha256(doc.raw());
            Descriptor manifestDesc = new Descriptor(doc.mediaType(), resolved, doc.raw().length);
            for (int depth = 0; doc instanceof ImageIndex index; depth++) {
                if (depth > 2) throw new ImageException(ImageException.Reason.INVALID, "image indexes nested too deep");
                Descriptor chosen = index.select(options.platform(), "image index " + Digest.sha256(index.raw()));
                progress.note(ref + ": " + options.platform() + " is " + chosen.digest());
                doc = fetchManifest(client, chosen.digest().toString(), chosen.digest(), chosen.size(), options);
                manifestDesc = chosen;
            }
            ImageManifest manifest = (ImageManifest) doc;
            check(manifest);
            List<Descriptor> blobs = new ArrayList<>();
            blobs.add(manifest.config());
            blobs.addAll(manifest.layers());
            fetchAll(client, store, blobs, options);
            store.put(manifest.raw(), manifestDesc.digest());
            return new Result(ref, resolved, new Descriptor(manifest.mediaType(), manifestDesc.digest(),
                    manifest.raw().length, manifestDesc.platform(), Map.of()), manifest);
        } catch (ImageException e) {
            throw e.about(ref.toString());
        } catch (IOException e) {
            throw new ImageException(ImageException.Reason.REGISTRY, ref + ": " + message(e), e);
        }
    }

    /** Refuses what is no container image (Helm charts, signatures...) before fetching anything. */
    private static void check(ImageManifest m) {
        String ct = m.config().mediaType();
        if (!ct.equals(MediaTypes.OCI_CONFIG) && !ct.equals(MediaTypes.DOCKER_CONFIG)) {
            throw new ImageException(ImageException.Reason.INVALID, "not a container image (config media type " + ct + ")");
        }
        // the config is read whole into memory later: a huge one is an attack, not an image
        if (m.config().size() > MAX_CONFIG) {
            throw new ImageException(ImageException.Reason.INVALID, "image config of " + m.config().size() + " bytes is too large");
        }
        for (Descriptor l : m.layers()) MediaTypes.Compression.ofLayer(l.mediaType());
    }

    static final long MAX_CONFIG = 16 << 20;

    static String message(IOException e) {
        String m = e.getMessage();
        String kind = e.getClass().getSimpleName();
        if (e instanceof java.net.ConnectException) return "cannot connect to the registry" + (m != null ? ": " + m : "");
        if (e instanceof java.net.http.HttpTimeoutException) return "the registry did not answer in time";
        return m == null || m.isEmpty() ? kind : m;
    }

    private static ManifestDocument fetchManifest(RegistryClient client, String reference, Digest expected, long size,
                                                  RegistryOptions options) throws IOException {
        IOException last = null;
        for (int attempt = 0; attempt <= options.retries(); attempt++) {
            if (attempt > 0) pause(attempt);
            try {
                RegistryClient.ManifestBytes mb = client.getManifest(reference);
                if (expected != null) expected.verify(mb.raw(), "manifest " + reference);
                if (size >= 0 && mb.raw().length != size) {
                    throw new ImageException(ImageException.Reason.DIGEST_MISMATCH, "manifest " + reference
                            + ": size mismatch: expected " + size + " bytes, got " + mb.raw().length);
                }
                return ManifestDocument.parse(mb.raw(), mb.contentType(), "manifest " + reference);
            } catch (IOException e) {
                last = e;
            }
        }
        throw last;
    }

    /** Fetches the blobs the store lacks, {@code options.parallel()} at a time; the first failure cancels the rest. */
    private static void fetchAll(RegistryClient client, ContentStore store, List<Descriptor> blobs, RegistryOptions options)
            throws IOException {
        Map<Digest, Descriptor> unique = new LinkedHashMap<>();
        for (Descriptor d : blobs) unique.putIfAbsent(d.digest(), d);
        try (ExecutorService pool = Executors.newFixedThreadPool(options.parallel(), Thread.ofVirtual().name("pull-", 0).factory())) {
            List<Future<Void>> futures = new ArrayList<>();
            for (Descriptor d : unique.values()) {
                futures.add(pool.submit(() -> {
                    fetchBlob(client, store, d, options);
                    return null;
                }));
            }
            for (Future<Void> f : futures) {
                try {
                    f.get();
                } catch (ExecutionException e) {
                    pool.shutdownNow();
                    Throwable c = e.getCause();
                    if (c instanceof IOException io) throw io;
                    if (c instanceof RuntimeException re) throw re;
                    throw new IllegalStateException(c);
                } catch (InterruptedException e) {
                    pool.shutdownNow();
                    Thread.currentThread().interrupt();
                    throw new java.io.InterruptedIOException("interrupted");
                }
            }
        }
    }

    /**
     * One blob into the store, resuming what an earlier attempt left: a Range request from the
     * bytes held; a 200 answer (no range support) or 416 starts over. A digest mismatch after a
     * resume may come from the old part, so the blob is fetched once more from scratch before
     * the mismatch counts.
     */
    static void fetchBlob(RegistryClient client, ContentStore store, Descriptor d, RegistryOptions options)
            throws IOException {
        Progress progress = options.progress();
        if (store.contains(d.digest())) {
            progress.finished(d, true);
            return;
        }
        try (ContentStore.Ingest ingest = store.ingest(d.digest(), d.size())) {
            boolean resumed = false, restarted = false;
            int failures = 0;
            progress.started(d, ingest.offset());
            while (true) {
                long offset = ingest.offset();
                try {
                    if (offset < d.size()) {
                        RegistryClient.BlobResponse r = client.getBlob(d.digest(), offset);
                        if (r.status() == 416) {
                            ingest.restart();
                            continue;
                        }
                        if (r.status() == 200 && offset > 0) ingest.restart();
                        if (r.status() == 206) resumed = true;
                        try (InputStream in = r.body()) {
                            ingest.append(in, n -> progress.advanced(d, n));
                        }
                        if (ingest.offset() < d.size()) {
                            throw new IOException("connection closed after " + ingest.offset() + " of " + d.size() + " bytes");
                        }
                    }
                    ingest.commit();
                    progress.finished(d, false);
                    return;
                } catch (ImageException e) {
                    if (e.reason() != ImageException.Reason.DIGEST_MISMATCH || !resumed || restarted) {
                        throw e.about("blob " + d.digest());
                    }
                    restarted = true; // commit() discarded the partial: the next round starts at 0
                    progress.retrying(d, failures + 1, e.getMessage());
                } catch (IOException e) {
                    if (++failures > options.retries()) throw new IOException("blob " + d.digest() + ": " + message(e), e);
                    progress.retrying(d, failures, message(e));
                    pause(failures);
                }
            }
        }
    }

    /** Back-off between attempts: 0.5 s, 1 s, 2 s... at most 8 s. */
    private static void pause(int attempt) throws java.io.InterruptedIOException {
        try {
            Thread.sleep(Math.min(8000, 500L << Math.min(4, attempt - 1)));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted");
        }
    }
}
