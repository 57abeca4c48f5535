package kurma.image.registry;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import kurma.image.ContentStore;
import kurma.image.Descriptor;
import kurma.image.ImageException;
import kurma.image.ImageManifest;
import kurma.image.Progress;
import kurma.image.ref.ImageReference;

/**
 * Pushes one image from a content store: the blobs the registry lacks (a HEAD tells), a few at
 * a time, then the manifest under the destination's tag (or digest). Blobs are read through
 * the store's verifying stream, so a blob corrupted on disk fails the push, not the registry.
 */
public final class Pusher {
    private Pusher() {}

    public static void push(ContentStore store, ImageManifest manifest, ImageReference dest, RegistryOptions options) {
        Progress progress = options.progress();
        try (RegistryClient client = RegistryClient.forPush(dest, options)) {
            List<Descriptor> blobs = new ArrayList<>();
            blobs.add(manifest.config());
            blobs.addAll(manifest.layers());
            try (ExecutorService pool = Executors.newFixedThreadPool(options.parallel(), Thread.ofVirtual().name("push-", 0).factory())) {
                List<Future<Void>> fs = new ArrayList<>();
                for (Descriptor d : blobs) {
                    fs.add(pool.submit(() -> {
                        pushBlob(client, store, d, options);
                        return null;
                    }));
                }
                for (Future<Void> f : fs) {
                    try {
                        f.get();
                    } catch (ExecutionException e) {
                        pool.shutdownNow();
                        if (e.getCause() instanceof IOException io) throw io;
                        if (e.getCause() instanceof RuntimeException re) throw re;
                        throw new IllegalStateException(e.getCause());
                    } catch (InterruptedException e) {
                        pool.shutdownNow();
                        Thread.currentThread().interrupt();
                        throw new java.io.InterruptedIOException("interrupted");
                    }
                }
            }
            client.putManifest(dest.manifestReference(), manifest.mediaType(), manifest.raw());
            progress.note(dest + ": pushed " + manifest.digest());
        } catch (ImageException e) {
            throw e.about(dest.toString());
        } catch (IOException | UncheckedIOException e) {
            throw new ImageException(ImageException.Reason.REGISTRY, dest + ": " + e.getMessage(), e);
        }
    }

    private static void pushBlob(RegistryClient client, ContentStore store, Descriptor d, RegistryOptions options)
            throws IOException {
        Progress progress = options.progress();
        for (int attempt = 0; ; attempt++) {
            try {
                if (client.hasBlob(d.digest())) {
                    progress.finished(d, true);
                    return;
                }
                progress.started(d, 0);
                client.putBlob(d, () -> store.open(d.digest()));
                progress.finished(d, false);
                return;
            } catch (IOException e) {
                if (attempt >= options.retries()) throw new IOException("blob " + d.digest() + ": " + Puller.message(e), e);
                progress.retrying(d, attempt + 1, Puller.message(e));
            }
        }
    }
}
