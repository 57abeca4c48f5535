/*
 * kurma-runtime: the launcher of the runtime CLI (bin/kurma-runtime links here).
 *
 * Engines run the runtime several times per container, so its start-up is the product's
 * latency. This program does what a shell script would (find java, the jar and a fresh AOT
 * cache, exec the JVM with the CLI's flags) and one thing a script cannot: for the commands
 * that start a container process (create, run, exec) it starts kurma-stage2 first, on two
 * pipes, and passes them to the JVM. stage2 then loads and seals itself while the JVM boots,
 * and the JVM needs no process spawn of its own (ProcessBuilder costs it ~13 ms of CPU, most
 * of it in initialising the JDK's logging for its start event).
 *
 * It holds no policy: which command is which is only a guess made to save time. The JVM
 * decides everything and is free to ignore (and kill) the stage2 it was given; stage2 does
 * nothing until a plan arrives, and exits on end-of-file when the JVM goes without sending one.
 *
 * With KURMA_TRAIN=1 (the build, once) it runs the AOT training instead (kurma.runtime.cli.Train,
 * several containers in one JVM, so with several stage2s) and writes the AOT cache: the cache
 * is made with exactly the flags and class path it is later used with, as the JVM requires.
 *
 * Layout: this binary is <home>/launcher/target/kurma-runtime; the jar and its AOT cache are in
 * <home>/kurma-runtime-cli/target, stage2 in <home>/stage2/target.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TEMURIN "/usr/lib/jvm/temurin-25-jdk-amd64/bin/java"
#define MAX_SPARES 8 /* the training's containers; one for any other command */

extern char **environ;

static void fail(const char *what, int err)
{
	fprintf(stderr, "kurma-runtime: %s: %s\n", what, strerror(err));
	exit(1);
}

/* dir/name into a new string */
static char *join(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	char *s = malloc(a + b + 2);

	if (!s)
		fail("memory", ENOMEM);
	memcpy(s, dir, a);
	s[a] = '/';
	memcpy(s + a + 1, name, b + 1);
	return s;
}

/* The path without its last n components ("/a/b/c", 2 -> "/a"). */
static void strip(char *path, int n)
{
	while (n-- > 0) {
		char *slash = strrchr(path, '/');
		if (!slash || slash == path) {
			strcpy(path, "/");
			return;
		}
		*slash = '\0';
	}
}

/*
 * The command word of a runc-style command line: the first argument that is neither a
 * global flag nor the value of one (runc's global flags with a value: --root, --log,
 * --log-format, --criu, --rootless; also written --flag=value).
 */
static const char *command(int argc, char **argv)
{
	static const char *const valued[] = { "--root", "--log", "--log-format", "--criu", "--rootless" };

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-')
			return a;
		for (size_t k = 0; k < sizeof valued / sizeof *valued; k++)
			if (strcmp(a, valued[k]) == 0) {
				i++;
				break;
			}
	}
	return "";
}

/*
 * Starts stage2 (argv: the JVM-to-be's pid, which is ours) with the plan pipe at fd 0 and
 * the message pipe at fd 1, stderr shared. Leaves our ends of the pipes open across the
 * exec into the JVM and appends "pid:message_fd:plan_fd" to spec. 0, or -1 when stage2
 * could not be started (the JVM then spawns one itself).
 */
static int spawn_stage2(const char *stage2, char *spec, size_t size)
{
	int plan[2], msg[2];
	char parent[24], *args[3];
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int err;

	if (pipe2(plan, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(msg, O_CLOEXEC) < 0) {
		close(plan[0]);
		close(plan[1]);
		return -1;
	}
	snprintf(parent, sizeof parent, "%d", (int)getpid());
	args[0] = (char *)stage2;
	args[1] = parent;
	args[2] = NULL;
	/*
	 * dup2 onto 0 and 1 clears close-on-exec there; every other pipe end closes at exec, and
	 * whatever else our caller left open (an engine's fds for the container) is closed before
	 * it: stage2 takes the container's fds from the JVM once it knows which.
	 */
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, plan[0], 0);
	posix_spawn_file_actions_adddup2(&fa, msg[1], 1);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	err = posix_spawn(&pid, stage2, &fa, NULL, args, (char *[]){ NULL });
	posix_spawn_file_actions_destroy(&fa);
	close(plan[0]);
	close(msg[1]);
	if (err == 0 && fcntl(msg[0], F_SETFD, 0) == 0 && fcntl(plan[1], F_SETFD, 0) == 0) {
		size_t used = strlen(spec);
		snprintf(spec + used, size - used, "%s%d:%d:%d", used ? "," : "", (int)pid, msg[0], plan[1]);
		return 0;
	}
	close(msg[0]);
	close(plan[1]);
	return -1;
}

int main(int argc, char **argv)
{
	char exe[PATH_MAX], *home, *target, *jar, *aot, *stage2, *java;
	char aot_flag[PATH_MAX + 16], stage2_flag[PATH_MAX + 16], spares_flag[64 + MAX_SPARES * 40] = "";
	char spec[MAX_SPARES * 40] = "";
	struct stat js, as;
	const char *cmd, *env;
	int spares = 0, n = 0, training = (env = getenv("KURMA_TRAIN")) && strcmp(env, "1") == 0;
	char **jargv;

	if (!realpath("/proc/self/exe", exe))
		fail("/proc/self/exe", errno);
	strip(exe, 3);
	home = exe;
	target = join(home, "kurma-runtime-cli/target");
	jar = join(target, "kurma-runtime.jar");
	aot = join(target, "kurma-runtime.aot");
	stage2 = join(home, "stage2/target/kurma-stage2");
	if (stat(jar, &js) < 0) {
		fprintf(stderr, "kurma-runtime: not built yet; run ./build.sh (or mvn -DskipTests package) in %s\n", home);
		return 1;
	}

	if ((env = getenv("KURMA_JAVA")) && *env)
		java = (char *)env;
	else if (access(TEMURIN, X_OK) == 0)
		java = TEMURIN;
	else if ((env = getenv("JAVA_HOME")) && *env)
		java = join(env, "bin/java");
	else
		java = "java";

	cmd = command(argc, argv);
	if (strcmp(cmd, "create") == 0 || strcmp(cmd, "run") == 0 || strcmp(cmd, "exec") == 0)
		spares = 1;
	if (training)
		spares = MAX_SPARES;
	for (int i = 0; i < spares; i++)
		if (spawn_stage2(stage2, spec, sizeof spec) < 0)
			break;

	if (!(jargv = calloc((size_t)argc + 24, sizeof *jargv)))
		fail("memory", ENOMEM);
	jargv[n++] = java;
	/*
	 * A cache older than the jar is left from an earlier build (its training failed, say):
	 * JDK 25.0.3 does not notice that the jar changed (JDK-8377932, fixed in 25.0.4) and would
	 * run the classes of the old one.
	 */
	if (training) {
		snprintf(aot_flag, sizeof aot_flag, "-XX:AOTCacheOutput=%s", aot);
		jargv[n++] = aot_flag;
	} else if (stat(aot, &as) == 0 && (as.st_mtim.tv_sec > js.st_mtim.tv_sec ||
			(as.st_mtim.tv_sec == js.st_mtim.tv_sec && as.st_mtim.tv_nsec > js.st_mtim.tv_nsec))) {
		snprintf(aot_flag, sizeof aot_flag, "-XX:AOTCache=%s", aot);
		jargv[n++] = aot_flag;
	}
	/*
	 * -XX:ArchiveRelocationMode=0: map the AOT cache at the address it was built for instead
	 * of a random one, which saves relocating every pointer in it (JVM genesis 10 ms -> 2 ms).
	 * The cost is ASLR for the JVM's archived class metadata only (the JDK's default before
	 * 20); native code, heap and stacks stay randomized, and the CLI runs no untrusted code.
	 * -Xint: each invocation lives some tens of milliseconds; on a small machine JIT compiler
	 * threads only compete with it for the CPU.
	 * -XX:-UseContainerSupport: skips reading the cgroup limits the JVM would size itself by.
	 * JVM messages never go to stdout (engines parse it), and a stale AOT cache (the JVM then
	 * just starts without it) is not worth a message on every call.
	 */
	jargv[n++] = "-XX:+UnlockDiagnosticVMOptions";
	jargv[n++] = "-XX:ArchiveRelocationMode=0";
	jargv[n++] = "-Xint";
	jargv[n++] = "-XX:+UseSerialGC";
	jargv[n++] = "-XX:-UsePerfData";
	jargv[n++] = "-XX:-UseContainerSupport";
	jargv[n++] = "-Xlog:disable";
	jargv[n++] = "-Xlog:all=warning:stderr";
	if (!training) {
		jargv[n++] = "-Xlog:aot=off:stderr";
		jargv[n++] = "-Xlog:cds=off:stderr";
	}
	jargv[n++] = "--enable-native-access=ALL-UNNAMED";
	snprintf(stage2_flag, sizeof stage2_flag, "-Dkurma.stage2=%s", stage2);
	jargv[n++] = stage2_flag;
	if (spec[0]) {
		snprintf(spares_flag, sizeof spares_flag, "-Dkurma.stage2.spawned=%s", spec);
		jargv[n++] = spares_flag;
	}
	jargv[n++] = "-cp";
	jargv[n++] = jar;
	jargv[n++] = training ? "kurma.runtime.cli.Train" : "kurma.runtime.cli.Main";
	for (int i = 1; i < argc; i++)
		jargv[n++] = argv[i];
	jargv[n] = NULL;
	if (strchr(java, '/'))
		execv(java, jargv);
	else
		execvp(java, jargv);
	fprintf(stderr, "kurma-runtime: cannot run %s: %s\n", java, strerror(errno));
	return 127;
}
