package kurma.runtime.plan;

import java.util.List;
import java.util.Map;

import kurma.spec.ConfigException;

/** Linux constants the planner needs by name: namespaces, capabilities, rlimits. */
public final class Linux {
    private Linux() {}

    public static final long CLONE_NEWTIME = 0x80, CLONE_PARENT = 0x8000, CLONE_NEWNS = 0x20000,
            CLONE_NEWCGROUP = 0x02000000, CLONE_NEWUTS = 0x04000000, CLONE_NEWIPC = 0x08000000,
            CLONE_NEWUSER = 0x10000000, CLONE_NEWPID = 0x20000000, CLONE_NEWNET = 0x40000000;

    /** OCI namespace type → clone flag. */
    public static final Map<String, Long> NAMESPACES = Map.of(
            "pid", CLONE_NEWPID, "network", CLONE_NEWNET, "mount", CLONE_NEWNS, "ipc", CLONE_NEWIPC,
            "uts", CLONE_NEWUTS, "user", CLONE_NEWUSER, "cgroup", CLONE_NEWCGROUP, "time", CLONE_NEWTIME);

    /** Capability names in kernel order: the index is the capability number. */
    public static final List<String> CAPABILITIES = List.of(
            "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
            "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
            "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
            "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
            "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
            "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
            "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
            "CAP_CHECKPOINT_RESTORE");

    /**
     * A capability set as a bit mask. Unknown names are an error; names the running kernel
     * does not have (number above lastCap) are left out, as runc does.
     */
    public static long capMask(List<String> names, int lastCap, String field) {
        long mask = 0;
        for (String n : names) {
            String name = n.startsWith("CAP_") ? n : "CAP_" + n;
            int bit = CAPABILITIES.indexOf(name.toUpperCase(java.util.Locale.ROOT));
            if (bit < 0) throw new ConfigException(field + ": unknown capability \"" + n + "\"");
            if (bit <= lastCap) mask |= 1L << bit;
        }
        return mask;
    }

    public static final List<String> RLIMITS = List.of(
            "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE", "RLIMIT_RSS",
            "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS", "RLIMIT_SIGPENDING",
            "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME");
}
