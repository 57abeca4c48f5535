package kurma.engine;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import kurma.image.ImageConfig;
import kurma.runtime.plan.PlanCompiler;
import kurma.spec.DefaultSpec;
import kurma.spec.Spec;

/**
 * The OCI spec of a container from an image: the image's config mapped as Docker maps it
 * (entrypoint and cmd, env, working dir, user, labels), the caller's options on top, and
 * Docker's defaults for what neither says (capabilities, the seccomp profile, masked paths,
 * /etc/hosts...). Pure: the user is resolved and the /etc files are written by the caller.
 */
final class ImageSpec {
    private ImageSpec() {}

    /** Docker's default capability set (moby's oci/caps defaults). */
    static final List<String> DOCKER_CAPS = List.of("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
            "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
            "CAP_KILL", "CAP_AUDIT_WRITE");

    static final String DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /** The container's name, as an annotation (hooks and tools see it in the runtime's state). */
    static final String NAME_ANNOTATION = "io.kurma.container.name";

    /**
     * What of the options the spec depends on that can be wrong, checked before anything is
     * made (the user is checked once the image's files are there): returns the command.
     */
    static List<String> check(ImageConfig image, CreateOptions o) {
        List<String> args = args(image, o);
        cwd(image, o);
        for (String e : o.env()) checkEnv(e);
        if (o.memory() != null && o.memory() <= 0) throw invalid("the memory limit must be positive, got " + o.memory());
        for (Volume v : o.volumes()) {
            if (!v.source().startsWith("/") || !v.destination().startsWith("/")) {
                throw invalid("a volume's source and destination must be absolute paths, got \"" + v.source() + ":"
                        + v.destination() + "\"");
            }
        }
        return args;
    }

    private static void checkEnv(String e) {
        if (e.indexOf('=') <= 0) throw invalid("env: \"" + e + "\" is not NAME=VALUE");
    }

    /** The argv Docker would run: entrypoint + cmd, where an entrypoint of the caller's drops the image's cmd. */
    static List<String> args(ImageConfig image, CreateOptions o) {
        List<String> entry = o.entrypoint() != null ? o.entrypoint() : image.entrypoint();
        List<String> cmd = !o.cmd().isEmpty() ? o.cmd() : o.entrypoint() != null ? List.of() : image.cmd();
        List<String> args = new ArrayList<>(entry);
        args.addAll(cmd);
        if (args.isEmpty()) throw invalid("the image names no command and none was given");
        return List.copyOf(args);
    }

    /** The caller's, else the image's, else /; absolute. */
    static String cwd(ImageConfig image, CreateOptions o) {
        String cwd = o.workdir() != null ? o.workdir() : image.workingDir() != null && !image.workingDir().isEmpty()
                ? image.workingDir() : "/";
        if (!cwd.startsWith("/")) throw invalid("the working directory must be absolute, got \"" + cwd + "\"");
        return cwd;
    }

    /** The image's env, then PATH if it has none, HOSTNAME, the caller's, TERM for a terminal, HOME. */
    static List<String> env(ImageConfig image, CreateOptions o, String hostname, Users.User user) {
        Map<String, String> env = new LinkedHashMap<>();
        for (String e : image.env()) put(env, e);
        if (!env.containsKey("PATH")) put(env, DEFAULT_PATH);
        env.put("HOSTNAME", hostname);
        for (String e : o.env()) {
            checkEnv(e);
            put(env, e);
        }
        if (o.tty() && !env.containsKey("TERM")) env.put("TERM", "xterm");
        if (!env.containsKey("HOME")) env.put("HOME", user.home() == null ? "/" : user.home());
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, String> e : env.entrySet()) out.add(e.getKey() + "=" + e.getValue());
        return List.copyOf(out);
    }

    private static void put(Map<String, String> env, String kv) {
        int eq = kv.indexOf('=');
        if (eq > 0) env.put(kv.substring(0, eq), kv.substring(eq + 1));
    }

    /**
     * The whole spec, on runc's default (mounts, namespaces, masked and read-only paths, the
     * device rule). {@code etcFiles}: host files to bind on /etc/hostname, /etc/hosts and
     * /etc/resolv.conf (destination to source), as Docker provides them; {@code architecture}:
     * the host's, for the seccomp profile.
     */
    static Spec spec(ImageConfig image, CreateOptions o, String hostname, Users.User user, Map<String, String> etcFiles,
            Map<String, String> annotations, String architecture) {
        Spec base = Spec.parse(DefaultSpec.JSON);
        Spec.Capabilities caps = new Spec.Capabilities(DOCKER_CAPS, DOCKER_CAPS, null, DOCKER_CAPS, null);
        // Docker leaves no_new_privs off, so setuid programs in images work, and sets no rlimits
        // (the container keeps the caller's).
        Spec.Process process = new Spec.Process(o.tty(), new Spec.User(user.uid(), user.gid(), null, user.additionalGids()),
                args(image, o), env(image, o, hostname, user), cwd(image, o), caps, List.of(), false,
                base.process().oomScoreAdj(), base.process().consoleSize());

        List<Spec.Mount> mounts = new ArrayList<>(base.mounts());
        for (Map.Entry<String, String> e : etcFiles.entrySet()) mounts.add(bind(e.getValue(), e.getKey(), false));
        for (Volume v : o.volumes()) mounts.add(bind(v.source(), v.destination(), v.readOnly()));

        Spec.Linux l = base.linux();
        List<Spec.Namespace> namespaces = new ArrayList<>();
        for (Spec.Namespace n : l.namespaces()) {
            if (o.network() != CreateOptions.Network.HOST || !n.type().equals("network")) namespaces.add(n);
        }
        Map<String, Object> resources = new LinkedHashMap<>(l.resources());
        if (o.memory() != null) resources.put("memory", limit(o.memory()));
        if (o.pidsLimit() != null) resources.put("pids", limit(o.pidsLimit()));
        Map<String, Object> seccomp = o.seccomp() == CreateOptions.Seccomp.DEFAULT ? DefaultSeccomp.profile(architecture)
                : l.seccomp();
        Spec.Linux linux = new Spec.Linux(List.copyOf(namespaces), l.uidMappings(), l.gidMappings(), l.sysctl(), resources,
                l.cgroupsPath(), l.rootfsPropagation(), l.maskedPaths(), l.readonlyPaths(), l.devices(), seccomp);

        Map<String, String> ann = new LinkedHashMap<>(image.labels());
        ann.putAll(annotations);
        // The container's own network namespace has only lo: up, as Docker's --network none has it.
        if (o.network() != CreateOptions.Network.HOST) ann.put(PlanCompiler.LOOPBACK_ANNOTATION, "up");
        return new Spec(base.ociVersion(), new Spec.Root("rootfs", o.readOnly()), process, hostname, base.domainname(),
                List.copyOf(mounts), linux, base.hooks(), ann);
    }

    private static Map<String, Object> limit(long value) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("limit", value);
        return m;
    }

    private static Spec.Mount bind(String source, String destination, boolean readOnly) {
        List<String> opts = new ArrayList<>(List.of("rbind", "rprivate"));
        if (readOnly) opts.add("ro");
        return new Spec.Mount(destination, "bind", source, List.copyOf(opts));
    }

    private static EngineException invalid(String message) {
        return new EngineException(EngineException.Code.INVALID_ARGUMENT, message);
    }
}
