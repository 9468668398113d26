/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <libgen.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "fileio.h"
#include "listen.h"
#include "macro.h"

static int fill_addr(const char *path, struct sockaddr_un *sa)
{
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	*sa = (struct sockaddr_un){ .sun_family = AF_UNIX };
	memcpy(sa->sun_path, path, len);
	return 0;
}

/* 1 if a server accepts on path, 0 if the socket is stale, -errno otherwise. */
static int probe_live(const struct sockaddr_un *sa)
{
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) >= 0)
		return 1;
	/* A full backlog (EAGAIN) still means somebody listens. */
	if (errno == EAGAIN)
		return 1;
	if (errno == ECONNREFUSED || errno == ENOENT)
		return 0;
	return -errno;
}

int keyd_listen_open(const char *path, struct keyd_listen *ret)
{
	_cleanup_close_ int fd = -1;
	struct sockaddr_un sa;
	char dir[sizeof(sa.sun_path)];
	struct stat st;
	int r;

	r = fill_addr(path, &sa);
	if (r < 0)
		return r;
	memcpy(dir, sa.sun_path, sizeof(dir));
	r = keyd_mkdir_p(dirname(dir), 0755);
	if (r < 0)
		return r;

	if (lstat(path, &st) >= 0) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		r = probe_live(&sa);
		if (r < 0)
			return r;
		if (r > 0)
			return -EADDRINUSE;
		if (unlink(path) < 0 && errno != ENOENT)
			return -errno;
	} else if (errno != ENOENT) {
		return -errno;
	}

	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	if (chmod(path, 0666) < 0 || stat(path, &st) < 0) {
		r = -errno;
		(void)unlink(path);
		return r;
	}
	if (listen(fd, SOMAXCONN) < 0) {
		r = -errno;
		(void)unlink(path);
		return r;
	}
	*ret = (struct keyd_listen){ .fd = TAKE_FD(fd), .dev = st.st_dev, .ino = st.st_ino };
	return 0;
}

void keyd_listen_close(struct keyd_listen *l, const char *path)
{
	struct stat st;

	if (l->fd < 0)
		return;
	if (path && lstat(path, &st) >= 0 && st.st_dev == l->dev && st.st_ino == l->ino)
		(void)unlink(path);
	l->fd = safe_close(l->fd);
}
