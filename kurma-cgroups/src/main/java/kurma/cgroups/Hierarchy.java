package kurma.cgroups;

import java.util.Set;

/**
 * One mounted cgroup hierarchy of the host.
 *
 * @param mountPoint where it is mounted, e.g. /sys/fs/cgroup/memory
 * @param unified true for cgroup v2, false for a v1 hierarchy
 * @param controllers the controllers bound to it (v1: from the mount options, with a named
 *     hierarchy as "name=systemd"; v2: cgroup.controllers of its root)
 * @param root the cgroup at the mount's root (non-"/" when the mount is itself a subtree)
 */
public record Hierarchy(String mountPoint, boolean unified, Set<String> controllers, String root) {

    /** The name the container sees this hierarchy under in /sys/fs/cgroup. */
    public String name() {
        int slash = mountPoint.lastIndexOf('/');
        return mountPoint.substring(slash + 1);
    }

    /** The key of this hierarchy in /proc/PID/cgroup ("0::" lines are v2, else the controller list). */
    boolean matchesProcLine(String controllerField) {
        if (unified) return controllerField.isEmpty();
        for (String c : controllerField.split(",")) {
            if (!controllers.contains(c)) return false;
        }
        return !controllerField.isEmpty();
    }
}
