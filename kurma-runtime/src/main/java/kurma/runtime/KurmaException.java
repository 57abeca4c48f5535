package kurma.runtime;

/**
 * A runtime operation failed for a reason the caller can act on. The message is one line that
 * names the cause (a CLI prints it as is); {@link #code()} says what kind of failure it is, so
 * that no caller has to read the message: a CLI maps it to an exit code, a daemon to an API
 * status. A failure in a step of a launch plan also carries that step and the errno stage2
 * reported.
 */
public final class KurmaException extends RuntimeException {
    /** What kind of failure: stable, for callers to branch on. */
    public enum Code {
        /** No container (or other object) of that id. */
        NOT_FOUND,
        /** The id is taken. */
        ALREADY_EXISTS,
        /** config.json (or an exec process) is malformed or asks for something impossible. */
        INVALID_CONFIG,
        /** An argument of the call is wrong (an id, an option, a file given on the command line). */
        INVALID_ARGUMENT,
        /** The container is not in a state that allows the operation (start of a running one...). */
        WRONG_STATE,
        /** The container's process has exited (runc's "container not running", which engines match). */
        NOT_RUNNING,
        /** The program to run does not exist in the container (Docker's exit code 127). */
        PROGRAM_NOT_FOUND,
        /** The program exists but cannot be executed (Docker's exit code 126). */
        NOT_EXECUTABLE,
        /** The kernel refused for lack of a privilege. */
        PERMISSION_DENIED,
        /** This host (kernel, cgroup setup) or this runtime lacks what the config asks for. */
        UNSUPPORTED,
        /** A lifecycle hook failed or timed out. */
        HOOK_FAILED,
        /** A system call or file operation failed. */
        SYSTEM_ERROR,
        /** A bug of Kurma's. */
        INTERNAL
    }

    private final Code code;
    private final String step;
    private final int errno;

    public KurmaException(Code code, String message) {
        this(code, message, null, 0, null);
    }

    public KurmaException(Code code, String message, Throwable cause) {
        this(code, message, null, 0, cause);
    }

    /** A failed step of a launch plan: its description and the errno stage2 reported. */
    public KurmaException(Code code, String message, String step, int errno, Throwable cause) {
        super(message, cause);
        this.code = code;
        this.step = step;
        this.errno = errno;
    }

    public Code code() {
        return code;
    }

    /** The launch plan step that failed, or null. */
    public String step() {
        return step;
    }

    /** The errno of the failed step or call, or 0. */
    public int errno() {
        return errno;
    }
}
