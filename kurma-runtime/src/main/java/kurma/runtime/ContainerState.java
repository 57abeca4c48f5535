package kurma.runtime;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The OCI runtime-spec state of a container (runtime.md "State"): what {@code state} prints and
 * what hooks read, as of the moment it was taken.
 *
 * @param pid the init's pid as this runtime sees it; 0 once the container has stopped (or while
 *     a create has not started it yet)
 * @param created when the create began (RFC 3339, UTC)
 */
public record ContainerState(String ociVersion, String id, Status status, int pid, String bundle, String rootfs,
        String created, Map<String, String> annotations) {

    /** The runtime-spec version this runtime implements. */
    public static final String OCI_VERSION = "1.2.0";

    public ContainerState {
        annotations = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(annotations)); // keeps their order
    }

    /** The state object as JSON values (the shape of runc's {@code state} output), in a fixed key order. */
    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("ociVersion", ociVersion);
        m.put("id", id);
        m.put("pid", (long) pid);
        m.put("status", status.text());
        m.put("bundle", bundle);
        m.put("rootfs", rootfs);
        m.put("created", created);
        m.put("owner", "");
        if (!annotations.isEmpty()) m.put("annotations", new LinkedHashMap<>(annotations));
        return m;
    }
}
