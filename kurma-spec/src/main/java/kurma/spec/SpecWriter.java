package kurma.spec;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@link Spec} as config.json text, the inverse of {@link Spec#parse}: parsing what this
 * writes gives an equal Spec. For code that builds a spec in memory (kurma-engine from an
 * image) and hands it to tools that read the bundle's config.json. Fields the records hold as
 * absent (null) or empty are left out, as {@link Spec#parse} reads a missing field as those;
 * a capability set that is given but empty stays an empty array, which means "no capabilities".
 */
public final class SpecWriter {
    private SpecWriter() {}

    /** Indented config.json text (two spaces), as {@code runc spec} writes it. */
    public static String write(Spec s) {
        return Json.writePretty(toJson(s));
    }

    /** The spec as JSON values (maps in the runtime-spec's field order, lists, strings, numbers). */
    public static Map<String, Object> toJson(Spec s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("ociVersion", s.ociVersion());
        if (s.process() != null) m.put("process", process(s.process()));
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("path", s.root().path());
        root.put("readonly", s.root().readonly());
        m.put("root", root);
        putIfSet(m, "hostname", s.hostname());
        putIfSet(m, "domainname", s.domainname());
        if (!s.mounts().isEmpty()) {
            List<Object> mounts = new ArrayList<>();
            for (Spec.Mount mount : s.mounts()) {
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("destination", mount.destination());
                putIfNotEmpty(o, "type", mount.type());
                putIfNotEmpty(o, "source", mount.source());
                putList(o, "options", mount.options());
                mounts.add(o);
            }
            m.put("mounts", mounts);
        }
        Map<String, Object> hooks = hooks(s.hooks());
        if (!hooks.isEmpty()) m.put("hooks", hooks);
        if (!s.annotations().isEmpty()) m.put("annotations", new LinkedHashMap<String, Object>(s.annotations()));
        Map<String, Object> linux = linux(s.linux());
        if (!linux.isEmpty()) m.put("linux", linux);
        return m;
    }

    private static Map<String, Object> process(Spec.Process p) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("terminal", p.terminal());
        if (p.consoleSize() != null) {
            Map<String, Object> size = new LinkedHashMap<>();
            size.put("height", p.consoleSize().height());
            size.put("width", p.consoleSize().width());
            m.put("consoleSize", size);
        }
        Map<String, Object> user = new LinkedHashMap<>();
        user.put("uid", p.user().uid());
        user.put("gid", p.user().gid());
        if (p.user().umask() != null) user.put("umask", p.user().umask());
        putList(user, "additionalGids", p.user().additionalGids());
        m.put("user", user);
        m.put("args", new ArrayList<Object>(p.args()));
        putList(m, "env", p.env());
        m.put("cwd", p.cwd());
        if (p.capabilities() != null) {
            Spec.Capabilities c = p.capabilities();
            Map<String, Object> caps = new LinkedHashMap<>();
            putSet(caps, "bounding", c.bounding());
            putSet(caps, "effective", c.effective());
            putSet(caps, "inheritable", c.inheritable());
            putSet(caps, "permitted", c.permitted());
            putSet(caps, "ambient", c.ambient());
            m.put("capabilities", caps);
        }
        if (!p.rlimits().isEmpty()) {
            List<Object> rlimits = new ArrayList<>();
            for (Spec.Rlimit r : p.rlimits()) {
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("type", r.type());
                o.put("hard", unsigned(r.hard()));
                o.put("soft", unsigned(r.soft()));
                rlimits.add(o);
            }
            m.put("rlimits", rlimits);
        }
        m.put("noNewPrivileges", p.noNewPrivileges());
        if (p.oomScoreAdj() != null) m.put("oomScoreAdj", p.oomScoreAdj());
        return m;
    }

    private static Map<String, Object> hooks(Spec.Hooks h) {
        Map<String, Object> m = new LinkedHashMap<>();
        if (h == null) return m;
        putHooks(m, "prestart", h.prestart());
        putHooks(m, "createRuntime", h.createRuntime());
        putHooks(m, "createContainer", h.createContainer());
        putHooks(m, "startContainer", h.startContainer());
        putHooks(m, "poststart", h.poststart());
        putHooks(m, "poststop", h.poststop());
        return m;
    }

    private static void putHooks(Map<String, Object> m, String key, List<Spec.Hook> hooks) {
        if (hooks.isEmpty()) return;
        List<Object> out = new ArrayList<>();
        for (Spec.Hook h : hooks) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("path", h.path());
            putList(o, "args", h.args());
            putList(o, "env", h.env());
            if (h.timeout() != null) o.put("timeout", h.timeout());
            out.add(o);
        }
        m.put(key, out);
    }

    private static Map<String, Object> linux(Spec.Linux l) {
        Map<String, Object> m = new LinkedHashMap<>();
        if (!l.resources().isEmpty()) m.put("resources", l.resources());
        if (!l.namespaces().isEmpty()) {
            List<Object> namespaces = new ArrayList<>();
            for (Spec.Namespace n : l.namespaces()) {
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("type", n.type());
                putIfSet(o, "path", n.path());
                namespaces.add(o);
            }
            m.put("namespaces", namespaces);
        }
        putMappings(m, "uidMappings", l.uidMappings());
        putMappings(m, "gidMappings", l.gidMappings());
        if (!l.sysctl().isEmpty()) m.put("sysctl", new LinkedHashMap<String, Object>(l.sysctl()));
        putIfSet(m, "cgroupsPath", l.cgroupsPath());
        putIfSet(m, "rootfsPropagation", l.rootfsPropagation());
        putList(m, "maskedPaths", l.maskedPaths());
        putList(m, "readonlyPaths", l.readonlyPaths());
        if (!l.devices().isEmpty()) {
            List<Object> devices = new ArrayList<>();
            for (Spec.Device d : l.devices()) {
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("type", d.type());
                o.put("path", d.path());
                o.put("major", d.major());
                o.put("minor", d.minor());
                if (d.fileMode() != null) o.put("fileMode", d.fileMode());
                if (d.uid() != null) o.put("uid", d.uid());
                if (d.gid() != null) o.put("gid", d.gid());
                devices.add(o);
            }
            m.put("devices", devices);
        }
        if (!l.seccomp().isEmpty()) m.put("seccomp", l.seccomp());
        return m;
    }

    private static void putMappings(Map<String, Object> m, String key, List<Spec.IdMapping> mappings) {
        if (mappings.isEmpty()) return;
        List<Object> out = new ArrayList<>();
        for (Spec.IdMapping id : mappings) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("containerID", id.containerId());
            o.put("hostID", id.hostId());
            o.put("size", id.size());
            out.add(o);
        }
        m.put(key, out);
    }

    /** rlimits are unsigned 64-bit: RLIM_INFINITY is held as -1 and written as 18446744073709551615. */
    private static Object unsigned(long v) {
        return v >= 0 ? (Object) v : new BigDecimal(Long.toUnsignedString(v));
    }

    private static void putIfSet(Map<String, Object> m, String key, String v) {
        if (v != null) m.put(key, v);
    }

    private static void putIfNotEmpty(Map<String, Object> m, String key, String v) {
        if (v != null && !v.isEmpty()) m.put(key, v);
    }

    private static void putList(Map<String, Object> m, String key, List<?> v) {
        if (v != null && !v.isEmpty()) m.put(key, new ArrayList<Object>(v));
    }

    /** A capability set: null is "not given" (left out), empty is "none" (kept). */
    private static void putSet(Map<String, Object> m, String key, List<String> v) {
        if (v != null) m.put(key, new ArrayList<Object>(v));
    }
}
