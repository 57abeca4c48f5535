package kurma.runtime;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import kurma.runtime.KurmaException.Code;
import kurma.spec.ConfigException;
import kurma.spec.Spec;

/** What the host lets a container's process have. */
final class Capabilities {
    private Capabilities() {}

    /**
     * Refuses a process that is to hold a capability outside this runtime's own bounding set
     * (e.g. CAP_SYS_RESOURCE on a host whose bounding set lacks it, as with Docker's
     * --privileged): no process here can get it. runc fails create the same way ("unable to
     * apply caps"); kurma sets capabilities after start, where a failure can no longer be
     * reported and the container would just exit 1. In a new (or another) user namespace the
     * process gets a full bounding set there, so nothing is checked.
     */
    static void checkAttainable(Spec.Process p, boolean ownUserNamespace, String prefix) {
        if (p == null || p.capabilities() == null || ownUserNamespace) return;
        long bounding;
        try {
            bounding = boundingSet(kurma.sys.ProcFs.read(Path.of("/proc/self/status")));
        } catch (IOException | NumberFormatException e) {
            return; // not knowable: stage2 will meet the kernel's answer
        }
        Spec.Capabilities c = p.capabilities();
        int last = lastCap();
        String[] sets = {"effective", "permitted", "inheritable", "ambient"};
        List<List<String>> names = Arrays.asList(c.effective(), c.permitted(), c.inheritable(), c.ambient());
        for (int i = 0; i < sets.length; i++) {
            if (names.get(i) == null) continue;
            String field = "process.capabilities." + sets[i];
            long missing;
            try {
                missing = kurma.runtime.plan.Linux.capMask(names.get(i), last, field) & ~bounding;
            } catch (ConfigException e) {
                throw new KurmaException(Code.INVALID_CONFIG, prefix + e.getMessage(), e);
            }
            if (missing != 0) {
                String cap = kurma.runtime.plan.Linux.CAPABILITIES.get(Long.numberOfTrailingZeros(missing));
                throw new KurmaException(Code.UNSUPPORTED, prefix + field + ": " + cap
                        + " is not in this host's capability bounding set, so no process here can have it");
            }
        }
    }

    /** The CapBnd mask of a /proc/PID/status text. */
    static long boundingSet(String status) {
        for (String line : status.split("\n")) {
            if (line.startsWith("CapBnd:")) return Long.parseUnsignedLong(line.substring(7).strip(), 16);
        }
        throw new NumberFormatException("no CapBnd line");
    }

    static int lastCap() {
        try {
            return Integer.parseInt(kurma.sys.ProcFs.read(Path.of("/proc/sys/kernel/cap_last_cap")).trim());
        } catch (IOException | NumberFormatException e) {
            return 40;
        }
    }
}
