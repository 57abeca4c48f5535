package kurma.tests.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An OCI bundle under construction: a private copy of the busybox rootfs plus the runtime's
 * default config (from {@code spec}) with {@code process.terminal=false}, edited as a Map and
 * written to config.json by {@link #write()}.
 */
public final class Bundle {
    private final Path dir;
    private final Map<String, Object> config;

    Bundle(Path dir, Map<String, Object> config) {
        this.dir = dir;
        this.config = config;
        set("process.terminal", false);
    }

    public Path dir() {
        return dir;
    }

    /** The rootfs directory on the host (root.path, relative to the bundle unless absolute). */
    public Path rootfs() {
        Object p = get("root.path");
        return dir.resolve(p == null ? "rootfs" : p.toString());
    }

    public Map<String, Object> config() {
        return config;
    }

    /** Writes config.json and returns the bundle directory. */
    public Path write() throws IOException {
        Files.writeString(dir.resolve("config.json"), Json.write(config));
        return dir;
    }

    // ---- generic access by dotted path ("process.user.uid") ----

    @SuppressWarnings("unchecked")
    public Object get(String path) {
        Object cur = config;
        for (String k : path.split("\\.")) {
            if (!(cur instanceof Map)) return null;
            cur = ((Map<String, Object>) cur).get(k);
        }
        return cur;
    }

    /** Sets a value, creating missing objects on the way; a null value removes the key. */
    @SuppressWarnings("unchecked")
    public Bundle set(String path, Object value) {
        String[] ks = path.split("\\.");
        Map<String, Object> cur = config;
        for (int i = 0; i < ks.length - 1; i++) {
            Object next = cur.get(ks[i]);
            if (!(next instanceof Map)) {
                next = new LinkedHashMap<String, Object>();
                cur.put(ks[i], next);
            }
            cur = (Map<String, Object>) next;
        }
        if (value == null) cur.remove(ks[ks.length - 1]);
        else cur.put(ks[ks.length - 1], normalize(value));
        return this;
    }

    /** The list at path, created empty if missing. */
    @SuppressWarnings("unchecked")
    public List<Object> list(String path) {
        Object v = get(path);
        if (!(v instanceof List)) {
            v = new ArrayList<Object>();
            set(path, v);
        }
        return (List<Object>) v;
    }

    private static Object normalize(Object v) {
        if (v instanceof Integer i) return i.longValue();
        if (v instanceof String[] a) return new ArrayList<Object>(Arrays.asList(a));
        return v;
    }

    // ---- common edits ----

    public Bundle args(String... args) {
        return set("process.args", new ArrayList<Object>(Arrays.asList(args)));
    }

    /** process.args = sh -c SCRIPT */
    public Bundle sh(String script) {
        return args("sh", "-c", script);
    }

    public Bundle hostname(String name) {
        return set("hostname", name);
    }

    public Bundle cwd(String cwd) {
        return set("process.cwd", cwd);
    }

    public Bundle readonlyRoot(boolean ro) {
        return set("root.readonly", ro);
    }

    /** Adds (or replaces) environment variables, each "NAME=value". */
    public Bundle env(String... kvs) {
        List<Object> env = list("process.env");
        for (String kv : kvs) {
            String name = kv.substring(0, kv.indexOf('=') + 1);
            env.removeIf(e -> e.toString().startsWith(name));
            env.add(kv);
        }
        return this;
    }

    public Bundle user(long uid, long gid, long... additionalGids) {
        Map<String, Object> u = new LinkedHashMap<>();
        u.put("uid", uid);
        u.put("gid", gid);
        if (additionalGids.length > 0) {
            List<Object> l = new ArrayList<>();
            for (long g : additionalGids) l.add(g);
            u.put("additionalGids", l);
        }
        return set("process.user", u);
    }

    /** Replaces any rlimit of that type. */
    public Bundle rlimit(String type, long soft, long hard) {
        List<Object> l = list("process.rlimits");
        l.removeIf(o -> o instanceof Map<?, ?> m && type.equals(m.get("type")));
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("type", type);
        r.put("hard", hard);
        r.put("soft", soft);
        l.add(r);
        return this;
    }

    public Bundle mount(String destination, String type, String source, String... options) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("destination", destination);
        m.put("type", type);
        m.put("source", source);
        if (options.length > 0) m.put("options", new ArrayList<Object>(Arrays.asList(options)));
        list("mounts").add(m);
        return this;
    }

    /** A recursive bind mount of a host path, plus extra options (e.g. "ro"). */
    public Bundle bind(Path host, String destination, String... extraOptions) {
        String[] opts = new String[extraOptions.length + 1];
        opts[0] = "rbind";
        System.arraycopy(extraOptions, 0, opts, 1, extraOptions.length);
        return mount(destination, "bind", host.toString(), opts);
    }

    public Bundle tmpfs(String destination, String... options) {
        return mount(destination, "tmpfs", "tmpfs", options);
    }

    public Bundle removeNamespace(String type) {
        list("linux.namespaces").removeIf(o -> o instanceof Map<?, ?> m && type.equals(m.get("type")));
        return this;
    }

    public Bundle addNamespace(String type) {
        removeNamespace(type);
        Map<String, Object> ns = new LinkedHashMap<>();
        ns.put("type", type);
        list("linux.namespaces").add(ns);
        return this;
    }

    public boolean hasNamespace(String type) {
        return list("linux.namespaces").stream().anyMatch(o -> o instanceof Map<?, ?> m && type.equals(m.get("type")));
    }
}
