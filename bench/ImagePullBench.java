import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.GZIPOutputStream;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

import kurma.image.Descriptor;
import kurma.image.Digest;
import kurma.image.ImageManifest;
import kurma.image.MediaTypes;
import kurma.image.Platform;
import kurma.image.ref.ImageReference;
import kurma.image.registry.RegistryClient;
import kurma.image.registry.RegistryOptions;
import kurma.image.store.ImageStore;
import kurma.spec.Json;

/**
 * The Java half of bench/image-pull.sh.
 *
 *   push REF LAYERS MIB   builds an image of LAYERS gzip layers of about MIB MiB each (half
 *                         random bytes, half text, so gzip has work) and pushes it to REF
 *   pull REF STATEDIR     pulls REF into a store at STATEDIR, prints the in-JVM time in ms
 *   warm REF DIR K        K+1 pulls in this one JVM, each into a fresh store under DIR; prints
 *                         the times of the last K (a long-running daemon's pulls), space-separated
 */
public final class ImagePullBench {
    public static void main(String[] args) throws Exception {
        RegistryOptions o = RegistryOptions.defaults().withAuthFiles(List.of()).withPlainHttp(true)
                .withPlatform(new Platform("linux", "amd64", null));
        switch (args[0]) {
            case "push" -> push(ImageReference.parse(args[1]), Integer.parseInt(args[2]), Integer.parseInt(args[3]), o);
            case "pull" -> {
                long t0 = System.nanoTime();
                ImageStore.open(Path.of(args[2])).pull(args[1], o);
                System.out.println((System.nanoTime() - t0) / 1_000_000);
            }
            case "warm" -> {
                int k = Integer.parseInt(args[3]);
                StringBuilder out = new StringBuilder();
                for (int i = 0; i <= k; i++) {
                    long t0 = System.nanoTime();
                    ImageStore.open(Path.of(args[2], "s" + i)).pull(args[1], o);
                    if (i > 0) out.append(out.isEmpty() ? "" : " ").append((System.nanoTime() - t0) / 1_000_000);
                }
                System.out.println(out);
            }
            default -> throw new IllegalArgumentException(args[0]);
        }
    }

    private static void push(ImageReference ref, int layers, int mib, RegistryOptions o) throws Exception {
        Random rnd = new Random(7);
        List<Descriptor> ds = new ArrayList<>();
        List<Object> diffIds = new ArrayList<>();
        try (RegistryClient c = RegistryClient.forPush(ref, o)) {
            for (int i = 0; i < layers; i++) {
                ByteArrayOutputStream tar = new ByteArrayOutputStream();
                try (TarArchiveOutputStream t = new TarArchiveOutputStream(tar)) {
                    for (int f = 0; f < 16; f++) {
                        byte[] b = new byte[(mib << 20) / 16];
                        if (f % 2 == 0) rnd.nextBytes(b);
                        else b = ("layer " + i + " file " + f + " some text to compress\n").repeat(b.length / 40)
                                .getBytes(StandardCharsets.UTF_8);
                        TarArchiveEntry e = new TarArchiveEntry("layer" + i + "/file" + f);
                        e.setSize(b.length);
                        t.putArchiveEntry(e);
                        t.write(b);
                        t.closeArchiveEntry();
                    }
                }
                ByteArrayOutputStream gz = new ByteArrayOutputStream();
                try (GZIPOutputStream g = new GZIPOutputStream(gz)) {
                    g.write(tar.toByteArray());
                }
                byte[] blob = gz.toByteArray();
                Descriptor d = new Descriptor(MediaTypes.OCI_LAYER_GZIP, Digest.sha256(blob), blob.length);
                c.putBlob(d, () -> new ByteArrayInputStream(blob));
                ds.add(d);
                diffIds.add(Digest.sha256(tar.toByteArray()).toString());
            }
            Map<String, Object> cfg = new LinkedHashMap<>();
            cfg.put("architecture", "amd64");
            cfg.put("os", "linux");
            cfg.put("config", Map.of("Cmd", List.of("/bin/sh")));
            cfg.put("rootfs", Map.of("type", "layers", "diff_ids", diffIds));
            byte[] config = Json.write(cfg).getBytes(StandardCharsets.UTF_8);
            Descriptor cd = new Descriptor(MediaTypes.OCI_CONFIG, Digest.sha256(config), config.length);
            c.putBlob(cd, () -> new ByteArrayInputStream(config));
            ImageManifest m = ImageManifest.create(cd, ds);
            c.putManifest(ref.tag(), m.mediaType(), m.raw());
        }
    }
}
