package kurma.engine;

/**
 * An engine operation failed. The message is one line naming the cause, worded for whoever
 * asked (a command line prints it after its own name, a daemon returns it); the code says
 * what kind of failure it is, so that a caller maps it to its own exit codes or HTTP statuses
 * without reading the message.
 */
public final class EngineException extends RuntimeException {
    public enum Code {
        /** No container by that id, id prefix or name. */
        NOT_FOUND,
        /** The image is not in the store (a caller may pull it and try again). */
        IMAGE_NOT_FOUND,
        /** The container name is taken. */
        ALREADY_EXISTS,
        /** The options do not make sense: a bad name, path, user, limit, an ambiguous id... */
        INVALID_ARGUMENT,
        /** The container's state does not allow it (removing a running one without force). */
        CONFLICT,
        /** The image store or a layer failed (other than a missing image). */
        IMAGE,
        /** The program to run is not in the container (Docker's exit code 127). */
        PROGRAM_NOT_FOUND,
        /** The program is there but cannot be run (Docker's exit code 126). */
        NOT_EXECUTABLE,
        /** The runtime refused or failed otherwise (the message is the runtime's). */
        RUNTIME,
        /** Reading or writing the container's files failed. */
        IO
    }

    private final Code code;

    public EngineException(Code code, String message) {
        super(message);
        this.code = code;
    }

    public EngineException(Code code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    public Code code() {
        return code;
    }
}
