package kurma.cgroups;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A container's cgroup: one directory in each host hierarchy (v1 controllers, the v2 tree, or
 * both on a hybrid host). It is how Kurma finds, signals and removes every process of a
 * container, and (in {@code linux.resources}) where limits are written.
 *
 * @param dirs the container's directory in every hierarchy, in host order
 */
public record Cgroup(List<Dir> dirs) {

    /** The container's directory in one hierarchy. */
    public record Dir(Hierarchy hierarchy, Path path) {}

    /**
     * Where the container's cgroup goes. An absolute cgroupsPath is taken from each
     * hierarchy's root, a relative one from the cgroup of the calling process (as runc does),
     * and none means {@code /kurma/ID}.
     */
    public static Cgroup resolve(CgroupHost host, String cgroupsPath, String id, String selfCgroupFile) {
        String path = cgroupsPath == null || cgroupsPath.isEmpty() ? "/kurma/" + id : cgroupsPath;
        if (path.contains(":")) {
            throw new IllegalArgumentException("linux.cgroupsPath " + kurma.spec.Quote.of(path)
                    + " is in systemd slice:prefix:name form; the systemd cgroup driver is not implemented, use a cgroupfs path");
        }
        for (String part : path.split("/")) {
            if (part.equals("..")) throw new IllegalArgumentException("linux.cgroupsPath " + kurma.spec.Quote.of(path) + " must not contain \"..\"");
        }
        List<Dir> dirs = new ArrayList<>();
        for (Hierarchy h : host.hierarchies()) {
            String base = path.startsWith("/") ? "" : ownCgroup(h, selfCgroupFile);
            dirs.add(new Dir(h, Path.of(h.mountPoint(), base, path).normalize()));
        }
        return new Cgroup(List.copyOf(dirs));
    }

    /** The caller's cgroup in hierarchy h, relative to the hierarchy's mount, from /proc/self/cgroup text. */
    private static String ownCgroup(Hierarchy h, String selfCgroupFile) {
        for (String line : selfCgroupFile.split("\n")) {
            String[] f = line.split(":", 3);
            if (f.length == 3 && h.matchesProcLine(f[1])) {
                String p = f[2];
                if (!h.root().equals("/") && p.startsWith(h.root())) p = p.substring(h.root().length());
                return p;
            }
        }
        return "/";
    }

    /**
     * Creates the directories that do not exist yet and returns them, parents first, so that
     * delete removes exactly what this container added. Other containers may be creating or
     * removing a shared parent at the same moment: a parent that vanishes is made again.
     */
    public List<Path> create() {
        List<Path> created = new ArrayList<>();
        try {
            for (Dir d : dirs) {
                Path mount = Path.of(d.hierarchy().mountPoint());
                for (int attempt = 0; ; attempt++) {
                    try {
                        mkdirs(mount, d.path(), created);
                        break;
                    } catch (NoSuchFileException parentRemoved) {
                        if (attempt == 5) throw parentRemoved;
                    }
                }
                if (!d.hierarchy().unified() && d.hierarchy().controllers().contains("cpuset")) {
                    fillCpuset(mount, d.path());
                }
            }
            return created;
        } catch (IOException e) {
            remove(created, leaves());
            throw new UncheckedIOException("creating cgroup: " + e.getMessage(), e);
        }
    }

    private static void mkdirs(Path mount, Path leaf, List<Path> created) throws IOException {
        List<Path> missing = new ArrayList<>();
        // java.io.File: a missing directory is the common case here, and NIO reports it by
        // building an exception (costly in the CLI's short-lived, interpreted JVM).
        for (Path p = leaf; p != null && p.startsWith(mount) && !p.toFile().isDirectory(); p = p.getParent()) {
            missing.addFirst(p);
        }
        for (Path p : missing) {
            try {
                Files.createDirectory(p);
                created.add(p);
            } catch (FileAlreadyExistsException raced) {
                // another container made this shared parent at the same time
            }
        }
    }

    /**
     * A new v1 cpuset cgroup starts with no cpus and mems, and no process can join it. Every
     * empty level on the way down gets its parent's (a parent just made by another container
     * may still be empty too).
     */
    private static void fillCpuset(Path mount, Path leaf) throws IOException {
        List<Path> levels = new ArrayList<>();
        for (Path p = leaf; p != null && p.startsWith(mount) && !p.equals(mount); p = p.getParent()) levels.addFirst(p);
        for (Path p : levels) {
            for (String f : List.of("cpuset.cpus", "cpuset.mems")) {
                if (kurma.sys.ProcFs.read(p.resolve(f)).isBlank()) {
                    Files.writeString(p.resolve(f), kurma.sys.ProcFs.read(p.getParent().resolve(f)).trim());
                }
            }
        }
    }

    /**
     * Writes the container's resource limits, all but the device rules, into its directories:
     * call it after {@link #create()} and before the container's first process joins, so that
     * no process ever runs unlimited. Each controller is written in the form of the hierarchy
     * that carries it on this host (v1 or v2). Everything, device rules included, is checked
     * first: a setting this host cannot honour (no such controller or file) fails before any
     * limit is written; a setting the config leaves out is never a reason to fail.
     *
     * @throws UncheckedIOException a one-line message naming the field, e.g.
     *     {@code linux.resources.blockIO.weight: this host has no blkio.weight (cgroup v1 blkio without CFQ/BFQ)}
     */
    public void apply(Resources resources) {
        new ResourcesWriter(this, new ResourcesWriter.FileIo()).apply(resources, ResourcesWriter.LIMITS);
    }

    /**
     * Writes the device rules (v1 devices cgroup; on a pure v2 host, an eBPF device program
     * attached to the container's directory, see {@link DeviceProgram}). Call it once the container's init has made its device nodes
     * (linux.devices, with mknod, from inside the cgroup) and before the program starts, where
     * runc writes them too: a rule may deny mknod of a device the config also asks the runtime
     * to create.
     *
     * @throws UncheckedIOException a one-line message naming the field
     */
    public void applyDevices(Resources resources) {
        new ResourcesWriter(this, new ResourcesWriter.FileIo()).apply(resources, ResourcesWriter.DEVICES);
    }

    /** Every process in the cgroup (and its sub-cgroups), read from one hierarchy. */
    public Set<Integer> pids() {
        Set<Integer> out = new LinkedHashSet<>();
        if (dirs.isEmpty()) return out;
        // Any hierarchy holds every process of the container; prefer one always present.
        Dir d = dirs.getFirst();
        for (Dir c : dirs) {
            if (c.hierarchy() != null && (c.hierarchy().controllers().contains("pids") || c.hierarchy().unified())) {
                d = c;
                break;
            }
        }
        collect(d.path(), out);
        return out;
    }

    private static void collect(Path dir, Set<Integer> out) {
        try {
            for (String line : kurma.sys.ProcFs.read(dir.resolve("cgroup.procs")).split("\n")) {
                if (!line.isBlank()) out.add(Integer.parseInt(line.trim()));
            }
            try (var children = Files.newDirectoryStream(dir)) {
                for (Path c : children) {
                    if (Files.isDirectory(c, java.nio.file.LinkOption.NOFOLLOW_LINKS)) collect(c, out);
                }
            }
        } catch (NoSuchFileException gone) {
            // removed already: no processes
        } catch (java.io.FileNotFoundException e) {
            // ProcFs (java.io) says FileNotFound for a missing file too: a directory removed
            // already, or never made (a create killed before it made its cgroups), has none.
            if (dir.toFile().isDirectory()) throw new UncheckedIOException("reading " + dir + "/cgroup.procs", e);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + dir + "/cgroup.procs", e);
        }
    }

    /**
     * Removes directories made by {@link #create()}, deepest first. The container's own
     * directories ({@code leaves}) are retried briefly while killed processes finish leaving;
     * a parent is tried once, since failing there means another container still uses it.
     * Returns what is left.
     */
    public static List<String> remove(List<Path> created, List<Path> leaves) {
        List<String> left = new ArrayList<>();
        for (Path p : created.reversed()) {
            boolean leaf = leaves.contains(p);
            boolean done = false;
            for (int attempt = 0; attempt < (leaf ? 2000 : 1) && !done; attempt++) {
                try {
                    Files.deleteIfExists(p);
                    done = true;
                } catch (IOException busy) {
                    if (leaf) sleep(1); // a killed process leaves its cgroup within a few ms
                }
            }
            if (!done) left.add(p.toString());
        }
        return left;
    }

    /** The container's own directories, one per hierarchy. */
    public List<Path> leaves() {
        List<Path> out = new ArrayList<>();
        for (Dir d : dirs) out.add(d.path());
        return out;
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

}
