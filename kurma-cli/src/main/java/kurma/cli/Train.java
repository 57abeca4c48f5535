package kurma.cli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

import kurma.image.Digest;
import kurma.image.MediaTypes;
import kurma.image.Platform;
import kurma.image.snapshot.RootFs;
import kurma.image.unpack.Trees;
import kurma.spec.Json;

/**
 * The AOT training runs of bin/kurma, executed at package time with -XX:AOTCacheOutput: a
 * cache then holds, loaded and linked, the classes its run used, so a start of bin/kurma does
 * not read, verify and link them from the jar again. Two runs make two caches (see bin/kurma
 * for why): {@code local}, every command but pull, and {@code pull}.
 *
 * <p>The best training is the real workload, run through the command's own entry point on a
 * private --root and --runroot. {@code local}: an image it builds (two layers, the second
 * with a whiteout) is imported as a docker-archive, listed, inspected, exported in both
 * formats, removed and pruned, then loaded again as an oci-archive with gzip layers (as pulled
 * images have them); when the build runs as root and Debian's busybox-static is there (as in
 * CI), containers run from it: run --rm with and without options, run -d with ps, logs and rm.
 * Without root those fail early and are trained that far. {@code pull}: the image is pulled
 * from a small registry in this process over HTTPS, with a certificate this JVM trusts, so
 * the whole client path of a registry on the internet runs: TLS handshake, certificate chain
 * and host name checks, an image index, a manifest, gzip blobs, a registry error.
 *
 * <p>A command's failure never fails the build (the cache then covers less); the training
 * log, target/kurma*-aot-training.log, lists each command and what did not go as expected.
 * Everything made here is removed at the end, failure or not: containers through
 * {@code kurma rm --force} (which deletes the runtime's state too), then their mounts and
 * directories directly, and the temporary tree without crossing into any mount.
 */
public final class Train {
    private static final String REPOSITORY = "train/busybox";

    private final Path tmp;
    private final Path root;
    private final Path runRoot;
    private int commands;
    private final List<String> failures = new ArrayList<>();

    private Train(Path tmp) {
        this.tmp = tmp;
        this.root = tmp.resolve("root");
        this.runRoot = tmp.resolve("run");
    }

    public static void main(String[] args) throws IOException {
        List<String> modes = List.of(args);
        if (modes.isEmpty() || !List.of("local", "pull").containsAll(modes)) {
            System.err.println("usage: kurma.cli.Train local|pull...");
            System.exit(2);
        }
        // Not createTempDirectory: its SecureRandom would be trained here rather than where
        // the command itself uses one.
        Path tmp = Files.createDirectories(Path.of(System.getProperty("java.io.tmpdir"),
                "kurma-cli-train-" + ProcessHandle.current().pid()));
        Train t = new Train(tmp);
        HttpServer registry = null;
        try {
            boolean containers = isRoot() && Files.isExecutable(Path.of("/bin/busybox"));
            Image image = Image.build(containers ? Path.of("/bin/busybox") : null);
            if (modes.contains("local")) t.local(image, containers);
            if (modes.contains("pull")) {
                registry = Registry.start(image, tmp);
                if (registry != null) t.pulls("127.0.0.1:" + registry.getAddress().getPort() + "/" + REPOSITORY);
                else t.failures.add("no TLS registry (keytool failed): pulls not trained");
            }
        } catch (IOException | RuntimeException e) {
            t.failures.add("training stopped: " + e);
        } finally {
            if (registry != null) registry.stop(0);
            t.cleanUp();
        }
        System.out.println("kurma training: " + t.commands + " commands, " + t.failures.size() + " unexpected results");
        for (String f : t.failures) System.out.println("  " + f);
    }

    /** Everything but pulls: archives in and out, the image list, containers. */
    private void local(Image image, boolean containers) throws IOException {
        Path docker = tmp.resolve("busybox.tar"), oci = tmp.resolve("gzip.tar");
        image.writeDockerArchive(docker, "busybox:latest");
        image.writeOciArchive(oci, "localhost/train/gzip:latest");
        kurma(0, "image", "import", docker.toString());
        kurma(0, "images");
        kurma(0, "image", "ls", "-q");
        kurma(0, "image", "inspect", "busybox");
        kurma(125, "image", "inspect", "no-such-image");
        kurma(125, "no-such-command");
        kurma(0, "--help");
        if (containers) runContainers("busybox");
        kurma(0, "image", "export", "-o", tmp.resolve("docker-out.tar").toString(), "busybox");
        kurma(0, "image", "export", "-o", tmp.resolve("oci-out.tar").toString(), "--format", "oci-archive", "busybox");
        kurma(0, "rmi", "busybox");
        kurma(0, "image", "prune");
        // Pulled images have gzip layers: the same image again, unpacked from gzip (the prune removed the snapshots).
        kurma(0, "load", "-i", oci.toString());
        kurma(containers ? 0 : 125, "run", "--rm", "localhost/train/gzip", "true");
        kurma(0, "image", "rm", "localhost/train/gzip");
        kurma(0, "image", "prune");
    }

    /** Pulls over HTTPS, as from any registry on the internet: an index, a manifest, gzip layers. */
    private void pulls(String remote) {
        kurma(0, "image", "pull", remote + ":latest");
        kurma(125, "pull", remote + ":no-such-tag");
        kurma(0, "images");
        kurma(0, "image", "rm", remote);
        kurma(0, "image", "prune");
    }

    /** Containers as users run them: foreground, with options, detached; ps, logs, rm. */
    private void runContainers(String image) throws IOException {
        for (int i = 0; i < 3; i++) kurma(0, "run", "--rm", image, "true");
        Path vol = Files.createDirectories(tmp.resolve("vol"));
        kurma(3, "run", "--rm", "-e", "A=b", "-w", "/tmp", "-u", "root", "-v", vol + ":/data:ro", "--read-only", "-m", "64m",
                "--pids-limit", "50", "--hostname", "train", "--net", "host", image, "sh", "-c", "exit 3");
        kurma(0, "run", "-d", "--name", "train-long", image, "sleep", "60");
        kurma(0, "ps");
        kurma(1, "rm", "train-long");
        kurma(0, "rm", "--force", "train-long");
        kurma(0, "run", "-d", "--name", "train-short", image, "sh", "-c", "echo out; echo err >&2");
        for (int i = 0; i < 100 && !kurma(0, "ps", "-a").contains("exited (0)"); i++) sleep(100);
        kurma(0, "logs", "train-short");
        kurma(0, "ps", "-a", "-q");
        kurma(0, "rm", "train-short");
    }

    /** One command through bin/kurma's own entry point; returns its stdout. */
    private String kurma(int expected, String... args) {
        List<String> argv = new ArrayList<>(List.of("--root", root.toString(), "--runroot", runRoot.toString()));
        argv.addAll(List.of(args));
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        long t0 = System.nanoTime();
        int code = new Main(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8))
                .run(argv);
        commands++;
        System.out.println(String.format("%6d ms  exit %3d  kurma %s", (System.nanoTime() - t0) / 1_000_000, code, String.join(" ", args)));
        if (code != expected) {
            failures.add("kurma " + String.join(" ", args) + ": exit " + code + " (expected " + expected + ") "
                    + err.toString(StandardCharsets.UTF_8).strip());
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /** Removes every container (through kurma rm, then directly), then the whole tree, never through a mount. */
    private void cleanUp() {
        Path dirs = root.resolve("containers");
        if (Files.isDirectory(dirs)) {
            List<Path> left = new ArrayList<>();
            try (var list = Files.newDirectoryStream(dirs)) {
                for (Path d : list) if (Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS)) left.add(d);
            } catch (IOException e) {
                failures.add("listing " + dirs + ": " + e.getMessage());
            }
            for (Path d : left) {
                String id = d.getFileName().toString();
                failures.add("container " + id + " was left; removing it");
                kurma(0, "rm", "--force", id);
                try {
                    RootFs.delete(d);
                } catch (IOException e) {
                    failures.add("removing " + d + ": " + e.getMessage());
                }
            }
        }
        try {
            Trees.removeRecursively(tmp);
        } catch (IOException e) {
            failures.add("removing " + tmp + ": " + e.getMessage());
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // No native call here: whatever training touches, every start of bin/kurma loads.
    private static boolean isRoot() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("Uid:")) return line.split("\t")[2].equals("0"); // real, effective, ...
        }
        return false;
    }

    // ------------------------------------------------------------------ the training image

    /**
     * A two-layer image held in memory: the first layer a busybox root (when there is a
     * busybox to copy; directories and /etc files otherwise), the second adding a file and
     * whiting one out. Layers are kept plain (for the docker-archive) and gzip'd (for the registry).
     */
    private record Image(List<byte[]> layers, List<byte[]> gzipped, byte[] config) {
        static Image build(Path busybox) throws IOException {
            List<byte[]> layers = List.of(baseLayer(busybox), topLayer());
            List<byte[]> gzipped = new ArrayList<>();
            List<Object> diffIds = new ArrayList<>();
            for (byte[] l : layers) {
                gzipped.add(gzip(l));
                diffIds.add(Digest.sha256(l).toString());
            }
            Platform p = Platform.host();
            Map<String, Object> config = new LinkedHashMap<>();
            config.put("architecture", p.architecture());
            config.put("os", p.os());
            config.put("created", "1970-01-01T00:00:00Z");
            config.put("config", Map.of("Env", List.of("PATH=/usr/sbin:/usr/bin:/sbin:/bin"), "Cmd", List.of("sh")));
            config.put("rootfs", Map.of("type", "layers", "diff_ids", diffIds));
            return new Image(layers, gzipped, Json.write(config).getBytes(StandardCharsets.UTF_8));
        }

        private static byte[] baseLayer(Path busybox) throws IOException {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            try (TarArchiveOutputStream t = tar(b)) {
                for (String d : new String[] {"bin/", "dev/", "etc/", "proc/", "sys/", "tmp/"}) dir(t, d);
                file(t, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n".getBytes(StandardCharsets.UTF_8), 0644);
                file(t, "etc/group", "root:x:0:\n".getBytes(StandardCharsets.UTF_8), 0644);
                file(t, "etc/motd", "trained\n".getBytes(StandardCharsets.UTF_8), 0644);
                if (busybox != null) {
                    file(t, "bin/busybox", Files.readAllBytes(busybox), 0755);
                    for (String applet : new String[] {"sh", "true", "sleep", "echo"}) {
                        TarArchiveEntry e = new TarArchiveEntry("bin/" + applet, TarArchiveEntry.LF_SYMLINK);
                        e.setLinkName("busybox");
                        t.putArchiveEntry(e);
                        t.closeArchiveEntry();
                    }
                }
            }
            return b.toByteArray();
        }

        private static byte[] topLayer() throws IOException {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            try (TarArchiveOutputStream t = tar(b)) {
                dir(t, "etc/");
                file(t, "etc/.wh.motd", new byte[0], 0644);
                file(t, "etc/hostname.default", "train\n".getBytes(StandardCharsets.UTF_8), 0644);
            }
            return b.toByteArray();
        }

        private static TarArchiveOutputStream tar(OutputStream out) {
            TarArchiveOutputStream t = new TarArchiveOutputStream(out);
            t.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            return t;
        }

        private static void dir(TarArchiveOutputStream t, String name) throws IOException {
            TarArchiveEntry e = new TarArchiveEntry(name);
            e.setMode(040755);
            t.putArchiveEntry(e);
            t.closeArchiveEntry();
        }

        private static void file(TarArchiveOutputStream t, String name, byte[] content, int mode) throws IOException {
            TarArchiveEntry e = new TarArchiveEntry(name);
            e.setMode(0100000 | mode);
            e.setSize(content.length);
            t.putArchiveEntry(e);
            t.write(content);
            t.closeArchiveEntry();
        }

        private static byte[] gzip(byte[] plain) throws IOException {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            try (GZIPOutputStream g = new GZIPOutputStream(b)) {
                g.write(plain);
            }
            return b.toByteArray();
        }

        /** What `docker save` writes: manifest.json, the config, one uncompressed layer.tar per layer. */
        void writeDockerArchive(Path out, String tag) throws IOException {
            String cfg = Digest.sha256(config).hex() + ".json";
            List<Object> layerPaths = new ArrayList<>();
            for (byte[] l : layers) layerPaths.add(Digest.sha256(l).hex() + "/layer.tar");
            byte[] manifest = Json.write(List.of(Map.of("Config", cfg, "RepoTags", List.of(tag), "Layers", layerPaths)))
                    .getBytes(StandardCharsets.UTF_8);
            try (TarArchiveOutputStream t = tar(Files.newOutputStream(out))) {
                file(t, "manifest.json", manifest, 0644);
                file(t, cfg, config, 0644);
                for (int i = 0; i < layers.size(); i++) file(t, (String) layerPaths.get(i), layers.get(i), 0644);
            }
        }

        /** What `skopeo copy ... oci-archive:` writes: an OCI layout with gzip layers, in a tar. */
        void writeOciArchive(Path out, String name) throws IOException {
            byte[] m = manifest();
            Map<String, Object> entry = descriptor(MediaTypes.OCI_MANIFEST, m, null);
            entry.put("annotations", Map.of("org.opencontainers.image.ref.name", name));
            byte[] index = Json.write(Map.of("schemaVersion", 2, "manifests", List.of(entry))).getBytes(StandardCharsets.UTF_8);
            try (TarArchiveOutputStream t = tar(Files.newOutputStream(out))) {
                file(t, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}".getBytes(StandardCharsets.UTF_8), 0644);
                file(t, "index.json", index, 0644);
                file(t, "blobs/sha256/" + Digest.sha256(m).hex(), m, 0644);
                for (Map.Entry<String, byte[]> b : blobs().entrySet()) {
                    file(t, "blobs/sha256/" + Digest.parse(b.getKey()).hex(), b.getValue(), 0644);
                }
            }
        }

        /** The registry's side: an OCI manifest with gzip layers, and an index naming it for this platform. */
        Map<String, byte[]> blobs() {
            Map<String, byte[]> m = new LinkedHashMap<>();
            m.put(Digest.sha256(config).toString(), config);
            for (byte[] g : gzipped) m.put(Digest.sha256(g).toString(), g);
            return m;
        }

        byte[] manifest() {
            List<Object> ls = new ArrayList<>();
            for (byte[] g : gzipped) ls.add(descriptor(MediaTypes.OCI_LAYER_GZIP, g, null));
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("schemaVersion", 2);
            m.put("mediaType", MediaTypes.OCI_MANIFEST);
            m.put("config", descriptor(MediaTypes.OCI_CONFIG, config, null));
            m.put("layers", ls);
            return Json.write(m).getBytes(StandardCharsets.UTF_8);
        }

        byte[] index() {
            Platform p = Platform.host();
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("schemaVersion", 2);
            m.put("mediaType", MediaTypes.OCI_INDEX);
            m.put("manifests", List.of(descriptor(MediaTypes.OCI_MANIFEST, manifest(),
                    Map.of("os", p.os(), "architecture", p.architecture()))));
            return Json.write(m).getBytes(StandardCharsets.UTF_8);
        }

        private static Map<String, Object> descriptor(String mediaType, byte[] content, Map<String, Object> platform) {
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("mediaType", mediaType);
            d.put("digest", Digest.sha256(content).toString());
            d.put("size", (long) content.length);
            if (platform != null) d.put("platform", platform);
            return d;
        }
    }

    // ------------------------------------------------------------------ the training registry

    /**
     * The read side of the distribution API for one repository, over HTTPS on a loopback port:
     * /v2/, manifests by tag and digest, blobs, and the registry's JSON errors for anything
     * else. Its certificate (RSA, for 127.0.0.1, as most registries have) is made by the JDK's
     * keytool and is this JVM's only trust anchor, so the client's whole TLS path runs:
     * handshake, chain and host name checks, as for a registry on the internet.
     */
    private static final class Registry {
        private Registry() {}

        /** The started server, or null when keytool could not make a certificate. */
        static HttpServer start(Image image, Path tmp) throws IOException {
            Path ks = tmp.resolve("registry.p12");
            String pass = "kurma-training";
            Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                    "-genkeypair", "-alias", "registry", "-keyalg", "RSA", "-keysize", "2048", "-validity", "2",
                    "-dname", "CN=127.0.0.1", "-ext", "san=ip:127.0.0.1", "-storetype", "PKCS12", "-keystore", ks.toString(),
                    "-storepass", pass, "-keypass", pass)
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            try {
                if (!keytool.waitFor(120, java.util.concurrent.TimeUnit.SECONDS) || keytool.exitValue() != 0) {
                    keytool.destroyForcibly();
                    return null;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
            // Read when the client first makes its default SSLContext, which no code has done yet.
            System.setProperty("javax.net.ssl.trustStore", ks.toString());
            System.setProperty("javax.net.ssl.trustStorePassword", pass);
            SSLContext tls;
            try (var in = Files.newInputStream(ks)) {
                KeyStore store = KeyStore.getInstance("PKCS12");
                store.load(in, pass.toCharArray());
                KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(store, pass.toCharArray());
                tls = SSLContext.getInstance("TLS");
                tls.init(kmf.getKeyManagers(), null, null);
            } catch (GeneralSecurityException e) {
                throw new IOException("training registry: " + e.getMessage(), e);
            }
            HttpsServer s = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            s.setHttpsConfigurator(new HttpsConfigurator(tls));
            s.createContext("/v2/", handler(image));
            s.start();
            return s;
        }

        private static HttpHandler handler(Image image) {
            byte[] index = image.index(), manifest = image.manifest();
            Map<String, byte[]> blobs = image.blobs();
            String prefix = "/v2/" + REPOSITORY + "/";
            return ex -> {
                try (ex) {
                    String path = ex.getRequestURI().getPath();
                    if (path.equals("/v2/")) {
                        reply(ex, 200, "application/json", "{}".getBytes(StandardCharsets.UTF_8));
                    } else if (path.startsWith(prefix + "manifests/")) {
                        String ref = path.substring(prefix.length() + "manifests/".length());
                        if (ref.equals("latest") || ref.equals(Digest.sha256(index).toString())) {
                            reply(ex, 200, MediaTypes.OCI_INDEX, index);
                        } else if (ref.equals(Digest.sha256(manifest).toString())) {
                            reply(ex, 200, MediaTypes.OCI_MANIFEST, manifest);
                        } else {
                            error(ex, "MANIFEST_UNKNOWN", "manifest unknown");
                        }
                    } else if (path.startsWith(prefix + "blobs/") && blobs.containsKey(path.substring(prefix.length() + 6))) {
                        reply(ex, 200, "application/octet-stream", blobs.get(path.substring(prefix.length() + 6)));
                    } else {
                        error(ex, "NAME_UNKNOWN", "repository name not known to registry");
                    }
                }
            };
        }
    }

    private static void reply(HttpExchange ex, int status, String type, byte[] body) throws IOException {
        ex.getResponseHeaders().set("Content-Type", type);
        if (status == 200) ex.getResponseHeaders().set("Docker-Content-Digest", Digest.sha256(body).toString());
        boolean head = ex.getRequestMethod().equals("HEAD");
        ex.sendResponseHeaders(status, head ? -1 : body.length);
        if (!head) ex.getResponseBody().write(body);
    }

    private static void error(HttpExchange ex, String code, String message) throws IOException {
        reply(ex, 404, "application/json", Json.write(Map.of("errors", List.of(Map.of("code", code, "message", message))))
                .getBytes(StandardCharsets.UTF_8));
    }
}
