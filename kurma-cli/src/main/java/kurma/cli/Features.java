package kurma.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import kurma.cgroups.CgroupHost;
import kurma.runtime.ContainerState;
import kurma.runtime.plan.Linux;

/**
 * The OCI "features" document: what this build and host support, and nothing more. Grows
 * with each capability that is actually implemented (seccomp and user namespaces are not
 * yet, so they are not listed).
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
        for (String n : List.of("cgroup", "ipc", "mount", "network", "pid", "time", "uts")) ns.add(n);
        linux.put("namespaces", ns);
        linux.put("capabilities", new ArrayList<Object>(Linux.CAPABILITIES));
        Map<String, Object> cg = new LinkedHashMap<>();
        CgroupHost.Mode mode = CgroupHost.detect().mode();
        cg.put("v1", mode != CgroupHost.Mode.V2);
        cg.put("v2", mode != CgroupHost.Mode.V1);
        cg.put("systemd", false);
        cg.put("systemdUser", false);
        linux.put("cgroup", cg);
        linux.put("seccomp", Map.of("enabled", false));
        linux.put("apparmor", Map.of("enabled", false));
        linux.put("selinux", Map.of("enabled", false));
        f.put("linux", linux);
        f.put("annotations", Map.of("io.kurma.version", "0.1.0"));
        return f;
    }
}
