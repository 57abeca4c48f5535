package kurma.runtime;

import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.util.ArrayDeque;

/**
 * The stage2 processes the launcher started for this JVM, each handed out once:
 * {@code -Dkurma.stage2.spawned=PID:MESSAGE_FD:PLAN_FD[,...]}, the fds being this process's
 * ends of the message and plan pipes.
 */
public final class Stage2Spares {
    private final ArrayDeque<long[]> left = new ArrayDeque<>();

    private Stage2Spares() {}

    public static Stage2Spares none() {
        return new Stage2Spares();
    }

    /** The ones named by the system property (none when it is not set). */
    public static Stage2Spares fromLauncher() {
        Stage2Spares s = new Stage2Spares();
        String spec = System.getProperty("kurma.stage2.spawned");
        if (spec == null || spec.isEmpty()) return s;
        for (String one : spec.split(",", -1)) {
            String[] f = one.split(":");
            if (f.length != 3) throw new KurmaException("kurma.stage2.spawned: malformed entry \"" + one + "\"");
            try {
                s.left.add(new long[] {Long.parseLong(f[0]), Integer.parseInt(f[1]), Integer.parseInt(f[2])});
            } catch (NumberFormatException e) {
                throw new KurmaException("kurma.stage2.spawned: malformed entry \"" + one + "\"");
            }
        }
        return s;
    }

    /** The next unused stage2, to give the container preserveFds fds at 3.., or null. */
    Stage2 take(int preserveFds) {
        long[] e = left.poll();
        if (e == null) return null;
        return new Stage2(e[0], new FileInputStream(adopt((int) e[1])),
                new FileOutputStream(adopt((int) e[2])), preserveFds);
    }

    /**
     * An inherited fd as a FileDescriptor. The JDK has no public way to do this, and a
     * native call would cost a binding; its own accessor (exported to us by the launcher's
     * --add-exports) is one method call.
     */
    private static FileDescriptor adopt(int fd) {
        FileDescriptor d = new FileDescriptor();
        jdk.internal.access.SharedSecrets.getJavaIOFileDescriptorAccess().set(d, fd);
        return d;
    }
}
