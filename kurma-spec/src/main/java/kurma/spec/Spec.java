package kurma.spec;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The parts of an OCI runtime-spec (1.2) config.json that Kurma reads, as immutable records.
 * {@link #parse(String)} checks types and required fields; semantic checks that need the
 * host (does the rootfs exist, is a namespace type supported) belong to the runtime.
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

        return new Spec(ociVersion, root, process, top.str("hostname", null), top.str("domainname", null),
                List.copyOf(mounts), linux, hooks, top.stringMap("annotations"));
    }

    /** A process object alone (exec --process FILE), checked like config.json's. */
    public static Process parseProcess(String json) {
        return process(Fields.of(Json.parse(json), "process"));
    }

    private static Process process(Fields p) {
        Fields u = p.obj("user");
        User user = u == null
                ? new User(0, 0, null, List.of())
                : new User(u.integer("uid", 0), u.integer("gid", 0), u.integer("umask"), u.integers("additionalGids"));
        if (user.uid() < 0 || user.gid() < 0) throw new ConfigException("process.user: uid and gid must not be negative");
        List<String> args = p.strings("args");
        if (args.isEmpty()) throw new ConfigException("process.args: must name the program to run");
        String cwd = p.requiredStr("cwd");
        if (!cwd.startsWith("/")) throw new ConfigException("process.cwd: must be an absolute path, got \"" + cwd + "\"");

        Fields c = p.obj("capabilities");
        Capabilities caps = c == null ? null : new Capabilities(
                c.has("bounding") ? c.strings("bounding") : null,
                c.has("effective") ? c.strings("effective") : null,
                c.has("inheritable") ? c.strings("inheritable") : null,
                c.has("permitted") ? c.strings("permitted") : null,
                c.has("ambient") ? c.strings("ambient") : null);

        List<Rlimit> rlimits = new ArrayList<>();
        for (Fields rl : p.objects("rlimits")) {
            Long soft = rl.unsigned("soft"), hard = rl.unsigned("hard");
            if (soft == null || hard == null) throw new ConfigException(rl.path("soft") + ": soft and hard are required");
            rlimits.add(new Rlimit(rl.requiredStr("type"), soft, hard));
        }
        Fields cs = p.obj("consoleSize");
        ConsoleSize size = cs == null ? null : new ConsoleSize(cs.integer("height", 0), cs.integer("width", 0));
        if (size != null && (size.height() < 0 || size.height() > 0xffff || size.width() < 0 || size.width() > 0xffff)) {
            throw new ConfigException("process.consoleSize: height and width must be between 0 and 65535");
        }
        return new Process(p.bool("terminal", false), user, args, p.strings("env"), cwd, caps,
                List.copyOf(rlimits), p.bool("noNewPrivileges", false), p.integer("oomScoreAdj"), size);
    }

    private static Linux linux(Fields l) {
        List<Namespace> namespaces = new ArrayList<>();
        for (Fields n : l.objects("namespaces")) {
            Namespace ns = new Namespace(n.requiredStr("type"), n.str("path", null));
            for (Namespace seen : namespaces) {
                if (seen.type().equals(ns.type())) {
                    throw new ConfigException("linux.namespaces: " + ns.type() + " is listed twice");
                }
            }
            namespaces.add(ns);
        }
        List<Device> devices = new ArrayList<>();
        for (Fields d : l.objects("devices")) {
            devices.add(new Device(d.requiredStr("type"), d.requiredStr("path"), d.integer("major", 0),
                    d.integer("minor", 0), d.integer("fileMode"), d.integer("uid"), d.integer("gid")));
        }
        return new Linux(List.copyOf(namespaces), idMappings(l, "uidMappings"), idMappings(l, "gidMappings"),
                l.stringMap("sysctl"), objectOrEmpty(l, "resources"), l.str("cgroupsPath", null),
                l.str("rootfsPropagation", null), l.strings("maskedPaths"), l.strings("readonlyPaths"),
                List.copyOf(devices), objectOrEmpty(l, "seccomp"));
    }

    private static List<IdMapping> idMappings(Fields l, String key) {
        List<IdMapping> out = new ArrayList<>();
        for (Fields m : l.objects(key)) {
            out.add(new IdMapping(m.integer("containerID", 0), m.integer("hostID", 0), m.integer("size", 0)));
        }
        return List.copyOf(out);
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
            out.add(new Hook(k.requiredStr("path"), k.strings("args"), k.strings("env"), k.integer("timeout")));
        }
        return List.copyOf(out);
    }
}
