package kurma.runtime.plan;

/**
 * The primitive operations stage2 performs, with the codes of stage2/PLAN.md (the contract;
 * keep both in step). Java decides which of these run, in what order, with which arguments.
 */
public enum Op {
    WRITE_FILE(1),
    SETNS(2),
    UNSHARE(3),
    FORK(4),
    SETSID(5),
    OPEN_ROOT(6),
    MKDIR_IN_ROOT(7),
    MKFILE_IN_ROOT(8),
    MOUNT(9),
    MOUNT_IN_ROOT(10),
    MKNOD_IN_ROOT(11),
    SYMLINK_IN_ROOT(12),
    PIVOT_ROOT(13),
    MOVE_ROOT(14),
    MASK(15),
    READONLY(16),
    SETHOSTNAME(17),
    SETDOMAINNAME(18),
    SETRLIMIT(19),
    OPEN_STATE_DIR(20),
    READY(21),
    WAIT_START(22),
    CHDIR(23),
    UMASK(24),
    SETGROUPS(25),
    SETGID(26),
    SETUID(27),
    NO_NEW_PRIVS(28),
    CAP_BOUNDING(29),
    KEEPCAPS(30),
    CAPSET(31),
    CAP_AMBIENT(32),
    FIND_EXEC(33),
    EXEC(34),
    OOM_SCORE_ADJ(35),
    MKFIFO_AT_STATE(36),
    OPEN_CGROUP(37),
    SYNC(38),
    RUN_HOOK(39),
    SECCOMP(40),
    CONSOLE_SOCKET(41),
    CONSOLE(42),
    STDIO(43),
    EXIT_COMMAND(44),
    LINK_UP(45),
    MOUNT_COPY_UP(46),
    CHROOT(47),
    PRIVATE_PARENT(48);

    public final int code;

    Op(int code) {
        this.code = code;
    }
}
