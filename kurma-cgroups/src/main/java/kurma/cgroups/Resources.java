package kurma.cgroups;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import kurma.spec.Quote;

/**
 * {@code linux.resources} of an OCI config, typed and checked. {@link #parse} runs when the
 * config is validated, before anything exists on the host, so a malformed value is reported
 * (naming its field, e.g. {@code linux.resources.memory.limit: expected an integer}) without
 * creating and removing a cgroup; {@link Cgroup#apply} and {@link Cgroup#applyDevices} then
 * write it.
 *
 * <p>Conventions are runc's, so that a config means the same on both runtimes: a numeric
 * limit of 0 is "not set" (left as the kernel made it), -1 is "unlimited". Where 0 is itself a
 * meaningful value (swappiness, cpu burst and idle, network classID, rdma counts) the field is
 * a {@code Long} and null means "not set". A section missing from the config is null; a
 * missing list is empty. Unknown keys are ignored, as the runtime-spec requires.
 *
 * <p>{@code memory.kernel}, {@code memory.kernelTCP}, {@code memory.useHierarchy} and
 * {@code memory.checkBeforeUpdate} are type-checked and ignored: runc ignores the first two
 * (kernel memory limits are deprecated), hierarchy cannot be turned off on current kernels,
 * and the last only matters to {@code update}.
 *
 * @param memory null when absent
 * @param cpu null when absent
 * @param pids null when absent
 * @param blockIO null when absent
 * @param hugepageLimits in config order
 * @param devices the device rules in config order (v1 devices cgroup); see {@link DeviceRule}
 * @param network null when absent
 * @param rdma in config order
 * @param unified cgroup v2 file name to value, in config order
 */
public record Resources(Memory memory, Cpu cpu, Pids pids, BlockIO blockIO, List<HugepageLimit> hugepageLimits,
        List<DeviceRule> devices, Network network, List<Rdma> rdma, Map<String, String> unified) {

    /** The path of this object in config.json; every error message starts with a field under it. */
    public static final String FIELD = "linux.resources";

    /**
     * @param limit bytes; 0 unset, -1 unlimited
     * @param reservation soft limit in bytes (v1 memory.soft_limit_in_bytes, v2 memory.low); 0 unset, -1 unlimited
     * @param swap memory+swap limit in bytes (v1 semantics; v2 gets swap - limit); 0 unset, -1 unlimited
     * @param swappiness 0-100, null unset (the config's -1 and runc's unsigned -1, 2^64-1, also mean unset)
     * @param disableOOMKiller true turns the OOM killer off (v1 only)
     */
    public record Memory(long limit, long reservation, long swap, Long swappiness, boolean disableOOMKiller) {}

    /**
     * @param shares relative weight (v1 cpu.shares, converted to v2 cpu.weight); 0 unset
     * @param quota microseconds per period; 0 unset, -1 unlimited (any negative in the config, as runc)
     * @param period microseconds; 0 unset
     * @param burst microseconds; null unset
     * @param realtimeRuntime microseconds (v1 only); 0 unset, -1 unlimited
     * @param realtimePeriod microseconds (v1 only); 0 unset
     * @param cpus cpuset list such as "0-1,3"; null unset
     * @param mems memory node list; null unset
     * @param idle 0 or 1 (cpu.idle); null unset
     */
    public record Cpu(long shares, long quota, long period, Long burst, long realtimeRuntime, long realtimePeriod,
            String cpus, String mems, Long idle) {}

    /** @param limit maximum number of tasks; 0 unset, -1 unlimited (any negative in the config, as runc) */
    public record Pids(long limit) {}

    /**
     * @param weight 10-1000; 0 unset
     * @param leafWeight 10-1000 (v1 with CFQ only); 0 unset
     */
    public record BlockIO(long weight, long leafWeight, List<WeightDevice> weightDevices,
            List<Throttle> throttleReadBps, List<Throttle> throttleWriteBps,
            List<Throttle> throttleReadIops, List<Throttle> throttleWriteIops) {}

    /** A per-device weight; weight and leafWeight 0 mean unset. */
    public record WeightDevice(long major, long minor, long weight, long leafWeight) {}

    /** A per-device throttle: bytes or operations per second (0 removes the limit). */
    public record Throttle(long major, long minor, long rate) {}

    /** @param pageSize as the kernel names it in file names: "2MB", "1GB", "64KB" */
    public record HugepageLimit(String pageSize, long limit) {}

    /**
     * One rule of the devices cgroup.
     *
     * @param type 'a' (all devices: resets the list), 'b' or 'c'
     * @param major -1 for any
     * @param minor -1 for any
     * @param access a non-empty combination of r, w and m
     */
    public record DeviceRule(boolean allow, char type, long major, long minor, String access) {

        /**
         * The rules runc (and crun) add after the config's own, so that the default devices
         * the runtime-spec requires (/dev/null, zero, full, random, urandom, tty, ptmx, pts)
         * stay usable whatever the config says; runc 1.1 adds mknod of any device and
         * /dev/net/tun too. Kurma adds the same list so a config behaves the same on both.
         */
        public static final List<DeviceRule> RUNC_DEFAULTS = List.of(
                new DeviceRule(true, 'c', -1, -1, "m"),
                new DeviceRule(true, 'b', -1, -1, "m"),
                new DeviceRule(true, 'c', 1, 3, "rwm"),   // /dev/null
                new DeviceRule(true, 'c', 1, 8, "rwm"),   // /dev/random
                new DeviceRule(true, 'c', 1, 7, "rwm"),   // /dev/full
                new DeviceRule(true, 'c', 5, 0, "rwm"),   // /dev/tty
                new DeviceRule(true, 'c', 1, 5, "rwm"),   // /dev/zero
                new DeviceRule(true, 'c', 1, 9, "rwm"),   // /dev/urandom
                new DeviceRule(true, 'c', 136, -1, "rwm"), // /dev/pts/*
                new DeviceRule(true, 'c', 5, 2, "rwm"),   // /dev/ptmx
                new DeviceRule(true, 'c', 10, 200, "rwm")); // /dev/net/tun

        /** The line the kernel takes in devices.allow / devices.deny, e.g. "c 1:3 rwm" or "c *:* m". */
        public String cgroupString() {
            return type + " " + (major < 0 ? "*" : Long.toString(major)) + ":" + (minor < 0 ? "*" : Long.toString(minor))
                    + " " + access;
        }
    }

    /**
     * @param classId net_cls.classid; null unset
     * @param priorities net_prio.ifpriomap entries
     */
    public record Network(Long classId, List<InterfacePriority> priorities) {}

    public record InterfacePriority(String name, long priority) {}

    /** rdma.max for one device; a null count means no limit. */
    public record Rdma(String device, Long hcaHandles, Long hcaObjects) {}

    /**
     * Reads {@code linux.resources} as Kurma's JSON parser returns it (values Long, BigDecimal,
     * String, Boolean, List, Map; null or an empty map when the config has none).
     *
     * @throws IllegalArgumentException one line naming the field, e.g.
     *     {@code linux.resources.memory.limit: expected an integer}
     */
    public static Resources parse(Map<String, Object> raw) {
        Obj r = new Obj(raw == null ? Map.<String, Object>of() : raw, FIELD);
        List<HugepageLimit> hugepages = new ArrayList<>();
        List<Object> hl = r.list("hugepageLimits");
        for (int i = 0; i < hl.size(); i++) {
            Obj h = r.element(hl, "hugepageLimits", i);
            String size = h.requiredString("pageSize");
            if (!isPageSize(size)) {
                throw h.error("pageSize", "expected a size such as \"2MB\" or \"1GB\", got " + Quote.of(size));
            }
            hugepages.add(new HugepageLimit(size, h.requiredInteger("limit", 0, Long.MAX_VALUE)));
        }
        List<DeviceRule> devices = new ArrayList<>();
        List<Object> dl = r.list("devices");
        for (int i = 0; i < dl.size(); i++) devices.add(deviceRule(r.element(dl, "devices", i)));
        List<Rdma> rdma = new ArrayList<>();
        Obj rd = r.object("rdma");
        if (rd != null) {
            for (Map.Entry<String, Object> e : rd.map.entrySet()) {
                String dev = e.getKey();
                if (dev.isEmpty() || dev.indexOf(' ') >= 0 || dev.indexOf('\n') >= 0) {
                    throw rd.error(dev, "expected an rdma device name without spaces");
                }
                Obj d = rd.object(dev);
                if (d == null) continue;
                rdma.add(new Rdma(dev, d.optInteger("hcaHandles", 0, 0xffffffffL), d.optInteger("hcaObjects", 0, 0xffffffffL)));
            }
        }
        Map<String, String> unified = new LinkedHashMap<>();
        Obj u = r.object("unified");
        if (u != null) {
            for (Map.Entry<String, Object> e : u.map.entrySet()) {
                String name = e.getKey();
                // The value is written as a file under the container's own cgroup directory;
                // a name that could reach another directory is refused.
                if (name.isEmpty() || name.indexOf('/') >= 0 || name.contains("..") || name.indexOf('\0') >= 0) {
                    throw u.error(name, "a cgroup v2 file name must not be empty or contain '/' or '..'");
                }
                if (!(e.getValue() instanceof String s)) throw u.error(name, "expected a string");
                unified.put(name, s);
            }
        }
        return new Resources(memory(r.object("memory")), cpu(r.object("cpu")), pids(r.object("pids")),
                blockIO(r.object("blockIO")), List.copyOf(hugepages), List.copyOf(devices), network(r.object("network")),
                List.copyOf(rdma), Collections.unmodifiableMap(unified));
    }

    /** runc's unsigned -1, as the JSON reader gives a number beyond a long (a BigDecimal). */
    private static boolean isU64MinusOne(Object v) {
        // Compared as text: a BigDecimal constant here would initialise BigInteger (and the
        // fork-join pool its parallel arithmetic brings in) on every create, ~45 ms interpreted.
        return v instanceof BigDecimal d && d.signum() > 0 && d.scale() == 0 && d.toString().equals("18446744073709551615");
    }

    private static Memory memory(Obj m) {
        if (m == null) return null;
        long limit = m.integer("limit", -1, Long.MAX_VALUE);
        long reservation = m.integer("reservation", -1, Long.MAX_VALUE);
        long swap = m.integer("swap", -1, Long.MAX_VALUE);
        // runc's swappiness is unsigned: its "unset" is -1 as 64 bits, 18446744073709551615.
        Long swappiness = isU64MinusOne(m.map.get("swappiness")) ? null : m.optInteger("swappiness", -1, 100);
        if (swappiness != null && swappiness == -1) swappiness = null;
        m.optInteger("kernel", Long.MIN_VALUE, Long.MAX_VALUE);
        m.optInteger("kernelTCP", Long.MIN_VALUE, Long.MAX_VALUE);
        m.bool("useHierarchy");
        m.bool("checkBeforeUpdate");
        // swap is the memory+swap limit (v1's memsw): the kernel refuses it below the memory
        // limit or without one, and v2's swap-only value (swap - limit) needs the limit too.
        if (swap > 0 && limit <= 0) {
            throw m.error("swap", "needs " + m.path + ".limit: swap is the memory+swap limit");
        }
        if (swap > 0 && swap < limit) {
            throw m.error("swap", "must be at least " + m.path + ".limit (" + limit + "): swap is the memory+swap limit");
        }
        return new Memory(limit, reservation, swap, swappiness, m.bool("disableOOMKiller"));
    }

    private static Cpu cpu(Obj c) {
        if (c == null) return null;
        long shares = c.integer("shares", 0, 262144);
        // The kernel's minimum is 2: it would silently raise 1, and v2's conversion needs >= 2.
        if (shares == 1) throw c.error("shares", "must be at least 2");
        // Any negative quota is no limit, as runc writes it (the kernel takes any negative
        // cfs_quota_us so; v2 gets "max").
        long quota = Math.max(-1, c.integer("quota", Long.MIN_VALUE, Long.MAX_VALUE));
        return new Cpu(shares, quota, c.integer("period", 0, Long.MAX_VALUE),
                c.optInteger("burst", 0, Long.MAX_VALUE), c.integer("realtimeRuntime", -1, Long.MAX_VALUE),
                c.integer("realtimePeriod", 0, Long.MAX_VALUE), c.nonEmptyString("cpus"), c.nonEmptyString("mems"),
                c.optInteger("idle", 0, 1));
    }

    private static Pids pids(Obj p) {
        if (p == null) return null;
        // Any negative limit is no limit ("max"), as runc writes it.
        return new Pids(Math.max(-1, p.integer("limit", Long.MIN_VALUE, Long.MAX_VALUE)));
    }

    private static BlockIO blockIO(Obj b) {
        if (b == null) return null;
        long weight = weight(b, "weight");
        long leafWeight = weight(b, "leafWeight");
        List<WeightDevice> wd = new ArrayList<>();
        List<Object> l = b.list("weightDevice");
        for (int i = 0; i < l.size(); i++) {
            Obj d = b.element(l, "weightDevice", i);
            wd.add(new WeightDevice(d.requiredInteger("major", 0, Long.MAX_VALUE), d.requiredInteger("minor", 0, Long.MAX_VALUE),
                    weight(d, "weight"), weight(d, "leafWeight")));
        }
        return new BlockIO(weight, leafWeight, List.copyOf(wd), throttles(b, "throttleReadBpsDevice"),
                throttles(b, "throttleWriteBpsDevice"), throttles(b, "throttleReadIOPSDevice"),
                throttles(b, "throttleWriteIOPSDevice"));
    }

    /** blkio weights are 10-1000 (runtime-spec); v2's conversion to io.weight relies on that range. */
    private static long weight(Obj o, String key) {
        long w = o.integer(key, 0, 1000);
        if (w != 0 && w < 10) throw o.error(key, "must be between 10 and 1000");
        return w;
    }

    private static List<Throttle> throttles(Obj b, String key) {
        List<Throttle> out = new ArrayList<>();
        List<Object> l = b.list(key);
        for (int i = 0; i < l.size(); i++) {
            Obj d = b.element(l, key, i);
            out.add(new Throttle(d.requiredInteger("major", 0, Long.MAX_VALUE), d.requiredInteger("minor", 0, Long.MAX_VALUE),
                    d.requiredInteger("rate", 0, Long.MAX_VALUE)));
        }
        return List.copyOf(out);
    }

    private static DeviceRule deviceRule(Obj d) {
        if (!(d.map.get("allow") instanceof Boolean allow)) throw d.error("allow", "expected a boolean (required)");
        String type = d.string("type");
        if (type == null || type.isEmpty()) type = "a";
        if (!type.equals("a") && !type.equals("b") && !type.equals("c")) {
            throw d.error("type", "expected \"a\", \"b\" or \"c\", got " + Quote.of(type));
        }
        Long major = d.optInteger("major", -1, 0xffffffffL);
        Long minor = d.optInteger("minor", -1, 0xffffffffL);
        String access = d.string("access");
        // runc refuses an empty access too: the kernel would take the rule as granting nothing.
        if (access == null || access.isEmpty()) throw d.error("access", "must be a non-empty combination of r, w and m");
        for (int i = 0; i < access.length(); i++) {
            char c = access.charAt(i);
            if ((c != 'r' && c != 'w' && c != 'm') || access.indexOf(c) != i) {
                throw d.error("access", "must be a combination of r, w and m, got " + Quote.of(access));
            }
        }
        return new DeviceRule(allow, type.charAt(0), major == null ? -1 : major, minor == null ? -1 : minor, access);
    }

    private static Network network(Obj n) {
        if (n == null) return null;
        List<InterfacePriority> prios = new ArrayList<>();
        List<Object> l = n.list("priorities");
        for (int i = 0; i < l.size(); i++) {
            Obj p = n.element(l, "priorities", i);
            String name = p.requiredString("name");
            if (name.isEmpty() || name.indexOf(' ') >= 0 || name.indexOf('\n') >= 0) {
                throw p.error("name", "expected an interface name without spaces");
            }
            prios.add(new InterfacePriority(name, p.requiredInteger("priority", 0, 0xffffffffL)));
        }
        return new Network(n.optInteger("classID", 0, 0xffffffffL), List.copyOf(prios));
    }

    /** "2MB", "1GB", "64KB": digits then a unit, as hugetlb file names spell page sizes. */
    private static boolean isPageSize(String s) {
        int i = 0;
        while (i < s.length() && s.charAt(i) >= '0' && s.charAt(i) <= '9') i++;
        if (i == 0) return false;
        String unit = s.substring(i);
        return unit.equals("KB") || unit.equals("MB") || unit.equals("GB") || unit.equals("TB") || unit.equals("PB");
    }

    /** One JSON object of the config and its path, with typed getters whose errors name the field. */
    private static final class Obj {
        final Map<String, Object> map;
        final String path;

        Obj(Map<String, Object> map, String path) {
            this.map = map;
            this.path = path;
        }

        /** key may be the config's own (an rdma device, a unified file): it is cut when long. */
        IllegalArgumentException error(String key, String message) {
            return new IllegalArgumentException(path + "." + Quote.cut(key) + ": " + message);
        }

        @SuppressWarnings("unchecked")
        Obj object(String key) {
            Object v = map.get(key);
            if (v == null) return null;
            if (!(v instanceof Map)) throw error(key, "expected an object");
            return new Obj((Map<String, Object>) v, path + "." + Quote.cut(key));
        }

        @SuppressWarnings("unchecked")
        List<Object> list(String key) {
            Object v = map.get(key);
            if (v == null) return List.of();
            if (!(v instanceof List)) throw error(key, "expected a list");
            return (List<Object>) v;
        }

        @SuppressWarnings("unchecked")
        Obj element(List<Object> l, String key, int i) {
            Object v = l.get(i);
            String p = path + "." + key + "[" + i + "]";
            if (!(v instanceof Map)) throw new IllegalArgumentException(p + ": expected an object");
            return new Obj((Map<String, Object>) v, p);
        }

        String string(String key) {
            Object v = map.get(key);
            if (v == null) return null;
            if (!(v instanceof String s)) throw error(key, "expected a string");
            return s;
        }

        String requiredString(String key) {
            String s = string(key);
            if (s == null) throw error(key, "required");
            return s;
        }

        /** A string, with "" meaning unset (as runc treats cpus and mems). */
        String nonEmptyString(String key) {
            String s = string(key);
            return s == null || s.isEmpty() ? null : s;
        }

        boolean bool(String key) {
            Object v = map.get(key);
            if (v == null) return false;
            if (!(v instanceof Boolean b)) throw error(key, "expected a boolean");
            return b;
        }

        /** An integer in [min, max]; absent is 0. */
        long integer(String key, long min, long max) {
            Long v = optInteger(key, min, max);
            return v == null ? 0 : v;
        }

        long requiredInteger(String key, long min, long max) {
            Long v = optInteger(key, min, max);
            if (v == null) throw error(key, "required");
            return v;
        }

        Long optInteger(String key, long min, long max) {
            Object v = map.get(key);
            if (v == null) return null;
            long n;
            if (v instanceof Long l) {
                n = l;
            } else if (v instanceof Integer i) {
                n = i;
            } else if (v instanceof BigDecimal d) {
                // 1e9 is an integer too; 1.5 and 2^64 are not longs
                try {
                    n = d.longValueExact();
                } catch (ArithmeticException e) {
                    throw error(key, d.stripTrailingZeros().scale() > 0 ? "expected an integer" : "out of range");
                }
            } else {
                throw error(key, "expected an integer");
            }
            if (n < min || n > max) {
                String range = min == -1 && max == Long.MAX_VALUE ? "-1 or non-negative" : "between " + min + " and " + max;
                throw error(key, "must be " + range + ", got " + n);
            }
            return n;
        }
    }
}
