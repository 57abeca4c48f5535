package kurma.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import kurma.image.Digest;
import kurma.image.Platform;
import kurma.image.unpack.Trees;
import kurma.spec.Json;
import kurma.spec.Spec;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The engine on a real store, as root (the root filesystem is an overlay mount): containers
 * made from an image, names unique under concurrent creates in one JVM, their states, removal,
 * and nothing left by a create that fails. No container process is started here (bin/kurma's
 * tests in kurma-tests run them through the engine).
 */
class EngineTest {
    private Path tmp;
    private Engine engine;

    @BeforeEach
    void setUp() throws Exception {
        Assumptions.assumeTrue(isRoot(), "the root filesystem is an overlay mount: needs root");
        tmp = Files.createTempDirectory("kurma-engine-test");
        Files.writeString(Files.createDirectories(tmp.resolve("host")).resolve("resolv.conf"), "nameserver 192.0.2.53\n");
        engine = Engine.open(new Engine.Config(tmp.resolve("state"), tmp.resolve("run"), "amd64", tmp.resolve("host/resolv.conf"),
                Path.of(System.getProperty("user.dir")).resolve("../stage2/target/kurma-stage2").normalize()));
        Path archive = tmp.resolve("image.tar");
        writeImage(archive);
        engine.images().importArchive(archive);
    }

    @AfterEach
    void tearDown() throws Exception {
        if (tmp == null) return;
        try {
            for (Container c : engine.list()) engine.remove(c.id(), true);
            assertEquals(List.of(), mountsUnder(tmp), "mounts left");
        } finally {
            for (String m : mountsUnder(tmp)) kurma.image.snapshot.RootFs.unmount(Path.of(m));
            Trees.removeRecursively(tmp);
        }
    }

    @Test
    void aContainerIsMadeFromTheImageAndRemoved() throws Exception {
        Container c = engine.create(new CreateOptions("test/engine", "web", null, List.of("B=2"), null, "app", null,
                List.of("serve", "--port", "80"), null, false, null, 64L << 20, null, false, null, true));
        assertEquals(64, c.id().length());
        assertEquals("web", c.name());
        assertEquals(Container.State.CREATED, c.state(), "made, not started");
        assertEquals("docker.io/test/engine:latest", c.record().image());
        assertEquals(List.of("/bin/entry", "serve", "--port", "80"), c.record().command());
        assertTrue(c.record().autoRemove());
        assertEquals(tmp.resolve("state/containers").resolve(c.id()), c.bundle());
        // The root filesystem is the image's, and the spec the image's config mapped.
        assertEquals("from the image\n", Files.readString(c.bundle().resolve("rootfs/etc/motd")));
        Spec s = Spec.parse(Files.readString(c.bundle().resolve("config.json")));
        assertEquals(List.of("/bin/entry", "serve", "--port", "80"), s.process().args());
        assertEquals(new Spec.User(1000, 1000, null, List.of(50L)), s.process().user(), "app from the image's /etc/passwd and /etc/group");
        assertTrue(s.process().env().containsAll(List.of("A=1", "B=2", "HOSTNAME=" + c.id().substring(0, 12), "HOME=/home/app")),
                () -> s.process().env().toString());
        assertEquals("/work", s.process().cwd());
        assertEquals(c.id().substring(0, 12), s.hostname());
        assertEquals("web", s.annotations().get(ImageSpec.NAME_ANNOTATION));
        assertEquals("yes", s.annotations().get("org.example.label"));
        assertEquals(Map.of("limit", 64L << 20), s.linux().resources().get("memory"));
        assertEquals("nameserver 192.0.2.53\n", Files.readString(c.bundle().resolve("resolv.conf")));
        assertEquals(c.id().substring(0, 12) + "\n", Files.readString(c.bundle().resolve("hostname")));

        assertEquals(c, engine.inspect("web"), "by name");
        assertEquals(c, engine.inspect(c.id().substring(0, 5)), "by id prefix");
        assertEquals(List.of(c), engine.list());
        assertNull(engine.exitCode("web"));
        assertTrue(engine.logFile("web").isEmpty(), "never started detached: no log");
        assertTrue(engine.usedChainIds().size() == 1 && engine.usedImageIds().contains(c.record().imageId()));

        EngineException busy = assertThrows(EngineException.class, () -> engine.remove("web", false));
        assertEquals(EngineException.Code.CONFLICT, busy.code());
        assertEquals("container web is created", busy.getMessage());
        engine.remove("web", true);
        assertFalse(Files.exists(c.bundle()));
        assertEquals(List.of(), engine.list());
        assertEquals(List.of(), mountsUnder(tmp));
        EngineException gone = assertThrows(EngineException.class, () -> engine.inspect("web"));
        assertEquals(EngineException.Code.NOT_FOUND, gone.code());
        assertEquals("no such container: web", gone.getMessage());
    }

    @Test
    void namesAreUniqueUnderConcurrentCreates() throws Exception {
        int threads = 6;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        CountDownLatch go = new CountDownLatch(1);
        try {
            List<Future<Container>> results = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                results.add(pool.submit(() -> {
                    go.await();
                    return engine.create(new CreateOptions("test/engine", "only", null, null, null, null, null, null, null, false,
                            null, null, null, false, null, false));
                }));
            }
            go.countDown();
            int made = 0, taken = 0;
            for (Future<Container> f : results) {
                try {
                    f.get();
                    made++;
                } catch (java.util.concurrent.ExecutionException e) {
                    EngineException ee = (EngineException) e.getCause();
                    assertEquals(EngineException.Code.ALREADY_EXISTS, ee.code(), ee::getMessage);
                    assertEquals("the container name \"only\" is already in use", ee.getMessage());
                    taken++;
                }
            }
            assertEquals(1, made, "one create got the name");
            assertEquals(threads - 1, taken);
            assertEquals(1, engine.list().size(), "and nothing is left of the others");
            assertEquals(1, dirs(tmp.resolve("state/containers")).size());
        } finally {
            pool.shutdownNow();
        }
        // Without names, as many containers as creates.
        List<Future<Container>> unnamed = new ArrayList<>();
        ExecutorService again = Executors.newFixedThreadPool(3);
        try {
            for (int i = 0; i < 3; i++) unnamed.add(again.submit(() -> engine.create(CreateOptions.of("test/engine"))));
            for (Future<Container> f : unnamed) assertTrue(f.get().name().startsWith("kurma-"));
        } finally {
            again.shutdownNow();
        }
        assertEquals(4, engine.list().size());
    }

    @Test
    void aFailedCreateLeavesNothing() throws Exception {
        EngineException user = assertThrows(EngineException.class, () -> engine.create(new CreateOptions("test/engine", "u", null,
                null, null, "nobody-here", null, null, null, false, null, null, null, false, null, false)));
        assertEquals(EngineException.Code.INVALID_ARGUMENT, user.code());
        assertEquals("unable to find user nobody-here: no matching entries in the image's /etc/passwd", user.getMessage());
        assertEquals(0, user.getSuppressed().length, "its clean-up went well");

        EngineException image = assertThrows(EngineException.class, () -> engine.create(CreateOptions.of("no/such-image")));
        assertEquals(EngineException.Code.IMAGE_NOT_FOUND, image.code());
        EngineException name = assertThrows(EngineException.class, () -> engine.create(new CreateOptions("test/engine", "-bad",
                null, null, null, null, null, null, null, false, null, null, null, false, null, false)));
        assertEquals(EngineException.Code.INVALID_ARGUMENT, name.code());
        EngineException workdir = assertThrows(EngineException.class, () -> engine.create(new CreateOptions("test/engine", null,
                null, null, "relative", null, null, null, null, false, null, null, null, false, null, false)));
        assertEquals(EngineException.Code.INVALID_ARGUMENT, workdir.code());
        EngineException volume = assertThrows(EngineException.class, () -> engine.create(new CreateOptions("test/engine", null,
                null, null, null, null, null, null, List.of(new Volume("relative", "/x", false)), false, null, null, null, false,
                null, false)));
        assertEquals(EngineException.Code.INVALID_ARGUMENT, volume.code());

        assertEquals(List.of(), engine.list());
        assertEquals(List.of(), dirs(tmp.resolve("state/containers")), "no container directory");
        assertEquals(List.of(), mountsUnder(tmp));
        assertFalse(Files.exists(Path.of("relative")), "nothing made for a refused volume");
    }

    @Test
    void aMissingVolumeSourceIsMadeAsDockerMakesIt() throws Exception {
        Path src = tmp.resolve("vol/a/b");
        Container c = engine.create(new CreateOptions("test/engine", null, null, null, null, null, null, null,
                List.of(new Volume(src.toString(), "/data", true)), false, null, null, null, false, null, false));
        assertTrue(Files.isDirectory(src));
        Spec s = Spec.parse(Files.readString(c.bundle().resolve("config.json")));
        assertEquals(new Spec.Mount("/data", "bind", src.toString(), List.of("rbind", "rprivate", "ro")), s.mounts().getLast());
    }

    // ------------------------------------------------------------------ helpers

    private static boolean isRoot() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("Uid:")) return line.split("\t")[2].equals("0");
        }
        return false;
    }

    private static List<Path> dirs(Path d) throws IOException {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(d)) return out;
        try (var s = Files.newDirectoryStream(d)) {
            for (Path p : s) if (Files.isDirectory(p)) out.add(p);
        }
        return out;
    }

    /** Mount points at or below dir, from this process's mountinfo (field 5). */
    private static List<String> mountsUnder(Path dir) throws IOException {
        List<String> out = new ArrayList<>();
        String prefix = dir.toRealPath().toString();
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String mountPoint = line.split(" ")[4];
            if (mountPoint.equals(prefix) || mountPoint.startsWith(prefix + "/")) out.add(mountPoint);
        }
        return out;
    }

    /**
     * A one-layer image as {@code docker save} writes it: an entrypoint and cmd, env, a
     * working dir, a label, and /etc/passwd and /etc/group with a user "app" (1000:1000, also
     * in group 50).
     */
    private static void writeImage(Path out) throws IOException {
        ByteArrayOutputStream layer = new ByteArrayOutputStream();
        try (TarArchiveOutputStream t = new TarArchiveOutputStream(layer)) {
            for (String d : List.of("bin/", "etc/", "work/", "home/", "home/app/")) {
                TarArchiveEntry e = new TarArchiveEntry(d);
                e.setMode(040755);
                t.putArchiveEntry(e);
                t.closeArchiveEntry();
            }
            file(t, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n");
            file(t, "etc/group", "root:x:0:\nstaff:x:50:app\napp:x:1000:\n");
            file(t, "etc/motd", "from the image\n");
        }
        byte[] tar = layer.toByteArray();
        Map<String, Object> cfg = new LinkedHashMap<>();
        cfg.put("Entrypoint", List.of("/bin/entry"));
        cfg.put("Cmd", List.of("default"));
        cfg.put("Env", List.of("PATH=/bin", "A=1"));
        cfg.put("WorkingDir", "/work");
        cfg.put("Labels", Map.of("org.example.label", "yes"));
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("architecture", Platform.host().architecture());
        config.put("os", "linux");
        config.put("config", cfg);
        config.put("rootfs", Map.of("type", "layers", "diff_ids", List.of(Digest.sha256(tar).toString())));
        byte[] configJson = Json.write(config).getBytes(StandardCharsets.UTF_8);
        String configName = Digest.sha256(configJson).hex() + ".json", layerName = Digest.sha256(tar).hex() + "/layer.tar";
        byte[] manifest = Json.write(List.of(Map.of("Config", configName, "RepoTags", List.of("test/engine:latest"), "Layers",
                List.of(layerName)))).getBytes(StandardCharsets.UTF_8);
        try (TarArchiveOutputStream t = new TarArchiveOutputStream(Files.newOutputStream(out))) {
            file(t, "manifest.json", manifest);
            file(t, configName, configJson);
            file(t, layerName, tar);
        }
    }

    private static void file(TarArchiveOutputStream t, String name, String content) throws IOException {
        file(t, name, content.getBytes(StandardCharsets.UTF_8));
    }

    private static void file(TarArchiveOutputStream t, String name, byte[] content) throws IOException {
        TarArchiveEntry e = new TarArchiveEntry(name);
        e.setMode(0100644);
        e.setSize(content.length);
        t.putArchiveEntry(e);
        t.write(content);
        t.closeArchiveEntry();
    }
}
