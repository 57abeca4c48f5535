package kurma.spec;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The parts of an OCI runtime-spec (1.2) config.json that Kurma reads, as immutable records.
 * {@link #parse(String)} checks types, required fields, and every number and name against
 * the range the kernel (or runc, where it is stricter) takes, with errors naming the JSON path
 * ({@code linux.uidMappings[0].size: must be at least 1, got 0}), so that bad values fail
 * before anything exists rather than as an errno from deep in create. Semantic checks that
 * need the host (does the rootfs exist, is a namespace type supported) belong to the runtime.
 */
public record Spec(
        String ociVersion,
        Root root,
        Process process,
        String hostname,
        String domainname,
        List<Mount> mounts,
        Linux linux,
        Hooks hooks,
        Map<String, String> annotations) {

    /** This spec with another process. */
    public Spec withProcess(Process p) {
        return new Spec(ociVersion, root, p, hostname, domainname, mounts, linux, hooks, annotations);
    }

    public record Root(String path, boolean readonly) {}

    public record User(long uid, long gid, Long umask, List<Long> additionalGids) {}

    public record Rlimit(String type, long soft, long hard) {}

    /** Capability sets by name ("CAP_CHOWN"); a null set means "not given". */
    public record Capabilities(
            List<String> bounding,
            List<String> effective,
            List<String> inheritable,
            List<String> permitted,
            List<String> ambient) {}

    public record Process(
            boolean terminal,
            User user,
            List<String> args,
            List<String> env,
            String cwd,
            Capabilities capabilities,
            List<Rlimit> rlimits,
            boolean noNewPrivileges,
            Long oomScoreAdj,
            ConsoleSize consoleSize) {

        /** This process with more environment variables. */
        public Process withEnv(List<String> more) {
            List<String> all = new ArrayList<>(env);
            all.addAll(more);
            return new Process(terminal, user, args, List.copyOf(all), cwd, capabilities, rlimits, noNewPrivileges,
                    oomScoreAdj, consoleSize);
        }

        /** This process with {@code name} set to {@code value}, in place of any value it had. */
        public Process withVariable(String name, String value) {
            List<String> kept = new ArrayList<>();
            for (String e : env) if (!e.startsWith(name + "=")) kept.add(e);
            return new Process(terminal, user, args, List.copyOf(kept), cwd, capabilities, rlimits, noNewPrivileges,
                    oomScoreAdj, consoleSize).withEnv(List.of(name + "=" + value));
        }
    }

    /** process.consoleSize: the terminal's initial size, in characters. */
    public record ConsoleSize(long height, long width) {}

    public record Mount(String destination, String type, String source, List<String> options) {}

    public record Namespace(String type, String path) {}

    public record IdMapping(long containerId, long hostId, long size) {}

    public record Device(String type, String path, long major, long minor, Long fileMode, Long uid, Long gid) {}

    public record Linux(
            List<Namespace> namespaces,
            List<IdMapping> uidMappings,
            List<IdMapping> gidMappings,
            Map<String, String> sysctl,
            Map<String, Object> resources,
            String cgroupsPath,
            String rootfsPropagation,
            List<String> maskedPaths,
            List<String> readonlyPaths,
            List<Device> devices,
            Map<String, Object> seccomp) {

        public Namespace namespace(String type) {
            for (Namespace n : namespaces) if (n.type().equals(type)) return n;
            return null;
        }
    }

    public record Hook(String path, List<String> args, List<String> env, Long timeout) {}

    public record Hooks(
            List<Hook> prestart,
            List<Hook> createRuntime,
            List<Hook> createContainer,
            List<Hook> startContainer,
            List<Hook> poststart,
            List<Hook> poststop) {}

    /** Parses config.json text. Throws {@link JsonException} or {@link ConfigException}. */
    public static Spec parse(String json) {
        Fields top = Fields.of(Json.parse(json), "");
        String ociVersion = top.requiredStr("ociVersion");

        Fields r = top.obj("root");
        if (r == null) throw new ConfigException("root: is required");
        Root root = new Root(r.requiredStr("path"), r.bool("readonly", false));
        if (root.path().isEmpty()) throw new ConfigException("root.path: must not be empty");

        Fields p = top.obj("process");
        Process process = p == null ? null : process(p);

        List<Mount> mounts = new ArrayList<>();
        for (Fields m : top.objects("mounts")) {
            String dest = m.requiredStr("destination");
            if (dest.isEmpty()) throw new ConfigException(m.path("destination") + ": must not be empty");
            mounts.add(new Mount(dest, m.str("type", ""), m.str("source", ""), m.strings("options")));
        }

        Fields l = top.obj("linux");
        Linux linux = linux(l == null ? Fields.of(Map.of(), "linux") : l);

        Fields h = top.obj("hooks");
        Hooks hooks = h == null
                ? new Hooks(List.of(), List.of(), List.of(), List.of(), List.of(), List.of())
                : new Hooks(hooks(h, "prestart"), hooks(h, "createRuntime"), hooks(h, "createContainer"),
                        hooks(h, "startContainer"), hooks(h, "poststart"), hooks(h, "poststop"));

        String hostname = utsName(top, "hostname"), domainname = utsName(top, "domainname");
        // (No mappings at all is the runtime's error: a new user namespace needs them.)
        if (process != null && createsUserns(linux.namespaces()) && !linux.uidMappings().isEmpty()
                && !linux.gidMappings().isEmpty()) {
            checkMapped(process, linux);
        }
        return new Spec(ociVersion, root, process, hostname, domainname, List.copyOf(mounts), linux, hooks,
                top.stringMap("annotations", true));
    }

    private static String utsName(Fields top, String key) {
        String name = top.str(key, null);
        if (name == null) return null;
        int bytes = name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        if (bytes > MAX_UTS_NAME) {
            throw new ConfigException(key + ": must be at most " + MAX_UTS_NAME + " bytes, got " + bytes);
        }
        return name;
    }

    /** A process object alone (exec --process FILE), checked like config.json's. */
    public static Process parseProcess(String json) {
        return process(Fields.of(Json.parse(json), "process"));
    }

    /**
     * The largest uid or gid a process may take, as runc allows: the kernel's ids are 32 bits,
     * but (uid_t)-1 means "leave unchanged" to setresuid, so 4294967295 would keep root.
     */
    public static final long MAX_PROCESS_ID = 2147483647L;
    static final long U32_MAX = 0xffffffffL;
    /** setgroups(2) takes at most NGROUPS_MAX groups. */
    static final int MAX_GROUPS = 65536;
    /** sethostname(2) and setdomainname(2) take at most this many bytes (HOST_NAME_MAX). */
    static final int MAX_UTS_NAME = 64;
    /**
     * The longest hook timeout, in seconds: runc keeps it as nanoseconds in a signed 64-bit
     * count (a longer one overflows and expires at once), so no config runs with more.
     */
    static final long MAX_HOOK_TIMEOUT = Long.MAX_VALUE / 1_000_000_000L;

    private static Process process(Fields p) {
        Fields u = p.obj("user");
        User user = u == null
                ? new User(0, 0, null, List.of())
                : new User(u.integer("uid", 0, MAX_PROCESS_ID, 0), u.integer("gid", 0, MAX_PROCESS_ID, 0),
                        u.integer("umask", 0, U32_MAX), u.integers("additionalGids", 0, MAX_PROCESS_ID));
        if (user.additionalGids().size() > MAX_GROUPS) {
            throw new ConfigException("process.user.additionalGids: at most " + MAX_GROUPS + " groups, got "
                    + user.additionalGids().size());
        }
        List<String> args = p.strings("args");
        if (args.isEmpty()) throw new ConfigException("process.args: must name the program to run");
        String cwd = p.requiredStr("cwd");
        if (!cwd.startsWith("/")) throw new ConfigException("process.cwd: must be an absolute path, got " + Quote.of(cwd));

        Fields c = p.obj("capabilities");
        Capabilities caps = c == null ? null : new Capabilities(
                c.has("bounding") ? c.strings("bounding") : null,
                c.has("effective") ? c.strings("effective") : null,
                c.has("inheritable") ? c.strings("inheritable") : null,
                c.has("permitted") ? c.strings("permitted") : null,
                c.has("ambient") ? c.strings("ambient") : null);

        List<Rlimit> rlimits = new ArrayList<>();
        for (Fields rl : p.objects("rlimits")) {
            String type = rl.requiredStr("type");
            Long soft = rl.unsigned("soft"), hard = rl.unsigned("hard");
            if (soft == null) throw new ConfigException(rl.path("soft") + ": is required");
            if (hard == null) throw new ConfigException(rl.path("hard") + ": is required");
            if (Long.compareUnsigned(soft, hard) > 0) {
                // setrlimit(2) refuses it (EINVAL)
                throw new ConfigException(rl.path("soft") + ": must be at most hard (" + Long.toUnsignedString(hard) + "), got "
                        + Long.toUnsignedString(soft));
            }
            rlimits.add(new Rlimit(type, soft, hard));
        }
        Fields cs = p.obj("consoleSize");
        // The kernel's winsize holds 16-bit rows and columns.
        ConsoleSize size = cs == null ? null
                : new ConsoleSize(cs.integer("height", 0, 0xffff, 0), cs.integer("width", 0, 0xffff, 0));
        // /proc/PID/oom_score_adj takes -1000 to 1000 (OOM_SCORE_ADJ_MIN, _MAX).
        Long oomScoreAdj = p.integer("oomScoreAdj", -1000, 1000);
        return new Process(p.bool("terminal", false), user, args, p.strings("env"), cwd, caps,
                List.copyOf(rlimits), p.bool("noNewPrivileges", false), oomScoreAdj, size);
    }

    private static Linux linux(Fields l) {
        List<Namespace> namespaces = new ArrayList<>();
        for (Fields n : l.objects("namespaces")) {
            Namespace ns = new Namespace(n.requiredStr("type"), n.str("path", null));
            for (Namespace seen : namespaces) {
                if (seen.type().equals(ns.type())) {
                    throw new ConfigException("linux.namespaces: " + Quote.cut(ns.type()) + " is listed twice");
                }
            }
            namespaces.add(ns);
        }
        List<Device> devices = new ArrayList<>();
        for (Fields d : l.objects("devices")) {
            // The kernel's dev_t has 12 bits of major and 20 of minor: mknod(2) takes no more.
            devices.add(new Device(d.requiredStr("type"), d.requiredStr("path"), d.integer("major", 0, 0xfff, 0),
                    d.integer("minor", 0, 0xfffff, 0), d.integer("fileMode", 0, U32_MAX), d.integer("uid", 0, U32_MAX),
                    d.integer("gid", 0, U32_MAX)));
        }
        // The maps are written only for a user namespace of the container's own; runc ignores
        // them otherwise, and so does Kurma (past their types).
        boolean newUserns = createsUserns(namespaces);
        return new Linux(List.copyOf(namespaces), idMappings(l, "uidMappings", newUserns),
                idMappings(l, "gidMappings", newUserns), l.stringMap("sysctl", false), objectOrEmpty(l, "resources"),
                l.str("cgroupsPath", null), l.str("rootfsPropagation", null), l.strings("maskedPaths"),
                l.strings("readonlyPaths"), List.copyOf(devices), objectOrEmpty(l, "seccomp"));
    }

    private static boolean createsUserns(List<Namespace> namespaces) {
        for (Namespace ns : namespaces) {
            if (ns.type().equals("user") && (ns.path() == null || ns.path().isEmpty())) return true;
        }
        return false;
    }

    /** The most ranges a uid_map or gid_map takes (UID_GID_MAP_MAX_EXTENTS). */
    static final int MAX_ID_RANGES = 340;
    /** A uid_map or gid_map is written in one write(2) of less than a page. */
    static final int MAX_ID_MAP_BYTES = 4095;

    /**
     * linux.uidMappings or gidMappings: 32-bit ids always; for a new user namespace also what
     * the kernel checks when the map is written (a non-empty range that does not run past the
     * largest id, ranges that do not overlap on either side, the number of ranges and the
     * map's size), so that a bad map fails here, naming the range, rather than as "writing
     * uid_map: Invalid argument".
     */
    private static List<IdMapping> idMappings(Fields l, String key, boolean newUserns) {
        List<IdMapping> out = new ArrayList<>();
        List<Fields> ranges = l.objects(key);
        long bytes = 0;
        for (int i = 0; i < ranges.size(); i++) {
            Fields m = ranges.get(i);
            IdMapping id = new IdMapping(m.integer("containerID", 0, U32_MAX, 0), m.integer("hostID", 0, U32_MAX, 0),
                    m.integer("size", 0, U32_MAX, 0));
            if (newUserns) {
                if (id.size() < 1) throw new ConfigException(m.path("size") + ": must be at least 1, got " + id.size());
                // The last id of a range may be 4294967294: (uid_t)-1 is no id.
                if (id.containerId() + id.size() > U32_MAX) {
                    throw new ConfigException(m.path("size") + ": containerID + size must be at most " + U32_MAX + ", got "
                            + id.containerId() + " + " + id.size());
                }
                if (id.hostId() + id.size() > U32_MAX) {
                    throw new ConfigException(m.path("size") + ": hostID + size must be at most " + U32_MAX + ", got "
                            + id.hostId() + " + " + id.size());
                }
                for (int j = 0; j < i; j++) {
                    IdMapping o = out.get(j);
                    String side = overlaps(id.containerId(), o.containerId(), id.size(), o.size()) ? "containerID"
                            : overlaps(id.hostId(), o.hostId(), id.size(), o.size()) ? "hostID" : null;
                    if (side != null) {
                        throw new ConfigException(m.path(side) + ": the range overlaps that of " + l.path(key) + "[" + j + "]");
                    }
                }
                bytes += (id.containerId() + " " + id.hostId() + " " + id.size() + "\n").length();
            }
            out.add(id);
        }
        if (newUserns && out.size() > MAX_ID_RANGES) {
            throw new ConfigException(l.path(key) + ": at most " + MAX_ID_RANGES + " ranges, got " + out.size());
        }
        if (newUserns && bytes > MAX_ID_MAP_BYTES) {
            throw new ConfigException(l.path(key) + ": the map is " + bytes + " bytes written out, the kernel takes at most "
                    + MAX_ID_MAP_BYTES);
        }
        return List.copyOf(out);
    }

    private static boolean overlaps(long a, long b, long aSize, long bSize) {
        return a < b + bSize && b < a + aSize;
    }

    /** In a new user namespace, the process's ids must be mapped: setresuid(2) refuses others. */
    private static void checkMapped(Process p, Linux linux) {
        User u = p.user();
        if (!mapped(u.uid(), linux.uidMappings())) {
            throw new ConfigException("process.user.uid: " + u.uid() + " is not mapped by linux.uidMappings");
        }
        if (!mapped(u.gid(), linux.gidMappings())) {
            throw new ConfigException("process.user.gid: " + u.gid() + " is not mapped by linux.gidMappings");
        }
        for (int i = 0; i < u.additionalGids().size(); i++) {
            long g = u.additionalGids().get(i);
            if (!mapped(g, linux.gidMappings())) {
                throw new ConfigException("process.user.additionalGids[" + i + "]: " + g + " is not mapped by linux.gidMappings");
            }
        }
    }

    private static boolean mapped(long id, List<IdMapping> ranges) {
        for (IdMapping m : ranges) if (id >= m.containerId() && id < m.containerId() + m.size()) return true;
        return false;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> objectOrEmpty(Fields l, String key) {
        Object v = l.raw(key);
        if (v == null) return Map.of();
        if (!(v instanceof Map<?, ?> m)) throw new ConfigException(l.path(key) + ": expected an object");
        return (Map<String, Object>) m;
    }

    private static List<Hook> hooks(Fields h, String key) {
        List<Hook> out = new ArrayList<>();
        for (Fields k : h.objects(key)) {
            out.add(new Hook(k.requiredStr("path"), k.strings("args"), k.strings("env"),
                    k.integer("timeout", 1, MAX_HOOK_TIMEOUT)));
        }
        return List.copyOf(out);
    }
}
