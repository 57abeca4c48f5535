package kurma.runtime.cli;

/** The command line itself is wrong: unknown flag, missing argument. */
final class UsageException extends RuntimeException {
    UsageException(String message) {
        super(message);
    }
}
