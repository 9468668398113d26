/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* File helpers: bounded reads, atomic writes, ownership and mode checks. libc only. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* Read a whole file (or "-" for stdin) of at most max bytes into a NUL-terminated
 * heap buffer. -EFBIG when larger. The caller frees (or erases, for secrets). */
int keyd_read_file(const char *path, size_t max, char **ret, size_t *ret_len);
int keyd_read_fd(int fd, size_t max, char **ret, size_t *ret_len);

/* Write atomically: temp file in the same directory (O_CLOEXEC, mode), write, fsync,
 * rename over path, fsync the directory. On failure the old file is untouched. */
int keyd_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* The same inside an open directory; name has no '/'. */
int keyd_write_file_atomic_at(int dir_fd, const char *name, const void *data, size_t len,
			      mode_t mode);
/* write() all of data, retrying on EINTR and short writes. */
int keyd_write_all(int fd, const void *data, size_t len);
/* The name of a temporary for name: ".<name>.tmp-<pid>-<n>", unique in this process. */
int keyd_tmp_name(const char *name, char *buf, size_t size);

/* "<directory of path>/<name>": a file kept next to another (the daemon's
 * runtime files sit next to its socket); "./<name>" when path has no '/'.
 * -ENAMETOOLONG when it does not fit. */
int keyd_sibling_path(const char *path, const char *name, char *buf, size_t size);

/* fsync a directory by path, or an open one. */
int keyd_fsync_dir(const char *dir);
int keyd_fsync_dir_fd(int dir_fd);

/* mkdir -p with the given mode for every component created. */
int keyd_mkdir_p(const char *path, mode_t mode);

/* The file at fd must be owned by uid 0 (or the current euid, for tests run as a
 * user) and must not grant more than max_mode. -EPERM with a reason otherwise. */
int keyd_check_owner_mode(int fd, mode_t max_mode);
/* The owner rule alone: 0, or -EPERM. */
int keyd_check_owner(uid_t uid);
