package kurma.cmd;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import kurma.image.ImageConfig;
import kurma.spec.DefaultSpec;
import kurma.spec.Json;

/**
 * The OCI config.json for {@code kurma run IMAGE}: the image's config mapped as Docker maps it
 * (entrypoint and cmd, env, working dir, user, labels), the command line's options on top, and
 * Docker's defaults for what neither says (capabilities, masked paths, /etc/hosts...).
 */
final class RunConfig {
    private RunConfig() {}

    /** Docker's default capability set (moby's oci/caps defaults). */
    static final List<String> DOCKER_CAPS = List.of("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
            "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
            "CAP_KILL", "CAP_AUDIT_WRITE");

    static final String DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /** A bind mount from -v SRC:DST[:ro]. */
    record Volume(String source, String destination, boolean readOnly) {
        static Volume parse(String v) {
            String[] p = v.split(":");
            if (p.length < 2 || p.length > 3 || p[0].isEmpty() || !p[1].startsWith("/")) {
                throw new UsageException("-v takes SRC:DST[:ro|rw] with an absolute DST, got \"" + v + "\"");
            }
            if (p.length == 3 && !p[2].equals("ro") && !p[2].equals("rw")) {
                throw new UsageException("-v: unknown option \"" + p[2] + "\" (ro or rw)");
            }
            if (!p[0].startsWith("/")) {
                throw new UsageException("-v: \"" + p[0] + "\" is not an absolute path (named volumes come with kurmad)");
            }
            return new Volume(p[0], p[1], p.length == 3 && p[2].equals("ro"));
        }
    }

    /** What the command line says; null or empty means "the image's (or Docker's) default". */
    record Options(String hostname, List<String> env, String workdir, String entrypoint, List<String> cmd,
            List<Volume> volumes, boolean readOnly, String network, Long memory, Long pidsLimit, boolean tty,
            boolean seccomp) {}

    /** The process's user, resolved in the image. */
    record User(long uid, long gid, List<Long> additionalGids, String home) {}

    /** The argv Docker would run: entrypoint + cmd, where --entrypoint drops the image's cmd. */
    static List<String> args(ImageConfig image, Options o) {
        List<String> entry = o.entrypoint() != null
                ? (o.entrypoint().isEmpty() ? List.of() : List.of(o.entrypoint())) : image.entrypoint();
        List<String> cmd = !o.cmd().isEmpty() ? o.cmd() : o.entrypoint() != null ? List.of() : image.cmd();
        List<String> args = new ArrayList<>(entry);
        args.addAll(cmd);
        if (args.isEmpty()) throw new UsageException("the image names no command and none was given");
        return args;
    }

    /** Image env, then -e (KEY=VALUE, or KEY: taken from our environment), PATH if none, HOSTNAME, HOME. */
    static List<String> env(ImageConfig image, Options o, User user, Map<String, String> ourEnv) {
        Map<String, String> env = new LinkedHashMap<>();
        for (String e : image.env()) put(env, e);
        if (!env.containsKey("PATH")) put(env, DEFAULT_PATH);
        env.put("HOSTNAME", o.hostname());
        for (String e : o.env()) {
            if (e.indexOf('=') > 0) put(env, e);
            else if (ourEnv.containsKey(e)) env.put(e, ourEnv.get(e));
        }
        if (o.tty() && !env.containsKey("TERM")) env.put("TERM", "xterm");
        if (!env.containsKey("HOME")) env.put("HOME", user.home() == null ? "/" : user.home());
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, String> e : env.entrySet()) out.add(e.getKey() + "=" + e.getValue());
        return out;
    }

    private static void put(Map<String, String> env, String kv) {
        int eq = kv.indexOf('=');
        if (eq > 0) env.put(kv.substring(0, eq), kv.substring(eq + 1));
    }

    /**
     * The whole config.json. {@code etcFiles}: host files to bind on /etc/hosts, /etc/hostname,
     * /etc/resolv.conf (destination → source), as Docker provides them.
     */
    @SuppressWarnings("unchecked")
    static Map<String, Object> build(ImageConfig image, Options o, User user, Map<String, String> ourEnv,
            Map<String, String> etcFiles, Map<String, String> annotations) {
        Map<String, Object> c = (Map<String, Object>) Json.parse(DefaultSpec.JSON);
        Map<String, Object> p = (Map<String, Object>) c.get("process");
        p.put("terminal", o.tty());
        Map<String, Object> u = new LinkedHashMap<>();
        u.put("uid", user.uid());
        u.put("gid", user.gid());
        if (!user.additionalGids().isEmpty()) u.put("additionalGids", new ArrayList<Object>(user.additionalGids()));
        p.put("user", u);
        p.put("args", new ArrayList<Object>(args(image, o)));
        p.put("env", new ArrayList<Object>(env(image, o, user, ourEnv)));
        String cwd = o.workdir() != null ? o.workdir() : image.workingDir() != null && !image.workingDir().isEmpty()
                ? image.workingDir() : "/";
        if (!cwd.startsWith("/")) throw new UsageException("the working directory must be absolute, got \"" + cwd + "\"");
        p.put("cwd", cwd);
        Map<String, Object> caps = new LinkedHashMap<>();
        for (String set : new String[] {"bounding", "effective", "permitted"}) caps.put(set, new ArrayList<Object>(DOCKER_CAPS));
        p.put("capabilities", caps);
        // Docker leaves no_new_privs off, so setuid programs in images work.
        p.put("noNewPrivileges", false);
        p.remove("rlimits");

        Map<String, Object> root = (Map<String, Object>) c.get("root");
        root.put("path", "rootfs");
        root.put("readonly", o.readOnly());
        c.put("hostname", o.hostname());

        List<Object> mounts = (List<Object>) c.get("mounts");
        for (Map.Entry<String, String> e : etcFiles.entrySet()) mounts.add(bind(e.getValue(), e.getKey(), false));
        for (Volume v : o.volumes()) mounts.add(bind(v.source(), v.destination(), v.readOnly()));

        Map<String, Object> linux = (Map<String, Object>) c.get("linux");
        List<Object> namespaces = (List<Object>) linux.get("namespaces");
        if ("host".equals(o.network())) {
            namespaces.removeIf(n -> "network".equals(((Map<String, Object>) n).get("type")));
        } else if (!"none".equals(o.network())) {
            throw new UsageException("--net takes none or host (bridge networks come with kurmad), got \"" + o.network() + "\"");
        }
        if (o.seccomp()) linux.put("seccomp", DefaultSeccomp.profile());
        Map<String, Object> resources = (Map<String, Object>) linux.get("resources");
        if (o.memory() != null) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("limit", o.memory());
            resources.put("memory", m);
        }
        if (o.pidsLimit() != null) {
            Map<String, Object> pl = new LinkedHashMap<>();
            pl.put("limit", o.pidsLimit());
            resources.put("pids", pl);
        }
        Map<String, Object> ann = new LinkedHashMap<>(image.labels());
        ann.putAll(annotations);
        if (!"host".equals(o.network())) ann.put(kurma.runtime.plan.PlanCompiler.LOOPBACK_ANNOTATION, "up");
        c.put("annotations", ann);
        return c;
    }

    private static Map<String, Object> bind(String source, String destination, boolean readOnly) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("destination", destination);
        m.put("type", "bind");
        m.put("source", source);
        List<Object> opts = new ArrayList<>(List.of("rbind", "rprivate"));
        if (readOnly) opts.add("ro");
        m.put("options", opts);
        return m;
    }
}
