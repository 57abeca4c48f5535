/*
 * The launch plan's contract between Java (kurma-runtime's planner) and C (stage2), defined
 * once: the plan header's magic and version, each op's code and argument signature, and the
 * types of stage2's messages. stage2.c builds its op enum and signature table from here,
 * test/driver.c its plans; kurma-runtime's ProtocolTest reads this file and fails if Op,
 * Message, Plan or ../PLAN.md (which says what each op does) differ from it.
 *
 * Signature letters: 's' string (no NUL inside), 'b' bytes (NUL allowed), 'u' u64, 'w' u64
 * that must fit in 32 bits (the kernel takes it as an int, uid_t, gid_t or mode_t: reject
 * rather than truncate). A trailing '*' lets the letter before it repeat zero or more times.
 *
 * The tables are X-macros: a file defines X(...) to expand each row as it needs. Keep the ops
 * in code order, one per line, a new op taking the next code: stage2 sizes its table by the
 * last code, and ProtocolTest reads the rows line by line.
 */
#ifndef KURMA_STAGE2_PROTOCOL_H
#define KURMA_STAGE2_PROTOCOL_H

#define PLAN_MAGIC   0x324d524bU /* "KRM2" */
#define PLAN_VERSION 3

/* X(name, code, signature) */
#define STAGE2_OPS(X)                         \
	X(WRITE_FILE,       1, "ss")          \
	X(SETNS,            2, "sw")          \
	X(UNSHARE,          3, "w")           \
	X(FORK,             4, "uu")          \
	X(SETSID,           5, "")            \
	X(OPEN_ROOT,        6, "s")           \
	X(MKDIR_IN_ROOT,    7, "sw")          \
	X(MKFILE_IN_ROOT,   8, "sw")          \
	X(MOUNT,            9, "sssus")       \
	X(MOUNT_IN_ROOT,   10, "sssus")       \
	X(MKNOD_IN_ROOT,   11, "swuww")       \
	X(SYMLINK_IN_ROOT, 12, "ss")          \
	X(PIVOT_ROOT,      13, "s")           \
	X(MOVE_ROOT,       14, "s")           \
	X(MASK,            15, "s")           \
	X(READONLY,        16, "s")           \
	X(SETHOSTNAME,     17, "s")           \
	X(SETDOMAINNAME,   18, "s")           \
	X(SETRLIMIT,       19, "wuu")         \
	X(OPEN_STATE_DIR,  20, "s")           \
	X(READY,           21, "")            \
	X(WAIT_START,      22, "s")           \
	X(CHDIR,           23, "s")           \
	X(UMASK,           24, "w")           \
	X(SETGROUPS,       25, "w*")          \
	X(SETGID,          26, "w")           \
	X(SETUID,          27, "w")           \
	X(NO_NEW_PRIVS,    28, "")            \
	X(CAP_BOUNDING,    29, "uu")          \
	X(KEEPCAPS,        30, "u")           \
	X(CAPSET,          31, "uuu")         \
	X(CAP_AMBIENT,     32, "uu")          \
	X(FIND_EXEC,       33, "ss")          \
	X(EXEC,            34, "us*")         \
	X(OOM_SCORE_ADJ,   35, "s")           \
	X(MKFIFO_AT_STATE, 36, "sw")          \
	X(OPEN_CGROUP,     37, "s")           \
	X(SYNC,            38, "u")           \
	X(RUN_HOOK,        39, "suus*")       \
	X(SECCOMP,         40, "bw")          \
	X(CONSOLE_SOCKET,  41, "s")           \
	X(CONSOLE,         42, "wws")         \
	X(STDIO,           43, "ss")          \
	X(EXIT_COMMAND,    44, "suus*")       \
	X(LINK_UP,         45, "s")           \
	X(MOUNT_COPY_UP,   46, "sssus")       \
	X(CHROOT,          47, "s")           \
	X(PRIVATE_PARENT,  48, "s")

/* X(name, type): stage2's 16-byte messages (i32 type, op_index, errno, value). C names them
   MSG_name: SYNC is an op as well. */
#define STAGE2_MESSAGES(X) \
	X(PID,   1)        \
	X(READY, 2)        \
	X(ERROR, 3)        \
	X(EXIT,  4)        \
	X(SYNC,  5)

#endif
