/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "macro.h"
#include "notify.h"

int keyd_notify_send(const char *text)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;
	const char *path = getenv("NOTIFY_SOCKET");
	size_t plen, tlen = strlen(text);
	socklen_t salen;
	ssize_t n;

	if (!path || !path[0])
		return 0;
	plen = strlen(path);
	/* Only unix sockets: a path or an abstract name ('@' stands for the leading NUL). */
	if ((path[0] != '/' && path[0] != '@') || plen < 2 || plen > sizeof(sa.sun_path) - 1)
		return -EINVAL;
	memcpy(sa.sun_path, path, plen);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	/* Abstract names are not NUL-terminated: the address length carries their size. */
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen + (path[0] == '/'));

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	n = sendto(fd, text, tlen, MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
	if (n < 0)
		return -errno;
	if ((size_t)n != tlen)
		return -EIO;
	return 1;
}
