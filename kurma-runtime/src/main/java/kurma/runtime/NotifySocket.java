package kurma.runtime;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import kurma.sys.Libc;
import kurma.sys.SysException;

/**
 * NOTIFY_SOCKET (sd_notify), as runc does it. When the caller has a NOTIFY_SOCKET (the runtime
 * CLI started by systemd or podman --sdnotify=container), the container gets a socket of its own instead
 * of the caller's: a directory in the state dir is bind-mounted read-only on /run/notify and
 * the process's NOTIFY_SOCKET names /run/notify/notify.sock. {@code start} binds that socket,
 * relays every message from the container to the caller's socket, and once the container says
 * READY=1 adds MAINPID (the init's host pid) and returns.
 */
final class NotifySocket implements AutoCloseable {
    static final String CONTAINER_DIR = "/run/notify";
    static final String CONTAINER_PATH = CONTAINER_DIR + "/notify.sock";

    private final int fd;
    private final String host;

    private NotifySocket(int fd, String host) {
        this.fd = fd;
        this.host = host;
    }

    /** The directory shared with the container, in its state dir. */
    static Path dir(Path stateDir) {
        return stateDir.resolve("notify");
    }

    /**
     * Binds the container's socket (replacing a stale one), to relay to the caller's socket
     * host; null if the container has none.
     */
    static NotifySocket bind(Path stateDir, String host) {
        Path dir = dir(stateDir);
        if (!Files.isDirectory(dir)) return null;
        Path sock = dir.resolve("notify.sock");
        try {
            Files.deleteIfExists(sock);
            int fd = Libc.unixDatagram(sock.toString()); // a path too long for sun_path is bound through its directory
            // Any user in the container may notify, as with runc.
            Files.setPosixFilePermissions(sock, PosixFilePermissions.fromString("rwxrwxrwx"));
            return new NotifySocket(fd, host);
        } catch (IOException | SysException e) {
            throw new KurmaException(KurmaException.Code.SYSTEM_ERROR, "NOTIFY_SOCKET: cannot make " + sock + ": " + e.getMessage(), e);
        }
    }

    /**
     * Relays messages until the container says READY=1 (then sends MAINPID=pid) or its init
     * is gone. Returns true if it became ready.
     */
    boolean relayUntilReady(int pid, long pidStartTime) {
        while (ProcStat.alive(pid, pidStartTime)) {
            byte[] msg = Libc.receive(fd, 100);
            if (msg == null) continue;
            forward(msg);
            String text = new String(msg, StandardCharsets.UTF_8);
            for (String line : text.split("\n")) {
                if (line.equals("READY=1")) {
                    forward(("MAINPID=" + pid).getBytes(StandardCharsets.UTF_8));
                    return true;
                }
            }
        }
        return false;
    }

    private void forward(byte[] msg) {
        int out = Libc.unixDatagram(null);
        try {
            int err = Libc.sendTo(out, msg, host);
            if (err != 0) throw new KurmaException(KurmaException.Code.SYSTEM_ERROR, "NOTIFY_SOCKET: cannot send to " + host + ": " + kurma.sys.Errno.describe(err));
        } finally {
            Libc.close(out);
        }
    }

    @Override
    public void close() {
        Libc.close(fd);
    }
}
