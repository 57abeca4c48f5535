package kurma.runtime.plan;

/**
 * The primitive operations stage2 performs, each with its code and argument signature as
 * stage2/src/protocol.h defines them (ProtocolTest fails on any difference, and on one with
 * stage2/PLAN.md, which says what each op does). Java decides which of these run, in what
 * order, with which arguments; {@link Plan#add} checks the arguments against the signature.
 */
public enum Op {
    WRITE_FILE(1, "ss"),
    SETNS(2, "sw"),
    UNSHARE(3, "w"),
    FORK(4, "uu"),
    SETSID(5, ""),
    OPEN_ROOT(6, "s"),
    MKDIR_IN_ROOT(7, "sw"),
    MKFILE_IN_ROOT(8, "sw"),
    MOUNT(9, "sssus"),
    MOUNT_IN_ROOT(10, "sssus"),
    MKNOD_IN_ROOT(11, "swuww"),
    SYMLINK_IN_ROOT(12, "ss"),
    PIVOT_ROOT(13, "s"),
    MOVE_ROOT(14, "s"),
    MASK(15, "s"),
    READONLY(16, "s"),
    SETHOSTNAME(17, "s"),
    SETDOMAINNAME(18, "s"),
    SETRLIMIT(19, "wuu"),
    OPEN_STATE_DIR(20, "s"),
    READY(21, ""),
    WAIT_START(22, "s"),
    CHDIR(23, "s"),
    UMASK(24, "w"),
    SETGROUPS(25, "w*"),
    SETGID(26, "w"),
    SETUID(27, "w"),
    NO_NEW_PRIVS(28, ""),
    CAP_BOUNDING(29, "uu"),
    KEEPCAPS(30, "u"),
    CAPSET(31, "uuu"),
    CAP_AMBIENT(32, "uu"),
    FIND_EXEC(33, "ss"),
    EXEC(34, "us*"),
    OOM_SCORE_ADJ(35, "s"),
    MKFIFO_AT_STATE(36, "sw"),
    OPEN_CGROUP(37, "s"),
    SYNC(38, "u"),
    RUN_HOOK(39, "suus*"),
    SECCOMP(40, "bw"),
    CONSOLE_SOCKET(41, "s"),
    CONSOLE(42, "wws"),
    STDIO(43, "ss"),
    EXIT_COMMAND(44, "suus*"),
    LINK_UP(45, "s"),
    MOUNT_COPY_UP(46, "sssus"),
    CHROOT(47, "s"),
    PRIVATE_PARENT(48, "s");

    public final int code;

    /**
     * One letter per argument: 's' string, 'b' bytes, 'u' u64, 'w' u64 that must fit in 32
     * bits; a trailing '*' lets the letter before it repeat zero or more times.
     */
    public final String signature;

    /** How many arguments the signature fixes, and the letter that may follow them again (0: none). */
    final int fixed;
    final char repeat;

    Op(int code, String signature) {
        this.code = code;
        this.signature = signature;
        int n = signature.length();
        boolean repeats = n >= 2 && signature.charAt(n - 1) == '*';
        this.fixed = repeats ? n - 2 : n;
        this.repeat = repeats ? signature.charAt(n - 2) : 0;
    }
}
