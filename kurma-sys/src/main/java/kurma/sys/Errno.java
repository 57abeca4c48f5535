package kurma.sys;

/**
 * Linux errno numbers with their names and glibc's messages, kept in Java so that turning a
 * stage2 failure into a sentence costs no native call.
 */
public final class Errno {
    private Errno() {}

    public static final int EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, EBADF = 9, ECHILD = 10,
            EAGAIN = 11, ENOMEM = 12, EACCES = 13, EBUSY = 16, EEXIST = 17, EXDEV = 18, ENOTDIR = 20,
            EISDIR = 21, EINVAL = 22, ENOSPC = 28, EROFS = 30, EPIPE = 32, ENAMETOOLONG = 36,
            ENOTEMPTY = 39, ELOOP = 40, ETIMEDOUT = 110, ECANCELED = 125;

    private static final String[][] TABLE = {
        {null, null},
        {"EPERM", "Operation not permitted"}, {"ENOENT", "No such file or directory"}, {"ESRCH", "No such process"},
        {"EINTR", "Interrupted system call"}, {"EIO", "Input/output error"}, {"ENXIO", "No such device or address"},
        {"E2BIG", "Argument list too long"}, {"ENOEXEC", "Exec format error"}, {"EBADF", "Bad file descriptor"},
        {"ECHILD", "No child processes"}, {"EAGAIN", "Resource temporarily unavailable"},
        {"ENOMEM", "Cannot allocate memory"}, {"EACCES", "Permission denied"}, {"EFAULT", "Bad address"},
        {"ENOTBLK", "Block device required"}, {"EBUSY", "Device or resource busy"}, {"EEXIST", "File exists"},
        {"EXDEV", "Invalid cross-device link"}, {"ENODEV", "No such device"}, {"ENOTDIR", "Not a directory"},
        {"EISDIR", "Is a directory"}, {"EINVAL", "Invalid argument"}, {"ENFILE", "Too many open files in system"},
        {"EMFILE", "Too many open files"}, {"ENOTTY", "Inappropriate ioctl for device"},
        {"ETXTBSY", "Text file busy"}, {"EFBIG", "File too large"}, {"ENOSPC", "No space left on device"},
        {"ESPIPE", "Illegal seek"}, {"EROFS", "Read-only file system"}, {"EMLINK", "Too many links"},
        {"EPIPE", "Broken pipe"}, {"EDOM", "Numerical argument out of domain"},
        {"ERANGE", "Numerical result out of range"}, {"EDEADLK", "Resource deadlock avoided"},
        {"ENAMETOOLONG", "File name too long"}, {"ENOLCK", "No locks available"},
        {"ENOSYS", "Function not implemented"}, {"ENOTEMPTY", "Directory not empty"},
        {"ELOOP", "Too many levels of symbolic links"},
    };

    /** "ENOENT" for 2; "errno 95" style for numbers this table does not name. */
    public static String name(int errno) {
        if (errno > 0 && errno < TABLE.length) return TABLE[errno][0];
        return switch (errno) {
            case 95 -> "EOPNOTSUPP";
            case 110 -> "ETIMEDOUT";
            case 111 -> "ECONNREFUSED";
            case 125 -> "ECANCELED";
            default -> "errno " + errno;
        };
    }

    /** glibc's text for errno, e.g. "No such file or directory". */
    public static String describe(int errno) {
        if (errno > 0 && errno < TABLE.length) return TABLE[errno][1];
        return switch (errno) {
            case 95 -> "Operation not supported";
            case 110 -> "Connection timed out";
            case 111 -> "Connection refused";
            case 125 -> "Operation canceled";
            default -> "Unknown error " + errno;
        };
    }
}
