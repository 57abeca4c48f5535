package kurma.cgroups;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import kurma.sys.ProcFs;

/**
 * A container's resource usage read from its cgroups, in the shape of runc's {@code events}
 * stats ({@code cpu}, {@code memory}, {@code pids}, {@code hugetlb}), from v1 controllers where
 * the host has them and cgroup v2 files otherwise. A controller this host lacks is left out.
 */
public final class Stats {
    private Stats() {}

    /** The stats object ("data" of a stats event). */
    public static Map<String, Object> read(Cgroup cgroup) {
        Map<String, Object> out = new LinkedHashMap<>();
        Path cpuacct = v1(cgroup, "cpuacct"), memory = v1(cgroup, "memory"), pids = v1(cgroup, "pids"),
                hugetlb = v1(cgroup, "hugetlb"), v2 = v2(cgroup);
        if (cpuacct != null) out.put("cpu", cpuV1(cpuacct, v1(cgroup, "cpu")));
        else if (v2 != null && Files.exists(v2.resolve("cpu.stat"))) out.put("cpu", cpuV2(v2));
        if (memory != null) out.put("memory", memoryV1(memory));
        else if (v2 != null && Files.exists(v2.resolve("memory.current"))) out.put("memory", memoryV2(v2));
        Path p = pids != null ? pids : v2 != null && Files.exists(v2.resolve("pids.current")) ? v2 : null;
        if (p != null) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("current", num(p.resolve("pids.current")));
            m.put("limit", num(p.resolve("pids.max")));
            out.put("pids", m);
        }
        Path h = hugetlb != null ? hugetlb : v2;
        if (h != null) {
            Map<String, Object> sizes = new LinkedHashMap<>();
            String usageSuffix = hugetlb != null ? ".usage_in_bytes" : ".current";
            try (var files = Files.newDirectoryStream(h, "hugetlb.*" + usageSuffix)) {
                for (Path f : files) {
                    String name = f.getFileName().toString();
                    String size = name.substring("hugetlb.".length(), name.length() - usageSuffix.length());
                    Map<String, Object> s = new LinkedHashMap<>();
                    s.put("usage", num(f));
                    if (hugetlb != null) {
                        s.put("max", num(h.resolve("hugetlb." + size + ".max_usage_in_bytes")));
                        s.put("failcnt", num(h.resolve("hugetlb." + size + ".failcnt")));
                    }
                    sizes.put(size, s);
                }
            } catch (IOException e) {
                // no hugetlb files: leave it out
            }
            if (!sizes.isEmpty()) out.put("hugetlb", sizes);
        }
        return out;
    }

    /**
     * How many times the kernel's OOM killer has killed in this cgroup (v1 memory.oom_control's
     * oom_kill, v2 memory.events' oom_kill); -1 when this host does not count it.
     */
    public static long oomKills(Cgroup cgroup) {
        Path memory = v1(cgroup, "memory"), v2 = v2(cgroup);
        Map<String, Long> m = memory != null ? keyed(memory.resolve("memory.oom_control"))
                : v2 != null ? keyed(v2.resolve("memory.events")) : Map.of();
        Long n = m.get("oom_kill");
        return n == null ? -1 : n;
    }

    private static Map<String, Object> cpuV1(Path d, Path cpuDir) {
        Map<String, Object> usage = new LinkedHashMap<>();
        usage.put("total", num(d.resolve("cpuacct.usage")));
        List<Object> percpu = new ArrayList<>();
        for (String w : read(d.resolve("cpuacct.usage_percpu")).trim().split("\\s+")) {
            if (!w.isEmpty()) percpu.add(Long.parseLong(w));
        }
        usage.put("percpu", percpu);
        // cpuacct.stat counts USER_HZ ticks; runc reports nanoseconds.
        Map<String, Long> stat = keyed(d.resolve("cpuacct.stat"));
        usage.put("kernel", stat.getOrDefault("system", 0L) * 10_000_000L);
        usage.put("user", stat.getOrDefault("user", 0L) * 10_000_000L);
        Map<String, Object> cpu = new LinkedHashMap<>();
        cpu.put("usage", usage);
        Map<String, Long> t = cpuDir == null ? Map.of() : keyed(cpuDir.resolve("cpu.stat"));
        cpu.put("throttling", throttling(t.getOrDefault("nr_periods", 0L), t.getOrDefault("nr_throttled", 0L),
                t.getOrDefault("throttled_time", 0L)));
        return cpu;
    }

    private static Map<String, Object> cpuV2(Path d) {
        Map<String, Long> s = keyed(d.resolve("cpu.stat"));
        Map<String, Object> usage = new LinkedHashMap<>();
        usage.put("total", s.getOrDefault("usage_usec", 0L) * 1000);
        usage.put("kernel", s.getOrDefault("system_usec", 0L) * 1000);
        usage.put("user", s.getOrDefault("user_usec", 0L) * 1000);
        Map<String, Object> cpu = new LinkedHashMap<>();
        cpu.put("usage", usage);
        cpu.put("throttling", throttling(s.getOrDefault("nr_periods", 0L), s.getOrDefault("nr_throttled", 0L),
                s.getOrDefault("throttled_usec", 0L) * 1000));
        return cpu;
    }

    private static Map<String, Object> throttling(long periods, long throttledPeriods, long throttledTime) {
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("periods", periods);
        t.put("throttledPeriods", throttledPeriods);
        t.put("throttledTime", throttledTime);
        return t;
    }

    private static Map<String, Object> memoryV1(Path d) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("usage", entry(d, "memory"));
        if (Files.exists(d.resolve("memory.memsw.usage_in_bytes"))) m.put("swap", entry(d, "memory.memsw"));
        Map<String, Object> raw = new LinkedHashMap<>(keyed(d.resolve("memory.stat")));
        m.put("raw", raw);
        return m;
    }

    private static Map<String, Object> entry(Path d, String prefix) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("limit", num(d.resolve(prefix + ".limit_in_bytes")));
        e.put("usage", num(d.resolve(prefix + ".usage_in_bytes")));
        e.put("max", num(d.resolve(prefix + ".max_usage_in_bytes")));
        e.put("failcnt", num(d.resolve(prefix + ".failcnt")));
        return e;
    }

    private static Map<String, Object> memoryV2(Path d) {
        Map<String, Object> usage = new LinkedHashMap<>();
        usage.put("limit", num(d.resolve("memory.max")));
        usage.put("usage", num(d.resolve("memory.current")));
        if (Files.exists(d.resolve("memory.peak"))) usage.put("max", num(d.resolve("memory.peak")));
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("usage", usage);
        if (Files.exists(d.resolve("memory.swap.current"))) {
            Map<String, Object> swap = new LinkedHashMap<>();
            swap.put("limit", num(d.resolve("memory.swap.max")));
            swap.put("usage", num(d.resolve("memory.swap.current")));
            m.put("swap", swap);
        }
        m.put("raw", new LinkedHashMap<String, Object>(keyed(d.resolve("memory.stat"))));
        return m;
    }

    private static Path v1(Cgroup cgroup, String controller) {
        for (Cgroup.Dir d : cgroup.dirs()) {
            if (!d.hierarchy().unified() && d.hierarchy().controllers().contains(controller)) return d.path();
        }
        return null;
    }

    private static Path v2(Cgroup cgroup) {
        for (Cgroup.Dir d : cgroup.dirs()) if (d.hierarchy().unified()) return d.path();
        return null;
    }

    /** A number file; "max" (v2's unlimited) and a missing file are 0, as runc reports them. */
    private static long num(Path f) {
        String s = read(f).trim();
        if (s.isEmpty() || s.equals("max")) return 0;
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** "key value" lines. */
    private static Map<String, Long> keyed(Path f) {
        Map<String, Long> out = new LinkedHashMap<>();
        for (String line : read(f).split("\n")) {
            int sp = line.indexOf(' ');
            if (sp <= 0) continue;
            try {
                out.put(line.substring(0, sp), Long.parseLong(line.substring(sp + 1).trim()));
            } catch (NumberFormatException e) {
                // not a number: skip
            }
        }
        return out;
    }

    private static String read(Path f) {
        try {
            return ProcFs.read(f);
        } catch (IOException e) {
            return "";
        }
    }
}
