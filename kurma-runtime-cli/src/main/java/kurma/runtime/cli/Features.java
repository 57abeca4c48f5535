package kurma.runtime.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import kurma.cgroups.CgroupHost;
import kurma.runtime.ContainerState;
import kurma.runtime.plan.Linux;

/**
 * The OCI "features" document: what this build and host support, and nothing more. Grows
 * with each capability that is actually implemented.
 */
final class Features {
    private Features() {}

    static Map<String, Object> describe() {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("ociVersionMin", "1.0.0");
        f.put("ociVersionMax", ContainerState.OCI_VERSION);
        f.put("hooks", new ArrayList<Object>(List.of("prestart", "createRuntime", "createContainer", "startContainer",
                "poststart", "poststop")));
        f.put("mountOptions", new ArrayList<Object>(List.of("async", "atime", "bind", "defaults", "dev", "diratime",
                "dirsync", "exec", "lazytime", "loud", "mand", "noatime", "nodev", "nodiratime", "noexec", "nolazytime",
                "nomand", "norelatime", "nostrictatime", "nosuid", "private", "rbind", "relatime", "ro", "rprivate",
                "rshared", "rslave", "runbindable", "rw", "shared", "silent", "slave", "strictatime", "suid", "sync",
                "unbindable")));
        Map<String, Object> linux = new LinkedHashMap<>();
        List<Object> ns = new ArrayList<>();
        for (String n : List.of("cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts")) ns.add(n);
        linux.put("namespaces", ns);
        linux.put("capabilities", new ArrayList<Object>(Linux.CAPABILITIES));
        Map<String, Object> cg = new LinkedHashMap<>();
        CgroupHost.Mode mode = CgroupHost.detect().mode();
        cg.put("v1", mode != CgroupHost.Mode.V2);
        cg.put("v2", mode != CgroupHost.Mode.V1);
        cg.put("systemd", false);
        cg.put("systemdUser", false);
        linux.put("cgroup", cg);
        Map<String, Object> seccomp = new LinkedHashMap<>();
        seccomp.put("enabled", true);
        seccomp.put("actions", new ArrayList<Object>(List.of("SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL",
                "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP")));
        seccomp.put("operators", new ArrayList<Object>(List.of("SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE",
                "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE")));
        seccomp.put("archs", new ArrayList<Object>(List.of("SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", "SCMP_ARCH_X32",
                "SCMP_ARCH_X86", "SCMP_ARCH_X86_64")));
        seccomp.put("knownFlags", new ArrayList<Object>(List.of("SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV")));
        seccomp.put("supportedFlags", seccomp.get("knownFlags"));
        linux.put("seccomp", seccomp);
        linux.put("apparmor", Map.of("enabled", false));
        linux.put("selinux", Map.of("enabled", false));
        f.put("linux", linux);
        f.put("annotations", Map.of("io.kurma.version", "0.1.0"));
        return f;
    }
}
