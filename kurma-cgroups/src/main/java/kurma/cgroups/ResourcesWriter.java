package kurma.cgroups;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes {@link Resources} into a container's cgroup directories, in v1 or v2 form for each
 * controller according to the hierarchy that carries it on this host (on a hybrid host memory
 * may be v1 while hugetlb is v2). File names, value formats, conversions and write order are
 * runc's (libcontainer/cgroups/fs and fs2), so a config limits a container the same way on
 * both runtimes.
 *
 * <p>It runs the same code in three passes, so that a config this host cannot honour is
 * refused with one line naming the field before any limit is written:
 * <ol>
 *   <li>COLLECT finds the hierarchy of every controller asked for (error: the host has no such
 *       controller, or the field has no meaning there, such as realtime cpu on v2) and notes
 *       the v2 controllers to enable;</li>
 *   <li>the v2 controllers are enabled in {@code cgroup.subtree_control} of every ancestor, so
 *       that their files appear in the container's directory (runc enables them all);</li>
 *   <li>CHECK makes sure every file to be written exists (error: e.g. no blkio.weight);</li>
 *   <li>WRITE writes them.</li>
 * </ol>
 * A failure is an {@link UncheckedIOException} whose message is the whole one-line error.
 *
 * <p>The device rules are written in a later, separate call ({@link #DEVICES}; see
 * {@link Cgroup#applyDevices}), once the container's init has made its device nodes; the
 * first call ({@link #LIMITS}) still checks them.
 *
 * <p>Devices on a pure v2 host are an eBPF program attached to the container's cgroup
 * ({@link DeviceProgram}; see {@link #devices}).
 */
final class ResourcesWriter {

    /** File access, replaceable by tests to record the exact sequence of writes. */
    interface Io {
        String read(Path file) throws IOException;

        void write(Path file, String value) throws IOException;

        /** Loads the device program {@code code} and attaches it to the cgroup v2 directory {@code dir}. */
        default void attachDeviceProgram(Path dir, byte[] code) throws IOException {
            try {
                DeviceProgram.attach(dir, code);
            } catch (kurma.sys.SysException e) {
                throw new IOException(e.getMessage(), e);
            }
        }
    }

    /**
     * The real thing: one open + write + close per value (the kernel takes one value, or one
     * device rule, per write). A FileOutputStream rather than Files.writeString: the JVM has
     * its classes loaded already, while the channel machinery cost the interpreted CLI a few
     * ms per create (measured: ~6 ms vs ~1.5 ms over runs of /bin/true). It would create a
     * missing file, but the CHECK pass has made sure each one exists, and cgroupfs refuses
     * new files anyway.
     */
    static final class FileIo implements Io {
        @Override
        public String read(Path file) throws IOException {
            return kurma.sys.ProcFs.read(file); // like every /proc and /sys read in Kurma: no torn reads
        }

        @Override
        public void write(Path file, String value) throws IOException {
            try (FileOutputStream out = new FileOutputStream(file.toFile())) {
                out.write(value.getBytes(StandardCharsets.UTF_8));
            }
        }
    }

    private static final int COLLECT = 0, CHECK = 1, WRITE = 2;
    private static final String F = Resources.FIELD;

    /** What {@link #apply} writes: the limits, the device rules, or both (all are always checked). */
    static final int LIMITS = 1, DEVICES = 2, ALL = LIMITS | DEVICES;

    private final Cgroup cgroup;
    private final Io io;
    private int pass;
    private int parts;
    /** v2 controller -> the first field that needs it (for the error if enabling fails). */
    private final Map<String, String> v2Needed = new LinkedHashMap<>();

    ResourcesWriter(Cgroup cgroup, Io io) {
        this.cgroup = cgroup;
        this.io = io;
    }

    /**
     * Writes the {@code parts} of {@code r} asked for: {@link #LIMITS} (everything but the
     * device rules, which are still checked), {@link #DEVICES} (only them) or {@link #ALL}.
     */
    void apply(Resources r, int parts) {
        this.parts = parts;
        for (pass = COLLECT; pass <= WRITE; pass++) {
            if ((parts & LIMITS) == 0) {
                devices(r.devices());
                continue;
            }
            if (pass == CHECK) enableV2Controllers();
            // runc's v1 order (cpuset before devices before memory...); v2 has no ordering needs.
            cpuset(r.cpu());
            devices(r.devices());
            memory(r.memory());
            cpu(r.cpu());
            pids(r.pids());
            blockIO(r.blockIO());
            hugetlb(r.hugepageLimits());
            network(r.network());
            rdma(r.rdma());
            // Last, as in runc: a unified key may deliberately override a value written above.
            unified(r.unified());
        }
    }

    // ------------------------------------------------------------------ memory

    private void memory(Resources.Memory m) {
        if (m == null) return;
        String first = m.limit() != 0 ? ".limit" : m.reservation() != 0 ? ".reservation" : m.swap() != 0 ? ".swap"
                : m.swappiness() != null ? ".swappiness" : m.disableOOMKiller() ? ".disableOOMKiller" : null;
        if (first == null) return;
        Cgroup.Dir d = need(F + ".memory" + first, "memory");
        if (d.hierarchy().unified()) {
            memoryV2(d, m);
            return;
        }
        long limit = m.limit(), swap = m.swap();
        // runc: unlimited memory with swap unset means unlimited swap too (if swap is accounted at all).
        if (limit == -1 && swap == 0 && has(d, "memory.memsw.limit_in_bytes")) swap = -1;
        // memsw must stay >= memory at every step: raise swap first when it grows past the current limit.
        boolean swapFirst = false;
        if (limit != 0 && swap != 0 && pass == WRITE) {
            swapFirst = swap == -1 || readLong(F + ".memory.limit", d, "memory.limit_in_bytes") < swap;
        }
        if (swapFirst) put(F + ".memory.swap", d, "memory.memsw.limit_in_bytes", Long.toString(swap), "swap accounting is off");
        if (limit != 0) put(F + ".memory.limit", d, "memory.limit_in_bytes", Long.toString(limit), null);
        if (!swapFirst && swap != 0) {
            put(F + ".memory.swap", d, "memory.memsw.limit_in_bytes", Long.toString(swap), "swap accounting is off");
        }
        if (m.reservation() != 0) {
            put(F + ".memory.reservation", d, "memory.soft_limit_in_bytes", Long.toString(m.reservation()), null);
        }
        if (m.disableOOMKiller()) put(F + ".memory.disableOOMKiller", d, "memory.oom_control", "1", null);
        if (m.swappiness() != null) put(F + ".memory.swappiness", d, "memory.swappiness", Long.toString(m.swappiness()), null);
    }

    private void memoryV2(Cgroup.Dir d, Resources.Memory m) {
        if (m.swappiness() != null) {
            throw fail(F + ".memory.swappiness", "cgroup v2 has no per-cgroup swappiness (memory.swappiness)");
        }
        if (m.disableOOMKiller()) {
            throw fail(F + ".memory.disableOOMKiller", "cgroup v2 cannot turn the OOM killer off");
        }
        // runc's ConvertMemorySwapToCgroupV2Value: the config's swap is memory+swap, v2's is swap alone.
        long limit = m.limit(), swap = m.swap();
        String swapMax;
        if (limit == -1 && swap == 0) swapMax = "max";
        else if (swap == -1) swapMax = "max";
        else if (swap == 0) swapMax = null;
        else swapMax = Long.toString(swap - limit); // parse checked limit > 0 and swap >= limit
        if (swapMax != null) {
            // Without swap accounting there is no memory.swap.max; "no limit" and "no swap" then hold anyway.
            if (has(d, "memory.swap.max") || !(swapMax.equals("max") || swapMax.equals("0"))) {
                put(F + ".memory.swap", d, "memory.swap.max", swapMax, "swap accounting is off");
            }
        }
        if (limit != 0) put(F + ".memory.limit", d, "memory.max", max(limit), null);
        if (m.reservation() != 0) put(F + ".memory.reservation", d, "memory.low", max(m.reservation()), null);
    }

    // ------------------------------------------------------------------ cpu, cpuset

    private void cpu(Resources.Cpu c) {
        if (c == null) return;
        String first = c.shares() != 0 ? ".shares" : c.quota() != 0 ? ".quota" : c.period() != 0 ? ".period"
                : c.burst() != null ? ".burst" : c.realtimeRuntime() != 0 ? ".realtimeRuntime"
                : c.realtimePeriod() != 0 ? ".realtimePeriod" : c.idle() != null ? ".idle" : null;
        if (first == null) return;
        Cgroup.Dir d = need(F + ".cpu" + first, "cpu");
        if (d.hierarchy().unified()) {
            cpuV2(d, c);
            return;
        }
        if (c.shares() != 0) {
            put(F + ".cpu.shares", d, "cpu.shares", Long.toString(c.shares()), null);
            if (pass == WRITE) {
                // The kernel clamps instead of failing; say so, as runc does.
                long got = readLong(F + ".cpu.shares", d, "cpu.shares");
                if (got != c.shares()) {
                    throw fail(F + ".cpu.shares", "the kernel set cpu.shares to " + got + " instead of " + c.shares()
                            + " (its range is 2-262144)");
                }
            }
        }
        boolean periodPending = false;
        if (c.period() != 0) {
            if (pass == WRITE && c.quota() != 0) {
                // A period smaller than the current one can be refused (EINVAL) while the old quota
                // would exceed a parent's limit; runc retries it after the quota, and so do we.
                try {
                    io.write(d.path().resolve("cpu.cfs_period_us"), Long.toString(c.period()));
                } catch (IOException e) {
                    periodPending = true;
                }
            } else {
                put(F + ".cpu.period", d, "cpu.cfs_period_us", Long.toString(c.period()), null);
            }
        }
        if (c.quota() != 0) {
            put(F + ".cpu.quota", d, "cpu.cfs_quota_us", Long.toString(c.quota()), null);
            if (periodPending) put(F + ".cpu.period", d, "cpu.cfs_period_us", Long.toString(c.period()), null);
        }
        if (c.burst() != null) put(F + ".cpu.burst", d, "cpu.cfs_burst_us", Long.toString(c.burst()), "kernel without cpu burst");
        if (c.realtimePeriod() != 0) {
            put(F + ".cpu.realtimePeriod", d, "cpu.rt_period_us", Long.toString(c.realtimePeriod()),
                    "kernel without CONFIG_RT_GROUP_SCHED");
        }
        if (c.realtimeRuntime() != 0) {
            put(F + ".cpu.realtimeRuntime", d, "cpu.rt_runtime_us", Long.toString(c.realtimeRuntime()),
                    "kernel without CONFIG_RT_GROUP_SCHED");
        }
        if (c.idle() != null) put(F + ".cpu.idle", d, "cpu.idle", Long.toString(c.idle()), "kernel without SCHED_IDLE groups");
    }

    private void cpuV2(Cgroup.Dir d, Resources.Cpu c) {
        if (c.realtimeRuntime() != 0 || c.realtimePeriod() != 0) {
            throw fail(F + (c.realtimeRuntime() != 0 ? ".cpu.realtimeRuntime" : ".cpu.realtimePeriod"),
                    "cgroup v2 has no realtime cpu limits (cpu.rt_runtime_us / cpu.rt_period_us)");
        }
        if (c.shares() != 0) put(F + ".cpu.shares", d, "cpu.weight", Long.toString(sharesToWeight(c.shares())), null);
        if (c.quota() != 0 || c.period() != 0) {
            // runc: "QUOTA PERIOD", "max PERIOD", or the quota alone when no period is given.
            String v = c.quota() > 0 ? Long.toString(c.quota()) : "max";
            if (c.period() != 0) v += " " + c.period();
            put(F + (c.quota() != 0 ? ".cpu.quota" : ".cpu.period"), d, "cpu.max", v, null);
        }
        if (c.burst() != null) put(F + ".cpu.burst", d, "cpu.max.burst", Long.toString(c.burst()), "kernel without cpu burst");
        if (c.idle() != null) put(F + ".cpu.idle", d, "cpu.idle", Long.toString(c.idle()), "kernel without SCHED_IDLE groups");
    }

    /** runc's ConvertCPUSharesToCgroupV2Value: maps v1's [2, 262144] onto v2's [1, 10000]. */
    static long sharesToWeight(long shares) {
        return 1 + ((shares - 2) * 9999) / 262142;
    }

    private void cpuset(Resources.Cpu c) {
        if (c == null || (c.cpus() == null && c.mems() == null)) return;
        Cgroup.Dir d = need(F + (c.cpus() != null ? ".cpu.cpus" : ".cpu.mems"), "cpuset");
        if (c.cpus() != null) put(F + ".cpu.cpus", d, "cpuset.cpus", c.cpus(), null);
        if (c.mems() != null) put(F + ".cpu.mems", d, "cpuset.mems", c.mems(), null);
    }

    // ------------------------------------------------------------------ pids

    private void pids(Resources.Pids p) {
        if (p == null || p.limit() == 0) return;
        Cgroup.Dir d = need(F + ".pids.limit", "pids");
        put(F + ".pids.limit", d, "pids.max", max(p.limit()), null);
    }

    // ------------------------------------------------------------------ blockIO

    private void blockIO(Resources.BlockIO b) {
        if (b == null) return;
        String first = b.weight() != 0 ? ".weight" : b.leafWeight() != 0 ? ".leafWeight"
                : !b.weightDevices().isEmpty() ? ".weightDevice" : !b.throttleReadBps().isEmpty() ? ".throttleReadBpsDevice"
                : !b.throttleWriteBps().isEmpty() ? ".throttleWriteBpsDevice"
                : !b.throttleReadIops().isEmpty() ? ".throttleReadIOPSDevice"
                : !b.throttleWriteIops().isEmpty() ? ".throttleWriteIOPSDevice" : null;
        if (first == null) return;
        Cgroup.Dir d = find("blkio");
        if (d == null) {
            d = find("io");
            if (d == null || !d.hierarchy().unified()) {
                throw fail(F + ".blockIO" + first, "this host has no blkio (v1) or io (v2) cgroup controller");
            }
            need(F + ".blockIO" + first, "io");
            ioV2(d, b);
            return;
        }
        // runc: CFQ's blkio.weight when the kernel has it, else BFQ's blkio.bfq.weight.
        boolean cfq = has(d, "blkio.weight");
        String weightFile = cfq || !has(d, "blkio.bfq.weight") ? "blkio.weight" : "blkio.bfq.weight";
        String weightDeviceFile = weightFile.equals("blkio.weight") ? "blkio.weight_device" : "blkio.bfq.weight_device";
        String noScheduler = "cgroup v1 blkio without CFQ/BFQ";
        if (b.weight() != 0) put(F + ".blockIO.weight", d, weightFile, Long.toString(b.weight()), noScheduler);
        if (b.leafWeight() != 0) {
            put(F + ".blockIO.leafWeight", d, "blkio.leaf_weight", Long.toString(b.leafWeight()), "cgroup v1 blkio without CFQ");
        }
        for (int i = 0; i < b.weightDevices().size(); i++) {
            Resources.WeightDevice w = b.weightDevices().get(i);
            String field = F + ".blockIO.weightDevice[" + i + "]";
            if (w.weight() != 0) {
                put(field + ".weight", d, weightDeviceFile, w.major() + ":" + w.minor() + " " + w.weight(), noScheduler);
            }
            if (w.leafWeight() != 0) {
                put(field + ".leafWeight", d, "blkio.leaf_weight_device", w.major() + ":" + w.minor() + " " + w.leafWeight(),
                        "cgroup v1 blkio without CFQ");
            }
        }
        throttleV1(d, b.throttleReadBps(), "throttleReadBpsDevice", "blkio.throttle.read_bps_device");
        throttleV1(d, b.throttleWriteBps(), "throttleWriteBpsDevice", "blkio.throttle.write_bps_device");
        throttleV1(d, b.throttleReadIops(), "throttleReadIOPSDevice", "blkio.throttle.read_iops_device");
        throttleV1(d, b.throttleWriteIops(), "throttleWriteIOPSDevice", "blkio.throttle.write_iops_device");
    }

    private void throttleV1(Cgroup.Dir d, List<Resources.Throttle> l, String key, String file) {
        for (int i = 0; i < l.size(); i++) {
            Resources.Throttle t = l.get(i);
            put(F + ".blockIO." + key + "[" + i + "]", d, file, t.major() + ":" + t.minor() + " " + t.rate(),
                    "kernel without CONFIG_BLK_DEV_THROTTLING");
        }
    }

    private void ioV2(Cgroup.Dir d, Resources.BlockIO b) {
        if (b.leafWeight() != 0) throw fail(F + ".blockIO.leafWeight", "cgroup v2 has no leaf weights");
        boolean bfq = has(d, "io.bfq.weight");
        if (b.weight() != 0) {
            // runc: BFQ takes the weight as is; io.weight's range is 1-10000, converted from 10-1000.
            if (bfq) put(F + ".blockIO.weight", d, "io.bfq.weight", Long.toString(b.weight()), null);
            else put(F + ".blockIO.weight", d, "io.weight", Long.toString(1 + (b.weight() - 10) * 9999 / 990),
                    "cgroup v2 io without BFQ or io.weight");
        }
        for (int i = 0; i < b.weightDevices().size(); i++) {
            Resources.WeightDevice w = b.weightDevices().get(i);
            String field = F + ".blockIO.weightDevice[" + i + "]";
            if (w.leafWeight() != 0) throw fail(field + ".leafWeight", "cgroup v2 has no leaf weights");
            // Only BFQ takes per-device weights; runc drops them silently without it, Kurma says so.
            if (w.weight() != 0) {
                put(field + ".weight", d, "io.bfq.weight", w.major() + ":" + w.minor() + " " + w.weight(),
                        "per-device weights need the BFQ scheduler");
            }
        }
        throttleV2(d, b.throttleReadBps(), "throttleReadBpsDevice", "rbps");
        throttleV2(d, b.throttleWriteBps(), "throttleWriteBpsDevice", "wbps");
        throttleV2(d, b.throttleReadIops(), "throttleReadIOPSDevice", "riops");
        throttleV2(d, b.throttleWriteIops(), "throttleWriteIOPSDevice", "wiops");
    }

    private void throttleV2(Cgroup.Dir d, List<Resources.Throttle> l, String key, String name) {
        for (int i = 0; i < l.size(); i++) {
            Resources.Throttle t = l.get(i);
            // v1 takes a rate of 0 as "no limit"; v2 spells that "max".
            String rate = t.rate() == 0 ? "max" : Long.toString(t.rate());
            put(F + ".blockIO." + key + "[" + i + "]", d, "io.max", t.major() + ":" + t.minor() + " " + name + "=" + rate,
                    "kernel without CONFIG_BLK_DEV_THROTTLING");
        }
    }

    // ------------------------------------------------------------------ hugetlb

    private void hugetlb(List<Resources.HugepageLimit> limits) {
        for (int i = 0; i < limits.size(); i++) {
            Resources.HugepageLimit h = limits.get(i);
            String field = F + ".hugepageLimits[" + i + "]";
            Cgroup.Dir d = need(field, "hugetlb");
            boolean v2 = d.hierarchy().unified();
            String prefix = "hugetlb." + h.pageSize();
            put(field, d, prefix + (v2 ? ".max" : ".limit_in_bytes"), Long.toString(h.limit()),
                    "no " + h.pageSize() + " huge pages on this host");
            // Reservations (mmap'ed, not yet faulted pages) get the same limit when the kernel
            // accounts them, as runc 1.2 does.
            String rsvdFile = prefix + (v2 ? ".rsvd.max" : ".rsvd.limit_in_bytes");
            if (has(d, rsvdFile)) put(field, d, rsvdFile, Long.toString(h.limit()), null);
        }
    }

    // ------------------------------------------------------------------ devices

    /**
     * v1: the state runc's emulator computes for the config's rules followed by
     * {@link Resources.DeviceRule#RUNC_DEFAULTS}, written as a deny-all or allow-all and then the
     * exceptions. runc applies this even when the config lists no rules (giving deny-all plus
     * the defaults), and so does Kurma.
     *
     * <p>A pure v2 host has no devices controller: there the same list becomes an eBPF program
     * ({@link DeviceProgram}) attached to the container's v2 directory, as runc does.
     */
    private void devices(List<Resources.DeviceRule> rules) {
        Cgroup.Dir d = find("devices");
        if (d == null) {
            d = pureV2() ? unifiedDir() : null;
            if (d == null) {
                if (rules.isEmpty()) return;
                throw fail(F + ".devices", "this host has no devices cgroup controller");
            }
        }
        DeviceRules emu = new DeviceRules();
        try {
            for (int i = 0; i < rules.size(); i++) emu.apply(rules.get(i), F + ".devices[" + i + "]");
            for (Resources.DeviceRule r : Resources.DeviceRule.RUNC_DEFAULTS) emu.apply(r, F + ".devices (runtime defaults)");
        } catch (IllegalArgumentException e) {
            throw new UncheckedIOException(e.getMessage(), new IOException(e.getMessage(), e));
        }
        if (pass == WRITE && (parts & DEVICES) == 0) return;
        if (d.hierarchy().unified()) {
            if (pass != WRITE) return;
            try {
                io.attachDeviceProgram(d.path(), DeviceProgram.compile(emu.transition()));
            } catch (IOException e) {
                throw fail(F + ".devices", reason(e));
            }
            return;
        }
        for (Resources.DeviceRule r : emu.transition()) {
            put(F + ".devices", d, r.allow() ? "devices.allow" : "devices.deny", r.cgroupString(), null);
        }
    }

    private Cgroup.Dir unifiedDir() {
        for (Cgroup.Dir d : cgroup.dirs()) {
            if (d.hierarchy() != null && d.hierarchy().unified()) return d;
        }
        return null;
    }

    private boolean pureV2() {
        for (Cgroup.Dir d : cgroup.dirs()) {
            if (d.hierarchy() != null && !d.hierarchy().unified()) return false;
        }
        return true;
    }

    // ------------------------------------------------------------------ network, rdma

    private void network(Resources.Network n) {
        if (n == null) return;
        if (n.classId() != null) {
            Cgroup.Dir d = need(F + ".network.classID", "net_cls");
            put(F + ".network.classID", d, "net_cls.classid", Long.toString(n.classId()), null);
        }
        for (int i = 0; i < n.priorities().size(); i++) {
            Resources.InterfacePriority p = n.priorities().get(i);
            String field = F + ".network.priorities[" + i + "]";
            Cgroup.Dir d = need(field, "net_prio");
            put(field, d, "net_prio.ifpriomap", p.name() + " " + p.priority(), null);
        }
    }

    private void rdma(List<Resources.Rdma> limits) {
        for (Resources.Rdma r : limits) {
            String field = F + ".rdma." + r.device();
            if (r.hcaHandles() == null && r.hcaObjects() == null) continue;
            Cgroup.Dir d = need(field, "rdma");
            String v = r.device();
            if (r.hcaHandles() != null) v += " hca_handle=" + r.hcaHandles();
            if (r.hcaObjects() != null) v += " hca_object=" + r.hcaObjects();
            put(field, d, "rdma.max", v, null);
        }
    }

    // ------------------------------------------------------------------ unified

    private void unified(Map<String, String> values) {
        if (values.isEmpty()) return;
        Cgroup.Dir d = null;
        for (Cgroup.Dir c : cgroup.dirs()) {
            if (c.hierarchy() != null && c.hierarchy().unified()) d = c;
        }
        if (d == null) throw fail(F + ".unified", "this host has no cgroup v2 hierarchy");
        for (Map.Entry<String, String> e : values.entrySet()) {
            String name = e.getKey();
            String field = F + ".unified." + name;
            int dot = name.indexOf('.');
            String controller = dot > 0 ? name.substring(0, dot) : name;
            boolean v2Controller = d.hierarchy().controllers().contains(controller);
            if (pass == COLLECT && v2Controller) need(field, controller);
            put(field, d, name, e.getValue(), controller.equals("cgroup") || v2Controller ? null
                    : "no " + controller + " controller in this host's cgroup v2 hierarchy");
        }
    }

    // ------------------------------------------------------------------ primitives

    /** The container's directory in the hierarchy of {@code controller}, or null. */
    private Cgroup.Dir find(String controller) {
        for (Cgroup.Dir d : cgroup.dirs()) {
            if (d.hierarchy() != null && d.hierarchy().controllers().contains(controller)) return d;
        }
        return null;
    }

    /** Like {@link #find} but an error naming {@code field} when missing; notes v2 controllers to enable. */
    private Cgroup.Dir need(String field, String controller) {
        Cgroup.Dir d = find(controller);
        if (d == null) throw fail(field, "this host has no " + controller + " cgroup controller");
        if (pass == COLLECT && d.hierarchy().unified() && !v2Needed.containsKey(controller)) v2Needed.put(controller, field);
        return d;
    }

    /**
     * A v2 controller's files appear in a cgroup only once its parent lists it in
     * cgroup.subtree_control, which needs the same in every ancestor up to the hierarchy's
     * root. The container's own directory is left alone: a cgroup that enables controllers for
     * children may not hold processes itself.
     */
    private void enableV2Controllers() {
        if (v2Needed.isEmpty()) return;
        for (Cgroup.Dir d : cgroup.dirs()) {
            if (d.hierarchy() == null || !d.hierarchy().unified()) continue;
            Path mount = Path.of(d.hierarchy().mountPoint());
            List<Path> levels = new ArrayList<>();
            for (Path p = d.path().getParent(); p != null && p.startsWith(mount); p = p.getParent()) levels.addFirst(p);
            for (Path level : levels) {
                Path file = level.resolve("cgroup.subtree_control");
                String enabled;
                try {
                    enabled = " " + io.read(file).trim() + " ";
                } catch (IOException e) {
                    throw fail(v2Needed.values().iterator().next(), "reading " + file + ": " + reason(e));
                }
                for (Map.Entry<String, String> c : v2Needed.entrySet()) {
                    if (enabled.contains(" " + c.getKey() + " ")) continue;
                    try {
                        io.write(file, "+" + c.getKey());
                    } catch (IOException e) {
                        throw fail(c.getValue(), "enabling the " + c.getKey() + " controller in " + file + ": " + reason(e));
                    }
                }
            }
        }
    }

    /** True when the file exists (always in the COLLECT pass: v2 files may appear only once enabled). */
    private boolean has(Cgroup.Dir d, String file) {
        return pass == COLLECT || Files.exists(d.path().resolve(file));
    }

    /**
     * The one place a value is written: nothing in COLLECT, an existence check in CHECK, the
     * write in WRITE. {@code hint} says why a host may lack the file.
     */
    private void put(String field, Cgroup.Dir d, String file, String value, String hint) {
        if (pass == COLLECT) return;
        Path p = d.path().resolve(file);
        if (pass == CHECK) {
            if (!Files.exists(p)) {
                throw fail(field, "this host has no " + file + (hint == null ? "" : " (" + hint + ")"));
            }
            return;
        }
        try {
            io.write(p, value);
        } catch (IOException e) {
            throw fail(field, "writing \"" + value + "\" to " + p + ": " + reason(e));
        }
    }

    private long readLong(String field, Cgroup.Dir d, String file) {
        Path p = d.path().resolve(file);
        try {
            return Long.parseLong(io.read(p).trim());
        } catch (IOException e) {
            throw fail(field, "reading " + p + ": " + reason(e));
        } catch (NumberFormatException e) {
            throw fail(field, "reading " + p + ": not a number");
        }
    }

    /** "max" for the config's -1 (or any negative: unlimited), the number otherwise. */
    private static String max(long v) {
        return v < 0 ? "max" : Long.toString(v);
    }

    private static String reason(IOException e) {
        if (e instanceof FileSystemException f && f.getReason() != null) return f.getReason();
        if (e instanceof NoSuchFileException) return "No such file or directory";
        return e.getMessage();
    }

    private static UncheckedIOException fail(String field, String message) {
        String m = field + ": " + message;
        return new UncheckedIOException(m, new IOException(m));
    }
}
