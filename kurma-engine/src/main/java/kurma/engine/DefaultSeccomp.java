package kurma.engine;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The seccomp profile a container from an image gets unless told otherwise: everything is
 * allowed except the system calls Docker's default profile keeps from a container without
 * CAP_SYS_ADMIN and friends (kernel modules, keyrings, mounts, namespaces, kexec, bpf, perf,
 * ptrace of others, clock and swap changes...), which fail with EPERM. Docker's profile is an
 * allow-list; this is the same intent written as a deny-list of our own, so that a system call
 * newer than the list still works. clone3 fails with ENOSYS (its flags live in memory a filter
 * cannot read), so libc falls back to clone, whose namespace flags are checked.
 */
final class DefaultSeccomp {
    private DefaultSeccomp() {}

    static final List<String> DENIED = List.of("acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "create_module",
            "delete_module", "finit_module", "fsconfig", "fsmount", "fsopen", "fspick", "get_kernel_syms", "get_mempolicy",
            "init_module", "ioperm", "iopl", "kcmp", "kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie", "mbind",
            "mount", "mount_setattr", "move_mount", "move_pages", "name_to_handle_at", "nfsservctl", "open_by_handle_at",
            "open_tree", "perf_event_open", "pivot_root", "process_vm_readv", "process_vm_writev", "ptrace", "query_module",
            "quotactl", "quotactl_fd", "reboot", "request_key", "set_mempolicy", "setns", "settimeofday", "stime", "swapoff",
            "swapon", "sysfs", "_sysctl", "umount", "umount2", "unshare", "uselib", "userfaultfd", "ustat", "vm86", "vm86old");

    /** CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET: clone may not make namespaces. */
    private static final long[] CLONE_NAMESPACE_FLAGS = {0x20000, 0x2000000, 0x4000000, 0x8000000, 0x10000000, 0x20000000,
        0x40000000};

    /**
     * The profile as config.json's linux.seccomp, for a host of {@code architecture} (in the
     * image platform's names: amd64, arm64): the filter covers the host's native calls and the
     * compat ones its kernel also takes, so that 32-bit programs run too, under the same rules.
     */
    static Map<String, Object> profile(String architecture) {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("defaultAction", "SCMP_ACT_ALLOW");
        p.put("architectures", new ArrayList<Object>("arm64".equals(architecture)
                ? List.of("SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM") : List.of("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32")));
        List<Object> rules = new ArrayList<>();
        rules.add(rule(DENIED, 1, null));
        rules.add(rule(List.of("clone3"), 38, null));
        for (long flag : CLONE_NAMESPACE_FLAGS) {
            Map<String, Object> arg = new LinkedHashMap<>();
            arg.put("index", 0L);
            arg.put("value", flag);
            arg.put("valueTwo", flag);
            arg.put("op", "SCMP_CMP_MASKED_EQ");
            rules.add(rule(List.of("clone"), 1, arg));
        }
        p.put("syscalls", rules);
        return p;
    }

    private static Map<String, Object> rule(List<String> names, long errno, Map<String, Object> arg) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("names", new ArrayList<Object>(names));
        r.put("action", "SCMP_ACT_ERRNO");
        r.put("errnoRet", errno);
        if (arg != null) r.put("args", new ArrayList<Object>(List.of(arg)));
        return r;
    }
}
