package kurma.runtime;

/** Where the runtime writes --debug detail (the launch plan, step by step). */
public interface DebugLog {
    void debug(String message);
}
