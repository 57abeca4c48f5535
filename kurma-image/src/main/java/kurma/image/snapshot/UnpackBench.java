package kurma.image.snapshot;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import kurma.image.unpack.LayerBlob;
import kurma.spec.Json;

/**
 * The benchmark helper behind bench/unpack-bench.sh: unpacks every layer of one image of an
 * OCI image layout into a fresh snapshot store and mounts its root filesystem, then prints the
 * time taken. Usage: {@code UnpackBench LAYOUT TAG STATE_DIR [overlay|copy]}.
 *
 * <p>It reads just enough of the layout (index.json, the manifest, the config's diff_ids) to
 * find the layers; it is no image store (that is kurma.image.store).
 */
public final class UnpackBench {
    private UnpackBench() {}

    public static void main(String[] args) throws IOException {
        if (args.length < 3 || args.length > 4) {
            System.err.println("usage: UnpackBench LAYOUT TAG STATE_DIR [overlay|copy]");
            System.exit(2);
        }
        Path layout = Path.of(args[0]);
        RootFs.Mode mode = args.length == 4 && args[3].equals("copy") ? RootFs.Mode.COPY : RootFs.Mode.OVERLAY;
        long start = System.nanoTime();
        Map<?, ?> manifest = json(layout, manifestDigest(layout, args[1]));
        List<?> diffIds = (List<?>) ((Map<?, ?>) json(layout, (String) ((Map<?, ?>) manifest.get("config")).get("digest")).get("rootfs")).get("diff_ids");
        List<?> layers = (List<?>) manifest.get("layers");
        List<LayerBlob> blobs = new ArrayList<>();
        for (int i = 0; i < layers.size(); i++) {
            Map<?, ?> l = (Map<?, ?>) layers.get(i);
            blobs.add(new LayerBlob((String) l.get("mediaType"), (String) l.get("digest"), (String) diffIds.get(i)));
        }
        Snapshots store = new Snapshots(Path.of(args[2]));
        List<Snapshot> snaps = store.unpackImage(blobs, b -> open(layout, b.digest()));
        long unpacked = System.nanoTime();
        Path container = Path.of(args[2]).resolve("containers/bench");
        try (RootFs.Mounted m = RootFs.mount(snaps.stream().map(Snapshot::fs).toList(), container, mode)) {
            long mounted = System.nanoTime();
            System.out.printf("%d layers: unpack %d ms, %s rootfs %d ms%n", snaps.size(), (unpacked - start) / 1_000_000,
                    m instanceof RootFs.Overlay ? "overlay" : "copied", (mounted - unpacked) / 1_000_000);
        }
        RootFs.delete(container);
    }

    private static String manifestDigest(Path layout, String tag) throws IOException {
        Map<?, ?> index = (Map<?, ?>) Json.parse(Files.readString(layout.resolve("index.json"), StandardCharsets.UTF_8));
        for (Object o : (List<?>) index.get("manifests")) {
            Map<?, ?> m = (Map<?, ?>) o;
            Map<?, ?> annotations = (Map<?, ?>) m.get("annotations");
            if (annotations != null && tag.equals(annotations.get("org.opencontainers.image.ref.name"))) return (String) m.get("digest");
        }
        throw new IOException("no image tagged " + tag + " in " + layout);
    }

    private static Map<?, ?> json(Path layout, String digest) throws IOException {
        try (InputStream in = open(layout, digest)) {
            return (Map<?, ?>) Json.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
    }

    private static InputStream open(Path layout, String digest) throws IOException {
        int colon = digest.indexOf(':');
        if (colon < 0 || !digest.substring(colon + 1).matches("[0-9a-f]+") || !digest.substring(0, colon).matches("[a-z0-9]+")) {
            throw new IOException("not a digest: " + digest);
        }
        return Files.newInputStream(layout.resolve("blobs").resolve(digest.substring(0, colon)).resolve(digest.substring(colon + 1)));
    }
}
