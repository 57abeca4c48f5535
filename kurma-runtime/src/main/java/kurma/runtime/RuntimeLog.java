package kurma.runtime;

/**
 * Where the runtime writes what is not an error: --debug detail (the launch plan, step by
 * step) and warnings (a poststart or poststop hook that failed, which must not fail the command).
 */
public interface RuntimeLog {
    void debug(String message);

    void warn(String message);

    /** Warnings to stderr, no debug: for library users who give no log. */
    RuntimeLog STDERR = new RuntimeLog() {
        @Override
        public void debug(String message) {
            // not asked for
        }

        @Override
        public void warn(String message) {
            System.err.println("warning: " + message);
        }
    };
}
