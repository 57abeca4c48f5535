package kurma.tests.engines;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import kurma.tests.support.Result;
import kurma.tests.support.TestConfig;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * The busybox image the engine tests run, made offline from the rootfs of
 * scripts/make-rootfs.sh: a plain tar for {@code docker import} / {@code podman import}, and
 * an OCI image archive (written by umoci, packed by tar) for {@code ctr image import}. The
 * archive writer also packs other rootfs dirs (the CRI test's pause image).
 */
final class BusyboxImage {
    private BusyboxImage() {}

    static final String PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    private static final Duration TIMEOUT = Duration.ofMinutes(2);

    /** A file the tar image has in /var/tmp, where Podman's --read-only puts a tmpfs (tmpcopyup). */
    static final String IMAGE_FILE = "from-the-image";
    static final String IMAGE_FILE_CONTENT = "this file is in the image";

    /** A tar of the busybox rootfs, owners as numbers, plus /var/tmp/{@value #IMAGE_FILE}. */
    static Path rootfsTar(Workspace ws) throws IOException, InterruptedException {
        Path tar = ws.dir().resolve("busybox-rootfs.tar");
        ok(ws.run(TIMEOUT, "tar", "--numeric-owner", "-C", TestConfig.rootfsTemplate().toString(), "-cf", tar.toString(), "."));
        Path extra = ws.mkdir("image-extra");
        Path varTmp = Files.createDirectories(extra.resolve("var/tmp"));
        Files.writeString(varTmp.resolve(IMAGE_FILE), IMAGE_FILE_CONTENT + "\n");
        ok(ws.run(TIMEOUT, "chmod", "1777", varTmp.toString())); // as /var/tmp is everywhere
        ok(ws.run(TIMEOUT, "tar", "--numeric-owner", "--owner=0", "--group=0", "-C", extra.toString(), "-rf", tar.toString(),
                "./var"));
        return tar;
    }

    /**
     * An OCI image archive (the layout's files in a tar) holding one image: the rootfs as one
     * layer, {@code sh} as its command. Its index names it {@code ref} (the
     * org.opencontainers.image.ref.name annotation, which ctr import reads).
     */
    static Path ociArchive(Workspace ws, String ref) throws IOException, InterruptedException {
        return ociArchive(ws, "busybox", TestConfig.rootfsTemplate(), ref, "--config.cmd", "sh", "--config.env", PATH_ENV);
    }

    /**
     * An OCI image archive {@code ws.dir()/NAME-oci.tar} of one image, named {@code ref} in its
     * index: {@code rootfs}'s files as one layer, the image config set by umoci config's
     * {@code configFlags} (e.g. {@code --config.entrypoint /pause}).
     */
    static Path ociArchive(Workspace ws, String name, Path rootfs, String ref, String... configFlags)
            throws IOException, InterruptedException {
        Path layout = ws.dir().resolve(name + "-oci");
        String image = layout + ":" + ref;
        ok(ws.run(TIMEOUT, "umoci", "init", "--layout", layout.toString()));
        ok(ws.run(TIMEOUT, "umoci", "new", "--image", image));
        ok(ws.run(TIMEOUT, "umoci", "insert", "--image", image, rootfs.toString(), "/"));
        List<String> config = new ArrayList<>(List.of("umoci", "config", "--image", image));
        config.addAll(List.of(configFlags));
        ok(ws.run(TIMEOUT, config.toArray(String[]::new)));
        ok(ws.run(TIMEOUT, "umoci", "gc", "--layout", layout.toString()));
        Path tar = ws.dir().resolve(name + "-oci.tar");
        ok(ws.run(TIMEOUT, "tar", "-C", layout.toString(), "-cf", tar.toString(), "."));
        return tar;
    }

    private static void ok(Result r) {
        if (r.exit() != 0) fail("building a test image failed\n" + r);
    }
}
