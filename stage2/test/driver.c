/*
 * stage2-driver: development test driver for kurma-stage2 (needs root).
 *
 *   stage2-driver STAGE2 WORKDIR
 *
 * Builds launch plans in the PLAN.md wire format, runs STAGE2 the way the JVM does
 * ("kurma-stage2 PARENT_PID", plan pipe at fd 0, message pipe at fd 1; see
 * run_raw) and checks the messages, exit statuses and output. WORKDIR is prepared by
 * run.sh: root/ (a busybox rootfs with root/esc -> WORKDIR/escape and root/esc2 ->
 * WORKDIR/escape2, root/WORKDIR/escape present), escape/, escape2/, state/.
 * Ends with the line "N passed, N failed"; exits non-zero if any check failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "../src/protocol.h" /* the op codes, the messages, the header's magic and version */

enum {
#define OP_CODE(name, code, sig) name = code,
	STAGE2_OPS(OP_CODE)
#undef OP_CODE
};
enum {
#define MESSAGE_TYPE(name, type) MSG_##name = type,
	STAGE2_MESSAGES(MESSAGE_TYPE)
#undef MESSAGE_TYPE
};

#define U(x) ((uint64_t)(x))
#define END ((const char *)0)

static const char *stage2, *work;
static char rootfs[512];

/* ---- plan building ------------------------------------------------------------------------------ */

struct plan { unsigned char *b; size_t len, cap; uint32_t ops; uint32_t magic, version; };

static void put(struct plan *p, const void *d, size_t n)
{
	if (p->len + n > p->cap) {
		p->cap = (p->len + n) * 2;
		p->b = realloc(p->b, p->cap);
		if (!p->b)
			abort();
	}
	memcpy(p->b + p->len, d, n);
	p->len += n;
}
static void put32(struct plan *p, uint32_t v) { unsigned char b[4] = { v, v >> 8, v >> 16, v >> 24 }; put(p, b, 4); }
static void put16(struct plan *p, unsigned v) { unsigned char b[2] = { v, v >> 8 }; put(p, b, 2); }
static void arg_s(struct plan *p, const char *s) { put32(p, strlen(s)); put(p, s, strlen(s)); }
static void arg_u(struct plan *p, uint64_t v) { put32(p, 8); put32(p, (uint32_t)v); put32(p, (uint32_t)(v >> 32)); }

/* add(p, code, "sus", "a", U(1), "b"): 's' string, 'u' u64 (pass through U()). */
static void add(struct plan *p, unsigned code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	put16(p, code);
	put16(p, strlen(fmt));
	for (const char *f = fmt; *f; f++) {
		if (*f == 's')
			arg_s(p, va_arg(ap, const char *));
		else
			arg_u(p, va_arg(ap, uint64_t));
	}
	va_end(ap);
	p->ops++;
}

/* EXEC with argv up to END, then the environment up to END. */
static void add_exec(struct plan *p, ...)
{
	const char *v[64];
	int n = 0, argc;
	va_list ap;

	va_start(ap, p);
	while ((v[n] = va_arg(ap, const char *)))
		n++;
	argc = n;
	while ((v[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	put16(p, EXEC);
	put16(p, 1 + n);
	arg_u(p, argc);
	for (int i = 0; i < n; i++)
		arg_s(p, v[i]);
	p->ops++;
}

static struct plan new_plan(void) { return (struct plan){ .magic = PLAN_MAGIC, .version = PLAN_VERSION }; }

/*
 * header + body. The header names the driver's fds the container gets: its 0 and 1 (held at
 * those numbers during the run), 1 again as its stderr (the program's stderr joins its stdout in
 * r->out, with stage2's own messages from then on; r->err has what it says before), then
 * 3..3+preserve-1.
 */
static unsigned char *wire(struct plan *p, uint32_t preserve, size_t *len)
{
	struct plan w = new_plan();
	put32(&w, p->magic);
	put32(&w, p->version);
	put32(&w, 3 + preserve);
	put32(&w, 0);
	put32(&w, 1);
	put32(&w, 1);
	for (uint32_t i = 0; i < preserve; i++)
		put32(&w, 3 + i);
	put32(&w, p->ops);
	put32(&w, p->len);
	put(&w, p->b, p->len);
	*len = w.len;
	return w.b;
}

/* ---- running stage2 ------------------------------------------------------------------------------- */

/*
 * The harness plays the JVM: for each run it forks a spawner that gets the plan pipe at fd 0,
 * the message pipe at fd 1 and a stderr pipe at fd 2, and execs STAGE2 PARENT_PID N. stage2
 * then copies the PARENT's fds 0, 1 and 3..3+N-1, so for the length of the run the driver
 * itself holds the container's stdio there: a fresh memfd at fd 1 (read back as the run's
 * stdout), /dev/null or a given file at fd 0, the given fds at 3.. . They are saved first and
 * put back after the run. Everything else the driver holds lives at fd >= HIGH, close-on-exec,
 * out of the way of those numbers; its report goes to a copy of its original stdout.
 */
#define HIGH 100
#define MAX_PRESERVE 8

struct result {
	int nmsg;
	int32_t msg[16][4];
	int status, child_status; /* child_status: of the pid in a PID message, -1 if none */
	char out[65536], err[8192];
	size_t outlen, errlen;
	pid_t pid;
	int timed_out;
	/* What the driver held at fd 0 and fd 1 during the run, and the pipes, as /proc/PID/fd
	   links name them ("pipe:[ino]"). */
	char in_name[256], out_name[256], err_name[64], msg_name[64], plan_name[64];
};

struct opts {
	int preserve;       /* the plan's fd count: the driver holds pfds[i] at 3+i during the run */
	uint32_t hdr_preserve; /* a different count in the header (malformed plans) */
	const int *pfds;    /* ... (-1: that number is left closed); NULL: /dev/null for each */
	int stdin_fd;       /* held at the driver's fd 0 during the run; 0: /dev/null */
	int leak;           /* the spawner leaves non-CLOEXEC /dev/null at 3..3+N-1 and above */
	size_t truncate;    /* send only this many bytes of the plan, then close the pipe (0: all) */
	int no_reader;      /* close our end of the message pipe before sending anything */
	int close_in_spawner; /* 1: the spawner closes its fd 0 (plan pipe), 2: its fd 1 */
	int dirty_signals;  /* start stage2 with signals ignored and blocked, as a JVM might */
	const char *const *args; /* replaces the arguments altogether */
	int uid;            /* run stage2 as this uid and gid instead of root */
	int holder;         /* PARENT_PID is a helper running as uid that holds our fds, not us */
	void (*on_msg)(struct result *r, int32_t *m);
	int hangup_on;      /* on this message type, close our end of the plan pipe (the JVM dies) */
	int kill_on;        /* on this message type, SIGKILL stage2's first process */
	int hold_plan;      /* keep our end of the plan pipe open until the child is reaped (so that
			       it cannot end by that pipe's end-of-file instead of how the check expects) */
};

static FILE *report; /* the driver's original stdout: fd 1 is the container's during a run */

static int high(int fd)
{
	int h = fcntl(fd, F_DUPFD_CLOEXEC, HIGH);

	if (h < 0)
		abort();
	close(fd);
	return h;
}

/* Puts src[i] (-1: nothing) at number at[i], after saving what was there in saved[i]. */
static void install(int n, const int *at, const int *src, int *saved)
{
	int tmp[3 + MAX_PRESERVE];

	for (int i = 0; i < n; i++) {
		tmp[i] = src[i] < 0 ? -1 : fcntl(src[i], F_DUPFD_CLOEXEC, HIGH);
		saved[i] = fcntl(at[i], F_DUPFD_CLOEXEC, HIGH);
		if ((src[i] >= 0 && tmp[i] < 0) || (saved[i] < 0 && errno != EBADF))
			abort();
	}
	for (int i = 0; i < n; i++) {
		if (tmp[i] < 0) {
			close(at[i]);
		} else {
			if (dup2(tmp[i], at[i]) < 0)
				abort();
			close(tmp[i]);
		}
	}
}

static void restore(int n, const int *at, const int *saved)
{
	for (int i = 0; i < n; i++) {
		if (saved[i] < 0) {
			close(at[i]);
		} else {
			if (dup2(saved[i], at[i]) < 0)
				abort();
			close(saved[i]);
		}
	}
}

static void link_name(int fd, char *buf, size_t size)
{
	char p[64];
	ssize_t n;

	snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
	n = readlink(p, buf, size - 1);
	buf[n > 0 ? n : 0] = 0;
}

static void null_at(int fd)
{
	int n = open("/dev/null", O_RDWR);

	if (n >= 0 && n != fd) {
		dup2(n, fd);
		close(n);
	}
}

static int run_raw(const unsigned char *plan, size_t len, struct result *r, const struct opts *o)
{
	static const struct opts none;
	static int runs;
	int plan_p[2], msg[2], err[2], at[3 + MAX_PRESERVE], src[3 + MAX_PRESERVE], saved[3 + MAX_PRESERVE];
	int nfd, memfd, nul, preserve;
	char name[64], parent_s[16];
	unsigned char mbuf[16];
	size_t mlen = 0, sent = 0, want;
	pid_t holder = 0, parent = getpid();
	time_t deadline = time(NULL) + 30;

	if (!o)
		o = &none;
	preserve = o->preserve;
	if (preserve < 0 || preserve > MAX_PRESERVE)
		abort();
	want = o->truncate ? o->truncate : len;
	memset(r, 0, sizeof *r);
	r->child_status = -1;

	/* The container's fds, held by us at their numbers for the whole run. */
	snprintf(name, sizeof name, "kurma-s2-out-%d", ++runs);
	if ((memfd = memfd_create(name, MFD_CLOEXEC)) < 0 || (nul = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
		abort();
	memfd = high(memfd);
	nul = high(nul);
	nfd = 2 + preserve;
	at[0] = 0, src[0] = o->stdin_fd ? o->stdin_fd : nul;
	at[1] = 1, src[1] = memfd;
	for (int i = 0; i < preserve; i++)
		at[2 + i] = 3 + i, src[2 + i] = o->pfds ? o->pfds[i] : nul;
	install(nfd, at, src, saved);
	link_name(0, r->in_name, sizeof r->in_name);
	link_name(1, r->out_name, sizeof r->out_name);

	if (o->holder) {
		/* Holds copies of our fds at the same numbers, as uid; stage2 takes them from it. */
		if ((holder = fork()) < 0)
			abort();
		if (holder == 0) {
			close_range(3 + preserve, ~0U, 0);
			if (setgroups(0, NULL) < 0 || setresgid(o->uid, o->uid, o->uid) < 0 ||
			    setresuid(o->uid, o->uid, o->uid) < 0)
				_exit(125);
			prctl(PR_SET_DUMPABLE, 1UL, 0UL, 0UL, 0UL); /* a uid change cleared it */
			for (;;)
				pause();
		}
		parent = holder;
	}

	if (pipe2(plan_p, O_CLOEXEC) < 0 || pipe2(msg, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
		abort();
	for (int i = 0; i < 2; i++)
		plan_p[i] = high(plan_p[i]), msg[i] = high(msg[i]), err[i] = high(err[i]);
	link_name(plan_p[0], r->plan_name, sizeof r->plan_name);
	link_name(msg[0], r->msg_name, sizeof r->msg_name);
	link_name(err[0], r->err_name, sizeof r->err_name);
	snprintf(parent_s, sizeof parent_s, "%d", (int)parent);

	r->pid = fork();
	if (r->pid < 0)
		abort();
	if (r->pid == 0) {
		setpgid(0, 0);
		if (dup2(plan_p[0], 0) < 0 || dup2(msg[1], 1) < 0 || dup2(err[1], 2) < 0)
			_exit(125);
		/* Only 0-2: our copies of the driver's fds at 3.. must not reach stage2 this way. */
		close_range(3, ~0U, 0);
		if (o->leak) {
			for (int fd = 3; fd < 3 + preserve; fd++)
				null_at(fd); /* stage2 must replace these with the parent's */
			null_at(3 + preserve + 1);
			null_at(3 + preserve + 4);
			null_at(150);
		}
		if (o->close_in_spawner)
			close(o->close_in_spawner - 1);
		if (o->uid && (setgroups(0, NULL) < 0 || setresgid(o->uid, o->uid, o->uid) < 0 ||
				setresuid(o->uid, o->uid, o->uid) < 0))
			_exit(125);
		if (o->dirty_signals) {
			sigset_t set;
			sigemptyset(&set);
			sigaddset(&set, SIGUSR1);
			sigaddset(&set, SIGHUP);
			sigprocmask(SIG_BLOCK, &set, NULL);
			signal(SIGINT, SIG_IGN);
			signal(SIGTERM, SIG_IGN);
		}
		/* SIGPIPE stays ignored, as in the driver: stage2 must hand the program the default. */
		if (o->args) {
			const char *v[8] = { "kurma-stage2" };
			for (int i = 0; i < 6 && o->args[i]; i++)
				v[i + 1] = o->args[i];
			execv(stage2, (char **)v);
		} else {
			execl(stage2, "kurma-stage2", parent_s, (char *)NULL);
		}
		_exit(126);
	}
	close(plan_p[0]);
	close(msg[1]);
	close(err[1]);
	if (o->no_reader)
		close(msg[0]), msg[0] = -1;
	if (fcntl(plan_p[1], F_SETFL, O_NONBLOCK) < 0) /* our end only: stage2 reads blocking */
		abort();

	/* Messages and stderr until both end (every process holds stderr: all gone), feeding the
	   plan as the pipe takes it. Our end of the plan pipe stays open unless truncating. */
	struct pollfd pf[3] = { { msg[0], POLLIN, 0 }, { err[0], POLLIN, 0 }, { plan_p[1], POLLOUT, 0 } };
	while (pf[0].fd >= 0 || pf[1].fd >= 0) {
		int left = (int)(deadline - time(NULL));
		if (left <= 0 || poll(pf, 3, left * 1000) == 0) {
			r->timed_out = 1;
			kill(-r->pid, SIGKILL);
			for (int i = 0; i < r->nmsg; i++)
				if (r->msg[i][0] == MSG_PID)
					kill(r->msg[i][3], SIGKILL);
			break;
		}
		if (pf[2].fd >= 0 && pf[2].revents) {
			ssize_t n = write(plan_p[1], plan + sent, want - sent);
			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				pf[2].fd = -1; /* EPIPE: stage2 stopped reading */
			} else if (n > 0 && (sent += (size_t)n) == want) {
				pf[2].fd = -1;
				if (o->truncate)
					close(plan_p[1]), plan_p[1] = -1;
			}
		}
		for (int i = 0; i < 2; i++) {
			ssize_t n;
			if (pf[i].fd < 0 || !pf[i].revents)
				continue;
			if (i == 0)
				n = read(pf[i].fd, mbuf + mlen, sizeof mbuf - mlen);
			else
				n = read(pf[i].fd, r->err + r->errlen, sizeof r->err - 1 - r->errlen);
			if (n <= 0) {
				close(pf[i].fd);
				pf[i].fd = -1;
				continue;
			}
			if (i == 1)
				r->errlen += n;
			else if ((mlen += n) == sizeof mbuf && r->nmsg < 16) {
				int32_t *m = r->msg[r->nmsg++];
				for (int k = 0; k < 4; k++)
					m[k] = (int32_t)(mbuf[4 * k] | mbuf[4 * k + 1] << 8 |
							 mbuf[4 * k + 2] << 16 | (uint32_t)mbuf[4 * k + 3] << 24);
				mlen = 0;
				if (o->on_msg)
					o->on_msg(r, m);
				if (o->hangup_on && m[0] == o->hangup_on && plan_p[1] >= 0)
					close(plan_p[1]), plan_p[1] = -1, pf[2].fd = -1;
				if (o->kill_on && m[0] == o->kill_on)
					kill(r->pid, SIGKILL);
			}
		}
	}
	for (int i = 0; i < 2; i++)
		if (pf[i].fd >= 0)
			close(pf[i].fd);
	if (plan_p[1] >= 0 && !o->hold_plan)
		close(plan_p[1]), plan_p[1] = -1;
	waitpid(r->pid, &r->status, 0);
	/* The container process is our child (CLONE_PARENT) or reparented to us (subreaper);
	   a monitor (FORK with wait) reaps its own. */
	for (int i = 0; i < r->nmsg; i++)
		if (r->msg[i][0] == MSG_PID)
			waitpid(r->msg[i][3], &r->child_status, 0);
	if (plan_p[1] >= 0)
		close(plan_p[1]);
	if (holder > 0) {
		kill(holder, SIGKILL);
		waitpid(holder, NULL, 0);
	}
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	ssize_t n = pread(memfd, r->out, sizeof r->out - 1, 0);
	r->outlen = n > 0 ? (size_t)n : 0;
	r->out[r->outlen] = 0;
	r->err[r->errlen] = 0;
	restore(nfd, at, saved);
	close(memfd);
	close(nul);
	return 0;
}

static void run(struct plan *p, struct result *r, const struct opts *o)
{
	size_t len;
	unsigned char *w = wire(p, o && o->hdr_preserve ? o->hdr_preserve : o ? (uint32_t)o->preserve : 0, &len);
	run_raw(w, len, r, o);
	free(w);
	free(p->b);
}

/* ---- checks ------------------------------------------------------------------------------------- */

static int passed, failed, test_failed;
static const char *test_name;

#define CHECK(c, ...)                                                                      \
	do {                                                                               \
		if (!(c)) {                                                                \
			test_failed = 1;                                                   \
			fprintf(report, "  FAIL %s line %d: %s: ", test_name, __LINE__, #c); \
			fprintf(report, __VA_ARGS__);                                      \
			fputc('\n', report);                                               \
		}                                                                          \
	} while (0)

static void begin(const char *name) { test_name = name; test_failed = 0; }

static void dump(struct result *r)
{
	fprintf(report, "    status=%#x child_status=%#x timed_out=%d messages:", r->status, r->child_status, r->timed_out);
	for (int i = 0; i < r->nmsg; i++)
		fprintf(report, " [%d %d %d %d]", r->msg[i][0], r->msg[i][1], r->msg[i][2], r->msg[i][3]);
	fprintf(report, "\n    stdout: %.*s\n    stderr: %.*s\n", (int)r->outlen, r->out, (int)r->errlen, r->err);
}

static void end(struct result *r)
{
	if (test_failed && r)
		dump(r);
	fprintf(report, "%s - %s\n", test_failed ? "not ok" : "ok", test_name);
	if (test_failed)
		failed++;
	else
		passed++;
}

static int exited(int status, int code) { return WIFEXITED(status) && WEXITSTATUS(status) == code; }

/* Exactly one message, ERROR(op, err), and exit status 1. */
static void expect_error(struct result *r, int op, int err)
{
	CHECK(r->nmsg == 1 && r->msg[0][0] == MSG_ERROR && r->msg[0][1] == op && r->msg[0][2] == err,
	      "want ERROR(%d, %s)", op, strerror(err));
	CHECK(exited(r->status, 1), "stage2 exit status %#x", r->status);
}

static void expect_clean(struct result *r, const char *out)
{
	CHECK(r->nmsg == 0, "no messages expected, got %d", r->nmsg);
	CHECK(exited(r->status, 0), "exit status %#x", r->status);
	if (out)
		CHECK(r->outlen == strlen(out) && !memcmp(r->out, out, r->outlen), "want stdout %s", out);
}

static char *path(const char *fmt, ...)
{
	static char bufs[8][512];
	static int n;
	char *b = bufs[n++ % 8];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b, sizeof bufs[0], fmt, ap);
	va_end(ap);
	return b;
}

static int exists(const char *p) { struct stat st; return lstat(p, &st) == 0; }
static int is_dir(const char *p) { struct stat st; return lstat(p, &st) == 0 && S_ISDIR(st.st_mode); }

/* ---- tests ---------------------------------------------------------------------------------------- */

static void t_malformed(void)
{
	struct result r;
	struct plan p;
	struct opts trunc = { .truncate = 20 };
	char tmp[] = "/tmp/kurma-s2-XXXXXX";
	int fd = mkstemp(tmp);
	close(fd);

	begin("malformed: bad magic -> ERROR(-1, EINVAL)");
	p = new_plan(); p.magic = 0x12345678; add(&p, SETSID, "");
	run(&p, &r, NULL); expect_error(&r, -1, EINVAL); end(&r);

	begin("malformed: bad version (1: the header without an fd count)");
	p = new_plan(); p.version = 1; add(&p, SETSID, "");
	run(&p, &r, NULL); expect_error(&r, -1, EINVAL); end(&r);

	begin("malformed: more than 65536 fds to preserve");
	{ struct opts t = { .hdr_preserve = 65537 };
	  p = new_plan(); add(&p, SETSID, "");
	  run(&p, &r, &t); expect_error(&r, -1, EINVAL); end(&r); }

	begin("malformed: short header then EOF");
	{ unsigned char h[8] = { 0x4b, 0x52, 0x4d, 0x32, 2, 0, 0, 0 }; struct opts t = { .truncate = 8 };
	  run_raw(h, 8, &r, &t); expect_error(&r, -1, EINVAL); end(&r); }

	begin("malformed: truncated body");
	p = new_plan(); add(&p, SETHOSTNAME, "s", "a-rather-long-host-name");
	run(&p, &r, &trunc); expect_error(&r, -1, EINVAL); end(&r);

	begin("malformed: op_count larger than the body can hold");
	p = new_plan(); add(&p, SETSID, ""); p.ops = 2;
	run(&p, &r, NULL); expect_error(&r, -1, EINVAL); end(&r);

	begin("malformed: trailing bytes after the last op");
	p = new_plan(); add(&p, SETSID, ""); put32(&p, 0); put32(&p, 0);
	run(&p, &r, NULL); expect_error(&r, -1, EINVAL); end(&r);

	begin("malformed: op 1 overruns the body");
	p = new_plan(); add(&p, SETSID, ""); put16(&p, SETHOSTNAME); put16(&p, 1); put32(&p, 100); put(&p, "abc", 3); p.ops++;
	run(&p, &r, NULL); expect_error(&r, 1, EINVAL); end(&r);

	begin("malformed: NUL in a string; nothing before it ran");
	p = new_plan(); add(&p, WRITE_FILE, "ss", tmp, "ran");
	put16(&p, SETHOSTNAME); put16(&p, 1); put32(&p, 3); put(&p, "a\0b", 3); p.ops++;
	run(&p, &r, NULL); expect_error(&r, 1, EINVAL);
	{ struct stat st; stat(tmp, &st); CHECK(st.st_size == 0, "op 0 ran before validation"); }
	end(&r);

	begin("malformed: wrong argument count (FORK takes two now)");
	p = new_plan(); add(&p, UNSHARE, "uu", U(0), U(0));
	run(&p, &r, NULL); expect_error(&r, 0, EINVAL);
	p = new_plan(); add(&p, FORK, "u", U(0));
	run(&p, &r, NULL); expect_error(&r, 0, EINVAL);
	p = new_plan(); add(&p, MKFIFO_AT_STATE, "s", "fifo");
	run(&p, &r, NULL); expect_error(&r, 0, EINVAL); end(&r);

	begin("malformed: u64 of 4 bytes");
	p = new_plan(); put16(&p, UNSHARE); put16(&p, 1); put32(&p, 4); put32(&p, 0); p.ops++;
	run(&p, &r, NULL); expect_error(&r, 0, EINVAL); end(&r);

	begin("malformed: unknown op codes 0 and 99");
	p = new_plan(); add(&p, 99, "");
	run(&p, &r, NULL); expect_error(&r, 0, EINVAL);
	p = new_plan(); add(&p, SETSID, ""); add(&p, 0, "");
	run(&p, &r, NULL); expect_error(&r, 1, EINVAL); end(&r);

	begin("malformed: 32-bit argument out of range");
	p = new_plan(); add(&p, SETUID, "u", U(1) << 32);
	run(&p, &r, NULL); expect_error(&r, 0, EINVAL); end(&r);

	begin("malformed: EXEC argc 0 and argc beyond its arguments");
	p = new_plan(); add(&p, EXEC, "us", U(0), "PATH=/bin");
	run(&p, &r, NULL); expect_error(&r, 0, EINVAL);
	p = new_plan(); add(&p, EXEC, "us", U(2), "/bin/true");
	run(&p, &r, NULL); expect_error(&r, 0, EINVAL); end(&r);

	begin("malformed: argument longer than 1 MiB");
	{ char *big = malloc((1 << 20) + 2); memset(big, 'x', (1 << 20) + 1); big[(1 << 20) + 1] = 0;
	  p = new_plan(); add(&p, SETHOSTNAME, "s", big); free(big);
	  run(&p, &r, NULL); expect_error(&r, 0, EINVAL); end(&r); }

	begin("empty plan: no message, exit 0");
	p = new_plan();
	run(&p, &r, NULL); expect_clean(&r, ""); end(&r);
	unlink(tmp);
}

static void t_write_file(void)
{
	struct result r;
	struct plan p = new_plan();
	char tmp[] = "/tmp/kurma-s2-XXXXXX", buf[64] = "";
	int fd = mkostemp(tmp, O_CLOEXEC);

	begin("WRITE_FILE writes all of data");
	add(&p, WRITE_FILE, "ss", tmp, "hello stage2\n");
	run(&p, &r, NULL);
	expect_clean(&r, "");
	CHECK(pread(fd, buf, sizeof buf - 1, 0) == 13 && !strcmp(buf, "hello stage2\n"), "file has %s", buf);
	close(fd);
	unlink(tmp);
	end(&r);

	begin("WRITE_FILE does not create: ENOENT");
	p = new_plan();
	add(&p, UMASK, "u", U(022));
	add(&p, WRITE_FILE, "ss", tmp, "x");
	run(&p, &r, NULL);
	expect_error(&r, 1, ENOENT);
	CHECK(!exists(tmp), "file created");
	end(&r);
}

static void t_hostname(void)
{
	struct result r;
	struct plan p = new_plan();
	char before[256], after[256];

	begin("UNSHARE(NEWUTS) + SETHOSTNAME + FIND_EXEC + EXEC hostname");
	gethostname(before, sizeof before);
	add(&p, UNSHARE, "u", U(CLONE_NEWUTS));
	add(&p, SETHOSTNAME, "s", "kurma-s2-test");
	add(&p, FIND_EXEC, "ss", "hostname", "/nonexistent::/bin:/usr/bin");
	add_exec(&p, "hostname", END, "PATH=/usr/bin:/bin", END);
	run(&p, &r, NULL);
	expect_clean(&r, "kurma-s2-test\n");
	gethostname(after, sizeof after);
	CHECK(!strcmp(before, after), "host name changed to %s", after);
	end(&r);
}

static void t_fork_pidns(void)
{
	struct result r;
	struct plan p = new_plan();

	begin("FORK(NEWPID|CLONE_PARENT): PID message, child is pid 1");
	add(&p, FORK, "uu", U(CLONE_NEWPID | CLONE_PARENT), U(0));
	add(&p, FIND_EXEC, "ss", "sh", "/bin");
	add_exec(&p, "sh", "-c", "echo $$", END, END);
	run(&p, &r, NULL);
	CHECK(r.nmsg == 1 && r.msg[0][0] == MSG_PID && r.msg[0][1] == 0 && r.msg[0][3] > 1, "want PID(0, pid)");
	CHECK(exited(r.status, 0), "stage2 status %#x", r.status);
	CHECK(exited(r.child_status, 0), "child status %#x (not our child?)", r.child_status);
	CHECK(r.outlen == 2 && !memcmp(r.out, "1\n", 2), "child printed %.*s", (int)r.outlen, r.out);
	end(&r);

	begin("FORK: PID always precedes the child's ERROR");
	for (int i = 0; i < 20 && !test_failed; i++) {
		p = new_plan();
		add(&p, FORK, "uu", U(0), U(0));
		add(&p, FIND_EXEC, "ss", "kurma-no-such-program", "/bin");
		run(&p, &r, NULL);
		CHECK(r.nmsg == 2 && r.msg[0][0] == MSG_PID && r.msg[1][0] == MSG_ERROR && r.msg[1][1] == 1 &&
		      r.msg[1][2] == ENOENT, "round %d", i);
		CHECK(exited(r.child_status, 1), "child status %#x", r.child_status);
	}
	end(&r);

	begin("FORK: flags that need a stack or tid pointers are EINVAL");
	p = new_plan();
	add(&p, FORK, "uu", U(CLONE_VM), U(0));
	run(&p, &r, NULL);
	expect_error(&r, 0, EINVAL);
	end(&r);
}

/* FORK with wait=1: the parent stays as the child's monitor and reports how it ended. */
/* Reads a small file into buf (NUL-terminated); "" if it is not there. */
static const char *slurp(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? 0 : read(fd, buf, size - 1);

	buf[n > 0 ? n : 0] = 0;
	if (fd >= 0)
		close(fd);
	return buf;
}

static void t_fork_detached(void)
{
	struct result r;
	struct plan p = new_plan();
	char state[512], log[512], cmd[1200], exitf[600], buf[256];

	begin("FORK wait=2: STDIO to a log, a detached monitor records the exit, then runs EXIT_COMMAND");
	snprintf(state, sizeof state, "%s/state", work);
	snprintf(log, sizeof log, "%s/detached.log", work);
	snprintf(exitf, sizeof exitf, "%s/exit", state);
	snprintf(cmd, sizeof cmd, "echo exit-command >> %s", log);
	unlink(exitf);
	add(&p, OPEN_STATE_DIR, "s", state);
	add(&p, STDIO, "ss", "/dev/null", log);
	add(&p, EXIT_COMMAND, "suusss", "/bin/sh", U(0), U(3), "sh", "-c", cmd);
	add(&p, FORK, "uu", U(0), U(2));
	add(&p, READY, "");
	add_exec(&p, "/bin/sh", "-c", "echo out; echo err >&2; sleep 0.2; exit 5", END, END);
	run(&p, &r, NULL);
	CHECK(r.nmsg == 2 && r.msg[0][0] == MSG_PID && r.msg[1][0] == MSG_READY, "want PID, READY and nothing after");
	CHECK(r.outlen == 0, "the container's stdout went to the log, not ours");
	for (int i = 0; i < 100 && !*slurp(exitf, buf, sizeof buf); i++)
		usleep(50000);
	CHECK(!strcmp(slurp(exitf, buf, sizeof buf), "1280\n"), "exit file: %s", buf);
	for (int i = 0; i < 100 && !strstr(slurp(log, buf, sizeof buf), "exit-command"); i++)
		usleep(50000);
	CHECK(!strcmp(slurp(log, buf, sizeof buf), "out\nerr\nexit-command\n"), "log: %s", buf);
	unlink(exitf);
	unlink(log);
	end(&r);
}

static void t_fork_wait(void)
{
	struct result r;
	struct plan p = new_plan();

	begin("FORK wait=1: PID, then EXIT with the child's raw wait status (exit 7)");
	add(&p, FORK, "uu", U(0), U(1));
	add(&p, FIND_EXEC, "ss", "sh", "/bin");
	add_exec(&p, "sh", "-c", "echo child; exit 7", END, END);
	run(&p, &r, NULL);
	CHECK(r.nmsg == 2 && r.msg[0][0] == MSG_PID && r.msg[0][1] == 0 && r.msg[0][3] > 1, "want PID(0, pid) first");
	CHECK(r.nmsg == 2 && r.msg[1][0] == MSG_EXIT && r.msg[1][1] == 0 && r.msg[1][2] == 0 &&
	      WIFEXITED(r.msg[1][3]) && WEXITSTATUS(r.msg[1][3]) == 7, "want EXIT(0, exit 7)");
	CHECK(exited(r.status, 0), "monitor status %#x", r.status);
	CHECK(r.child_status == -1, "the monitor did not reap its child");
	CHECK(!strcmp(r.out, "child\n"), "stdout %s", r.out);
	end(&r);

	begin("FORK wait=1: a child killed by a signal");
	p = new_plan();
	add(&p, FORK, "uu", U(0), U(1));
	add_exec(&p, "/bin/sh", "-c", "kill -TERM $$", END, END);
	run(&p, &r, NULL);
	CHECK(r.nmsg == 2 && r.msg[0][0] == MSG_PID && r.msg[1][0] == MSG_EXIT && WIFSIGNALED(r.msg[1][3]) &&
	      WTERMSIG(r.msg[1][3]) == SIGTERM, "want EXIT(SIGTERM)");
	CHECK(exited(r.status, 0), "monitor status %#x", r.status);
	end(&r);

	begin("FORK wait=1: PID, the child's ERROR, then EXIT(1)");
	for (int i = 0; i < 10 && !test_failed; i++) {
		p = new_plan();
		add(&p, FORK, "uu", U(0), U(1));
		add(&p, FIND_EXEC, "ss", "kurma-no-such-program", "/bin");
		run(&p, &r, NULL);
		CHECK(r.nmsg == 3 && r.msg[0][0] == MSG_PID && r.msg[1][0] == MSG_ERROR && r.msg[1][1] == 1 &&
		      r.msg[1][2] == ENOENT && r.msg[2][0] == MSG_EXIT && r.msg[2][1] == 0 &&
		      WIFEXITED(r.msg[2][3]) && WEXITSTATUS(r.msg[2][3]) == 1, "round %d", i);
		CHECK(exited(r.status, 0), "monitor status %#x", r.status);
	}
	end(&r);
}

/*
 * A create abandoned half-way (the JVM killed): until READY the child must not outlive the
 * first process, nor the first process the JVM's end of the plan pipe.
 */
static int gone(pid_t pid) { return kill(pid, 0) < 0 && errno == ESRCH; }

static pid_t child_of(struct result *r)
{
	for (int i = 0; i < r->nmsg; i++)
		if (r->msg[i][0] == MSG_PID)
			return r->msg[i][3];
	return 0;
}

static void t_abandoned(void)
{
	struct result r;
	struct plan p;
	struct opts o;
	time_t t0;

	begin("FORK: the plan pipe closing before READY: the parent kills the child and exits");
	p = new_plan();
	add(&p, FORK, "uu", U(CLONE_NEWPID), U(0));
	add(&p, RUN_HOOK, "suuss", "/bin/sleep", U(0), U(2), "sleep", "20");
	add(&p, READY, "");
	o = (struct opts){ .hangup_on = MSG_PID };
	t0 = time(NULL);
	run(&p, &r, &o);
	CHECK(!r.timed_out && time(NULL) - t0 < 10, "took %ld s", (long)(time(NULL) - t0));
	CHECK(child_of(&r) > 0 && gone(child_of(&r)), "child %d still there", (int)child_of(&r));
	CHECK(exited(r.status, 1), "stage2 status %#x", r.status);
	CHECK(r.nmsg == 1, "only PID: nothing after it, no READY");
	end(&r);

	for (int creds = 0; creds < 2; creds++) {
		begin(creds ? "FORK: the child still dies with the parent after SETGID and SETUID"
			    : "FORK: the child dies with the parent until READY (its death signal)");
		p = new_plan();
		add(&p, FORK, "uu", U(CLONE_NEWPID), U(0));
		if (creds) {
			add(&p, SETGROUPS, "");
			add(&p, SETGID, "u", U(65534));
			add(&p, SETUID, "u", U(65534));
		}
		add(&p, SYNC, "u", U(7)); /* waits for an answer the driver never sends */
		add(&p, READY, "");
		o = (struct opts){ .kill_on = MSG_SYNC, .hold_plan = 1 };
		t0 = time(NULL);
		run(&p, &r, &o);
		CHECK(!r.timed_out && time(NULL) - t0 < 10, "took %ld s", (long)(time(NULL) - t0));
		CHECK(child_of(&r) > 0 && gone(child_of(&r)), "child %d still there", (int)child_of(&r));
		CHECK(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGKILL, "stage2 status %#x", r.status);
		CHECK(WIFSIGNALED(r.child_status) && WTERMSIG(r.child_status) == SIGKILL, "child status %#x",
		      r.child_status);
		end(&r);
	}

	begin("FORK: from READY on the child outlives the parent");
	p = new_plan();
	add(&p, FORK, "uu", U(CLONE_NEWPID), U(0));
	add(&p, READY, "");
	add_exec(&p, "/bin/sh", "-c", "sleep 0.3; echo alive", END, END);
	run(&p, &r, NULL);
	CHECK(r.nmsg == 2 && r.msg[1][0] == MSG_READY, "want PID, READY");
	CHECK(exited(r.status, 0), "stage2 status %#x", r.status);
	CHECK(exited(r.child_status, 0) && !strcmp(r.out, "alive\n"), "child status %#x, stdout %s", r.child_status, r.out);
	end(&r);
}

static void t_exec_errors(void)
{
	struct result r;
	struct plan p = new_plan();
	char *noexec = path("%s/state/noexec", work);
	int fd = open(noexec, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	close(fd);

	begin("FIND_EXEC of a missing program: ERROR at that op, ENOENT");
	add(&p, UMASK, "u", U(022));
	add(&p, FIND_EXEC, "ss", "kurma-no-such-program", "/usr/bin:/bin");
	add_exec(&p, "kurma-no-such-program", END, END);
	run(&p, &r, NULL);
	expect_error(&r, 1, ENOENT);
	end(&r);

	begin("FIND_EXEC: not executable is EACCES, a missing path with '/' ENOENT");
	p = new_plan();
	add(&p, FIND_EXEC, "ss", "noexec", path("/nonexistent:%s/state", work));
	run(&p, &r, NULL);
	expect_error(&r, 0, EACCES);
	p = new_plan();
	add(&p, FIND_EXEC, "ss", "/bin/kurma-no-such-program", "/bin");
	run(&p, &r, NULL);
	expect_error(&r, 0, ENOENT);
	p = new_plan();
	add(&p, FIND_EXEC, "ss", "/bin", "");
	run(&p, &r, NULL);
	expect_error(&r, 0, EACCES);
	end(&r);

	begin("EXEC failure: ERROR, message on fd 2, exit 127");
	p = new_plan();
	add_exec(&p, "/nonexistent/prog", "x", END, END);
	run(&p, &r, NULL);
	CHECK(r.nmsg == 1 && r.msg[0][0] == MSG_ERROR && r.msg[0][1] == 0 && r.msg[0][2] == ENOENT, "want ERROR(0, ENOENT)");
	CHECK(exited(r.status, 127), "status %#x", r.status);
	CHECK(strstr(r.out, "kurma-stage2: exec /nonexistent/prog: No such file or directory"), "the container's stderr");
	end(&r);
	unlink(noexec);
}

/* Temporary files holding text, opened read-write at a high fd; the paths go in names. */
static int temp_file(const char *text, char *name, size_t size)
{
	char tmp[] = "/tmp/kurma-s2-fd-XXXXXX";
	int fd = mkostemp(tmp, O_CLOEXEC);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	lseek(fd, 0, SEEK_SET);
	unlink(tmp);
	snprintf(name, size, "%s (deleted)", tmp);
	return high(fd);
}

/*
 * The exec'd program must see exactly the fds the header named: 0 = what the driver held at 0,
 * 1 and 2 = the driver's fd 1, 3..3+N-1 = the driver's preserved fds (not the spawner's junk at
 * those numbers), plus ls's own fd for /proc/self/fd at 3+N; never the message or plan pipe,
 * nor anything the spawner leaked above.
 */
static void t_fds(void)
{
	const int counts[] = { 0, 1, 3 };

	for (size_t c = 0; c < sizeof counts / sizeof *counts; c++) {
		int n = counts[c], pfds[MAX_PRESERVE], seen[256] = { 0 }, bad = 0;
		char names[MAX_PRESERVE][64], text[16];
		struct opts o = { .preserve = n, .pfds = pfds, .leak = 1 };
		struct result r;
		struct plan p = new_plan();

		for (int i = 0; i < n; i++) {
			snprintf(text, sizeof text, "fd%d\n", 3 + i);
			pfds[i] = temp_file(text, names[i], sizeof names[i]);
		}
		begin(path("fd hygiene, %d extra fds: the driver's 0, 1 (twice), 3..%d, nothing else", n, 2 + n));
		add(&p, FIND_EXEC, "ss", "ls", "/bin");
		add_exec(&p, "ls", "-l", "/proc/self/fd", END, "LC_ALL=C", END);
		run(&p, &r, &o);
		CHECK(r.nmsg == 0 && exited(r.status, 0), "ls failed");
		for (char *l = strtok(r.out, "\n"); l; l = strtok(NULL, "\n")) {
			char *arrow = strstr(l, " -> "), *target;
			int fd, ok;
			if (!arrow)
				continue;
			*arrow = 0;
			target = arrow + 4;
			fd = atoi(strrchr(l, ' ') + 1);
			if (fd < 0 || fd > 3 + n) {
				bad = 1;
				fprintf(report, "    unexpected fd %d -> %s\n", fd, target);
				continue;
			}
			seen[fd] = 1;
			if (fd == 0)
				ok = !strcmp(target, r.in_name) && !strcmp(target, "/dev/null");
			else if (fd == 1)
				ok = !strcmp(target, r.out_name) && !strncmp(target, "/memfd:kurma-s2-out-", 20);
			else if (fd == 2)
				ok = !strcmp(target, r.out_name); /* the header names the driver's 1 for 2 */
			else if (fd < 3 + n)
				ok = !strcmp(target, names[fd - 3]);
			else
				ok = !strncmp(target, "/proc/", 6); /* ls reading /proc/self/fd */
			if (!ok || !strcmp(target, r.msg_name) || !strcmp(target, r.plan_name))
				fprintf(report, "    fd %d -> %s\n", fd, target), bad = 1;
		}
		for (int fd = 0; fd <= 3 + n; fd++)
			CHECK(seen[fd], "fd %d missing", fd);
		CHECK(!bad, "fd set wrong");
		end(&r);
		for (int i = 0; i < n; i++)
			close(pfds[i]);
	}
}

/* PRESERVE_FDS=1: the program's fd 3 is the very open file the driver holds at 3 (same offset). */
static void t_preserve(void)
{
	struct result r;
	struct plan p = new_plan();
	char name[64];
	int fd = temp_file("skip: payload\n", name, sizeof name);
	struct opts o = { .preserve = 1, .pfds = &fd, .leak = 1 };

	begin("PRESERVE_FDS=1: the program reads the driver's fd 3, sharing its offset");
	lseek(fd, 6, SEEK_SET);
	add_exec(&p, "/bin/sh", "-c", "cat <&3", END, "PATH=/bin:/usr/bin", END);
	run(&p, &r, &o);
	expect_clean(&r, "payload\n");
	CHECK(lseek(fd, 0, SEEK_CUR) == 14, "offset %ld", (long)lseek(fd, 0, SEEK_CUR));
	end(&r);
	close(fd);

	begin("PRESERVE_FDS=1 but the parent has no fd 3: ERROR(-1, EBADF)");
	{
		int none = -1;
		struct opts o2 = { .preserve = 1, .pfds = &none };
		p = new_plan();
		add_exec(&p, "/bin/true", END, END);
		run(&p, &r, &o2);
		expect_error(&r, -1, EBADF);
	}
	end(&r);
}

/* The container's stdin and stdout are the driver's fds 0 and 1, not the pipes stage2 got. */
static void t_stdio(void)
{
	struct result r;
	struct plan p = new_plan();
	char name[64], want[600];
	int fd = temp_file("line from the driver's stdin\n", name, sizeof name);
	struct opts o = { .stdin_fd = fd };

	begin("stdio: the program's fd 0 and fd 1 are what the driver holds there");
	add_exec(&p, "/bin/sh", "-c", "cat; readlink /proc/self/fd/0 /proc/self/fd/1", END,
		 "PATH=/bin:/usr/bin", END);
	run(&p, &r, &o);
	snprintf(want, sizeof want, "line from the driver's stdin\n%s\n%s\n", r.in_name, r.out_name);
	expect_clean(&r, want);
	CHECK(!strcmp(r.in_name, name), "driver's fd 0 was %s", r.in_name);
	CHECK(lseek(fd, 0, SEEK_CUR) == 29, "stdin offset %ld", (long)lseek(fd, 0, SEEK_CUR));
	end(&r);
	close(fd);
}

/* stage2 ignores SIGPIPE (a vanished reader must not kill it); the program gets the default. */
static void t_sigpipe(void)
{
	struct result r;
	struct plan p = new_plan();
	char tmp[] = "/tmp/kurma-s2-XXXXXX", buf[8] = "";
	int fd = mkostemp(tmp, O_CLOEXEC);
	unsigned long long ign = ~0ULL;
	struct opts o = { .no_reader = 1 };

	begin("SIGPIPE: default in the exec'd program (spawned with it ignored)");
	add_exec(&p, "/bin/grep", "^SigIgn", "/proc/self/status", END, END);
	run(&p, &r, NULL);
	CHECK(sscanf(r.out, "SigIgn: %llx", &ign) == 1 && !(ign >> (SIGPIPE - 1) & 1), "SigIgn %s", r.out);
	CHECK(r.nmsg == 0 && exited(r.status, 0), "grep failed");
	end(&r);

	begin("SIGPIPE: no reader on the message pipe, READY gives EPIPE, the plan goes on");
	p = new_plan();
	add(&p, READY, "");
	add(&p, WRITE_FILE, "ss", tmp, "on");
	run(&p, &r, &o);
	CHECK(exited(r.status, 0), "stage2 status %#x", r.status);
	CHECK(pread(fd, buf, sizeof buf - 1, 0) == 2 && !strcmp(buf, "on"), "file has %s", buf);
	end(&r);
	close(fd);
	unlink(tmp);
}

/* The spawner passes on ignored and blocked signals; the container must not see them. */
static void t_invocation(void)
{
	struct result r;
	struct plan p = new_plan();
	struct opts o = { .dirty_signals = 1 };
	char me[16], dead[16];
	pid_t gone;
	const char *const bad[][4] = {
		{ NULL }, { me, "0", NULL },                                                 /* argc */
		{ "abc", NULL }, { "0", NULL }, { "", NULL }, { "-1", NULL },
		{ "99999999999", NULL }, { "1x", NULL },                                     /* pid */
	};

	snprintf(me, sizeof me, "%d", (int)getpid());
	begin("invocation: signal mask emptied, dispositions reset");
	add_exec(&p, "/bin/grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status", END, END);
	run(&p, &r, &o);
	expect_clean(&r, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
	end(&r);

	begin("invocation: wrong argc, bad PARENT_PID exit 2 without a message");
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct opts b = { .args = bad[i] };
		p = new_plan();
		run(&p, &r, &b);
		CHECK(r.nmsg == 0 && exited(r.status, 2) && strstr(r.err, "usage: kurma-stage2 PARENT_PID"),
		      "arguments #%zu: status %#x", i, r.status);
	}
	end(&r);

	begin("invocation: fd 0 or fd 1 not open: exit 2");
	for (int c = 1; c <= 2; c++) {
		struct opts b = { .close_in_spawner = c };
		p = new_plan();
		run(&p, &r, &b);
		CHECK(r.nmsg == 0 && exited(r.status, 2), "fd %d closed: status %#x", c - 1, r.status);
	}
	end(&r);

	begin("invocation: PARENT_PID of no process: ERROR(-1, ESRCH)");
	if ((gone = fork()) == 0)
		_exit(0);
	waitpid(gone, NULL, 0);
	snprintf(dead, sizeof dead, "%d", (int)gone);
	{
		const char *const args[] = { dead, NULL };
		struct opts b = { .args = args };
		p = new_plan();
		run(&p, &r, &b);
		expect_error(&r, -1, ESRCH);
	}
	end(&r);
}
static char ns_host[64];
static pid_t ready_pid;

static unsigned long long sig_ignored(pid_t pid)
{
	char line[256];
	unsigned long long v = 0;
	FILE *f = fopen(path("/proc/%d/status", pid), "r");

	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "SigIgn: %llx", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

static void on_ready(struct result *r, int32_t *m)
{
	char link[256] = "", fifo[512];
	struct result r2;
	struct plan p = new_plan();
	struct stat st;
	ssize_t n;
	int fd, seals, pipes = 0;

	if (m[0] != MSG_READY)
		return;
	snprintf(fifo, sizeof fifo, "%s/state/start", work);
	ready_pid = r->pid;
	n = readlink(path("/proc/%d/exe", r->pid), link, sizeof link - 1);
	CHECK(n > 0 && !strcmp(link, "/memfd:kurma-stage2 (deleted)"), "exe is %s", link);
	fd = open(path("/proc/%d/exe", r->pid), O_RDONLY | O_CLOEXEC);
	seals = fcntl(fd, F_GET_SEALS);
	CHECK(seals >= 0 && (seals & 0xf) == 0xf, "seals %#x", seals);
	close(fd);
	CHECK(sig_ignored(r->pid) >> (SIGPIPE - 1) & 1, "stage2 does not ignore SIGPIPE");
	/* MKFIFO_AT_STATE made the fifo we are about to open. */
	CHECK(lstat(fifo, &st) == 0 && S_ISFIFO(st.st_mode) && (st.st_mode & 07777) == 0600, "fifo");

	/* Its own fds: the driver's 0 and 1 (the header names 1 for 2 as well), the plan and
	   message pipes and the state dir; what the spawner leaked was closed at start. */
	for (int i = 0; i < 200; i++) {
		int ok;
		n = readlink(path("/proc/%d/fd/%d", r->pid, i), link, sizeof link - 1);
		if (n < 0)
			continue;
		link[n] = 0;
		if (i < 3)
			ok = !strcmp(link, i == 0 ? r->in_name : r->out_name);
		else if (!strcmp(link, r->plan_name) || !strcmp(link, r->msg_name))
			ok = 1, pipes++;
		else
			ok = !strcmp(link, path("%s/state", work));
		CHECK(ok, "stage2 has fd %d -> %s", i, link);
	}
	CHECK(pipes == 2, "stage2 holds %d of its pipes", pipes);
	fd = open(path("/proc/%d/exe", r->pid), O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		CHECK(write(fd, "x", 1) < 0, "sealed memfd written");
		close(fd);
	}

	/* Join its UTS namespace from a second stage2 (a run inside this run: its own fds 0/1). */
	add(&p, SETNS, "su", path("/proc/%d/ns/uts", r->pid), U(CLONE_NEWUTS));
	add_exec(&p, "/bin/hostname", END, END);
	run(&p, &r2, NULL);
	CHECK(r2.nmsg == 0 && r2.outlen == strlen(ns_host) + 1 && !memcmp(r2.out, ns_host, strlen(ns_host)),
	      "SETNS saw %.*s", (int)r2.outlen, r2.out);

	/* Let it go: our open for reading meets its open for writing. */
	fd = open(fifo, O_RDONLY | O_CLOEXEC);
	char c = 1;
	n = read(fd, &c, 1);
	CHECK(n == 1, "no start byte");
	close(fd);
}

static void t_ready_wait_start(void)
{
	struct result r;
	struct plan p = new_plan();
	struct opts o = { .on_msg = on_ready, .leak = 1 };
	char *fifo = path("%s/state/start", work);

	begin("memfd self-exec, MKFIFO_AT_STATE, READY, WAIT_START, SETNS");
	strcpy(ns_host, "kurma-s2-setns");
	unlink(fifo);
	add(&p, UNSHARE, "u", U(CLONE_NEWUTS));
	add(&p, SETHOSTNAME, "s", ns_host);
	add(&p, OPEN_STATE_DIR, "s", path("%s/state", work));
	add(&p, MKFIFO_AT_STATE, "su", "start", U(0600));
	add(&p, READY, "");
	add(&p, WAIT_START, "s", "start");
	add_exec(&p, "/bin/hostname", END, END);
	run(&p, &r, &o);
	CHECK(r.nmsg == 1 && r.msg[0][0] == MSG_READY && r.msg[0][1] == 4, "want READY(4)");
	CHECK(exited(r.status, 0) && ready_pid == r.pid, "status %#x", r.status);
	CHECK(r.outlen == strlen(ns_host) + 1 && !memcmp(r.out, ns_host, strlen(ns_host)), "hostname");
	unlink(fifo);
	end(&r);
}

/* MKFIFO_AT_STATE: a fifo in the state dir with exactly the mode asked, whatever the umask. */
static void t_mkfifo(void)
{
	struct result r;
	struct plan p = new_plan();
	const char *a = path("%s/state/fifo-a", work), *b = path("%s/state/fifo-b", work);
	struct stat st;

	begin("MKFIFO_AT_STATE: exact mode under umask 077 and 0; EEXIST; no state dir EBADF");
	unlink(a);
	unlink(b);
	add(&p, UMASK, "u", U(077));
	add(&p, OPEN_STATE_DIR, "s", path("%s/state", work));
	add(&p, MKFIFO_AT_STATE, "su", "fifo-a", U(0666));
	add(&p, UMASK, "u", U(0));
	add(&p, MKFIFO_AT_STATE, "su", "fifo-b", U(0620));
	run(&p, &r, NULL);
	expect_clean(&r, "");
	CHECK(lstat(a, &st) == 0 && S_ISFIFO(st.st_mode) && (st.st_mode & 07777) == 0666,
	      "fifo-a mode %o", st.st_mode);
	CHECK(lstat(b, &st) == 0 && S_ISFIFO(st.st_mode) && (st.st_mode & 07777) == 0620,
	      "fifo-b mode %o", st.st_mode);
	p = new_plan();
	add(&p, OPEN_STATE_DIR, "s", path("%s/state", work));
	add(&p, MKFIFO_AT_STATE, "su", "fifo-a", U(0600));
	run(&p, &r, NULL);
	expect_error(&r, 1, EEXIST);
	CHECK(lstat(a, &st) == 0 && (st.st_mode & 07777) == 0666, "existing fifo changed: %o", st.st_mode);
	p = new_plan();
	add(&p, MKFIFO_AT_STATE, "su", "fifo-c", U(0600));
	run(&p, &r, NULL);
	expect_error(&r, 0, EBADF);
	unlink(a);
	unlink(b);
	end(&r);
}

/* Non-dumpable: /proc/PID of a non-dumpable process belongs to root even when it is not. */
static char unpriv_dir[] = "/tmp/kurma-s2-unpriv-XXXXXX", unpriv_fifo[64];

static void on_ready_unprivileged(struct result *r, int32_t *m)
{
	struct stat st;
	char c;
	int fd;

	if (m[0] != MSG_READY)
		return;
	CHECK(stat(path("/proc/%d/status", r->pid), &st) == 0 && st.st_uid == 0, "owner %d", (int)st.st_uid);
	fd = open(unpriv_fifo, O_RDONLY | O_CLOEXEC);
	CHECK(read(fd, &c, 1) == 1, "no start byte");
	close(fd);
}

static void t_dumpable(void)
{
	struct result r;
	struct plan p = new_plan();
	/* stage2 needs ptrace access to PARENT_PID: the parent here is a helper of the same uid. */
	struct opts o = { .on_msg = on_ready_unprivileged, .uid = 1000, .holder = 1 };
	struct opts root_parent = { .uid = 1000 };

	begin("non-dumpable (seen with stage2 running as uid 1000)");
	CHECK(mkdtemp(unpriv_dir) && chown(unpriv_dir, 1000, 1000) == 0, "state dir");
	snprintf(unpriv_fifo, sizeof unpriv_fifo, "%s/start", unpriv_dir);
	add(&p, OPEN_STATE_DIR, "s", unpriv_dir);
	add(&p, MKFIFO_AT_STATE, "su", "start", U(0600));
	add(&p, READY, "");
	add(&p, WAIT_START, "s", "start");
	add_exec(&p, "/bin/sh", "-c", "echo uid=$(id -u)", END, "PATH=/bin:/usr/bin", END);
	run(&p, &r, &o);
	CHECK(r.nmsg == 1 && r.msg[0][0] == MSG_READY && exited(r.status, 0), "want READY, exit 0");
	CHECK(!strcmp(r.out, "uid=1000\n"), "stdout %s", r.out);
	unlink(unpriv_fifo);
	rmdir(unpriv_dir);
	end(&r);

	begin("stage2 as uid 1000 may not take the fds of a root parent: ERROR(-1, EPERM)");
	p = new_plan();
	add_exec(&p, "/bin/true", END, END);
	run(&p, &r, &root_parent);
	expect_error(&r, -1, EPERM);
	end(&r);
}
static void t_creds(void)
{
	struct result r;
	struct plan p = new_plan();
	const uint64_t nbs = U(1) << 10; /* CAP_NET_BIND_SERVICE */
	const char *want[] = { "Uid:\t1000\t1000\t1000\t1000", "Gid:\t1001\t1001\t1001\t1001",
			       "\nGroups:\t \n", "CapInh:\t0000000000000400", "CapPrm:\t0000000000000400",
			       "CapEff:\t0000000000000400", "CapBnd:\t0000000000000400",
			       "CapAmb:\t0000000000000400", "NoNewPrivs:\t1", "umask=0027", "pwd=/tmp",
			       "nofile=100/200", "oom=500" };
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
	int last = 40;

	if (f) {
		if (fscanf(f, "%d", &last) != 1)
			last = 40;
		fclose(f);
	}
	begin("credentials, caps, rlimit, oom, setsid, chdir, umask");
	add(&p, SETRLIMIT, "uuu", U(RLIMIT_NOFILE), U(100), U(200));
	add(&p, OOM_SCORE_ADJ, "s", "500");
	add(&p, FORK, "uu", U(CLONE_PARENT), U(0)); /* setsid() needs a non-leader */
	add(&p, SETSID, "");
	add(&p, CAP_BOUNDING, "uu", nbs, U(last));
	add(&p, KEEPCAPS, "u", U(1));
	add(&p, SETGROUPS, "");
	add(&p, SETGID, "u", U(1001));
	add(&p, SETUID, "u", U(1000));
	add(&p, KEEPCAPS, "u", U(0));
	add(&p, CAPSET, "uuu", nbs, nbs, nbs);
	add(&p, CAP_AMBIENT, "uu", nbs, U(last));
	add(&p, NO_NEW_PRIVS, "");
	add(&p, CHDIR, "s", "/tmp");
	add(&p, UMASK, "u", U(027));
	add(&p, FIND_EXEC, "ss", "sh", "/usr/bin:/bin");
	add_exec(&p, "sh", "-c",
		 "cat /proc/$$/status; echo umask=$(umask); echo pwd=$(pwd);"
		 "echo nofile=$(ulimit -n)/$(ulimit -H -n); echo oom=$(cat /proc/self/oom_score_adj);"
		 "read -r a b c d e f rest < /proc/self/stat; echo sid=$f pid=$$",
		 END, "PATH=/usr/bin:/bin", END);
	run(&p, &r, NULL);
	CHECK(r.nmsg == 1 && r.msg[0][0] == MSG_PID, "want PID only");
	CHECK(exited(r.status, 0) && exited(r.child_status, 0), "status");
	r.out[r.outlen] = 0;
	for (size_t i = 0; i < sizeof want / sizeof *want; i++)
		CHECK(strstr(r.out, want[i]), "missing %s", want[i]);
	{
		char *s = strstr(r.out, "sid=");
		int sid = -1, pid = -2;
		if (s)
			sscanf(s, "sid=%d pid=%d", &sid, &pid);
		CHECK(sid == pid, "session %d, pid %d", sid, pid);
	}
	end(&r);

	begin("CAP_AMBIENT: cap beyond last_cap is EINVAL");
	p = new_plan();
	add(&p, CAP_AMBIENT, "uu", U(1) << 41, U(40));
	run(&p, &r, NULL);
	expect_error(&r, 0, EINVAL);
	end(&r);
}

/* Symlinks and ".." in the rootfs must resolve inside it. */
static void t_in_root(void)
{
	struct result r;
	struct plan p = new_plan();

	begin("MKDIR_IN_ROOT through an absolute symlink stays in the rootfs");
	add(&p, OPEN_ROOT, "s", rootfs);
	add(&p, MKDIR_IN_ROOT, "su", "esc/sub", U(0755));
	add(&p, MKDIR_IN_ROOT, "su", "/../../../../kurma-s2-dotdot/x", U(0700));
	add(&p, MKFILE_IN_ROOT, "su", "esc/newdir/file", U(0640));
	add(&p, SYMLINK_IN_ROOT, "ss", "/etc/passwd", "esc/link");
	add(&p, SYMLINK_IN_ROOT, "ss", "/etc/passwd", "esc/link"); /* EEXIST is fine */
	add(&p, MKNOD_IN_ROOT, "suuuu", "esc/fifo", U(S_IFIFO | 0600), U(0), U(1000), U(1000));
	add(&p, MKDIR_IN_ROOT, "su", "esc/sub", U(0755)); /* existing is fine */
	run(&p, &r, NULL);
	expect_clean(&r, "");
	CHECK(is_dir(path("%s%s/escape/sub", rootfs, work)), "not created in the rootfs");
	CHECK(!exists(path("%s/escape/sub", work)), "ESCAPED to the host");
	CHECK(is_dir(path("%s/kurma-s2-dotdot/x", rootfs)), "dotdot dir not in rootfs");
	CHECK(!exists("/kurma-s2-dotdot"), "ESCAPED via ..");
	{
		struct stat st;
		CHECK(stat(path("%s%s/escape/newdir/file", rootfs, work), &st) == 0 && S_ISREG(st.st_mode) &&
		      (st.st_mode & 07777) == 0640, "MKFILE");
		CHECK(lstat(path("%s%s/escape/fifo", rootfs, work), &st) == 0 && S_ISFIFO(st.st_mode) &&
		      st.st_uid == 1000, "MKNOD");
		CHECK(lstat(path("%s%s/escape/link", rootfs, work), &st) == 0 && S_ISLNK(st.st_mode), "SYMLINK");
		CHECK(!exists(path("%s/escape/newdir", work)) && !exists(path("%s/escape/link", work)), "ESCAPED");
	}
	end(&r);
	rmdir("/kurma-s2-dotdot/x"), rmdir("/kurma-s2-dotdot"); /* only if the check failed */

	begin("MKDIR_IN_ROOT through a dangling absolute symlink creates its target inside the rootfs");
	p = new_plan();
	add(&p, OPEN_ROOT, "s", rootfs);
	add(&p, MKDIR_IN_ROOT, "su", "esc2/sub", U(0755));
	run(&p, &r, NULL);
	expect_clean(&r, "");
	CHECK(!exists(path("%s/escape2/sub", work)), "ESCAPED to the host");
	CHECK(is_dir(path("%s%s/escape2/sub", rootfs, work)), "target not created inside the rootfs");
	end(&r);

	begin("MKDIR_IN_ROOT through a symlink loop: ELOOP");
	symlink("loop-b", path("%s/loop-a", rootfs));
	symlink("loop-a", path("%s/loop-b", rootfs));
	p = new_plan();
	add(&p, OPEN_ROOT, "s", rootfs);
	add(&p, MKDIR_IN_ROOT, "su", "loop-a/sub", U(0755));
	run(&p, &r, NULL);
	expect_error(&r, 1, ELOOP);
	unlink(path("%s/loop-a", rootfs));
	unlink(path("%s/loop-b", rootfs));
	end(&r);

	begin("*_IN_ROOT: bad basenames EINVAL, file in the way ENOTDIR, no root EBADF");
	const char *bad[] = { "x/..", "x/.", "", "x/" };
	for (int i = 0; i < 4; i++) {
		p = new_plan();
		add(&p, OPEN_ROOT, "s", rootfs);
		add(&p, MKFILE_IN_ROOT, "su", bad[i], U(0644));
		run(&p, &r, NULL);
		expect_error(&r, 1, EINVAL);
	}
	p = new_plan();
	add(&p, OPEN_ROOT, "s", rootfs);
	add(&p, MKDIR_IN_ROOT, "su", "bin/busybox/x", U(0755));
	run(&p, &r, NULL);
	expect_error(&r, 1, ENOTDIR);
	p = new_plan();
	add(&p, MKDIR_IN_ROOT, "su", "x", U(0755));
	run(&p, &r, NULL);
	expect_error(&r, 0, EBADF);
	end(&r);
}

/* A full container: new namespaces, bind rootfs, proc, pivot, masks, exec. */
/* wait: FORK as `run` does, the parent staying as monitor (then the child must be its own). */
static void container_plan(struct plan *p, int pivot, int wait)
{
	add(p, FORK, "uu", U(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | (wait ? 0 : CLONE_PARENT)),
	    U(wait));
	add(p, MOUNT, "sssus", "", "/", "", U(MS_REC | MS_PRIVATE), "");
	add(p, MOUNT, "sssus", rootfs, rootfs, "", U(MS_BIND | MS_REC), "");
	/* After the bind: the root fd must name the new mount, in this mount namespace. */
	add(p, OPEN_ROOT, "s", rootfs);
	add(p, MKDIR_IN_ROOT, "su", "proc", U(0555));
	add(p, MOUNT_IN_ROOT, "sssus", "proc", "proc", "proc", U(MS_NOSUID | MS_NODEV | MS_NOEXEC), "");
	add(p, MKDIR_IN_ROOT, "su", "dev", U(0755));
	add(p, MOUNT_IN_ROOT, "sssus", "tmpfs", "dev", "tmpfs", U(MS_NOSUID), "mode=755");
	add(p, MKNOD_IN_ROOT, "suuuu", "/dev/null", U(S_IFCHR | 0666), U(makedev(1, 3)), U(0), U(0));
	add(p, SYMLINK_IN_ROOT, "ss", "/proc/self/fd", "dev/fd");
	add(p, MKFILE_IN_ROOT, "su", "etc/s2file", U(0600));
	add(p, MKDIR_IN_ROOT, "su", "esc/mnt", U(0755));
	add(p, MOUNT_IN_ROOT, "sssus", "tmpfs", "esc/mnt", "tmpfs", U(0), "size=1m");
	add(p, SETHOSTNAME, "s", "box");
	add(p, SETDOMAINNAME, "s", "box.example");
	if (pivot)
		add(p, PIVOT_ROOT, "s", rootfs);
	else
		add(p, MOVE_ROOT, "s", rootfs);
	add(p, MASK, "s", "/proc/kcore"); /* may not exist: skipped */
	add(p, MASK, "s", "/proc/version");
	add(p, MASK, "s", "/proc/fs");
	add(p, MASK, "s", "/proc/kurma-no-such-file");
	add(p, READONLY, "s", "/proc/sys");
	add(p, READONLY, "s", "/kurma-no-such-dir");
}

static void t_container(void)
{
	struct result r;
	struct plan p = new_plan();
	char script[1024];
	const char *want[] = { "pid=1", "host=box", "domain=box.example", "version=0", "fs=0", "ro=1",
			       "null=ok", "fd=/proc/self/fd", "file=ok", "esc=1", "sys=0" };

	begin("container: PIVOT_ROOT, EXEC /bin/ls /proc");
	container_plan(&p, 1, 0);
	add(&p, FIND_EXEC, "ss", "ls", "/bin");
	add_exec(&p, "ls", "/proc", END, END);
	run(&p, &r, NULL);
	r.out[r.outlen] = 0;
	CHECK(r.nmsg == 1 && r.msg[0][0] == MSG_PID, "want PID only");
	CHECK(exited(r.status, 0) && exited(r.child_status, 0), "status");
	CHECK(strstr(r.out, "self") && strstr(r.out, "sys") && !strstr(r.out, "\n2\n") &&
	      (!strncmp(r.out, "1\n", 2) || strstr(r.out, "\n1\n")), "ls /proc: %s", r.out);
	end(&r);

	snprintf(script, sizeof script,
		 "echo pid=$$; echo host=$(hostname); echo domain=$(cat /proc/sys/kernel/domainname);"
		 "echo version=$(wc -c < /proc/version); echo fs=$(ls /proc/fs | wc -l);"
		 "echo ro=$(grep -c ' /proc/sys proc ro,nosuid,nodev,noexec,' /proc/mounts);"
		 "test -c /dev/null && echo null=ok; echo fd=$(readlink /dev/fd);"
		 "test -f /etc/s2file && echo file=ok; echo esc=$(grep -c ' %s/escape/mnt tmpfs' /proc/mounts);"
		 "echo sys=$(grep -c ' /sys ' /proc/mounts)", work);
	for (int pivot = 1; pivot >= 0; pivot--) {
		begin(pivot ? "container: PIVOT_ROOT, masks, readonly, devices, mounts in root"
			    : "container: MOVE_ROOT (--no-pivot)");
		p = new_plan();
		container_plan(&p, pivot, 0);
		add(&p, FIND_EXEC, "ss", "sh", "/bin");
		add_exec(&p, "sh", "-c", script, END, "PATH=/bin", END);
		run(&p, &r, NULL);
		r.out[r.outlen] = 0;
		CHECK(r.nmsg == 1 && r.msg[0][0] == MSG_PID, "want PID only");
		CHECK(exited(r.status, 0) && exited(r.child_status, 0), "status");
		for (size_t i = 0; i < sizeof want / sizeof *want; i++)
			if (pivot || strcmp(want[i], "sys=0"))
				CHECK(strstr(r.out, want[i]), "missing %s", want[i]);
		end(&r);
	}

	begin("container with a monitor (FORK wait=1): PID, output, EXIT(exit 3)");
	p = new_plan();
	container_plan(&p, 1, 1);
	add(&p, FIND_EXEC, "ss", "sh", "/bin");
	add_exec(&p, "sh", "-c", "echo pid=$$ host=$(hostname); exit 3", END, "PATH=/bin", END);
	run(&p, &r, NULL);
	CHECK(r.nmsg == 2 && r.msg[0][0] == MSG_PID && r.msg[1][0] == MSG_EXIT && WIFEXITED(r.msg[1][3]) &&
	      WEXITSTATUS(r.msg[1][3]) == 3, "want PID, EXIT(exit 3)");
	CHECK(exited(r.status, 0), "monitor status %#x", r.status);
	CHECK(!strcmp(r.out, "pid=1 host=box\n"), "stdout %s", r.out);
	end(&r);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s STAGE2 WORKDIR\n", argv[0]);
		return 2;
	}
	stage2 = argv[1];
	work = argv[2];
	snprintf(rootfs, sizeof rootfs, "%s/root", work);
	/* The report goes to a copy of our stdout: during each run fd 1 is the container's. */
	if (!(report = fdopen(fcntl(1, F_DUPFD_CLOEXEC, HIGH), "w")))
		return 2;
	setvbuf(report, NULL, _IOLBF, 0);
	/* Like the JVM; a stage2 that went away must not kill us as we send it a plan. */
	signal(SIGPIPE, SIG_IGN);
	/* Orphaned container processes come back to us, so every run is fully reaped. */
	prctl(PR_SET_CHILD_SUBREAPER, 1UL, 0UL, 0UL, 0UL);

	t_malformed();
	t_write_file();
	t_hostname();
	t_fork_pidns();
	t_fork_wait();
	t_fork_detached();
	t_abandoned();
	t_exec_errors();
	t_fds();
	t_preserve();
	t_stdio();
	t_sigpipe();
	t_invocation();
	t_ready_wait_start();
	t_mkfifo();
	t_dumpable();
	t_creds();
	t_in_root();
	t_container();
	fprintf(report, "%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
