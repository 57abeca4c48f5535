package kurma.cli;

/** A command line that does not make sense: printed as one line, exit status 125 (as docker). */
final class UsageException extends RuntimeException {
    UsageException(String message) {
        super(message);
    }
}
