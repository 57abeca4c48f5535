package kurma.runtime.plan;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Turns OCI mount options ("ro", "nosuid", "rbind", "mode=755", "rprivate") into mount(2)
 * flags, propagation flags and the filesystem-specific data string, as mount(8) does.
 *
 * <p>{@code tmpcopyup} is runc's extension for a tmpfs (Podman puts it on the tmpfs of
 * {@code --read-only} and {@code --tmpfs}): the tmpfs should start with a copy of what the
 * rootfs has at the destination. It is for the runtime, never for the kernel, which rejects
 * unknown tmpfs data with EINVAL; {@link #copyUp()} says it was given.
 */
public record MountOptions(long flags, long clearFlags, long propagation, boolean bind, boolean recursive, String data,
                           boolean copyUp) {

    public static final long MS_RDONLY = 1, MS_NOSUID = 2, MS_NODEV = 4, MS_NOEXEC = 8, MS_SYNCHRONOUS = 16,
            MS_REMOUNT = 32, MS_MANDLOCK = 64, MS_DIRSYNC = 128, MS_NOATIME = 1024, MS_NODIRATIME = 2048,
            MS_BIND = 4096, MS_MOVE = 8192, MS_REC = 16384, MS_SILENT = 32768, MS_UNBINDABLE = 1 << 17,
            MS_PRIVATE = 1 << 18, MS_SLAVE = 1 << 19, MS_SHARED = 1 << 20, MS_RELATIME = 1 << 21,
            MS_STRICTATIME = 1 << 24, MS_LAZYTIME = 1 << 25;

    /** option → {flag to set, flag to clear}. */
    private static final Map<String, long[]> FLAGS = Map.ofEntries(
            Map.entry("ro", new long[] {MS_RDONLY, 0}),
            Map.entry("rw", new long[] {0, MS_RDONLY}),
            Map.entry("nosuid", new long[] {MS_NOSUID, 0}),
            Map.entry("suid", new long[] {0, MS_NOSUID}),
            Map.entry("nodev", new long[] {MS_NODEV, 0}),
            Map.entry("dev", new long[] {0, MS_NODEV}),
            Map.entry("noexec", new long[] {MS_NOEXEC, 0}),
            Map.entry("exec", new long[] {0, MS_NOEXEC}),
            Map.entry("sync", new long[] {MS_SYNCHRONOUS, 0}),
            Map.entry("async", new long[] {0, MS_SYNCHRONOUS}),
            Map.entry("dirsync", new long[] {MS_DIRSYNC, 0}),
            Map.entry("mand", new long[] {MS_MANDLOCK, 0}),
            Map.entry("nomand", new long[] {0, MS_MANDLOCK}),
            Map.entry("noatime", new long[] {MS_NOATIME, 0}),
            Map.entry("atime", new long[] {0, MS_NOATIME}),
            Map.entry("nodiratime", new long[] {MS_NODIRATIME, 0}),
            Map.entry("diratime", new long[] {0, MS_NODIRATIME}),
            Map.entry("relatime", new long[] {MS_RELATIME, 0}),
            Map.entry("norelatime", new long[] {0, MS_RELATIME}),
            Map.entry("strictatime", new long[] {MS_STRICTATIME, 0}),
            Map.entry("nostrictatime", new long[] {0, MS_STRICTATIME}),
            Map.entry("lazytime", new long[] {MS_LAZYTIME, 0}),
            Map.entry("nolazytime", new long[] {0, MS_LAZYTIME}),
            Map.entry("silent", new long[] {MS_SILENT, 0}),
            Map.entry("loud", new long[] {0, MS_SILENT}),
            Map.entry("defaults", new long[] {0, 0}));

    private static final Map<String, Long> PROPAGATION = Map.of(
            "private", MS_PRIVATE, "rprivate", MS_PRIVATE | MS_REC,
            "shared", MS_SHARED, "rshared", MS_SHARED | MS_REC,
            "slave", MS_SLAVE, "rslave", MS_SLAVE | MS_REC,
            "unbindable", MS_UNBINDABLE, "runbindable", MS_UNBINDABLE | MS_REC);

    public static MountOptions parse(String type, List<String> options) {
        long flags = 0, clear = 0, propagation = 0;
        boolean bind = "bind".equals(type) || "rbind".equals(type), recursive = "rbind".equals(type);
        List<String> data = new ArrayList<>();
        boolean copyUp = false;
        for (String o : options) {
            long[] f = FLAGS.get(o);
            if (f != null) {
                flags = (flags & ~f[1]) | f[0];
                clear = (clear & ~f[0]) | f[1];
            } else if (PROPAGATION.containsKey(o)) {
                propagation = PROPAGATION.get(o);
            } else if (o.equals("bind")) {
                bind = true;
            } else if (o.equals("rbind")) {
                bind = true;
                recursive = true;
            } else if (o.equals("tmpcopyup")) {
                copyUp = true;
            } else {
                data.add(o);
            }
        }
        return new MountOptions(flags, clear, propagation, bind, recursive, String.join(",", data), copyUp);
    }

    /** Rootfs propagation names (linux.rootfsPropagation) to flags; null for an unknown name. */
    public static Long propagation(String name) {
        return PROPAGATION.get(name);
    }
}
