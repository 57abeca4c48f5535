package kurma.runtime.plan;

/**
 * The types of stage2's 16-byte messages (i32 type, op_index, errno, value), as
 * stage2/src/protocol.h defines them; ProtocolTest fails if these differ from it or from
 * stage2/PLAN.md. Constant ints rather than an enum: the reader switches on the type it read off
 * the pipe, and javac inlines them, so this class is never even loaded.
 */
public final class Message {
    /** FORK's parent: value = the child's pid. */
    public static final int PID = 1;
    /** The READY op. */
    public static final int READY = 2;
    /** Op op_index failed with errno (RUN_HOOK: value = the hook's raw wait status); stage2 exits. */
    public static final int ERROR = 3;
    /** A FORK parent that waits: value = the child's raw wait status. */
    public static final int EXIT = 4;
    /** The SYNC op: value = the point; stage2 waits for an answer on the plan pipe. */
    public static final int SYNC = 5;

    private Message() {}
}
