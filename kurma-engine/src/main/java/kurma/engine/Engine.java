package kurma.engine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import kurma.image.Descriptor;
import kurma.image.Digest;
import kurma.image.Image;
import kurma.image.ImageException;
import kurma.image.snapshot.RootFs;
import kurma.image.snapshot.Snapshot;
import kurma.image.snapshot.Snapshots;
import kurma.image.store.ImageStore;
import kurma.image.unpack.LayerBlob;
import kurma.spec.Spec;
import kurma.spec.SpecWriter;
import kurma.sys.LockedFile;

/**
 * Containers from images, over one store: the image store and snapshots and one directory
 * per container under the state dir ({@code <state>/containers/<id>}: container.json,
 * config.json, rootfs, the overlay's upper and work dirs, the /etc files, the log), and the
 * runtime's state under the run root. What {@code bin/kurma} runs in-process and what the
 * daemon will serve.
 *
 * <p>Several engines (in one process or several) may use one store at once: a name is taken
 * under a lock on the containers directory, records are replaced atomically, and the runtime
 * serializes the commands on one container. An engine holds no mutable state but the image
 * store it opens on first use, so one instance serves any number of threads. It reads no
 * environment variable or system property and installs no handler: how a foreground container
 * is attached is the caller's ({@link #runAttached}).
 */
public final class Engine {
    /**
     * @param stateDir     images, snapshots and containers ({@code kurma --root}, /var/lib/kurma)
     * @param runRoot      the runtime's state of running containers ({@code kurma --runroot}, /run/kurma)
     * @param architecture the host's, in image platform names (amd64, arm64): the seccomp filter's
     * @param resolvConf   the host's resolver configuration, copied into each container
     * @param stage2       the runtime's stage2 executable (null: where a package puts it)
     */
    public record Config(Path stateDir, Path runRoot, String architecture, Path resolvConf, Path stage2) {
        public Config {
            stateDir = stateDir.toAbsolutePath();
            runRoot = runRoot.toAbsolutePath();
        }

        /** With the host's /etc/resolv.conf. */
        public Config(Path stateDir, Path runRoot, String architecture, Path stage2) {
            this(stateDir, runRoot, architecture, Path.of("/etc/resolv.conf"), stage2);
        }
    }

    /** Where a detached container's stdout and stderr go, in its directory. */
    static final String LOG = "container.log";
    /** A foreground container's exit code, in its directory (a detached one's is the runtime's). */
    static final String EXIT = "exit";
    /** Present from create until the first start: such a container is created, not exited. */
    static final String NOT_STARTED = "not-started";
    private static final String NAME_PATTERN = "[a-zA-Z0-9][a-zA-Z0-9_.-]*";

    private final Config config;
    private final RuntimeCalls runtime;
    private ImageStore store; // guarded by this; opened on first use (most commands need no store)

    private Engine(Config config) {
        this.config = config;
        this.runtime = new RuntimeCalls(config.runRoot(), config.stage2());
    }

    /** An engine over the store of {@code config}; nothing is read or made until an operation needs it. */
    public static Engine open(Config config) {
        return new Engine(config);
    }

    public Config config() {
        return config;
    }

    /** The image store under the state dir, shared with the caller (pull, import, list...). */
    public synchronized ImageStore images() {
        if (store == null) store = ImageStore.open(config.stateDir());
        return store;
    }

    private Path containersDir() {
        return config.stateDir().resolve("containers");
    }

    // ------------------------------------------------------------------ create

    /**
     * Makes a container from an image: its name taken, its record written, the image's layers
     * unpacked (once per layer, into snapshots) and stacked as its root filesystem, the /etc
     * files and config.json in its directory. Nothing runs yet ({@link #start}, {@link
     * #runAttached}). On failure nothing of it is left.
     *
     * @throws EngineException IMAGE_NOT_FOUND when the image is not in the store (nothing was
     *     made: pull it and call again), ALREADY_EXISTS when the name is taken, INVALID_ARGUMENT,
     *     IMAGE, IO
     */
    public Container create(CreateOptions o) {
        Image image = resolve(o.image());
        if (o.name() != null && !o.name().matches(NAME_PATTERN)) {
            throw invalid("invalid container name \"" + o.name() + "\": " + NAME_PATTERN);
        }
        // Every option checked before anything is made.
        List<String> command = ImageSpec.check(image.imageConfig(), o);
        String id = HexFormat.of().formatHex(random32());
        String name = o.name() != null ? o.name() : "kurma-" + id.substring(0, 12);
        String hostname = o.hostname() != null ? o.hostname() : id.substring(0, 12);
        Path dir = containersDir().resolve(id);
        boolean made = false;
        try {
            makeVolumeSources(o.volumes());
            Files.createDirectories(containersDir());
            ContainerRecord record = new ContainerRecord(id, name, image.name() != null ? image.name() : o.image(),
                    image.id().toString(), command, Instant.now().toString(), chainIds(image), o.autoRemove());
            // Held while the name is checked and taken: two creates at once get different names.
            try (var lock = LockedFile.exclusive(containersDir().resolve(".names.lock"))) {
                if (find(name) != null) {
                    throw new EngineException(EngineException.Code.ALREADY_EXISTS, "the container name \"" + name + "\" is already in use");
                }
                Files.createDirectory(dir);
                made = true;
                Files.writeString(dir.resolve(NOT_STARTED), "");
                write(record, dir);
            }
            RootFs.Mounted rootfs = mountRootfs(image, dir);
            Users.User user = Users.resolve(rootfs.rootfs(), o.user() != null ? o.user() : image.imageConfig().user());
            Spec spec = ImageSpec.spec(image.imageConfig(), o, hostname, user, etcFiles(dir, hostname),
                    Map.of(ImageSpec.NAME_ANNOTATION, name), config.architecture());
            Files.writeString(dir.resolve("config.json"), SpecWriter.write(spec));
            return new Container(record, dir, Container.State.CREATED, null);
        } catch (IOException e) {
            throw undo(made, id, dir, io(e));
        } catch (RuntimeException e) {
            throw undo(made, id, dir, e);
        }
    }

    private Image resolve(String ref) {
        try {
            return images().resolve(ref);
        } catch (ImageException e) {
            if (e.reason() == ImageException.Reason.NOT_FOUND) {
                throw new EngineException(EngineException.Code.IMAGE_NOT_FOUND, e.getMessage(), e);
            }
            throw image(e);
        }
    }

    /** As Docker: a volume's missing host directory is made. */
    private static void makeVolumeSources(List<Volume> volumes) {
        for (Volume v : volumes) {
            Path src = Path.of(v.source());
            try {
                if (!Files.exists(src)) Files.createDirectories(src);
            } catch (IOException e) {
                throw new EngineException(EngineException.Code.IO, "cannot create " + src + " for the volume on "
                        + v.destination() + ": " + e.getMessage(), e);
            }
        }
    }

    private static void write(ContainerRecord r, Path dir) {
        try {
            r.write(dir);
        } catch (IOException e) {
            throw new EngineException(EngineException.Code.IO, "cannot write " + dir.resolve(ContainerRecord.FILE) + ": "
                    + e.getMessage(), e);
        }
    }

    /** What a failed create made, removed; a failure to remove it goes along with the first one. */
    private RuntimeException undo(boolean made, String id, Path dir, RuntimeException failure) {
        if (!made) return failure;
        try {
            removeDir(id, dir);
        } catch (RuntimeException e) {
            failure.addSuppressed(new EngineException(EngineException.Code.IO, "cleaning up " + dir + ": " + e.getMessage(), e));
        }
        return failure;
    }

    private static byte[] random32() {
        // A generator per call: made when a container is, not by every engine (most commands make none).
        byte[] b = new byte[32];
        new SecureRandom().nextBytes(b);
        return b;
    }

    private static List<String> chainIds(Image image) {
        List<String> out = new ArrayList<>();
        for (Digest d : image.chainIds()) out.add(d.toString());
        return out;
    }

    /** The image's layers unpacked once into snapshots, stacked as an overlay (or copied) in dir/rootfs. */
    private RootFs.Mounted mountRootfs(Image image, Path dir) throws IOException {
        List<LayerBlob> blobs = new ArrayList<>();
        for (int i = 0; i < image.layers().size(); i++) {
            Descriptor d = image.layers().get(i);
            blobs.add(new LayerBlob(d.mediaType(), d.digest().toString(), image.diffIds().get(i).toString()));
        }
        Snapshots snapshots = new Snapshots(config.stateDir());
        List<Path> lower = new ArrayList<>();
        ImageStore store = images();
        try (LockedFile held = store.hold()) {
            for (Snapshot s : snapshots.unpackImage(blobs, l -> store.openBlob(Digest.parse(l.digest())))) lower.add(s.fs());
        } catch (ImageException e) {
            throw image(e);
        }
        return RootFs.mount(lower, dir);
    }

    /** /etc/hostname, /etc/hosts and /etc/resolv.conf for the container, as Docker writes them (destination to file). */
    private Map<String, String> etcFiles(Path dir, String hostname) throws IOException {
        Map<String, String> files = new LinkedHashMap<>();
        Path hostnameFile = dir.resolve("hostname"), hosts = dir.resolve("hosts"), resolv = dir.resolve("resolv.conf");
        Files.writeString(hostnameFile, hostname + "\n");
        Files.writeString(hosts, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t" + hostname + "\n");
        String hostResolv = "";
        try {
            hostResolv = Files.readString(config.resolvConf());
        } catch (IOException none) {
            // no resolver configured on the host
        }
        Files.writeString(resolv, hostResolv);
        files.put("/etc/hostname", hostnameFile.toString());
        files.put("/etc/hosts", hosts.toString());
        files.put("/etc/resolv.conf", resolv.toString());
        return files;
    }

    // ------------------------------------------------------------------ start

    /**
     * Starts a created container with nobody attached: stdin from /dev/null, stdout and stderr
     * to its log ({@link #logFile}), and a small monitor, independent of this process, that
     * records its exit code and then runs {@code onExit} (empty: nothing), as conmon does for
     * podman: with {@code autoRemove}, a command that removes it.
     *
     * @throws EngineException NOT_FOUND, RUNTIME (the container stays, created: remove it)
     */
    public void start(String key, List<String> onExit) {
        Path dir = require(key);
        runtime.startDetached(dir.getFileName().toString(), dir, dir.resolve(LOG), onExit);
        started(dir);
    }

    /**
     * Runs a created container attached to the caller until it exits, and returns its exit code
     * (128+signal when killed), also recorded for {@link #inspect}; attachment says how.
     *
     * @throws EngineException NOT_FOUND, RUNTIME (such as a program not found: the container
     *     stays, created; remove it), IO
     */
    public int runAttached(String key, Attachment attachment) {
        Path dir = require(key);
        int code = runtime.runAttached(dir.getFileName().toString(), dir, attachment);
        try {
            Files.writeString(dir.resolve(EXIT), Integer.toString(code));
        } catch (IOException e) {
            throw io(e);
        }
        started(dir);
        return code;
    }

    /** Once the runtime has (had) it: from then on its state is the runtime's, or the exit recorded. */
    private static void started(Path dir) {
        try {
            Files.deleteIfExists(dir.resolve(NOT_STARTED));
        } catch (IOException e) {
            throw io(e);
        }
    }

    // ------------------------------------------------------------------ list, inspect

    /** A container by full id, id prefix (at least 3 characters) or name; null if none. */
    private Path find(String key) {
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
            throw cannotList(e);
        }
        if (prefixMatches > 1) throw invalid("\"" + key + "\" matches several containers; give more of the id");
        return byPrefix;
    }

    private Path require(String key) {
        Path d = find(key);
        if (d == null) throw new EngineException(EngineException.Code.NOT_FOUND, "no such container: " + key);
        return d;
    }

    /** Every container with a record, in no particular order; one being made or removed right now is left out. */
    public List<Container> list() {
        List<Container> out = new ArrayList<>();
        for (Map.Entry<Path, ContainerRecord> e : records().entrySet()) out.add(container(e.getValue(), e.getKey()));
        return out;
    }

    /** Every container directory that holds a record, with it. */
    private Map<Path, ContainerRecord> records() {
        Map<Path, ContainerRecord> out = new LinkedHashMap<>();
        if (!Files.isDirectory(containersDir())) return out;
        try (var dirs = Files.newDirectoryStream(containersDir())) {
            for (Path d : dirs) {
                ContainerRecord r = ContainerRecord.read(d);
                if (r != null) out.put(d, r);
            }
        } catch (IOException e) {
            throw cannotList(e);
        }
        return out;
    }

    /**
     * A container by full id, id prefix (3 characters or more) or name.
     *
     * @throws EngineException NOT_FOUND, INVALID_ARGUMENT (a prefix of several ids)
     */
    public Container inspect(String key) {
        Path d = require(key);
        ContainerRecord r = ContainerRecord.read(d);
        if (r == null) throw new EngineException(EngineException.Code.NOT_FOUND, "no such container: " + key + " (being made or removed)");
        return container(r, d);
    }

    /** The exit code of a container that has exited, or null while it has not (or when none was recorded). */
    public Integer exitCode(String key) {
        return inspect(key).exitCode();
    }

    /** The file a detached container's output goes to; empty for one never started detached. */
    public Optional<Path> logFile(String key) {
        Path log = require(key).resolve(LOG);
        return Files.exists(log) ? Optional.of(log) : Optional.empty();
    }

    private Container container(ContainerRecord r, Path dir) {
        RuntimeCalls.Status s = status(dir);
        return new Container(r, dir, s.state(), s.exitCode());
    }

    /** The runtime's status; without runtime state, the recorded exit (or created, when it never started). */
    private RuntimeCalls.Status status(Path dir) {
        RuntimeCalls.Status s = runtime.status(dir.getFileName().toString());
        if (s != null) return s;
        try {
            return new RuntimeCalls.Status(Container.State.EXITED, Integer.valueOf(Files.readString(dir.resolve(EXIT)).trim()));
        } catch (IOException | NumberFormatException none) {
            boolean created = Files.exists(dir.resolve(NOT_STARTED));
            return new RuntimeCalls.Status(created ? Container.State.CREATED : Container.State.EXITED, null);
        }
    }

    /** The chain ids every container still uses: their snapshots must survive an image prune. */
    public Set<String> usedChainIds() {
        Set<String> out = new LinkedHashSet<>();
        for (ContainerRecord r : records().values()) out.addAll(r.chainIds());
        return out;
    }

    /** The ids of the images containers use: such an image is not removed without force. */
    public Set<String> usedImageIds() {
        Set<String> out = new LinkedHashSet<>();
        for (ContainerRecord r : records().values()) out.add(r.imageId());
        return out;
    }

    // ------------------------------------------------------------------ remove

    /**
     * Removes a container: kills it (with force), deletes the runtime's state, unmounts its
     * root filesystem and removes its directory.
     *
     * @throws EngineException NOT_FOUND; CONFLICT when it is created, running or paused and
     *     force is off (the message: "container KEY is running"); RUNTIME, IO
     */
    public void remove(String key, boolean force) {
        Path d = require(key);
        String id = d.getFileName().toString();
        if (!force) {
            Container.State st = status(d).state();
            if (st.active()) {
                throw new EngineException(EngineException.Code.CONFLICT, "container " + key + " is "
                        + st.name().toLowerCase(java.util.Locale.ROOT));
            }
        }
        removeDir(id, d);
    }

    private void removeDir(String id, Path dir) {
        runtime.delete(id, true);
        try {
            RootFs.delete(dir);
        } catch (IOException e) {
            throw new EngineException(EngineException.Code.IO, "removing " + dir + ": " + e.getMessage(), e);
        }
    }

    // ------------------------------------------------------------------ errors

    private static EngineException invalid(String message) {
        return new EngineException(EngineException.Code.INVALID_ARGUMENT, message);
    }

    /** An I/O failure in the system's own words (the message is the exception's). */
    private static EngineException io(IOException e) {
        return new EngineException(EngineException.Code.IO, e.getMessage(), e);
    }

    private static EngineException image(ImageException e) {
        return new EngineException(EngineException.Code.IMAGE, e.getMessage(), e);
    }

    private EngineException cannotList(IOException e) {
        return new EngineException(EngineException.Code.IO, "cannot list " + containersDir() + ": " + e.getMessage(), e);
    }
}
