package kurma.sys;

/** Linux (x86_64/aarch64 generic) errno numbers: their symbolic names, for error messages. */
public final class Errno {
    private Errno() {}

    public static final int EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, EBADF = 9, ECHILD = 10,
            EAGAIN = 11, ENOMEM = 12, EACCES = 13, EBUSY = 16, EEXIST = 17, EXDEV = 18, ENOTDIR = 20,
            EISDIR = 21, EINVAL = 22, ENOSPC = 28, EROFS = 30, EPIPE = 32, ENAMETOOLONG = 36,
            ENOTEMPTY = 39, ELOOP = 40;

    private static final String[] NAMES = {
        null, "EPERM", "ENOENT", "ESRCH", "EINTR", "EIO", "ENXIO", "E2BIG", "ENOEXEC", "EBADF", "ECHILD",
        "EAGAIN", "ENOMEM", "EACCES", "EFAULT", "ENOTBLK", "EBUSY", "EEXIST", "EXDEV", "ENODEV", "ENOTDIR",
        "EISDIR", "EINVAL", "ENFILE", "EMFILE", "ENOTTY", "ETXTBSY", "EFBIG", "ENOSPC", "ESPIPE", "EROFS",
        "EMLINK", "EPIPE", "EDOM", "ERANGE", "EDEADLK", "ENAMETOOLONG", "ENOLCK", "ENOSYS", "ENOTEMPTY",
        "ELOOP"
    };

    /** "ENOENT" for 2; "errno 95" for numbers this table does not name. */
    public static String name(int errno) {
        if (errno > 0 && errno < NAMES.length) return NAMES[errno];
        return switch (errno) {
            case 95 -> "EOPNOTSUPP";
            case 110 -> "ETIMEDOUT";
            case 111 -> "ECONNREFUSED";
            default -> "errno " + errno;
        };
    }

    /** The C library's text for errno, e.g. "No such file or directory". */
    public static String describe(int errno) {
        return Libc.strerror(errno);
    }
}
