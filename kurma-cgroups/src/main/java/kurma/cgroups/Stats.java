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
 * A container's resource usage read from its cgroups, from v1 controllers where the host has
 * them and cgroup v2 files otherwise; a controller this host lacks is null. {@link #toJson()}
 * gives it the shape of runc's {@code events} stats data.
 */
public record Stats(Cpu cpu, Memory memory, Pids pids, Map<String, Hugetlb> hugetlb) {

    /**
     * CPU time in nanoseconds; percpu is null where the host does not count it (v2).
     * Throttling: periods, periods throttled, and nanoseconds throttled.
     */
    public record Cpu(long total, List<Long> percpu, long kernel, long user, long periods, long throttledPeriods,
            long throttledTime) {}

    /** Memory and (if counted) swap, in bytes, and memory.stat as it reads. */
    public record Memory(Usage usage, Usage swap, Map<String, Long> raw) {}

    /** Bytes; max (the peak) and failcnt are null where the host does not count them. */
    public record Usage(long limit, long usage, Long max, Long failcnt) {}

    public record Pids(long current, long limit) {}

    /** One huge page size: bytes in use, and (v1) the peak and failures. */
    public record Hugetlb(long usage, Long max, Long failcnt) {}

    public Stats {
        hugetlb = hugetlb == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(hugetlb));
    }

    /** The usage of cgroup now. */
    public static Stats read(Cgroup cgroup) {
        Path cpuacct = v1(cgroup, "cpuacct"), memory = v1(cgroup, "memory"), pids = v1(cgroup, "pids"),
                hugetlbDir = v1(cgroup, "hugetlb"), v2 = v2(cgroup);
        Cpu cpu = cpuacct != null ? cpuV1(cpuacct, v1(cgroup, "cpu"))
                : v2 != null && Files.exists(v2.resolve("cpu.stat")) ? cpuV2(v2) : null;
        Memory mem = memory != null ? memoryV1(memory)
                : v2 != null && Files.exists(v2.resolve("memory.current")) ? memoryV2(v2) : null;
        Path p = pids != null ? pids : v2 != null && Files.exists(v2.resolve("pids.current")) ? v2 : null;
        Pids ps = p == null ? null : new Pids(num(p.resolve("pids.current")), num(p.resolve("pids.max")));
        Map<String, Hugetlb> sizes = new LinkedHashMap<>();
        Path h = hugetlbDir != null ? hugetlbDir : v2;
        if (h != null) {
            String usageSuffix = hugetlbDir != null ? ".usage_in_bytes" : ".current";
            try (var files = Files.newDirectoryStream(h, "hugetlb.*" + usageSuffix)) {
                for (Path f : files) {
                    String name = f.getFileName().toString();
                    String size = name.substring("hugetlb.".length(), name.length() - usageSuffix.length());
                    sizes.put(size, hugetlbDir == null ? new Hugetlb(num(f), null, null)
                            : new Hugetlb(num(f), num(h.resolve("hugetlb." + size + ".max_usage_in_bytes")),
                                    num(h.resolve("hugetlb." + size + ".failcnt"))));
                }
            } catch (IOException e) {
                // no hugetlb files: none
            }
        }
        return new Stats(cpu, mem, ps, sizes);
    }

    /** runc's stats event data: cpu, memory, pids, hugetlb, each left out when not counted. */
    public Map<String, Object> toJson() {
        Map<String, Object> out = new LinkedHashMap<>();
        if (cpu != null) {
            Map<String, Object> usage = new LinkedHashMap<>();
            usage.put("total", cpu.total());
            if (cpu.percpu() != null) usage.put("percpu", new ArrayList<Object>(cpu.percpu()));
            usage.put("kernel", cpu.kernel());
            usage.put("user", cpu.user());
            Map<String, Object> t = new LinkedHashMap<>();
            t.put("periods", cpu.periods());
            t.put("throttledPeriods", cpu.throttledPeriods());
            t.put("throttledTime", cpu.throttledTime());
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("usage", usage);
            c.put("throttling", t);
            out.put("cpu", c);
        }
        if (memory != null) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("usage", usageJson(memory.usage()));
            if (memory.swap() != null) m.put("swap", usageJson(memory.swap()));
            m.put("raw", new LinkedHashMap<String, Object>(memory.raw()));
            out.put("memory", m);
        }
        if (pids != null) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("current", pids.current());
            m.put("limit", pids.limit());
            out.put("pids", m);
        }
        if (!hugetlb.isEmpty()) {
            Map<String, Object> sizes = new LinkedHashMap<>();
            for (Map.Entry<String, Hugetlb> e : hugetlb.entrySet()) {
                Map<String, Object> s = new LinkedHashMap<>();
                s.put("usage", e.getValue().usage());
                if (e.getValue().max() != null) s.put("max", e.getValue().max());
                if (e.getValue().failcnt() != null) s.put("failcnt", e.getValue().failcnt());
                sizes.put(e.getKey(), s);
            }
            out.put("hugetlb", sizes);
        }
        return out;
    }

    private static Map<String, Object> usageJson(Usage u) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("limit", u.limit());
        e.put("usage", u.usage());
        if (u.max() != null) e.put("max", u.max());
        if (u.failcnt() != null) e.put("failcnt", u.failcnt());
        return e;
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

    private static Cpu cpuV1(Path d, Path cpuDir) {
        List<Long> percpu = new ArrayList<>();
        for (String w : read(d.resolve("cpuacct.usage_percpu")).trim().split("\\s+")) {
            if (!w.isEmpty()) percpu.add(Long.parseLong(w));
        }
        // cpuacct.stat counts USER_HZ ticks; runc reports nanoseconds.
        Map<String, Long> stat = keyed(d.resolve("cpuacct.stat"));
        Map<String, Long> t = cpuDir == null ? Map.of() : keyed(cpuDir.resolve("cpu.stat"));
        return new Cpu(num(d.resolve("cpuacct.usage")), List.copyOf(percpu), stat.getOrDefault("system", 0L) * 10_000_000L,
                stat.getOrDefault("user", 0L) * 10_000_000L, t.getOrDefault("nr_periods", 0L),
                t.getOrDefault("nr_throttled", 0L), t.getOrDefault("throttled_time", 0L));
    }

    private static Cpu cpuV2(Path d) {
        Map<String, Long> s = keyed(d.resolve("cpu.stat"));
        return new Cpu(s.getOrDefault("usage_usec", 0L) * 1000, null, s.getOrDefault("system_usec", 0L) * 1000,
                s.getOrDefault("user_usec", 0L) * 1000, s.getOrDefault("nr_periods", 0L), s.getOrDefault("nr_throttled", 0L),
                s.getOrDefault("throttled_usec", 0L) * 1000);
    }

    private static Memory memoryV1(Path d) {
        Usage swap = Files.exists(d.resolve("memory.memsw.usage_in_bytes")) ? entry(d, "memory.memsw") : null;
        return new Memory(entry(d, "memory"), swap, keyed(d.resolve("memory.stat")));
    }

    private static Usage entry(Path d, String prefix) {
        return new Usage(num(d.resolve(prefix + ".limit_in_bytes")), num(d.resolve(prefix + ".usage_in_bytes")),
                num(d.resolve(prefix + ".max_usage_in_bytes")), num(d.resolve(prefix + ".failcnt")));
    }

    private static Memory memoryV2(Path d) {
        Usage usage = new Usage(num(d.resolve("memory.max")), num(d.resolve("memory.current")),
                Files.exists(d.resolve("memory.peak")) ? num(d.resolve("memory.peak")) : null, null);
        Usage swap = Files.exists(d.resolve("memory.swap.current"))
                ? new Usage(num(d.resolve("memory.swap.max")), num(d.resolve("memory.swap.current")), null, null) : null;
        return new Memory(usage, swap, keyed(d.resolve("memory.stat")));
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
