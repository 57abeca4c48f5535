package kurma.runtime;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import kurma.spec.Json;
import kurma.spec.Spec;

/**
 * What Kurma keeps about one container between invocations (state.json in its state dir).
 * The OCI state ({@link #toState}) is derived from it plus the live status.
 *
 * @param pidStartTime the init process's start time (field 22 of /proc/PID/stat), so a
 *     recycled pid is never mistaken for the container
 * @param cgroupDirs the container's cgroup directory in every hierarchy
 * @param cgroupCreated the cgroup directories this container created, parents first: what
 *     delete removes
 * @param pid the container's init (0 while a create has not been told it yet)
 * @param poststart the hooks start runs once the program runs (config.json may change later)
 * @param poststop the hooks delete runs
 * @param hostMountId a container without a mount namespace of its own binds its rootfs onto
 *     itself in the host's (as runc does): that mount's id, which delete detaches with every
 *     mount the container made below it; 0 for a container with its own mount namespace
 * @param creating null once the container is created; before that, the create's own record
 */
record StateRecord(
        String id,
        int pid,
        long pidStartTime,
        String bundle,
        String rootfs,
        String created,
        Map<String, String> annotations,
        List<String> cgroupDirs,
        List<String> cgroupCreated,
        List<Spec.Hook> poststart,
        List<Spec.Hook> poststop,
        long hostMountId,
        Creating creating) {

    /**
     * The record a create keeps while it works, so that a create killed at any moment (engines
     * SIGKILL a runtime on a timeout) leaves something {@code delete --force} can undo: the
     * process doing the create, and stage2's first process once there is one (0: none yet), each
     * with its start time, so that a recycled pid is never taken for it. With the init's pid
     * (once stage2 reports it) and the cgroup directories the create makes, that is everything
     * of the container that can outlive the create.
     */
    public record Creating(int creatorPid, long creatorStartTime, int stage2Pid, long stage2StartTime) {}

    /** This record with stage2's first process, the cgroups actually made and the hooks (the plan compiled). */
    public StateRecord withStage2(int stage2Pid, long stage2StartTime, List<String> cgroupCreated,
            List<Spec.Hook> poststart, List<Spec.Hook> poststop) {
        return new StateRecord(id, pid, pidStartTime, bundle, rootfs, created, annotations, cgroupDirs, cgroupCreated,
                poststart, poststop, hostMountId, new Creating(creating.creatorPid(), creating.creatorStartTime(), stage2Pid,
                stage2StartTime));
    }

    /** This record with the container's init. */
    public StateRecord withInit(int pid, long pidStartTime) {
        return new StateRecord(id, pid, pidStartTime, bundle, rootfs, created, annotations, cgroupDirs, cgroupCreated,
                poststart, poststop, hostMountId, creating);
    }

    /** This record with the id of the rootfs bind it made in the host's mount namespace (see hostMountId). */
    public StateRecord withHostMountId(long id) {
        return new StateRecord(this.id, pid, pidStartTime, bundle, rootfs, created, annotations, cgroupDirs, cgroupCreated,
                poststart, poststop, id, creating);
    }

    /** The state of the created container: the create's record is done with. */
    public StateRecord createdState() {
        return new StateRecord(id, pid, pidStartTime, bundle, rootfs, created, annotations, cgroupDirs, cgroupCreated,
                poststart, poststop, hostMountId, null);
    }

    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", id);
        m.put("pid", (long) pid);
        m.put("pidStartTime", pidStartTime);
        m.put("bundle", bundle);
        m.put("rootfs", rootfs);
        m.put("created", created);
        m.put("annotations", new LinkedHashMap<>(annotations));
        m.put("cgroupDirs", new ArrayList<Object>(cgroupDirs));
        m.put("cgroupCreated", new ArrayList<Object>(cgroupCreated));
        m.put("poststart", hooksJson(poststart));
        m.put("poststop", hooksJson(poststop));
        if (hostMountId != 0) m.put("hostMountId", hostMountId);
        if (creating != null) {
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("creatorPid", (long) creating.creatorPid());
            c.put("creatorStartTime", creating.creatorStartTime());
            c.put("stage2Pid", (long) creating.stage2Pid());
            c.put("stage2StartTime", creating.stage2StartTime());
            m.put("creating", c);
        }
        return m;
    }

    private static List<Object> hooksJson(List<Spec.Hook> hooks) {
        List<Object> out = new ArrayList<>();
        for (Spec.Hook h : hooks) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("path", h.path());
            m.put("args", new ArrayList<Object>(h.args()));
            m.put("env", new ArrayList<Object>(h.env()));
            if (h.timeout() != null) m.put("timeout", h.timeout());
            out.add(m);
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private static List<Spec.Hook> hooksFrom(Object json) {
        List<Spec.Hook> out = new ArrayList<>();
        if (!(json instanceof List<?> l)) return out;
        for (Object o : l) {
            Map<String, Object> m = (Map<String, Object>) o;
            out.add(new Spec.Hook((String) m.get("path"), (List<String>) (List<?>) m.get("args"),
                    (List<String>) (List<?>) m.get("env"), (Long) m.get("timeout")));
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    public static StateRecord fromJson(String text) {
        Map<String, Object> m = (Map<String, Object>) Json.parse(text);
        return new StateRecord(
                (String) m.get("id"),
                ((Long) m.get("pid")).intValue(),
                (Long) m.get("pidStartTime"),
                (String) m.get("bundle"),
                (String) m.get("rootfs"),
                (String) m.get("created"),
                (Map<String, String>) (Map<?, ?>) m.getOrDefault("annotations", Map.of()),
                (List<String>) (List<?>) m.getOrDefault("cgroupDirs", List.of()),
                (List<String>) (List<?>) m.getOrDefault("cgroupCreated", List.of()),
                hooksFrom(m.get("poststart")),
                hooksFrom(m.get("poststop")),
                (Long) m.getOrDefault("hostMountId", 0L),
                creatingFrom(m.get("creating")));
    }

    @SuppressWarnings("unchecked")
    private static Creating creatingFrom(Object json) {
        if (!(json instanceof Map<?, ?> c)) return null;
        Map<String, Object> m = (Map<String, Object>) c;
        return new Creating(((Long) m.get("creatorPid")).intValue(), (Long) m.get("creatorStartTime"),
                ((Long) m.get("stage2Pid")).intValue(), (Long) m.get("stage2StartTime"));
    }

    /** The OCI state of the container, given its live status. */
    ContainerState toState(Status status) {
        return new ContainerState(ContainerState.OCI_VERSION, id, status, status == Status.STOPPED ? 0 : pid, bundle, rootfs, created,
                annotations);
    }

    public List<Path> cgroupDirPaths() {
        List<Path> out = new ArrayList<>();
        for (String s : cgroupDirs) out.add(Path.of(s));
        return out;
    }

    public List<Path> cgroupCreatedPaths() {
        List<Path> out = new ArrayList<>();
        for (String s : cgroupCreated) out.add(Path.of(s));
        return out;
    }
}
