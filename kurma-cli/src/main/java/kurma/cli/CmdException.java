package kurma.cli;

/** A failure to report to the user as one line (exit status 125, as docker). */
final class CmdException extends RuntimeException {
    CmdException(String message) {
        super(message);
    }
}
