package kurma.runtime;

import java.io.IOException;
import java.nio.file.Path;

import kurma.sys.Errno;

/**
 * The rootfs bind a container without a mount namespace of its own makes in ours (as runc does):
 * found by the id of the mount on top at the rootfs, detached with everything below it.
 */
final class HostMounts {
    private HostMounts() {}

    /** The id of the mount on top at path in our mount namespace, -1 for none. */
    static long topMountId(Path path) {
        try {
            return kurma.sys.ProcFs.topMountId(path.toString());
        } catch (IOException e) {
            throw new KurmaException(KurmaException.Code.SYSTEM_ERROR, "reading /proc/self/mountinfo: " + e.getMessage(), e);
        }
    }

    /** Detaches the mount id at rootfs, with every mount below it, if it is still the one on top there. */
    static void detach(String rootfs, long id) {
        if (topMountId(Path.of(rootfs)) != id) return;
        int r = kurma.sys.Fs.umount2(rootfs, kurma.sys.Fs.MNT_DETACH);
        if (r < 0 && r != -Errno.EINVAL) {
            throw new KurmaException(KurmaException.Code.SYSTEM_ERROR, "unmounting " + kurma.spec.Quote.cut(rootfs) + ": "
                    + Errno.describe(-r) + " (" + Errno.name(-r) + ")", null, -r, null);
        }
    }
}
