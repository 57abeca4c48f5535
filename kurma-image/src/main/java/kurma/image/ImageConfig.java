package kurma.image;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The parts of an OCI / Docker image configuration a container engine uses: how to run the
 * image (entrypoint, cmd, env, working dir, user, ports, labels, stop signal, volumes), what
 * it is for (os, architecture, variant) and its layers' uncompressed digests (diff_ids),
 * in order. Absent fields are empty lists/maps or null strings.
 */
public record ImageConfig(String os, String architecture, String variant, List<String> entrypoint,
                          List<String> cmd, List<String> env, String workingDir, String user,
                          Map<String, String> labels, Set<String> exposedPorts, Set<String> volumes,
                          String stopSignal, List<Digest> diffIds, String created) {

    public ImageConfig {
        entrypoint = List.copyOf(entrypoint);
        cmd = List.copyOf(cmd);
        env = List.copyOf(env);
        labels = Map.copyOf(labels);
        exposedPorts = Set.copyOf(exposedPorts);
        volumes = Set.copyOf(volumes);
        diffIds = List.copyOf(diffIds);
    }

    public Platform platform() {
        return new Platform(os, architecture, variant);
    }

    /** Parses a config blob; {@code where} names it for error messages. */
    public static ImageConfig parse(byte[] raw, String where) {
        Map<?, ?> m = ManifestDocument.object(raw, where);
        Map<?, ?> c = m.get("config") instanceof Map<?, ?> cc ? cc : Map.of();
        List<Digest> diffIds = new ArrayList<>();
        if (m.get("rootfs") instanceof Map<?, ?> rootfs) {
            if (rootfs.get("type") instanceof String t && !t.equals("layers")) {
                throw new ImageException(ImageException.Reason.INVALID, where + ": unsupported rootfs type \"" + t + "\"");
            }
            for (String s : strings(rootfs.get("diff_ids"), where, "rootfs.diff_ids")) {
                try {
                    diffIds.add(Digest.parse(s));
                } catch (ImageException e) {
                    throw e.about(where);
                }
            }
        }
        String os = str(m.get("os")), arch = str(m.get("architecture"));
        if (os == null || arch == null) {
            throw new ImageException(ImageException.Reason.INVALID, where + ": image config without os or architecture");
        }
        return new ImageConfig(os, arch, str(m.get("variant")),
                strings(c.get("Entrypoint"), where, "Entrypoint"), strings(c.get("Cmd"), where, "Cmd"),
                strings(c.get("Env"), where, "Env"), str(c.get("WorkingDir")), str(c.get("User")),
                stringMap(c.get("Labels")), keys(c.get("ExposedPorts")), keys(c.get("Volumes")),
                str(c.get("StopSignal")), diffIds, str(m.get("created")));
    }

    private static String str(Object o) {
        return o instanceof String s && !s.isEmpty() ? s : null;
    }

    private static List<String> strings(Object o, String where, String field) {
        if (o == null) return List.of();
        if (!(o instanceof List<?> l)) throw new ImageException(ImageException.Reason.INVALID, where + ": " + field + " is not an array");
        List<String> out = new ArrayList<>();
        for (Object e : l) {
            if (!(e instanceof String s)) throw new ImageException(ImageException.Reason.INVALID, where + ": " + field + " holds a non-string");
            out.add(s);
        }
        return out;
    }

    private static Map<String, String> stringMap(Object o) {
        Map<String, String> out = new LinkedHashMap<>();
        if (o instanceof Map<?, ?> m) {
            for (Map.Entry<?, ?> e : m.entrySet()) {
                if (e.getValue() instanceof String v) out.put(String.valueOf(e.getKey()), v);
            }
        }
        return out;
    }

    private static Set<String> keys(Object o) {
        Set<String> out = new TreeSet<>();
        if (o instanceof Map<?, ?> m) {
            for (Object k : m.keySet()) out.add(String.valueOf(k));
        }
        return out;
    }
}
