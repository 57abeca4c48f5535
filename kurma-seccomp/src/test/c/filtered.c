/*
 * filtered PROGRAM NR... -- test helper of kurma-seccomp's unit tests (built by them with cc).
 *
 * Installs the BPF program in file PROGRAM (8-byte sock_filter entries, as Kurma compiles them)
 * as this process's seccomp filter, then makes each system call NR (decimal or 0x hex; x32
 * calls carry bit 30) with all arguments 0 and prints one line per call: "NR ok" or "NR ERRNO".
 * A call the filter kills ends the process by SIGSYS. After the filter only write(2) is used
 * (no stdio), so a profile that allows write and exit_group is enough.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	static struct sock_filter insns[4096];
	if (argc < 2) {
		fprintf(stderr, "usage: filtered PROGRAM NR...\n");
		return 2;
	}
	FILE *f = fopen(argv[1], "rb");
	if (!f) {
		perror(argv[1]);
		return 2;
	}
	size_t n = fread(insns, sizeof insns[0], 4096, f);
	fclose(f);
	long nrs[256];
	int calls = 0;
	for (int i = 2; i < argc && calls < 256; i++) nrs[calls++] = strtol(argv[i], NULL, 0);
	struct sock_fprog prog = {.len = (unsigned short)n, .filter = insns};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
		perror("seccomp");
		return 2;
	}
	for (int i = 0; i < calls; i++) {
		char line[64];
		long r = syscall(nrs[i], 0L, 0L, 0L, 0L, 0L, 0L);
		int len = r >= 0 ? snprintf(line, sizeof line, "%ld ok\n", nrs[i])
				 : snprintf(line, sizeof line, "%ld %d\n", nrs[i], errno);
		if (write(1, line, (size_t)len) != len) return 3;
	}
	return 0;
}
