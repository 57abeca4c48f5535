package kurma.cmd;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import kurma.image.Descriptor;
import kurma.image.Image;
import kurma.image.ImageException;
import kurma.image.snapshot.RootFs;
import kurma.image.snapshot.Snapshot;
import kurma.image.snapshot.Snapshots;
import kurma.image.store.ImageStore;
import kurma.image.unpack.LayerBlob;
import kurma.foreground.Foreground;
import kurma.runtime.Container;
import kurma.runtime.ContainerRuntime;
import kurma.runtime.CreateRequest;
import kurma.runtime.Detached;
import kurma.runtime.RuntimeOptions;
import kurma.runtime.KurmaException;
import kurma.spec.Json;
import kurma.sys.LockedFile;

/**
 * Containers from images: run, ps, rm, logs. Daemonless: the runtime library runs in this
 * process; a detached container's output goes to its log file and a small stage2 monitor
 * records its exit status, so nothing is lost when this command returns.
 */
final class ContainerCommands {
    private final Path state;
    private final Path runRoot;
    private final PrintStream out;
    private final Images images;

    ContainerCommands(Path state, Path runRoot, PrintStream out, Images images) {
        this.state = state;
        this.runRoot = runRoot;
        this.out = out;
        this.images = images;
    }

    private Path containersDir() {
        return state.resolve("containers");
    }

    private ContainerRuntime runtime() {
        return runtime(runRoot);
    }

    /** The runtime library on runRoot, with the stage2 bin/kurma names (-Dkurma.stage2). */
    static ContainerRuntime runtime(Path runRoot) {
        String stage2 = System.getProperty("kurma.stage2");
        return ContainerRuntime.open(RuntimeOptions.of(runRoot).withStage2(stage2 == null ? null : Path.of(stage2)));
    }

    // ------------------------------------------------------------------ run

    static final String[] RUN_VALUED = {"name", "env|e", "workdir|w", "user|u", "volume|v", "net|network", "memory|m",
        "pids-limit", "entrypoint", "hostname|h", "platform", "security-opt"};
    static final String[] RUN_SWITCHES = {"rm", "detach|d", "read-only", "tty|t", "interactive|i"};

    int run(Flags f) {
        if (f.positional.isEmpty()) throw new UsageException("usage: kurma run [options] IMAGE [COMMAND [ARG...]]");
        boolean detach = f.has("detach");
        if (detach && f.has("tty")) throw new UsageException("-d with -t needs an attach command, which comes with kurmad");
        String ref = f.positional.getFirst();
        Image image = images.resolveOrPull(ref, f.value("platform"));
        String name = f.value("name");
        if (name != null && !name.matches("[a-zA-Z0-9][a-zA-Z0-9_.-]*")) {
            throw new UsageException("invalid container name \"" + name + "\": [a-zA-Z0-9][a-zA-Z0-9_.-]*");
        }
        String id = HexFormat.of().formatHex(random32());
        if (name == null) name = "kurma-" + id.substring(0, 12);
        RunConfig.Options opts = new RunConfig.Options(f.value("hostname") != null ? f.value("hostname") : id.substring(0, 12),
                f.values("env"), f.value("workdir"), f.value("entrypoint"), List.copyOf(f.positional.subList(1, f.positional.size())),
                volumes(f.values("volume")), f.has("read-only"), f.value("net") == null ? "none" : f.value("net"),
                size(f.value("memory"), "--memory"), number(f.value("pids-limit"), "--pids-limit"), f.has("tty"),
                seccomp(f.values("security-opt")));

        Path dir = containersDir().resolve(id);
        RootFs.Mounted rootfs = null;
        boolean made = false;
        try {
            Files.createDirectories(containersDir());
            // Held while the name is checked and taken: two runs at once get different names.
            try (var lock = LockedFile.exclusive(containersDir().resolve(".names.lock"))) {
                if (find(name) != null) throw new CmdException("the container name \"" + name + "\" is already in use");
                Files.createDirectory(dir);
                made = true;
                new ContainerRecord(id, name, image.name() != null ? image.name() : ref, image.id().toString(),
                        RunConfig.args(image.imageConfig(), opts), Instant.now().toString(), chainIds(image),
                        f.has("rm")).write(dir);
            }
            rootfs = mountRootfs(image, dir);
            RunConfig.User user = Users.resolve(rootfs.rootfs(),
                    f.value("user") != null ? f.value("user") : image.imageConfig().user());
            Map<String, Object> config = RunConfig.build(image.imageConfig(), opts, user, System.getenv(),
                    etcFiles(dir, opts), Map.of("io.kurma.container.name", name));
            Files.writeString(dir.resolve("config.json"), Json.writePretty(config));
            if (detach) {
                List<String> exit = f.has("rm") ? List.of(self(), "--root", state.toString(), "--runroot", runRoot.toString(),
                        "rm", "--force", id) : List.of();
                runtime().create(CreateRequest.of(id, dir).withDetached(new Detached(dir.resolve("container.log"), exit)))
                        .start();
                out.println(id);
                return 0;
            }
            int code = Foreground.run(runtime(), CreateRequest.of(id, dir), System.in, System.out);
            Files.writeString(dir.resolve("exit"), Integer.toString(code));
            if (f.has("rm")) remove(id, dir, false);
            return code;
        } catch (IOException e) {
            if (made) cleanupQuietly(id, dir);
            throw new CmdException("run: " + e.getMessage());
        } catch (RuntimeException e) {
            if (made) cleanupQuietly(id, dir);
            throw e;
        }
    }

    private static byte[] random32() {
        byte[] b = new byte[32];
        new SecureRandom().nextBytes(b);
        return b;
    }

    private static List<String> chainIds(Image image) {
        List<String> out = new ArrayList<>();
        for (var d : image.chainIds()) out.add(d.toString());
        return out;
    }

    /** The image's layers unpacked once into snapshots, stacked as an overlay (or copied) in dir/rootfs. */
    private RootFs.Mounted mountRootfs(Image image, Path dir) throws IOException {
        List<LayerBlob> blobs = new ArrayList<>();
        for (int i = 0; i < image.layers().size(); i++) {
            Descriptor d = image.layers().get(i);
            blobs.add(new LayerBlob(d.mediaType(), d.digest().toString(), image.diffIds().get(i).toString()));
        }
        Snapshots snapshots = new Snapshots(state);
        List<Path> lower = new ArrayList<>();
        try (LockedFile held = images.store().hold()) {
            for (Snapshot s : snapshots.unpackImage(blobs, l -> images.store().openBlob(kurma.image.Digest.parse(l.digest())))) {
                lower.add(s.fs());
            }
        } catch (ImageException e) {
            throw new CmdException(e.getMessage());
        }
        return RootFs.mount(lower, dir);
    }

    /** /etc/hostname, /etc/hosts and /etc/resolv.conf for the container, as Docker writes them. */
    private static Map<String, String> etcFiles(Path dir, RunConfig.Options o) throws IOException {
        Map<String, String> files = new LinkedHashMap<>();
        Path hostname = dir.resolve("hostname"), hosts = dir.resolve("hosts"), resolv = dir.resolve("resolv.conf");
        Files.writeString(hostname, o.hostname() + "\n");
        Files.writeString(hosts, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t" + o.hostname() + "\n");
        String hostResolv = "";
        try {
            hostResolv = Files.readString(Path.of("/etc/resolv.conf"));
        } catch (IOException none) {
            // no resolver configured on the host
        }
        Files.writeString(resolv, hostResolv);
        files.put("/etc/hostname", hostname.toString());
        files.put("/etc/hosts", hosts.toString());
        files.put("/etc/resolv.conf", resolv.toString());
        return files;
    }

    /** --security-opt seccomp=unconfined turns the default seccomp profile off; nothing else is known yet. */
    private static boolean seccomp(List<String> opts) {
        boolean on = true;
        for (String o : opts) {
            if (o.equals("seccomp=unconfined") || o.equals("seccomp:unconfined")) on = false;
            else throw new UsageException("--security-opt: only seccomp=unconfined is supported, got \"" + o + "\"");
        }
        return on;
    }

    private static List<RunConfig.Volume> volumes(List<String> specs) {
        List<RunConfig.Volume> out = new ArrayList<>();
        for (String v : specs) {
            RunConfig.Volume vol = RunConfig.Volume.parse(v);
            Path src = Path.of(vol.source());
            try {
                // As docker: a missing host directory is made.
                if (!Files.exists(src)) Files.createDirectories(src);
            } catch (IOException e) {
                throw new CmdException("-v " + v + ": cannot create " + src + ": " + e.getMessage());
            }
            out.add(vol);
        }
        return out;
    }

    /** The path of bin/kurma, for a detached --rm container's exit command. */
    private static String self() {
        String home = System.getProperty("kurma.home");
        if (home == null) throw new CmdException("--rm with -d needs kurma.home (set by bin/kurma)");
        return Path.of(home, "bin", "kurma").toAbsolutePath().normalize().toString();
    }

    static Long size(String v, String flag) {
        if (v == null) return null;
        String s = v.trim().toLowerCase(java.util.Locale.ROOT);
        if (s.endsWith("ib")) s = s.substring(0, s.length() - 2);
        else if (s.endsWith("b")) s = s.substring(0, s.length() - 1);
        long unit = 1;
        int k = s.isEmpty() ? -1 : "kmgt".indexOf(s.charAt(s.length() - 1));
        if (k >= 0) {
            unit = 1L << (10 * (k + 1));
            s = s.substring(0, s.length() - 1);
        }
        try {
            long n = Long.parseLong(s);
            if (n <= 0) throw new NumberFormatException();
            return Math.multiplyExact(n, unit);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new UsageException(flag + " takes a size such as 64m or 1g, got \"" + v + "\"");
        }
    }

    private static Long number(String v, String flag) {
        if (v == null) return null;
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new UsageException(flag + " takes a number, got \"" + v + "\"");
        }
    }

    // ------------------------------------------------------------------ ps, rm, logs

    /** A container by full id, id prefix (at least 3 characters) or name; null if none. */
    Path find(String key) {
        if (!Files.isDirectory(containersDir())) return null;
        Path byPrefix = null;
        int prefixMatches = 0;
        try (var dirs = Files.newDirectoryStream(containersDir())) {
            for (Path d : dirs) {
                if (!Files.isDirectory(d)) continue;
                String id = d.getFileName().toString();
                if (id.equals(key)) return d;
                ContainerRecord r = ContainerRecord.read(d);
                if (r != null && r.name().equals(key)) return d;
                if (key.length() >= 3 && id.startsWith(key)) {
                    byPrefix = d;
                    prefixMatches++;
                }
            }
        } catch (IOException e) {
            throw new CmdException("cannot list " + containersDir() + ": " + e.getMessage());
        }
        if (prefixMatches > 1) throw new CmdException("\"" + key + "\" matches several containers; give more of the id");
        return byPrefix;
    }

    private Path require(String key) {
        Path d = find(key);
        if (d == null) throw new CmdException("no such container: " + key);
        return d;
    }

    /** "running", "created", "paused", "exited (N)"; from the runtime, or the recorded exit. */
    String status(Path dir) {
        String id = dir.getFileName().toString();
        try {
            Container c = runtime().container(id);
            String s = c.state().status().text();
            if (!s.equals("stopped")) return s;
            Integer code = c.exitCode();
            return code == null ? "exited" : "exited (" + code + ")";
        } catch (KurmaException gone) {
            try {
                return "exited (" + Files.readString(dir.resolve("exit")).trim() + ")";
            } catch (IOException none) {
                return "exited";
            }
        }
    }

    int ps(Flags f) {
        f.expect(0, 0, "kurma ps [-a] [-q]");
        boolean all = f.has("all");
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES"});
        for (Map.Entry<Path, ContainerRecord> e : records().entrySet()) {
            ContainerRecord r = e.getValue();
            String st = status(e.getKey());
            if (!all && !st.equals("running") && !st.equals("paused")) continue;
            if (f.has("quiet")) {
                out.println(r.id().substring(0, 12));
                continue;
            }
            String cmd = String.join(" ", r.command());
            if (cmd.length() > 30) cmd = cmd.substring(0, 27) + "...";
            rows.add(new String[] {r.id().substring(0, 12), familiar(r.image()), "\"" + cmd + "\"", ago(r.created()), st, r.name()});
        }
        if (!f.has("quiet")) Table.print(out, rows);
        return 0;
    }

    /** busybox:latest rather than docker.io/library/busybox:latest, as docker shows it. */
    private static String familiar(String image) {
        try {
            return kurma.image.ref.ImageReference.parse(image).familiar();
        } catch (RuntimeException notAReference) {
            return image;
        }
    }

    static String ago(String created) {
        try {
            Duration d = Duration.between(Instant.parse(created), Instant.now());
            if (d.toSeconds() < 60) return d.toSeconds() + " seconds ago";
            if (d.toMinutes() < 60) return d.toMinutes() + " minutes ago";
            if (d.toHours() < 48) return d.toHours() + " hours ago";
            return d.toDays() + " days ago";
        } catch (RuntimeException e) {
            return created;
        }
    }

    int rm(Flags f) {
        if (f.positional.isEmpty()) throw new UsageException("usage: kurma rm [-f] CONTAINER...");
        int rc = 0;
        for (String key : f.positional) {
            Path d = find(key);
            if (d == null) {
                // --force on a container already gone (a detached --rm's exit command raced us) is fine.
                if (!f.has("force")) {
                    System.err.println("kurma: no such container: " + key);
                    rc = 1;
                }
                continue;
            }
            String st = status(d);
            if ((st.equals("running") || st.equals("paused") || st.equals("created")) && !f.has("force")) {
                System.err.println("kurma: container " + key + " is " + st + ": stop it first or use rm --force");
                rc = 1;
                continue;
            }
            remove(d.getFileName().toString(), d, true);
            out.println(key);
        }
        return rc;
    }

    /** Kills (with force), deletes the runtime state, unmounts the rootfs and removes the container's directory. */
    private void remove(String id, Path dir, boolean force) {
        try {
            runtime().container(id).delete(force);
        } catch (KurmaException e) {
            if (e.code() != KurmaException.Code.NOT_FOUND) throw new CmdException(e.getMessage());
        }
        try {
            RootFs.delete(dir);
        } catch (IOException e) {
            throw new CmdException("removing " + dir + ": " + e.getMessage());
        }
    }

    private void cleanupQuietly(String id, Path dir) {
        try {
            remove(id, dir, true);
        } catch (RuntimeException e) {
            System.err.println("kurma: cleaning up " + dir + ": " + e.getMessage());
        }
    }

    int logs(Flags f) {
        f.expect(1, 1, "kurma logs CONTAINER");
        Path log = require(f.positional.getFirst()).resolve("container.log");
        if (!Files.exists(log)) throw new CmdException("container " + f.positional.getFirst() + " has no log (it was not run with -d)");
        try (var in = Files.newInputStream(log)) {
            in.transferTo(out);
        } catch (IOException e) {
            throw new CmdException("cannot read " + log + ": " + e.getMessage());
        }
        out.flush();
        return 0;
    }

    /** Every container directory with its record; one being made or removed (no record yet or any more) is skipped. */
    private Map<Path, ContainerRecord> records() {
        Map<Path, ContainerRecord> out = new LinkedHashMap<>();
        if (!Files.isDirectory(containersDir())) return out;
        try (var dirs = Files.newDirectoryStream(containersDir())) {
            for (Path d : dirs) {
                ContainerRecord r = ContainerRecord.read(d);
                if (r != null) out.put(d, r);
            }
        } catch (IOException e) {
            throw new CmdException("cannot list " + containersDir() + ": " + e.getMessage());
        }
        return out;
    }

    /** The chain ids every container still uses: their snapshots survive image prune. */
    List<String> usedChainIds() {
        List<String> out = new ArrayList<>();
        for (ContainerRecord r : records().values()) out.addAll(r.chainIds());
        return out;
    }

    /** Image ids used by containers (an image in use is not removed without --force). */
    List<String> usedImageIds() {
        List<String> out = new ArrayList<>();
        for (ContainerRecord r : records().values()) out.add(r.imageId());
        return out;
    }
}
