/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * File helpers. Every descriptor is opened O_CLOEXEC so nothing leaks into a
 * helper program; files keyd creates are opened O_NOFOLLOW|O_EXCL so a planted
 * symlink cannot redirect a write.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"

/* Grow to a new buffer and erase the old one: what is read may be a secret,
 * and realloc() would leave a copy behind in freed memory. */
static int buf_grow(char **buf, size_t *size, size_t used, size_t want)
{
	char *n;

	if (want <= *size)
		return 0;
	n = malloc(want);
	if (!n)
		return -ENOMEM;
	if (*buf) {
		memcpy(n, *buf, used);
		erase_and_free(*buf, *size);
	}
	*buf = n;
	*size = want;
	return 0;
}

int keyd_read_fd(int fd, size_t max, char **ret, size_t *ret_len)
{
	char *buf = NULL;
	size_t size = 0, len = 0;
	struct stat st;
	int r;

	if (fd < 0 || !ret || max >= SIZE_MAX - 1)
		return -EINVAL;
	/* A regular file tells its size: read it in one buffer. Pipes grow. */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
		if ((uint64_t)st.st_size > max)
			return -EFBIG;
		size = (size_t)st.st_size + 2;
	} else {
		size = max < 4096 ? max + 2 : 4096;
	}
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;

	for (;;) {
		ssize_t n;

		if (len + 1 >= size) {
			size_t want = size > (SIZE_MAX - 2) / 2 ? SIZE_MAX - 1 : size * 2;

			if (want > max + 2)
				want = max + 2;
			if (want <= size) {
				/* read max+1 bytes already: too big */
				erase_and_free(buf, size);
				return -EFBIG;
			}
			r = buf_grow(&buf, &size, len, want);
			if (r < 0) {
				erase_and_free(buf, size);
				return r;
			}
		}
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			erase_and_free(buf, size);
			return r;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			erase_and_free(buf, size);
			return -EFBIG;
		}
	}
	buf[len] = '\0';
	*ret = buf;
	if (ret_len)
		*ret_len = len;
	return 0;
}

int keyd_read_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = -1;

	if (!path || !ret)
		return -EINVAL;
	if (streq(path, "-"))
		return keyd_read_fd(STDIN_FILENO, max, ret, ret_len);
	/* Paths given by the operator may be symlinks (e.g. into /etc/ssl): follow them. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	return keyd_read_fd(fd, max, ret, ret_len);
}

int keyd_write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int keyd_fsync_dir_fd(int dir_fd)
{
	if (fsync(dir_fd) < 0)
		return -errno;
	return 0;
}

int keyd_fsync_dir(const char *dir)
{
	_cleanup_close_ int fd = -1;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return keyd_fsync_dir_fd(fd);
}

int keyd_tmp_name(const char *name, char *buf, size_t size)
{
	static unsigned counter;
	int n;

	n = snprintf(buf, size, ".%s.tmp-%ld-%u", name, (long)getpid(), ++counter);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

int keyd_sibling_path(const char *path, const char *name, char *buf, size_t size)
{
	const char *slash;
	int n;

	if (!path || !name)
		return -EINVAL;
	slash = strrchr(path, '/');
	if (!slash) {
		path = ".";
		slash = path + 1;
	}
	n = snprintf(buf, size, "%.*s/%s", (int)(slash - path), path, name);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

int keyd_write_file_atomic_at(int dir_fd, const char *name, const void *data, size_t len,
			      mode_t mode)
{
	char tmp[NAME_MAX + 1];
	_cleanup_close_ int fd = -1;
	int r;

	if (!name || strchr(name, '/') || (!data && len > 0))
		return -EINVAL;
	r = keyd_tmp_name(name, tmp, sizeof(tmp));
	if (r < 0)
		return r;
	fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	/* The umask must not decide the mode of a store file. */
	if (fchmod(fd, mode) < 0) {
		r = -errno;
		goto fail;
	}
	r = keyd_write_all(fd, data, len);
	if (r < 0)
		goto fail;
	if (fsync(fd) < 0) {
		r = -errno;
		goto fail;
	}
	fd = safe_close(fd);
	if (renameat(dir_fd, tmp, dir_fd, name) < 0) {
		r = -errno;
		goto fail;
	}
	return keyd_fsync_dir_fd(dir_fd);
fail:
	(void)unlinkat(dir_fd, tmp, 0);
	return r;
}

int keyd_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	_cleanup_free_ char *dir = NULL;
	_cleanup_close_ int dir_fd = -1;
	const char *slash, *base;

	if (!path || !*path)
		return -EINVAL;
	slash = strrchr(path, '/');
	if (slash) {
		dir = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
		base = slash + 1;
	} else {
		dir = strdup(".");
		base = path;
	}
	if (!dir)
		return -ENOMEM;
	if (!*base || streq(base, ".") || streq(base, ".."))
		return -EINVAL;
	dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0)
		return -errno;
	return keyd_write_file_atomic_at(dir_fd, base, data, len, mode);
}

int keyd_mkdir_p(const char *path, mode_t mode)
{
	_cleanup_free_ char *p = NULL;
	struct stat st;
	size_t n;

	if (!path || !*path)
		return -EINVAL;
	n = strlen(path);
	if (n >= PATH_MAX)
		return -ENAMETOOLONG;
	p = strdup(path);
	if (!p)
		return -ENOMEM;
	/* Walk each prefix ending before a '/', then the whole path. */
	for (size_t i = 1; i <= n; i++) {
		if (i < n && p[i] != '/')
			continue;
		if (i < n && p[i - 1] == '/')
			continue; /* "a//b" */
		p[i] = '\0';
		if (mkdir(p, mode) < 0) {
			if (errno != EEXIST)
				return -errno;
			if (stat(p, &st) < 0)
				return -errno;
			if (!S_ISDIR(st.st_mode))
				return -ENOTDIR;
		}
		if (i < n)
			p[i] = '/';
	}
	return 0;
}

int keyd_check_owner(uid_t uid)
{
	uid_t me = geteuid();

	/* Root's files must belong to root; an unprivileged user's (tests, image
	 * builders) may also belong to that user. */
	if (uid == 0 || (me != 0 && uid == me))
		return 0;
	return -EPERM;
}

int keyd_check_owner_mode(int fd, mode_t max_mode)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (keyd_check_owner(st.st_uid) < 0)
		return -EPERM;
	if ((st.st_mode & 07777) & ~max_mode)
		return -EPERM;
	return 0;
}
