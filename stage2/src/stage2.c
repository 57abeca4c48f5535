/*
 * kurma-stage2: executes a launch plan read from an inherited pipe.
 *
 * The contract (wire format, op codes, messages) is ../PLAN.md, its tables protocol.h; this
 * file implements it and nothing more. stage2 holds no policy: it runs the ops it is given, in
 * order, and reports the first failure as ERROR(op_index, errno).
 *
 * Build: cc -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -o kurma-stage2 stage2.c
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <dirent.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U /* Linux 6.3+: ask for an executable memfd explicitly */
#endif

#include "protocol.h" /* the op codes and signatures, the messages, the header's magic and version */

#define MAX_FDS      (3 + 65536) /* the container's 0-2 and up to 65536 more */
#define MAX_ARG_LEN  (1U << 20)

enum {
#define MESSAGE_TYPE(name, type) MSG_##name = type,
	STAGE2_MESSAGES(MESSAGE_TYPE)
#undef MESSAGE_TYPE
};

enum {
#define OP_CODE(name, code, sig) name = code,
	STAGE2_OPS(OP_CODE)
#undef OP_CODE
	OP_LIMIT
};

/* Each op's argument signature; protocol.h says what the letters mean. */
static const char *const signature[OP_LIMIT] = {
#define OP_SIGNATURE(name, code, sig) [name] = sig,
	STAGE2_OPS(OP_SIGNATURE)
#undef OP_SIGNATURE
};

struct arg { char *s; uint64_t u; };   /* s: NUL-terminated string (for 'b': the bytes, u their count); else u holds the value */
struct op { unsigned code, argc; struct arg *a; };

/* in_fd: the plan pipe; out_fd: the message pipe; own_fds: the first fd number that is not the
   container's (the plan's fd count). */
static int in_fd = -1, out_fd = -1, own_fds = 3, root_fd = -1, state_fd = -1;
static int cgroup_fd = -1;             /* OPEN_CGROUP: where the next FORK's child is born */
static int console_fd = -1;            /* CONSOLE_SOCKET: where CONSOLE sends the pty master */
static unsigned char *hook_input;      /* SYNC: what RUN_HOOK gives a hook on its stdin */
static size_t hook_input_len;
static char *found_path;               /* set by FIND_EXEC, used by EXEC */
static struct arg *filter;             /* SECCOMP: the filter EXEC installs right before execve */
static int filter_op = -1;             /* SECCOMP's index, for the error if installing fails */
static struct op *exit_command;        /* EXIT_COMMAND: run by a detached monitor (FORK wait=2) */
static int exit_ns[2] = { -1, -1 };   /* EXIT_COMMAND: the mount and network namespaces it runs in */

/* ---- messages and errors ---------------------------------------------------------------- */

/* 16 bytes, little-endian. SIGPIPE is ignored: a reader that went away must not kill us. */
static void message(int type, int op, int err, int value)
{
	int32_t v[4] = { type, op, err, value };
	unsigned char m[16];
	size_t done = 0;

	for (int i = 0; i < 16; i++)
		m[i] = (unsigned char)((uint32_t)v[i / 4] >> (8 * (i % 4)));
	while (done < sizeof m) {
		ssize_t n = out_fd < 0 ? -1 : write(out_fd, m + done, sizeof m - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		done += (size_t)n;
	}
}

static _Noreturn void die(int op, int err) { message(MSG_ERROR, op, err, 0); _exit(1); }

static int fail(int err) { errno = err; return -1; }

/* close() that keeps errno, for clean-up on error paths. */
static void xclose(int fd) { int e = errno; if (fd >= 0) close(fd); errno = e; }

/* ---- reading and checking the plan -------------------------------------------------------- */

static uint32_t get32(const unsigned char *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Reads exactly n bytes from the plan pipe; end of stream means a truncated plan. */
static int read_full(unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t r = read(in_fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -1 : fail(EINVAL);
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/*
 * Checks the whole body before any op runs, so a malformed plan never half-executes.
 * Errors inside an op are reported at its index; a body longer than its ops at -1 (header).
 */
static struct op *parse(unsigned char *body, uint32_t len, uint32_t count)
{
	struct op *ops = calloc(count ? count : 1, sizeof *ops);
	size_t off = 0;

	if (!ops)
		die(-1, ENOMEM);
	for (uint32_t i = 0; i < count; i++) {
		struct op *o = &ops[i];
		const char *sig;
		size_t fixed;
		char rep = 0;

		if (len - off < 4)
			die((int)i, EINVAL);
		o->code = body[off] | body[off + 1] << 8;
		o->argc = body[off + 2] | body[off + 3] << 8;
		off += 4;
		if (o->code >= OP_LIMIT || !(sig = signature[o->code]))
			die((int)i, EINVAL);
		fixed = strlen(sig);
		if (fixed >= 2 && sig[fixed - 1] == '*')
			rep = sig[fixed - 2], fixed -= 2;
		if (o->argc < fixed || (!rep && o->argc != fixed))
			die((int)i, EINVAL);
		if (!(o->a = calloc(o->argc ? o->argc : 1, sizeof *o->a)))
			die(-1, ENOMEM);
		for (unsigned j = 0; j < o->argc; j++) {
			char type = j < fixed ? sig[j] : rep;
			unsigned char *p;
			uint32_t n;

			if (len - off < 4 || (n = get32(body + off)) > MAX_ARG_LEN || len - off - 4 < n)
				die((int)i, EINVAL);
			p = body + off + 4;
			off += 4 + (size_t)n;
			if (type == 's') {
				if (memchr(p, 0, n))
					die((int)i, EINVAL);
				/* Slide the bytes over their (consumed) length prefix: this
				   frees room for the terminator without copying the plan. */
				memmove(p - 4, p, n);
				(p - 4)[n] = 0;
				o->a[j].s = (char *)p - 4;
			} else if (type == 'b') {
				o->a[j].s = (char *)p;
				o->a[j].u = n;
			} else {
				if (n != 8)
					die((int)i, EINVAL);
				o->a[j].u = get32(p) | (uint64_t)get32(p + 4) << 32;
				if (type == 'w' && o->a[j].u > UINT32_MAX)
					die((int)i, EINVAL);
			}
		}
		/* EXEC: u64 argc, then argc >= 1 argv strings, then the environment; RUN_HOOK the
		   same after its path and timeout. */
		if (o->code == EXEC && (o->a[0].u < 1 || o->a[0].u > o->argc - 1))
			die((int)i, EINVAL);
		if (o->code == RUN_HOOK && (o->a[2].u < 1 || o->a[2].u > o->argc - 3))
			die((int)i, EINVAL);
	}
	if (off != len)
		die(-1, EINVAL);
	return ops;
}

/* ---- helpers for the ops ------------------------------------------------------------------ */

static const char *null_if_empty(const char *s) { return *s ? s : NULL; }

static int write_file(const char *path, const char *data)
{
	size_t len = strlen(data), done = 0;
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while (done < len) {
		ssize_t n = write(fd, data + done, len - done);
		if (n < 0 && errno != EINTR) {
			xclose(fd);
			return -1;
		}
		done += n > 0 ? (size_t)n : 0;
	}
	return close(fd);
}

/* rel resolved beneath the root fd: symlinks and ".." can never leave the rootfs. */
static int open_in_root(const char *rel, int flags)
{
	struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC),
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	return (int)syscall(SYS_openat2, root_fd, rel, &how, sizeof how);
}

/*
 * Creates every missing directory of rel, one component at a time. Each parent is reached
 * again from the root (not from the previous component's fd, which RESOLVE_IN_ROOT would
 * treat as the root), so a symlink met on the way resolves as the container will see it.
 * mkdirat() never follows its last component; an existing one must resolve to a directory,
 * and a dangling symlink gets its target created (in the root, as the container sees it).
 */
static int mkdir_in_root_depth(char *rel, mode_t mode, int links)
{
	int dir = open_in_root("/", O_PATH | O_DIRECTORY), next;
	char *p = rel, *end, saved;

	while (dir >= 0) {
		while (*p == '/')
			p++;
		if (!*p)
			return close(dir);
		end = p + strcspn(p, "/");
		saved = *end;
		*end = 0;
		if (mkdirat(dir, p, mode) < 0 && errno != EEXIST) {
			next = -1;
		} else if ((next = open_in_root(rel, O_PATH | O_DIRECTORY)) < 0 && errno == ENOENT) {
			char target[PATH_MAX], *path;
			ssize_t n = readlinkat(dir, p, target, sizeof target - 1);

			*end = saved;
			if (n <= 0 || links >= 40) {
				xclose(dir);
				return fail(n <= 0 ? ENOENT : ELOOP);
			}
			target[n] = 0;
			/* Continue with the link's target in place of the link: from the root if it is
			   absolute, else from the link's directory (rel up to p). */
			if (!(path = malloc(strlen(rel) + (size_t)n + 2)))
				return fail(ENOMEM);
			if (target[0] == '/')
				sprintf(path, "%s%s", target, end);
			else
				sprintf(path, "%.*s%s%s", (int)(p - rel), rel, target, end);
			xclose(dir);
			n = mkdir_in_root_depth(path, mode, links + 1);
			free(path);
			return (int)n;
		}
		*end = saved;
		xclose(dir);
		dir = next;
		p = end;
	}
	return -1;
}

static int mkdir_in_root(char *rel, mode_t mode)
{
	return mkdir_in_root_depth(rel, mode, 0);
}

/*
 * Opens (beneath the root) the directory that holds the last component of rel, creating it
 * first if mkdirs is set, and points *base at that component. rel is cut at its last '/'.
 */
static int open_parent(char *rel, const char **base, int mkdirs)
{
	char *slash = strrchr(rel, '/');

	*base = slash ? slash + 1 : rel;
	if (!**base || !strcmp(*base, ".") || !strcmp(*base, ".."))
		return fail(EINVAL);
	if (!slash)
		return open_in_root(".", O_PATH | O_DIRECTORY);
	*slash = 0;
	if (mkdirs && mkdir_in_root(rel, 0755) < 0)
		return -1;
	return open_in_root(slash == rel ? "/" : rel, O_PATH | O_DIRECTORY);
}

/* mount() onto what fd names, through its /proc/self/fd magic link. */
static int mount_on_fd(const char *src, int fd, const char *type, unsigned long flags,
		       const char *data)
{
	char target[32];
	int r;

	snprintf(target, sizeof target, "/proc/self/fd/%d", fd);
	r = mount(src, target, type, flags, data);
	if (r < 0 && errno == EPERM && (flags & (MS_BIND | MS_REMOUNT)) == (MS_BIND | MS_REMOUNT)) {
		/* In a user namespace the kernel locks the flags a mount came with (nosuid, nodev,
		   noexec, the atime mode): a bind remount must keep them. Retry once with them. */
		struct statvfs sv;

		if (fstatvfs(fd, &sv) == 0) {
			flags |= (sv.f_flag & ST_NOSUID ? MS_NOSUID : 0) | (sv.f_flag & ST_NODEV ? MS_NODEV : 0) |
				 (sv.f_flag & ST_NOEXEC ? MS_NOEXEC : 0) |
				 (sv.f_flag & ST_NODIRATIME ? MS_NODIRATIME : 0) |
				 (sv.f_flag & ST_NOATIME ? MS_NOATIME : sv.f_flag & ST_RELATIME ? MS_RELATIME : 0);
			r = mount(src, target, type, flags, data);
		} else {
			errno = EPERM;
		}
	}
	xclose(fd);
	return r;
}

/* Opening first and mounting on the fd: no window between the type check and the mount. */
static int mask(const char *path)
{
	int fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &st) < 0) {
		xclose(fd);
		return -1;
	}
	if (S_ISDIR(st.st_mode))
		return mount_on_fd("tmpfs", fd, "tmpfs", MS_RDONLY, NULL);
	return mount_on_fd("/dev/null", fd, NULL, MS_BIND, NULL);
}

/*
 * A read-only bind remount replaces all per-mount flags, so carry over the ones the mount
 * has. That includes the atime mode: the kernel would otherwise reset it to relatime, and
 * in a user namespace changing a locked atime flag fails with EPERM.
 */
static int readonly(const char *path)
{
	unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY;
	struct statvfs sv;

	if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
		return errno == ENOENT ? 0 : -1;
	if (statvfs(path, &sv) < 0)
		return -1;
	flags |= (sv.f_flag & ST_NOSUID ? MS_NOSUID : 0) | (sv.f_flag & ST_NODEV ? MS_NODEV : 0) |
		 (sv.f_flag & ST_NOEXEC ? MS_NOEXEC : 0) |
		 (sv.f_flag & ST_NODIRATIME ? MS_NODIRATIME : 0) |
		 (sv.f_flag & ST_NOATIME ? MS_NOATIME :
		  sv.f_flag & ST_RELATIME ? MS_RELATIME : MS_STRICTATIME);
	return mount(NULL, path, NULL, flags, NULL);
}

/* Reads exactly n bytes; 0 at end of file, -1 on error. */
static ssize_t read_exact(int fd, unsigned char *p, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = read(fd, p + done, n - done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

/*
 * Raw clone with fork semantics: no new stack, no TLS, no tid pointers, no shared fd table.
 * Flags that need any of those, or that carry their own exit signal, cannot work here; the
 * legacy clone() syscall would also drop the upper 32 bits silently.
 *
 * The JVM reads the message pipe of the process it spawned (this one), and stops reading it
 * when that process ends. So the parent relays the child's messages until the child is ready,
 * has failed, or is gone; then it exits, or with wait it stays as the child's monitor.
 */
static int run_hook_op(struct op *o);

/*
 * The detached monitor (FORK wait=2), conmon's job: once the container is up, leave the
 * JVM's session and pipes, wait for the init, record its raw wait status as the file "exit"
 * in the state dir (written aside, then renamed: never half there), then run EXIT_COMMAND.
 */
static _Noreturn void detached_monitor(pid_t pid)
{
	char buf[16];
	int status = 0, fd, n;

	close(out_fd);
	close(in_fd);
	out_fd = in_fd = -1;
	setsid();
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			_exit(1);
	n = snprintf(buf, sizeof buf, "%d\n", status);
	fd = openat(state_fd, "exit.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0 && write(fd, buf, (size_t)n) == n && close(fd) == 0)
		renameat(state_fd, "exit.tmp", state_fd, "exit");
	/* The monitor shares the container's mount namespace (pivot_root moved its root too)
	   and network namespace: the command goes back to where stage2 started. */
	if (exit_command) {
		if (setns(exit_ns[0], CLONE_NEWNS) < 0 || setns(exit_ns[1], CLONE_NEWNET) < 0 || chdir("/") < 0)
			dprintf(2, "kurma-stage2: exit command not run: setns: %s\n", strerror(errno));
		else
			run_hook_op(exit_command);
	}
	_exit(0);
}

/*
 * A create or exec abandoned half-way (the JVM killed, by an engine's timeout say) must not leave
 * a half-made container behind that nobody knows of. Until the child of a FORK reports READY:
 *   - the parent watches the plan pipe while it relays: the JVM holds its only write end, so a
 *     hang-up there means the JVM is gone; the parent then kills the child and exits. It never
 *     reads that pipe (the child reads its SYNC answers from it), it only polls for POLLHUP;
 *   - the child has PR_SET_PDEATHSIG(SIGKILL), so it dies with the parent (killed by the JVM's
 *     abort or by `delete --force`). The first process gets no death signal: the JVM may spawn
 *     it from a short-lived thread, and the signal follows the thread that forked, not the
 *     process. The child arms it again after SETUID/SETGID (a credential change clears it), and
 *     disarms it just before READY (the container then outlives the parent, which exits).
 */
static int death_armed; /* FORK's child, until READY */

/* Whether the JVM's end of the plan pipe is closed (waiting up to timeout ms). */
static int plan_pipe_closed(int timeout)
{
	struct pollfd p = { .fd = in_fd, .events = 0 };
	int n;

	while ((n = poll(&p, 1, timeout)) < 0 && errno == EINTR)
		;
	return n > 0 && (p.revents & (POLLHUP | POLLERR));
}

/* The JVM went away before the child was ready: take the child down with us. */
static _Noreturn void abandon(pid_t child)
{
	kill(child, SIGKILL);
	while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
		;
	_exit(1);
}

/*
 * Waits until the child's relay pipe has something to read (a message, or its end): 0; or
 * until the JVM's end of the plan pipe closes: 1. A message already there comes first.
 */
static int relay_wait(int fd)
{
	for (;;) {
		struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = in_fd, .events = 0 } };

		if (poll(p, 2, -1) < 0 && errno == EINTR)
			continue;
		if (p[0].revents || !(p[1].revents & (POLLHUP | POLLERR)))
			return 0; /* (poll failing otherwise: a blocking read, as without the watch) */
		return 1;
	}
}

/*
 * PR_SET_PDEATHSIG(SIGKILL) in FORK's child, then a check that the parent has not died before
 * it was armed (the kernel signals only deaths after the prctl). getppid() cannot tell in a
 * new pid namespace, where it reads 0 either way; the relay pipe can: its read end is held by
 * the parent alone, so once the parent is gone our write end reports POLLERR.
 */
static int arm_death_signal(void)
{
	struct pollfd p = { .fd = out_fd, .events = 0 };

	if (prctl(PR_SET_PDEATHSIG, (unsigned long)SIGKILL, 0UL, 0UL, 0UL) < 0)
		return -1;
	if (poll(&p, 1, 0) > 0 && (p.revents & POLLERR))
		_exit(1); /* nobody to report to */
	return 0;
}

/* After a credential change, which clears the death signal: armed again while it applies. */
static int rearm_death_signal(int r)
{
	return r < 0 || !death_armed ? r : arm_death_signal();
}

static int do_fork(uint64_t flags, uint64_t wait, int op)
{
	const uint64_t unusable = 0xffffffff00000000ULL | CSIGNAL | CLONE_VM | CLONE_VFORK |
				  CLONE_THREAD | CLONE_SIGHAND | CLONE_SETTLS | CLONE_PARENT_SETTID |
				  CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | CLONE_PIDFD | CLONE_FILES;
	int relay[2];
	long pid;

	if (flags & unusable || wait > 2 || (wait == 2 && state_fd < 0))
		return fail(EINVAL);
	if (pipe2(relay, O_CLOEXEC) < 0)
		return -1;
	if (cgroup_fd >= 0) {
		/* clone3's struct clone_args (v2, 88 bytes): born in the cgroup, no migration. */
		uint64_t args[11] = { flags | 0x200000000ULL /* CLONE_INTO_CGROUP */, 0, 0, 0, SIGCHLD };

		args[10] = (uint64_t)cgroup_fd;
		pid = syscall(SYS_clone3, args, sizeof args);
		xclose(cgroup_fd);
		cgroup_fd = -1;
	} else {
		pid = syscall(SYS_clone, (unsigned long)(flags | SIGCHLD), 0UL, 0UL, 0UL, 0UL);
	}
	if (pid < 0) {
		xclose(relay[0]);
		xclose(relay[1]);
		return -1;
	}
	if (pid > 0) {
		unsigned char m[16];
		int status = 0, ready = 0;

		close(relay[1]);
		message(MSG_PID, op, 0, (int)pid); /* before anything the child says */
		while (relay_wait(relay[0]) == 0 && read_exact(relay[0], m, sizeof m) == (ssize_t)sizeof m) {
			size_t done = 0;
			uint32_t type = get32(m);

			while (done < sizeof m) {
				ssize_t n = write(out_fd, m + done, sizeof m - done);
				if (n < 0 && errno == EINTR)
					continue;
				if (n <= 0)
					break;
				done += (size_t)n;
			}
			ready = type == MSG_READY;
			if (type == MSG_READY || type == MSG_ERROR)
				break;
		}
		if (!ready && plan_pipe_closed(0)) /* the JVM died before the child was ready */
			abandon((pid_t)pid);
		close(relay[0]);
		if (!wait || (wait == 2 && !ready)) /* a failed create has nothing to watch */
			_exit(0);
		if (wait == 2)
			detached_monitor((pid_t)pid);
		/* The monitor: stay until the child ends and report how (for `run`). */
		while (waitpid((pid_t)pid, &status, 0) < 0)
			if (errno != EINTR)
				die(op, errno);
		message(MSG_EXIT, op, 0, status);
		_exit(0);
	}
	/* Child: from now on its messages go through the parent, and it dies with the parent
	   until it is ready (see arm_death_signal). */
	close(relay[0]);
	close(out_fd);
	out_fd = relay[1];
	death_armed = 1;
	return arm_death_signal();
}

static int wait_start(const char *name)
{
	ssize_t n;
	int fd;

	/* Opening a fifo for writing blocks until `start` opens it for reading. */
	while ((fd = openat(state_fd, name, O_WRONLY | O_CLOEXEC)) < 0 && errno == EINTR)
		;
	if (fd < 0)
		return -1;
	while ((n = write(fd, "", 1)) < 0 && errno == EINTR)
		;
	/* The fifo stays open (close-on-exec): `start` sees its end exactly when the program is
	   exec'd (or we die), which is when the poststart hooks may run. */
	xclose(state_fd);
	state_fd = -1;
	return n == 1 ? 0 : -1;
}

static int setgroups_op(struct op *o)
{
	gid_t *gids = calloc(o->argc ? o->argc : 1, sizeof *gids);
	int r;

	if (!gids)
		return -1;
	for (unsigned i = 0; i < o->argc; i++)
		gids[i] = (gid_t)o->a[i].u;
	r = setgroups(o->argc, gids);
	free(gids);
	return r;
}

/* last_cap bounds the loops; a cap above it cannot be named in a mask. */
static int caps_op(unsigned code, uint64_t mask, uint64_t last)
{
	if (last > 63)
		return fail(EINVAL);
	if (code == CAP_BOUNDING) {
		for (unsigned long cap = 0; cap <= last; cap++)
			if (!(mask >> cap & 1) && prctl(PR_CAPBSET_DROP, cap, 0UL, 0UL, 0UL) < 0)
				return -1;
		return 0;
	}
	if (last < 63 && mask >> (last + 1))
		return fail(EINVAL);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0UL, 0UL, 0UL) < 0)
		return -1;
	for (unsigned long cap = 0; cap <= last; cap++)
		if ((mask >> cap & 1) &&
		    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0UL, 0UL) < 0)
			return -1;
	return 0;
}

static int capset_op(struct arg *a)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	for (int i = 0; i < 2; i++) {
		data[i].effective = (uint32_t)(a[0].u >> (32 * i));
		data[i].permitted = (uint32_t)(a[1].u >> (32 * i));
		data[i].inheritable = (uint32_t)(a[2].u >> (32 * i));
	}
	return (int)syscall(SYS_capset, &hdr, data);
}

/* 0 if path is a regular file we may execute; else -1, errno EACCES or the lookup's. */
static int check_exec(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -1;
	if (!S_ISREG(st.st_mode) || faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) < 0)
		return fail(EACCES);
	return 0;
}

static int find_exec(const char *name, const char *path_var)
{
	int err = ENOENT;
	char *buf, *end;

	free(found_path);
	found_path = NULL;
	if (strchr(name, '/')) {
		if (check_exec(name) < 0)
			return -1;
		return (found_path = strdup(name)) ? 0 : -1;
	}
	if (!*name || !(buf = malloc(strlen(path_var) + strlen(name) + 3)))
		return *name ? -1 : fail(ENOENT);
	for (const char *dir = path_var;; dir = end + 1) {
		end = strchrnul(dir, ':');
		if (end == dir)
			sprintf(buf, "./%s", name);        /* an empty entry is "." */
		else
			sprintf(buf, "%.*s/%s", (int)(end - dir), dir, name);
		if (check_exec(buf) == 0) {
			found_path = buf;
			return 0;
		}
		if (errno == EACCES)
			err = EACCES;                      /* keep looking, like execvp() */
		if (!*end)
			break;
	}
	free(buf);
	return fail(err);
}

/*
 * SYNC: tell the JVM we reached a point and wait until it says go on, with the bytes it
 * sends (u32 length, then the data) kept as the input of later RUN_HOOKs. End of the plan
 * pipe instead means the JVM gave up: ECANCELED.
 */
static int sync_op(int op, uint64_t point)
{
	unsigned char len[4];
	uint32_t n;

	message(MSG_SYNC, op, 0, (int)point);
	if (read_full(len, sizeof len) < 0)
		return fail(ECANCELED);
	n = get32(len);
	if (n > MAX_ARG_LEN)
		return fail(EINVAL);
	free(hook_input);
	if (!(hook_input = malloc(n ? n : 1)))
		return fail(ENOMEM);
	hook_input_len = n;
	return read_full(hook_input, n) < 0 ? fail(ECANCELED) : 0;
}

/*
 * RUN_HOOK: run a program with its own argv (argv[0] may differ from the path: some hooks
 * dispatch on it) and environment, the SYNC data on its stdin, its stdout and stderr on our
 * stderr, and wait for it, killing it after timeout seconds (0: no limit). A hook that does
 * not exit 0 fails the op with ECANCELED, its wait status in the ERROR message's value.
 */
static int hook_status;

static int run_hook_op(struct op *o)
{
	size_t argc = (size_t)o->a[2].u, envc = o->argc - 3 - argc, done = 0;
	char **argv = calloc(argc + 1, sizeof *argv), **envp = calloc(envc + 1, sizeof *envp);
	uint64_t timeout_ms = o->a[1].u * 1000, waited = 0;
	int in[2], status;
	pid_t pid;

	if (!argv || !envp || pipe2(in, O_CLOEXEC) < 0)
		return -1;
	for (size_t i = 0; i < argc; i++)
		argv[i] = o->a[3 + i].s;
	for (size_t i = 0; i < envc; i++)
		envp[i] = o->a[3 + argc + i].s;
	if ((pid = fork()) < 0) {
		xclose(in[0]);
		xclose(in[1]);
		return -1;
	}
	if (pid == 0) {
		if (dup2(in[0], 0) < 0 || dup2(2, 1) < 0)
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		execve(o->a[0].s, argv, envp);
		dprintf(2, "kurma-stage2: hook %s: %s\n", o->a[0].s, strerror(errno));
		_exit(127);
	}
	free(argv);
	free(envp);
	close(in[0]);
	while (done < hook_input_len) { /* a hook that does not read its stdin gets EPIPE: fine */
		ssize_t n = write(in[1], hook_input + done, hook_input_len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	close(in[1]);
	for (;;) {
		pid_t r = waitpid(pid, &status, timeout_ms ? WNOHANG : 0);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return -1;
		if (r == 0) {
			if (waited >= timeout_ms) {
				kill(pid, SIGKILL);
				while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
					;
				hook_status = status;
				return fail(ETIMEDOUT);
			}
			usleep(1000);
			waited++;
		}
	}
	hook_status = status;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : fail(ECANCELED);
}

/*
 * SECCOMP only checks and keeps the filter: EXEC installs it as its last step before execve, so
 * that the filter constrains the program and none of our own set-up (PLAN.md "Seccomp last").
 */
static int seccomp_op(struct arg *a, int op)
{
	if (a[0].u == 0 || a[0].u % 8 || a[0].u / 8 > 0xffff)
		return fail(EINVAL);
	filter = a;
	filter_op = op;
	return 0;
}

static int exec_op(struct op *o, int op)
{
	size_t argc = (size_t)o->a[0].u, envc = o->argc - 1 - argc;
	char **argv = calloc(argc + 1, sizeof *argv), **envp = calloc(envc + 1, sizeof *envp);
	int err;

	if (!argv || !envp)
		return -1;
	for (size_t i = 0; i < argc; i++)
		argv[i] = o->a[1 + i].s;
	for (size_t i = 0; i < envc; i++)
		envp[i] = o->a[1 + argc + i].s;
	/* Ours go at exec; fds below own_fds are the container's (every fd we opened below it
	   is O_CLOEXEC already). The root and state dirs are closed now, so that the program's
	   path cannot be resolved through them (/proc/self/fd/N/..). The container gets SIGPIPE's
	   default back. */
	xclose(root_fd);
	xclose(state_fd);
	root_fd = state_fd = -1;
	if (close_range((unsigned)own_fds, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		return -1;
	signal(SIGPIPE, SIG_DFL);
	if (filter) {
		/* From here on only execve: a profile that allows the program's calls and execve is
		   enough. (Reporting a failure below may itself be denied by the filter.) */
		struct { unsigned short len; void *filter; } prog = { (unsigned short)(filter[0].u / 8), filter[0].s };

		if (syscall(SYS_seccomp, 1 /* SECCOMP_SET_MODE_FILTER */, (unsigned)filter[1].u, &prog) < 0)
			die(filter_op, errno);
	}
	execve(found_path ? found_path : argv[0], argv, envp);
	err = errno;
	message(MSG_ERROR, op, err, 0);
	dprintf(2, "kurma-stage2: exec %s: %s\n", argv[0], strerror(err));
	_exit(127);
}

/*
 * CHDIR: change to path, which must lie inside our root: a directory reached through a magic
 * link (/proc/self/fd/N: an fd of ours or one the host passed) would give the program the host's
 * filesystem. The kernel names a working directory outside the root "(unreachable)/...": EXDEV.
 */
static int chdir_op(const char *path)
{
	char cwd[PATH_MAX];

	if (chdir(path) < 0)
		return -1;
	if (syscall(SYS_getcwd, cwd, sizeof cwd) < 0)
		return errno == ENAMETOOLONG ? 0 : -1; /* too deep to name, yet below the root */
	return cwd[0] == '/' ? 0 : fail(EXDEV);
}

/* CHROOT (no mount namespace of our own: pivot_root would act on the host's): chroot to path. */
static int chroot_op(const char *path)
{
	if (chdir(path) < 0 || chroot(".") < 0)
		return -1;
	return chdir("/");
}

/* Reads a whole (proc) file into a NUL-terminated buffer the caller frees. */
static char *read_all(const char *path)
{
	size_t len = 0, cap = 0;
	char *buf = NULL, *b;
	ssize_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	do {
		if (len + 4097 > cap) {
			if (!(b = realloc(buf, cap = (len + 4097) * 2))) {
				n = -1;
				errno = ENOMEM;
				break;
			}
			buf = b;
		}
		n = read(fd, buf + len, 4096);
		if (n > 0)
			len += (size_t)n;
	} while (n > 0 || (n < 0 && errno == EINTR));
	xclose(fd);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[len] = 0;
	return buf;
}

/*
 * PRIVATE_PARENT: if the mount holding path is shared, make it private (as runc does before it
 * binds the rootfs onto itself): that bind, and every mount below it, would otherwise propagate
 * to the mount's peers in other namespaces, and pivot_root refuses a shared parent. The mount is
 * found by its id (statx) in our own mountinfo: "id parent dev root mountpoint options
 * [optional fields] - type source super-options", the mount point with ' ', tab, newline and
 * backslash escaped as octal.
 */
static int private_parent(const char *path)
{
	struct statx sx;
	char *buf, *line, *next;

	if (statx(AT_FDCWD, path, 0, STATX_MNT_ID, &sx) < 0)
		return -1;
	if (!(sx.stx_mask & STATX_MNT_ID))
		return fail(ENOSYS);
	if (!(buf = read_all("/proc/self/mountinfo")))
		return -1;
	for (line = buf; *line; line = next) {
		char point[PATH_MAX], *p = line, *sep, *end = strchr(line, '\n');
		unsigned long long id;
		size_t k = 0;
		int r = 0;

		next = end ? end + 1 : line + strlen(line);
		if (end)
			*end = 0;
		if (sscanf(line, "%llu", &id) != 1 || id != sx.stx_mnt_id)
			continue;
		for (int f = 0; f < 4 && p; f++)
			p = strchr(p + 1, ' ');
		if (!p || !(sep = strstr(p, " - "))) {
			free(buf);
			return fail(EINVAL);
		}
		for (p++; *p && *p != ' ' && k < sizeof point - 1; p++) {
			if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
			    p[3] >= '0' && p[3] <= '7') {
				point[k++] = (char)((p[1] - '0') << 6 | (p[2] - '0') << 3 | (p[3] - '0'));
				p += 3;
			} else {
				point[k++] = *p;
			}
		}
		point[k] = 0;
		*sep = 0; /* the optional fields end here */
		if (strstr(p, " shared:"))
			r = mount("", point, NULL, MS_PRIVATE, NULL);
		free(buf);
		return r;
	}
	free(buf);
	return fail(ENOENT);
}

/*
 * CONSOLE_SOCKET: connect to the caller's console socket now, while its path is still
 * reachable (before namespaces and pivot_root). A path too long for sun_path is reached through
 * its directory's fd.
 */
static int console_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *slash = strrchr(path, '/');
	int fd, dir = -1, r;

	if (strlen(path) < sizeof sa.sun_path) {
		strcpy(sa.sun_path, path);
	} else {
		char *d = strndup(path, slash ? (size_t)(slash - path) + 1 : 0);

		if (!d || !slash || (dir = open(d, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
			free(d);
			return slash ? -1 : fail(ENAMETOOLONG);
		}
		free(d);
		if (snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/%s", dir, slash + 1) >=
		    (int)sizeof sa.sun_path) {
			xclose(dir);
			return fail(ENAMETOOLONG);
		}
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		xclose(dir);
		return -1;
	}
	r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
	xclose(dir);
	if (r < 0) {
		xclose(fd);
		return -1;
	}
	xclose(console_fd);
	console_fd = fd;
	return 0;
}

/*
 * CONSOLE: a new pty from the /dev/ptmx this process sees (the container's, after pivot_root or
 * setns); the master goes to the console socket (SCM_RIGHTS, with the pty's name as the data),
 * the peer becomes our controlling terminal and fds 0-2, and, if rel is set, is bind-mounted
 * on it (/dev/console). We must be a session leader (SETSID before).
 */
static int console_op(struct arg *a)
{
	struct winsize ws = { .ws_row = (unsigned short)a[0].u, .ws_col = (unsigned short)a[1].u };
	union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } c;
	struct msghdr msg = { 0 };
	struct iovec iov;
	char name[32];
	int m, s = -1, n = 0, unlock = 0, fd;

	if (console_fd < 0)
		return fail(EBADF);
	if ((m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
		return -1;
	if (ioctl(m, TIOCSPTLCK, &unlock) < 0 || ioctl(m, TIOCGPTN, &n) < 0 ||
	    (s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
		goto out;
	if ((ws.ws_row || ws.ws_col) && ioctl(s, TIOCSWINSZ, &ws) < 0)
		goto out;
	snprintf(name, sizeof name, "/dev/pts/%d", n);
	if (*a[2].s && ((fd = open_in_root(a[2].s, O_PATH)) < 0 ||
			mount_on_fd(name, fd, NULL, MS_BIND, NULL) < 0))
		goto out;
	iov.iov_base = name;
	iov.iov_len = strlen(name);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = c.buf;
	msg.msg_controllen = sizeof c.buf;
	c.h.cmsg_level = SOL_SOCKET;
	c.h.cmsg_type = SCM_RIGHTS;
	c.h.cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(&c.h), &m, sizeof m);
	while (sendmsg(console_fd, &msg, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			goto out;
	close(m);
	m = -1;
	close(console_fd);
	console_fd = -1;
	if (ioctl(s, TIOCSCTTY, 0) < 0)
		goto out;
	for (fd = 0; fd < 3; fd++)
		if ((fd == s ? fcntl(fd, F_SETFD, 0) : dup2(s, fd)) < 0)
			goto out;
	return s > 2 ? close(s) : 0;
out:
	xclose(m);
	xclose(s);
	return -1;
}

/*
 * Copies the tree under directory fd from into directory fd to: directories, regular files,
 * symlinks (as links, never followed), device nodes and fifos, with owner and mode. Every
 * name is opened relative to its parent's fd with O_NOFOLLOW, so nothing outside is reached.
 */
static int copy_tree(int from, int to, int depth)
{
	int dfd = openat(from, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;
	DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
	struct dirent *e;

	if (!d) {
		xclose(dfd);
		return -1;
	}
	if (depth > 256) {
		closedir(d);
		return fail(ELOOP);
	}
	while (r == 0 && (errno = 0, e = readdir(d))) {
		const char *n = e->d_name;
		struct stat st;
		int a = -1, b = -1;

		if (!strcmp(n, ".") || !strcmp(n, ".."))
			continue;
		if (fstatat(from, n, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = -1;
		} else if (S_ISDIR(st.st_mode)) {
			if ((mkdirat(to, n, 0700) < 0 && errno != EEXIST) ||
			    (a = openat(from, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
			    (b = openat(to, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
				r = -1;
			else
				r = copy_tree(a, b, depth + 1);
		} else if (S_ISREG(st.st_mode)) {
			if ((a = openat(from, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
			    (b = openat(to, n, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
				r = -1;
			for (ssize_t k = 1; r == 0 && k > 0;)
				if ((k = sendfile(b, a, NULL, 1 << 20)) < 0 && errno != EINTR)
					r = -1;
		} else if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t k = readlinkat(from, n, target, sizeof target - 1);

			if (k < 0)
				r = -1;
			else {
				target[k] = 0;
				r = symlinkat(target, to, n);
			}
		} else {
			r = mknodat(to, n, st.st_mode & ~07777, st.st_rdev);
		}
		xclose(a);
		xclose(b);
		/* Owner first: chown clears setuid and setgid bits, which the mode then restores. */
		if (r == 0)
			r = fchownat(to, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
		if (r == 0 && !S_ISLNK(st.st_mode))
			r = fchmodat(to, n, st.st_mode & 07777, 0);
	}
	if (r == 0 && errno)
		r = -1;
	closedir(d);
	return r;
}

/*
 * MOUNT_COPY_UP (runc's tmpcopyup): MOUNT_IN_ROOT, then what rel held before, copied into the
 * new mount. An fd opened on rel before the mount still reaches the directory it covers.
 */
static int mount_copy_up(struct arg *a)
{
	int lower = open_in_root(a[1].s, O_RDONLY | O_DIRECTORY), fd, upper = -1, r = -1;
	mode_t old;

	if (lower < 0)
		return -1;
	if ((fd = open_in_root(a[1].s, O_PATH)) >= 0 &&
	    mount_on_fd(null_if_empty(a[0].s), fd, null_if_empty(a[2].s), a[3].u, null_if_empty(a[4].s)) == 0 &&
	    (upper = open_in_root(a[1].s, O_RDONLY | O_DIRECTORY)) >= 0) {
		old = umask(0);
		r = copy_tree(lower, upper, 0);
		umask(old);
	}
	xclose(upper);
	xclose(lower);
	return r;
}

/* LINK_UP: set a network interface of our network namespace up (IFF_UP), e.g. its loopback. */
static int link_up(const char *name)
{
	struct ifreq ifr;
	int s, r;

	if (strlen(name) >= IFNAMSIZ)
		return fail(EINVAL);
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, name);
	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	r = ioctl(s, SIOCGIFFLAGS, &ifr);
	if (r == 0) {
		ifr.ifr_flags |= IFF_UP;
		r = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	xclose(s);
	return r;
}

/* STDIO: the container's stdin from one file, stdout and stderr appended to another ("": keep). */
static int stdio_op(const char *in, const char *out)
{
	int fd;

	if (*in) {
		if ((fd = open(in, O_RDONLY | O_CLOEXEC)) < 0)
			return -1;
		if (dup2(fd, 0) < 0) {
			xclose(fd);
			return -1;
		}
		close(fd);
	}
	if (*out) {
		if ((fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640)) < 0)
			return -1;
		if (dup2(fd, 1) < 0 || dup2(fd, 2) < 0) {
			xclose(fd);
			return -1;
		}
		close(fd);
	}
	return 0;
}

/* Returns -1 with errno set when op fails. */
static int run(struct op *o, int op)
{
	struct arg *a = o->a;
	const char *base;
	int fd, r;
	mode_t mode;

	switch (o->code) {
	case WRITE_FILE: return write_file(a[0].s, a[1].s);
	case SETNS:
		if ((fd = open(a[0].s, O_RDONLY | O_CLOEXEC)) < 0)
			return -1;
		r = setns(fd, (int)a[1].u);
		xclose(fd);
		return r;
	case UNSHARE: return unshare((int)a[0].u);
	case FORK: return do_fork(a[0].u, a[1].u, op);
	case SETSID: return setsid() < 0 ? -1 : 0;
	case OPEN_ROOT:
	case OPEN_STATE_DIR:
		if ((fd = open(a[0].s, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
			return -1;
		if (o->code == OPEN_ROOT)
			r = root_fd, root_fd = fd;
		else
			r = state_fd, state_fd = fd;
		xclose(r);
		return 0;
	case MKDIR_IN_ROOT: return mkdir_in_root(a[0].s, (mode_t)a[1].u);
	case MKFILE_IN_ROOT:
		if (a[1].u & ~(uint64_t)07777) /* permission bits only: it must be a file */
			return fail(EINVAL);
		if ((fd = open_parent(a[0].s, &base, 1)) < 0)
			return -1;
		r = mknodat(fd, base, S_IFREG | (mode_t)a[1].u, 0);
		xclose(fd);
		return r < 0 && errno != EEXIST ? -1 : 0;
	case MOUNT:
		return mount(null_if_empty(a[0].s), null_if_empty(a[1].s), null_if_empty(a[2].s),
			     a[3].u, null_if_empty(a[4].s));
	case MOUNT_IN_ROOT:
		if ((fd = open_in_root(a[1].s, O_PATH)) < 0)
			return -1;
		return mount_on_fd(null_if_empty(a[0].s), fd, null_if_empty(a[2].s), a[3].u,
				   null_if_empty(a[4].s));
	case MKNOD_IN_ROOT:
		if ((fd = open_parent(a[0].s, &base, 0)) < 0)
			return -1;
		/* The mode as given: under our umask (022) /dev/null would not be writable by
		   the container's users. */
		r = (int)umask(0);
		mode = (mode_t)r;
		r = mknodat(fd, base, (mode_t)a[1].u, (dev_t)a[2].u);
		umask(mode);
		if (r == 0)
			r = fchownat(fd, base, (uid_t)a[3].u, (gid_t)a[4].u, AT_SYMLINK_NOFOLLOW);
		else if (errno == EEXIST) /* the rootfs brought its own: leave it */
			r = 0;
		xclose(fd);
		return r;
	case SYMLINK_IN_ROOT:
		if ((fd = open_parent(a[1].s, &base, 0)) < 0)
			return -1;
		r = symlinkat(a[0].s, fd, base);
		xclose(fd);
		return r < 0 && errno != EEXIST ? -1 : 0;
	case PIVOT_ROOT:
		/* pivot_root(".", ".") stacks the old root on the new one; detaching "." then
		   drops the old root without needing a directory to park it in. */
		if (chdir(a[0].s) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
		    umount2(".", MNT_DETACH) < 0)
			return -1;
		return chdir("/");
	case MOVE_ROOT:
		if (chdir(a[0].s) < 0 || mount(a[0].s, "/", NULL, MS_MOVE, NULL) < 0 ||
		    chroot(".") < 0)
			return -1;
		return chdir("/");
	case MASK: return mask(a[0].s);
	case READONLY: return readonly(a[0].s);
	case SETHOSTNAME: return sethostname(a[0].s, strlen(a[0].s));
	case SETDOMAINNAME: return setdomainname(a[0].s, strlen(a[0].s));
	case SETRLIMIT: {
		struct rlimit rl = { .rlim_cur = a[1].u, .rlim_max = a[2].u };
		return prlimit(0, (__rlimit_resource_t)a[0].u, &rl, NULL);
	}
	case READY: message(MSG_READY, op, 0, 0); return 0;
	case WAIT_START: return wait_start(a[0].s);
	case CHDIR: return chdir_op(a[0].s);
	case UMASK: umask((mode_t)a[0].u); return 0;
	case SETGROUPS: return setgroups_op(o);
	case SETGID: return rearm_death_signal(setresgid((gid_t)a[0].u, (gid_t)a[0].u, (gid_t)a[0].u));
	case SETUID: return rearm_death_signal(setresuid((uid_t)a[0].u, (uid_t)a[0].u, (uid_t)a[0].u));
	case NO_NEW_PRIVS: return prctl(PR_SET_NO_NEW_PRIVS, 1UL, 0UL, 0UL, 0UL);
	case CAP_BOUNDING:
	case CAP_AMBIENT: return caps_op(o->code, a[0].u, a[1].u);
	case KEEPCAPS: return prctl(PR_SET_KEEPCAPS, (unsigned long)a[0].u, 0UL, 0UL, 0UL);
	case CAPSET: return capset_op(a);
	case FIND_EXEC: return find_exec(a[0].s, a[1].s);
	case EXEC: return exec_op(o, op);
	case OOM_SCORE_ADJ: return write_file("/proc/self/oom_score_adj", a[0].s);
	case SYNC: return sync_op(op, a[0].u);
	case SECCOMP: return seccomp_op(a, op);
	case RUN_HOOK: return run_hook_op(o);
	case CONSOLE_SOCKET: return console_socket(a[0].s);
	case CONSOLE: return console_op(a);
	case STDIO: return stdio_op(a[0].s, a[1].s);
	case LINK_UP: return link_up(a[0].s);
	case MOUNT_COPY_UP: return mount_copy_up(a);
	case CHROOT: return chroot_op(a[0].s);
	case PRIVATE_PARENT: return private_parent(a[0].s);
	case EXIT_COMMAND:
		exit_command = o;
		if ((exit_ns[0] = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC)) < 0)
			return -1;
		return (exit_ns[1] = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) < 0 ? -1 : 0;
	case OPEN_CGROUP:
		if (cgroup_fd >= 0)
			close(cgroup_fd);
		cgroup_fd = open(a[0].s, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		return cgroup_fd < 0 ? -1 : 0;
	case MKFIFO_AT_STATE:
		if (mkfifoat(state_fd, a[0].s, (mode_t)a[1].u) < 0)
			return -1;
		return fchmodat(state_fd, a[0].s, (mode_t)a[1].u, 0);
	}
	return fail(EINVAL); /* unreachable: parse() admits known codes only */
}

/* ---- start-up --------------------------------------------------------------------------------- */

/*
 * Unless we already run from a sealed memfd, copy our binary into one, seal it and exec it,
 * so that /proc/PID/exe never names the host file (a container process could otherwise open
 * it for writing). Returns only in the sealed copy; the check makes this happen once.
 */
static void reexec_sealed(char **argv)
{
	const int seals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
	int exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC), have, mfd;
	ssize_t n;

	if (exe < 0)
		die(-1, errno);
	have = fcntl(exe, F_GET_SEALS); /* EINVAL on files that cannot be sealed */
	if (have >= 0 && (have & seals) == seals) {
		close(exe);
		return;
	}
	/* Kernels before 6.3 reject MFD_EXEC; later ones may refuse exec without it. */
	mfd = memfd_create("kurma-stage2", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
	if (mfd < 0 && errno == EINVAL)
		mfd = memfd_create("kurma-stage2", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0)
		die(-1, errno);
	while ((n = sendfile(mfd, exe, NULL, 1 << 20)) != 0)
		if (n < 0 && errno != EINTR)
			die(-1, errno);
	if (fcntl(mfd, F_ADD_SEALS, seals) < 0)
		die(-1, errno);
	close(exe);
	fexecve(mfd, argv, environ);
	die(-1, errno);
}

/* The spawner passes on the JVM's signal mask and ignored signals; the container must not
   inherit them. The raw system call, because glibc's sigaction() refuses its own internal
   signals (32, 33), which a JVM may leave ignored. SIGKILL and SIGSTOP refuse any change. */
static void reset_signals(void)
{
	struct { void *handler; unsigned long flags; void *restorer; uint64_t mask; } dfl = { 0 };
	sigset_t none;

	for (int sig = 1; sig <= 64; sig++)
		syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof dfl.mask);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* A plain decimal number up to INT_MAX, or -1. */
static long parse_num(const char *s)
{
	long n = *s ? 0 : -1;

	for (; *s && n >= 0; s++)
		n = *s >= '0' && *s <= '9' && n <= (INT_MAX - 9) / 10 ? n * 10 + (*s - '0') : -1;
	return n;
}

/*
 * fd 0 and 1 are the pipes from and to the JVM; move them above the container's fds, then copy
 * the JVM's fds the plan names onto 0, 1, 2, 3... (pidfd_getfd: the JVM cannot hand them over
 * itself without a native call). Our own stderr goes: from here on fd 2 is the container's, where
 * hooks and our messages write too. (Keeping it would hold the caller's stderr open for as long
 * as the container lives: containerd's shim waits for the runtime's stderr to close.)
 */
static void take_fds(pid_t parent, const uint32_t *fds)
{
	int pidfd, fd;
	int in = fcntl(0, F_DUPFD_CLOEXEC, own_fds), out = fcntl(1, F_DUPFD_CLOEXEC, own_fds);

	if (in < 0 || out < 0)
		die(-1, errno); /* out_fd is still 1 here, so the error gets through */
	in_fd = in;
	out_fd = out;
	if ((pidfd = (int)syscall(SYS_pidfd_open, parent, 0)) < 0)
		die(-1, errno);
	if (pidfd < own_fds) { /* keep the container's numbers free */
		if ((fd = fcntl(pidfd, F_DUPFD_CLOEXEC, own_fds)) < 0)
			die(-1, errno);
		close(pidfd);
		pidfd = fd;
	}
	for (int target = 0; target < own_fds; target++) {
		int got;

		if ((got = (int)syscall(SYS_pidfd_getfd, pidfd, (int)fds[target], 0)) < 0)
			die(-1, errno);
		if (got == target) { /* landed in place: only clear its close-on-exec */
			if (fcntl(got, F_SETFD, 0) < 0)
				die(-1, errno);
			continue;
		}
		if (dup2(got, target) < 0)
			die(-1, errno);
		close(got);
	}
	close(pidfd);
}

int main(int argc, char **argv)
{
	unsigned char hdr[12], *body;
	uint32_t count, len, nfds, *fds;
	struct op *ops;
	long parent = argc == 2 ? parse_num(argv[1]) : -1;

	reset_signals();
	if (parent < 1 || fcntl(0, F_GETFD) < 0 || fcntl(1, F_GETFD) < 0) {
		fputs("usage: kurma-stage2 PARENT_PID (fd 0: plan pipe, fd 1: message pipe)\n", stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	in_fd = 0; /* until take_fds moves the pipes above the container's fds */
	out_fd = 1; /* until take_fds: start-up errors still reach the JVM */

	/* Start-up failures come before any op, hence op_index -1. */
	if (prctl(PR_SET_DUMPABLE, 0UL, 0UL, 0UL, 0UL) < 0) /* again in the copy: exec resets it */
		die(-1, errno);
	reexec_sealed(argv);
	if (close_range(3, ~0U, 0) < 0) /* nothing but 0-2 should be here anyway */
		die(-1, errno);

	/* The header names the JVM's fds the container gets: only then can they be taken. */
	if (read_full(hdr, sizeof hdr) < 0)
		die(-1, errno);
	nfds = get32(hdr + 8);
	if (get32(hdr) != PLAN_MAGIC || get32(hdr + 4) != PLAN_VERSION || nfds < 3 || nfds > MAX_FDS)
		die(-1, EINVAL);
	if (!(body = malloc(nfds * 4)) || !(fds = malloc(nfds * sizeof *fds)))
		die(-1, ENOMEM);
	if (read_full(body, nfds * 4) < 0)
		die(-1, errno);
	for (uint32_t i = 0; i < nfds; i++)
		if ((fds[i] = get32(body + 4 * i)) > INT_MAX)
			die(-1, EINVAL);
	free(body);
	if (read_full(hdr, 8) < 0)
		die(-1, errno);
	count = get32(hdr);
	len = get32(hdr + 4);
	/* Every op takes at least 4 bytes, which also bounds the op table we allocate. */
	if (count > len / 4)
		die(-1, EINVAL);
	own_fds = (int)nfds;
	take_fds((pid_t)parent, fds);
	free(fds);

	if (!(body = malloc(len ? len : 1)))
		die(-1, ENOMEM);
	if (read_full(body, len) < 0)
		die(-1, errno);
	ops = parse(body, len, count);

	for (uint32_t i = 0; i < count; i++) {
		if (ops[i].code == READY && death_armed) {
			/* From READY on the container outlives the parent (it exits, or monitors). */
			if (prctl(PR_SET_PDEATHSIG, 0UL, 0UL, 0UL, 0UL) < 0)
				die((int)i, errno);
			death_armed = 0;
		}
		if (run(&ops[i], (int)i) < 0) {
			/* Failing, we exit at once: the parent, which exits once it has relayed our
			   ERROR, must not kill us on the way out (a killed child looks like a crash). */
			if (death_armed)
				prctl(PR_SET_PDEATHSIG, 0UL, 0UL, 0UL, 0UL);
			if (ops[i].code == RUN_HOOK) { /* the hook's wait status goes with the error */
				message(MSG_ERROR, (int)i, errno, hook_status);
				_exit(1);
			}
			die((int)i, errno);
		}
	}
	_exit(0); /* a plan need not end in EXEC */
}
