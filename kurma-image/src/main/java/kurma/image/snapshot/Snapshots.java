package kurma.image.snapshot;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

import kurma.image.unpack.LayerBlob;
import kurma.image.unpack.LayerException;
import kurma.image.unpack.LayerUnpacker;
import kurma.image.unpack.Trees;
import kurma.image.unpack.UnpackLimits;
import kurma.image.unpack.UnpackResult;
import kurma.spec.Json;
import kurma.sys.Errno;
import kurma.sys.Fs;
import kurma.sys.SysException;

/**
 * The snapshot store: {@code <stateDir>/snapshots/<hex of chain ID>/} per unpacked layer, with
 * {@code fs/} (the files, in overlay lower form) and {@code snapshot.json} (chain ID, diff_id,
 * parent, blob digest, size).
 *
 * <p><b>Crash safety.</b> A layer is unpacked into {@code snapshots/tmp-XXXX/} and renamed into
 * place (renameat2 RENAME_NOREPLACE) only once complete and verified, so a snapshot directory
 * that exists is always whole; a crash leaves only a {@code tmp-} directory, which the next
 * {@link #retainOnly garbage collection} removes. GC renames a snapshot to {@code tmp-} before
 * deleting it, for the same reason.
 *
 * <p><b>Concurrency.</b> {@code snapshots/lock} is flock'ed: shared by every unpack (and by a
 * {@link #lease()} a caller holds while it records what it unpacked), exclusive by GC. So GC
 * never deletes a snapshot being made or a temporary directory in use. Two commands unpacking
 * the same layer at once both unpack it; the first rename wins, the other discards its copy.
 */
public final class Snapshots {
    /** Where Kurma keeps images and snapshots unless told otherwise. */
    public static final Path DEFAULT_STATE_DIR = Path.of("/var/lib/kurma");

    private static final String TMP = "tmp-", LOCK = "lock", META = "snapshot.json";

    private final Path dir;
    private final UnpackLimits limits;
    /** Leases this object holds: GC under one of them would wait for itself. */
    private final AtomicInteger leases = new AtomicInteger();

    public Snapshots(Path stateDir) throws IOException {
        this(stateDir, UnpackLimits.DEFAULT);
    }

    public Snapshots(Path stateDir, UnpackLimits limits) throws IOException {
        this.dir = stateDir.toAbsolutePath().resolve("snapshots");
        this.limits = limits;
        Files.createDirectories(dir);
        Fs.close(lockFd());
    }

    public Path directory() {
        return dir;
    }

    /** Opens a layer's blob; called only for layers that are not unpacked yet. */
    @FunctionalInterface
    public interface BlobOpener {
        InputStream open(LayerBlob layer) throws IOException;
    }

    /** A shared hold on the store: GC waits until it is closed. */
    public final class Lease implements AutoCloseable {
        private int fd;

        private Lease(int fd) {
            this.fd = fd;
        }

        @Override
        public void close() {
            if (fd >= 0) {
                Fs.close(fd); // releases the flock
                fd = -1;
                leases.decrementAndGet();
            }
        }
    }

    /**
     * A shared lease: hold it from unpacking an image until the image (or container) that
     * references its snapshots is recorded, so that a GC running meanwhile keeps them.
     */
    public Lease lease() throws IOException {
        int fd = lockFd();
        Fs.check(Fs.flock(fd, Fs.LOCK_SH), "flock " + dir.resolve(LOCK));
        leases.incrementAndGet();
        return new Lease(fd);
    }

    private int lockFd() throws IOException {
        int fd = Fs.openat(Fs.AT_FDCWD, dir.resolve(LOCK).toString(), Fs.O_RDONLY | Fs.O_CREAT | Fs.O_NOFOLLOW, 0600);
        if (fd < 0) throw new IOException("open " + dir.resolve(LOCK) + ": " + new SysException("open", -fd).getMessage());
        return fd;
    }

    /** The snapshot with this chain ID, if it is unpacked. */
    public Optional<Snapshot> get(String chainId) throws IOException {
        Path d = dir.resolve(ChainId.hex(chainId));
        String json;
        try {
            json = Files.readString(d.resolve(META), StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
        Map<?, ?> m = (Map<?, ?>) Json.parse(json);
        return Optional.of(new Snapshot((String) m.get("chainId"), (String) m.get("diffId"), (String) m.get("parent"), d));
    }

    /** Every unpacked snapshot, in no particular order. */
    public List<Snapshot> list() throws IOException {
        List<Snapshot> out = new ArrayList<>();
        for (String name : names()) {
            if (ChainId.isHex64(name)) get("sha256:" + name).ifPresent(out::add);
        }
        return out;
    }

    /** The snapshots of a chain, bottom to top, ending with {@code chainId}. */
    public List<Snapshot> chain(String chainId) throws IOException {
        List<Snapshot> out = new ArrayList<>();
        for (String id = chainId; id != null; ) {
            Snapshot s = get(id).orElseThrow(() -> new IOException("snapshot " + chainId + " is incomplete: a layer below it is missing"));
            out.add(s);
            id = s.parent();
        }
        Collections.reverse(out);
        return out;
    }

    /**
     * Unpacks an image's layers (bottom to top) that are not unpacked yet, opening only those,
     * and returns all their snapshots, bottom to top. Layers with a diff_id (from the image
     * config) present are not read at all.
     */
    public List<Snapshot> unpackImage(List<LayerBlob> layers, BlobOpener opener) throws IOException {
        List<Snapshot> out = new ArrayList<>();
        try (Lease lease = lease()) {
            String parent = null;
            for (LayerBlob layer : layers) {
                Snapshot s = unpack(parent, layer, opener);
                out.add(s);
                parent = s.chainId();
            }
        }
        return out;
    }

    /** Unpacks one layer over the snapshot {@code parent} (null for a bottom layer); reads and closes {@code content}. */
    public Snapshot unpack(String parent, LayerBlob layer, InputStream content) throws IOException {
        try (content) {
            return unpack(parent, layer, l -> content);
        }
    }

    /**
     * Unpacks one layer over the snapshot {@code parent} (null for a bottom layer), or returns
     * its snapshot if it is already unpacked (known only when the layer's diff_id is given).
     */
    public Snapshot unpack(String parent, LayerBlob layer, BlobOpener opener) throws IOException {
        try (Lease lease = lease()) {
            if (parent != null && get(parent).isEmpty()) {
                throw new LayerException("cannot unpack a layer over " + parent + ": that snapshot does not exist");
            }
            if (layer.diffId() != null) {
                Optional<Snapshot> present = get(ChainId.of(parent, layer.diffId()));
                if (present.isPresent()) return present.get();
            }
            // Made 0700 by createTempDirectory: nobody else can write into a tree being unpacked.
            Path tmp = Files.createTempDirectory(dir, TMP);
            try {
                Path fs = tmp.resolve("fs");
                Files.createDirectory(fs);
                UnpackResult r;
                try (InputStream in = opener.open(layer)) {
                    r = LayerUnpacker.unpack(in, layer, fs, limits);
                }
                String chainId = ChainId.of(parent, r.diffId());
                Map<String, Object> meta = new LinkedHashMap<>();
                meta.put("chainId", chainId);
                meta.put("diffId", r.diffId());
                meta.put("parent", parent);
                meta.put("digest", r.digest());
                meta.put("mediaType", layer.mediaType());
                meta.put("uncompressedSize", r.uncompressedBytes());
                meta.put("entries", r.entries());
                Files.writeString(tmp.resolve(META), Json.writePretty(meta), StandardCharsets.UTF_8);
                Path target = dir.resolve(ChainId.hex(chainId));
                int rc = Fs.renameat2(Fs.AT_FDCWD, tmp.toString(), Fs.AT_FDCWD, target.toString(), Fs.RENAME_NOREPLACE);
                if (rc == -Errno.EEXIST || rc == -Errno.ENOTEMPTY) {
                    Trees.removeRecursively(tmp); // another command finished the same layer first
                } else if (rc < 0) {
                    throw new IOException("rename " + tmp + " to " + target + ": " + new SysException("rename", -rc).getMessage());
                }
                return get(chainId).orElseThrow(() -> new IOException("snapshot " + chainId + " vanished after unpacking"));
            } catch (IOException | RuntimeException | Error e) {
                try {
                    Trees.removeRecursively(tmp);
                } catch (IOException | RuntimeException cleanup) {
                    e.addSuppressed(cleanup);
                }
                throw e;
            }
        }
    }

    /** What a garbage collection removed. */
    public record GcResult(List<String> removedSnapshots, int removedTempDirs) {}

    /**
     * Garbage collection: removes every snapshot that is neither in {@code chainIds} nor below
     * one of them (a snapshot is useless without its parents), and every temporary directory
     * (unpacks that crashed or were interrupted). The caller passes the chain IDs of every image
     * it keeps and every container that still uses a root filesystem. Waits for running
     * unpacks and leases to finish (exclusive lock); must not be called while this object holds
     * a lease.
     */
    public GcResult retainOnly(Set<String> chainIds) throws IOException {
        if (leases.get() > 0) throw new IllegalStateException("garbage collection under a lease would wait for itself");
        int fd = lockFd();
        try {
            Fs.check(Fs.flock(fd, Fs.LOCK_EX), "flock " + dir.resolve(LOCK));
            Set<String> keep = new HashSet<>();
            for (String id : chainIds) {
                for (String c = id; c != null && keep.add(ChainId.hex(c)); ) {
                    Optional<Snapshot> s = get(c);
                    c = s.isPresent() ? s.get().parent() : null;
                }
            }
            List<String> removed = new ArrayList<>();
            int temps = 0;
            for (String name : names()) {
                if (name.startsWith(TMP)) {
                    Trees.removeRecursively(dir.resolve(name));
                    temps++;
                } else if (ChainId.isHex64(name) && !keep.contains(name)) {
                    // Out of sight first, in one step, so that a crash while deleting leaves a
                    // temporary directory, never a half snapshot.
                    Path doomed = dir.resolve(TMP + "gc-" + name + "-" + Long.toHexString(ThreadLocalRandom.current().nextLong()));
                    int rc = Fs.renameat2(Fs.AT_FDCWD, dir.resolve(name).toString(), Fs.AT_FDCWD, doomed.toString(), Fs.RENAME_NOREPLACE);
                    if (rc < 0) throw new IOException("rename " + dir.resolve(name) + ": " + new SysException("rename", -rc).getMessage());
                    Trees.removeRecursively(doomed);
                    removed.add("sha256:" + name);
                }
            }
            return new GcResult(removed, temps);
        } finally {
            Fs.close(fd);
        }
    }

    private List<String> names() throws IOException {
        try (var s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
