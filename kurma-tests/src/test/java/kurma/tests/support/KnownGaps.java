package kurma.tests.support;

import org.junit.jupiter.api.Assumptions;

/**
 * What kurma cannot do yet that the tests already check, each with its cause and where the
 * fix goes. A check that fails on kurma for one of these reasons is skipped there, but only
 * when its failure shows exactly that gap's symptom, with a message naming the gap: any other
 * failure still fails, and once the gap is closed the check runs in full. Other runtimes are
 * never skipped. Delete a constant when its gap is closed.
 */
public final class KnownGaps {
    private KnownGaps() {}

    /** Skips the calling test if the runtime under test is kurma and {@code symptomSeen}. */
    public static void skipOnKurmaIf(boolean symptomSeen, String gap) {
        if (symptomSeen && TestConfig.isKurma()) Assumptions.abort("skipped on kurma, known gap: " + gap);
    }

    public static final String TERMINALS = "terminals (process.terminal, create --console-socket, exec --tty) are"
            + " not implemented in kurma-runtime yet";

    public static final String DEVICE_MODE = "device nodes are created 0644, not 0666: stage2 makes them with"
            + " mknodat() under the umask it inherited (022), so a process that is not root cannot write /dev/null;"
            + " MKNOD_IN_ROOT needs umask(0) around mknodat, as runc has (a fix in stage2.c)";

    public static final String MISSING_PROGRAM_TEXT = "a missing program is reported as 'find program \"X\" in the"
            + " container: No such file or directory (ENOENT)'; Docker (CLI and dockerd) answers 127 only when the"
            + " runtime's error has runc's lowercase 'no such file or directory' or 'executable file not found'"
            + " (126 for 'permission denied'), so it answers 125: Stage2.java should word a FIND_EXEC failure as"
            + " runc does ('exec: \"X\": stat X: no such file or directory')";

    public static final String TMPCOPYUP = "a tmpfs mount with \"tmpcopyup\" starts empty: kurma accepts the option"
            + " (MountOptions.copyUp()) but does not copy the rootfs's files at the destination into the tmpfs yet;"
            + " PlanCompiler should mount such a tmpfs on a staging directory, copy the destination's tree into it"
            + " and move it onto the destination, as runc does (stage2 needs a copy step)";
}
