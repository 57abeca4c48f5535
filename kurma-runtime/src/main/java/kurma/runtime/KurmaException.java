package kurma.runtime;

/**
 * A runtime operation failed for a reason the user can act on. The message is one line that
 * names the cause; the CLI prints it as is (or as a JSON log record) and exits non-zero.
 */
public final class KurmaException extends RuntimeException {
    public KurmaException(String message) {
        super(message);
    }

    public KurmaException(String message, Throwable cause) {
        super(message, cause);
    }
}
