package kurma.sys;

/** A system call failed: names the call, what it was applied to, and the errno. */
public final class SysException extends RuntimeException {
    private final int errno;

    public SysException(String call, int errno) {
        super(call + ": " + Errno.describe(errno) + " (" + Errno.name(errno) + ")");
        this.errno = errno;
    }

    public int errno() {
        return errno;
    }
}
