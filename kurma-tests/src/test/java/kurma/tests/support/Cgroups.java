package kurma.tests.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Finds a process's cgroup directories on the host (cgroup v1, v2 or hybrid). */
public final class Cgroups {
    private Cgroups() {}

    private record Mount(Path mountPoint, String root, boolean v2, Set<String> options) {}

    private static List<Mount> mounts() throws IOException {
        List<Mount> l = new ArrayList<>();
        for (String line : Files.readAllLines(Paths.get("/proc/self/mountinfo"))) {
            String[] f = line.split(" ");
            int dash = Arrays.asList(f).indexOf("-");
            if (dash < 0 || dash + 3 >= f.length) continue;
            String type = f[dash + 1];
            if (!type.equals("cgroup") && !type.equals("cgroup2")) continue;
            Set<String> opts = new HashSet<>(Arrays.asList(f[dash + 3].split(",")));
            l.add(new Mount(Paths.get(SafeDelete.unescape(f[4])), SafeDelete.unescape(f[3]), type.equals("cgroup2"), opts));
        }
        return l;
    }

    /** Where each cgroup hierarchy (v1 or v2) is mounted. */
    public static List<Path> mountPoints() throws IOException {
        List<Path> out = new ArrayList<>();
        for (Mount m : mounts()) out.add(m.mountPoint());
        return out;
    }

    /** hierarchy key (controller list, or "" for v2) -> cgroup path, from /proc/PID/cgroup. */
    private static Map<String, String> membership(String pid) throws IOException {
        Map<String, String> m = new HashMap<>();
        for (String line : Files.readAllLines(Paths.get("/proc/" + pid + "/cgroup"))) {
            String[] f = line.split(":", 3);
            if (f.length == 3) m.put(f[1], f[2]);
        }
        return m;
    }

    /**
     * The host directories of the cgroups process {@code pid} is in, leaving out any it shares
     * with this JVM (so only cgroups the runtime made for the container are returned).
     */
    public static List<Path> containerDirs(long pid) throws IOException {
        Map<String, String> theirs = membership(Long.toString(pid));
        Map<String, String> ours = membership("self");
        List<Mount> mounts = mounts();
        Set<Path> dirs = new LinkedHashSet<>();
        for (Map.Entry<String, String> e : theirs.entrySet()) {
            String key = e.getKey(), path = e.getValue();
            if (path.equals(ours.get(key)) || path.equals("/")) continue;
            for (Mount mt : mounts) {
                boolean match = key.isEmpty() ? mt.v2() : !mt.v2() && mt.options().containsAll(Arrays.asList(key.split(",")));
                if (!match) continue;
                String rel = path;
                if (!mt.root().equals("/") && rel.startsWith(mt.root())) rel = rel.substring(mt.root().length());
                dirs.add(mt.mountPoint().resolve(rel.replaceFirst("^/+", "")));
            }
        }
        return new ArrayList<>(dirs);
    }
}
