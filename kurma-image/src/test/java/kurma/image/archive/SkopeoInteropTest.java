package kurma.image.archive;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import kurma.image.Image;
import kurma.image.MediaTypes.Compression;
import kurma.image.Platform;
import kurma.image.store.ImageStore;
import kurma.image.testing.TestImage;
import kurma.spec.Json;

/**
 * Our archives as another tool sees them, and its archives as we see them: skopeo reads what
 * Kurma exports, converts it to the other format, and Kurma imports skopeo's output.
 */
class SkopeoInteropTest {
    private static final Path SKOPEO = Path.of("/usr/bin/skopeo");

    @TempDir
    Path dir;

    private String skopeo(String... args) throws IOException, InterruptedException {
        if (!Files.isExecutable(SKOPEO)) throw new IllegalStateException("skopeo is missing: apt-get install -y skopeo (.ci/run does)");
        List<String> cmd = new ArrayList<>(List.of(SKOPEO.toString(), "--insecure-policy", "--tmpdir", dir.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "skopeo hung");
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + ":\n" + out);
        return out;
    }

    @Test
    void skopeoReadsOurArchivesAndWeReadItsArchives() throws Exception {
        // gzip and plain layers: skopeo refuses to put a zstd layer into a docker-archive
        // (Kurma's own docker-archive export inflates it, see ArchiveTest)
        TestImage img = TestImage.of(new Platform("linux", "amd64", null), List.of(Compression.GZIP, Compression.NONE),
                List.of(Map.of("etc/hostname", "skopeo\n".getBytes(StandardCharsets.UTF_8)),
                        Map.of("srv/data", "data\n".repeat(1000).getBytes(StandardCharsets.UTF_8))));
        ImageStore ours = ImageStore.open(dir.resolve("ours"));
        img.putInto(ours.content());
        ours.addImage(img.manifest, "localhost/app:1");
        Path oci = dir.resolve("ours-oci.tar"), docker = dir.resolve("ours-docker.tar");
        ours.exportArchive(List.of("localhost/app:1"), oci, ArchiveFormat.OCI_ARCHIVE);
        ours.exportArchive(List.of("localhost/app:1"), docker, ArchiveFormat.DOCKER_ARCHIVE);

        Map<?, ?> o = (Map<?, ?>) Json.parse(skopeo("inspect", "oci-archive:" + oci));
        assertEquals("amd64", o.get("Architecture"));
        assertEquals(img.manifest.digest().toString(), o.get("Digest"));
        assertEquals(img.layers.stream().map(l -> l.descriptor().digest().toString()).toList(), o.get("Layers"));
        Map<?, ?> d = (Map<?, ?>) Json.parse(skopeo("inspect", "docker-archive:" + docker));
        assertEquals(img.layers.stream().map(l -> l.diffId().toString()).toList(), d.get("Layers"));
        assertEquals(List.of("/bin/sh", "-c"), ((Map<?, ?>) Json.parse(skopeo("inspect", "--config", "docker-archive:" + docker)))
                .entrySet().stream().filter(e -> e.getKey().equals("config")).map(e -> ((Map<?, ?>) e.getValue()).get("Entrypoint")).findFirst().orElseThrow());

        // skopeo converts each into the other format; we import what it wrote
        Path theirDocker = dir.resolve("their-docker.tar"), theirOci = dir.resolve("their-oci.tar");
        skopeo("copy", "oci-archive:" + oci, "docker-archive:" + theirDocker + ":localhost/app:7");
        skopeo("copy", "docker-archive:" + docker, "oci-archive:" + theirOci + ":localhost/app:8");
        ImageStore s = ImageStore.open(dir.resolve("imported"));
        Image fromDocker = s.importArchive(theirDocker).get(0);
        assertEquals("localhost/app:7", fromDocker.name());
        assertEquals(img.layers.stream().map(TestImage.Layer::diffId).toList(), fromDocker.diffIds());
        assertEquals(List.of("/bin/sh", "-c"), fromDocker.imageConfig().entrypoint());
        Image fromOci = s.importArchive(theirOci).get(0);
        assertEquals("localhost/app:8", fromOci.name());
        assertEquals(img.layers.stream().map(TestImage.Layer::diffId).toList(), fromOci.diffIds());
        assertEquals(List.of(), s.verify());
    }
}
