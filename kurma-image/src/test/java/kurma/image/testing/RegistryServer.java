package kurma.image.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Debian's docker-registry (the CNCF distribution registry), started by a test on a loopback
 * port with its own config and storage in a temp dir, and stopped by its pid. PID 1 here is
 * not systemd, so the package's service never runs by itself; nothing else is touched.
 */
public final class RegistryServer implements AutoCloseable {
    public static final Path BINARY = Path.of("/usr/bin/docker-registry");

    /** How clients authenticate. */
    public sealed interface Auth permits None, Htpasswd, Token {}

    public record None() implements Auth {}

    /** Basic auth against an htpasswd file (bcrypt, made by apache2-utils' htpasswd). */
    public record Htpasswd(String user, String password) implements Auth {}

    /** Bearer tokens signed by a key whose certificate the registry trusts. */
    public record Token(String realm, String service, String issuer, Path certPem) implements Auth {}

    private final Process process;
    private final int port;
    private final Path storage;
    private final Path log;

    private RegistryServer(Process process, int port, Path storage, Path log) {
        this.process = process;
        this.port = port;
        this.storage = storage;
        this.log = log;
    }

    public static RegistryServer start(Path dir, Auth auth) throws IOException, InterruptedException {
        if (!Files.isExecutable(BINARY)) {
            throw new IllegalStateException(BINARY + " is missing: apt-get install -y docker-registry (.ci/run does)");
        }
        Files.createDirectories(dir);
        Path storage = dir.resolve("storage");
        Files.createDirectories(storage);
        int port = freePort();
        StringBuilder cfg = new StringBuilder();
        cfg.append("version: 0.1\n");
        cfg.append("log:\n  level: warn\n  accesslog:\n    disabled: true\n");
        cfg.append("storage:\n  filesystem:\n    rootdirectory: ").append(storage).append("\n  delete:\n    enabled: true\n");
        cfg.append("http:\n  addr: 127.0.0.1:").append(port).append("\n");
        switch (auth) {
            case None n -> { }
            case Htpasswd h -> {
                Path file = dir.resolve("htpasswd");
                Process p = new ProcessBuilder("htpasswd", "-Bbn", h.user(), h.password()).redirectErrorStream(true).start();
                String line = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
                if (p.waitFor() != 0) throw new IOException("htpasswd failed: " + line);
                Files.writeString(file, line + "\n");
                cfg.append("auth:\n  htpasswd:\n    realm: kurma-test\n    path: ").append(file).append("\n");
            }
            case Token t -> cfg.append("auth:\n  token:\n    realm: ").append(t.realm())
                    .append("\n    service: ").append(t.service())
                    .append("\n    issuer: ").append(t.issuer())
                    .append("\n    rootcertbundle: ").append(t.certPem()).append("\n");
        }
        Path config = dir.resolve("config.yml");
        Files.writeString(config, cfg);
        Path log = dir.resolve("registry.log");
        Process p = new ProcessBuilder(BINARY.toString(), "serve", config.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        RegistryServer r = new RegistryServer(p, port, storage, log);
        try {
            r.awaitReady();
        } catch (IOException | RuntimeException | InterruptedException e) {
            r.close();
            throw e;
        }
        return r;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private void awaitReady() throws IOException, InterruptedException {
        HttpClient c = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) throw new IOException("docker-registry exited: " + Files.readString(log));
            try {
                int s = c.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v2/")).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode();
                if (s == 200 || s == 401) return;
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(50);
        }
        throw new IOException("docker-registry did not answer on port " + port + ": " + Files.readString(log));
    }

    /** host:port, for image references. */
    public String host() {
        return "127.0.0.1:" + port;
    }

    public int port() {
        return port;
    }

    /** Where the registry keeps a blob's bytes (its filesystem driver's layout). */
    public Path blobData(kurma.image.Digest d) {
        return storage.resolve("docker/registry/v2/blobs/" + d.algorithm() + "/" + d.hex().substring(0, 2) + "/" + d.hex() + "/data");
    }

    public String log() throws IOException {
        return Files.readString(log);
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(20, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
