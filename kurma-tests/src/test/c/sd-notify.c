/*
 * sd-notify MESSAGE: sends MESSAGE as one datagram to $NOTIFY_SOCKET, as sd_notify(3) does.
 * Built statically by the tests and copied into a container's rootfs (busybox has no notifier).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

int main(int argc, char **argv)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (argc != 2 || !path || strlen(path) >= sizeof sa.sun_path) {
		fprintf(stderr, "usage: NOTIFY_SOCKET=PATH sd-notify MESSAGE\n");
		return 2;
	}
	strcpy(sa.sun_path, path);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = 0;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || sendto(fd, argv[1], strlen(argv[1]), 0, (struct sockaddr *)&sa, sizeof sa) < 0) {
		perror("sd-notify");
		return 1;
	}
	return 0;
}
