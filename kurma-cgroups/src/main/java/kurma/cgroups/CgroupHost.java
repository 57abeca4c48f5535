package kurma.cgroups;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The host's cgroup hierarchies, read from /proc/self/mountinfo. Handles the three shapes
 * in the field: pure v1, "hybrid" (v1 controllers plus a cgroup2 mount that may still hold
 * some controller, as on these machines), and pure v2 (cgroup2 mounted at /sys/fs/cgroup).
 */
public record CgroupHost(List<Hierarchy> hierarchies) {

    public enum Mode { V1, HYBRID, V2 }

    public Mode mode() {
        boolean v1 = false, v2 = false;
        for (Hierarchy h : hierarchies) {
            if (h.unified()) v2 = true;
            else v1 = true;
        }
        if (v1 && v2) return Mode.HYBRID;
        return v2 ? Mode.V2 : Mode.V1;
    }

    /** The hierarchy that carries a controller ("memory", "pids", ...), or null. */
    public Hierarchy forController(String controller) {
        for (Hierarchy h : hierarchies) {
            if (h.controllers().contains(controller)) return h;
        }
        return null;
    }

    public Hierarchy unified() {
        for (Hierarchy h : hierarchies) if (h.unified()) return h;
        return null;
    }

    /** Reads the live host. */
    public static CgroupHost detect() {
        try {
            return parse(kurma.sys.ProcFs.read(Path.of("/proc/self/mountinfo")), new V2Controllers());
        } catch (IOException e) {
            throw new UncheckedIOException("reading /proc/self/mountinfo", e);
        }
    }

    /** Reads a cgroup2 mount's controllers (a class, not a method reference: a lambda costs a bootstrap at start-up). */
    private static final class V2Controllers implements java.util.function.Function<String, Set<String>> {
        @Override
        public Set<String> apply(String mountPoint) {
            return v2Controllers(mountPoint);
        }
    }

    private static Set<String> v2Controllers(String mountPoint) {
        try {
            String s = kurma.sys.ProcFs.read(Path.of(mountPoint, "cgroup.controllers")).trim();
            return s.isEmpty() ? Set.of() : Set.of(s.split(" "));
        } catch (IOException e) {
            return Set.of();
        }
    }

    /** Parses mountinfo text; {@code v2Controllers} reads a cgroup2 mount's controller list. */
    static CgroupHost parse(String mountinfo, java.util.function.Function<String, Set<String>> v2Controllers) {
        List<Hierarchy> out = new ArrayList<>();
        Set<String> seen = new LinkedHashSet<>();
        for (String line : mountinfo.split("\n")) {
            int dash = line.indexOf(" - ");
            // Only cgroup mounts matter: skip the others before splitting them (start-up).
            if (dash < 0 || !line.startsWith("cgroup", dash + 3)) continue;
            String[] pre = line.substring(0, dash).split(" ");
            String[] post = line.substring(dash + 3).split(" ");
            if (pre.length < 5 || post.length < 3) continue;
            String fstype = post[0];
            String root = unescape(pre[3]);
            String mountPoint = unescape(pre[4]);
            if (fstype.equals("cgroup2")) {
                if (seen.add("cgroup2")) out.add(new Hierarchy(mountPoint, true, v2Controllers.apply(mountPoint), root));
            } else if (fstype.equals("cgroup")) {
                Set<String> controllers = new LinkedHashSet<>();
                for (String opt : post[2].split(",")) {
                    if (opt.startsWith("name=") || KNOWN_V1.contains(opt)) controllers.add(opt);
                }
                // The same hierarchy can be mounted twice (bind mounts); the first one counts.
                if (!controllers.isEmpty() && seen.add(String.join(",", controllers))) {
                    out.add(new Hierarchy(mountPoint, false, Set.copyOf(controllers), root));
                }
            }
        }
        return new CgroupHost(List.copyOf(out));
    }

    private static final Set<String> KNOWN_V1 = Set.of("cpu", "cpuacct", "cpuset", "memory", "devices", "freezer",
            "net_cls", "blkio", "perf_event", "net_prio", "hugetlb", "pids", "rdma", "misc");

    static String unescape(String s) {
        return kurma.sys.ProcFs.unescapeMountinfo(s);
    }
}
