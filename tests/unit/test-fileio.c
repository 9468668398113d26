/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for keyd/base/fileio.c: bounded reads (files, pipes, "-"), atomic writes,
 * mkdir -p and the owner/mode check. */
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fileio.h"
#include "macro.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/keyd-test-fileio.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *at(const char *rel)
{
	static char buf[2][160];
	static unsigned i;

	i ^= 1;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, rel);
	return buf[i];
}

static void test_read_bounds(void **state)
{
	_cleanup_free_ char *data = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(keyd_write_file_atomic(at("f"), "0123456789", 10, 0600), 0);
	assert_int_equal(keyd_read_file(at("f"), 10, &data, &len), 0);
	assert_int_equal(len, 10);
	assert_string_equal(data, "0123456789");
	free(data);
	data = NULL;
	assert_int_equal(keyd_read_file(at("f"), 9, &data, &len), -EFBIG);
	assert_null(data);
	assert_int_equal(keyd_read_file(at("missing"), 9, &data, &len), -ENOENT);
	assert_int_equal(keyd_write_file_atomic(at("empty"), "", 0, 0600), 0);
	assert_int_equal(keyd_read_file(at("empty"), 9, &data, &len), 0);
	assert_int_equal(len, 0);
	assert_string_equal(data, "");
}

/* "-" reads standard input; a pipe has no size up front, so the bound is enforced
 * while reading. */
static void test_read_stdin(void **state)
{
	static char big[100000];
	_cleanup_free_ char *data = NULL;
	int saved = dup(STDIN_FILENO), p[2];
	size_t len = 0;
	pid_t pid;

	(void)state;
	memset(big, 'a', sizeof(big));
	for (int round = 0; round < 2; round++) {
		assert_int_equal(pipe(p), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(p[0]);
			_exit(keyd_write_all(p[1], big, sizeof(big)) == 0 ? 0 : 1);
		}
		close(p[1]);
		assert_int_equal(dup2(p[0], STDIN_FILENO), STDIN_FILENO);
		close(p[0]);
		if (round == 0) {
			assert_int_equal(keyd_read_file("-", sizeof(big), &data, &len), 0);
			assert_int_equal(len, sizeof(big));
			assert_memory_equal(data, big, len);
		} else {
			assert_int_equal(keyd_read_file("-", sizeof(big) - 1, &data, &len), -EFBIG);
		}
		/* The writer may see EPIPE when the reader stops early. */
		waitpid(pid, NULL, 0);
		assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
	}
	close(saved);
}

static void test_write_atomic(void **state)
{
	_cleanup_free_ char *data = NULL;
	char cmd[160];
	struct stat st;
	size_t len;

	(void)state;
	umask(022);
	assert_int_equal(keyd_write_file_atomic(at("w"), "one", 3, 0600), 0);
	assert_int_equal(keyd_write_file_atomic(at("w"), "two!", 4, 0640), 0);
	assert_int_equal(keyd_read_file(at("w"), 100, &data, &len), 0);
	assert_string_equal(data, "two!");
	assert_int_equal(stat(at("w"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	/* No temporary is left behind. */
	snprintf(cmd, sizeof(cmd), "test -z \"$(find '%s' -name '.*.tmp-*')\"", dir);
	assert_int_equal(system(cmd), 0);
	/* A directory that is not there, an empty name: refused, nothing written. */
	assert_int_equal(keyd_write_file_atomic(at("nodir/x"), "x", 1, 0600), -ENOENT);
	assert_int_equal(keyd_write_file_atomic(at(""), "x", 1, 0600), -EINVAL);
}

static void test_mkdir_p(void **state)
{
	struct stat st;

	(void)state;
	assert_int_equal(keyd_mkdir_p(at("a/b//c/"), 0700), 0);
	assert_int_equal(stat(at("a/b/c"), &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(keyd_mkdir_p(at("a/b/c"), 0700), 0); /* exists: fine */
	assert_int_equal(keyd_write_file_atomic(at("a/file"), "x", 1, 0600), 0);
	assert_int_equal(keyd_mkdir_p(at("a/file/d"), 0700), -ENOTDIR);
}

static void test_owner_mode(void **state)
{
	_cleanup_close_ int fd = -1;

	(void)state;
	assert_int_equal(keyd_write_file_atomic(at("m"), "x", 1, 0600), 0);
	fd = open(at("m"), O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(keyd_check_owner_mode(fd, 0600), 0);
	assert_int_equal(keyd_check_owner_mode(fd, 0400), -EPERM);
	assert_int_equal(fchmod(fd, 0604), 0);
	assert_int_equal(keyd_check_owner_mode(fd, 0600), -EPERM);
	assert_int_equal(keyd_check_owner(0), 0);
	assert_int_equal(keyd_check_owner(geteuid()), 0);
	if (geteuid() == 0) {
		assert_int_equal(keyd_check_owner(1234), -EPERM);
		assert_int_equal(fchmod(fd, 0600), 0);
		assert_int_equal(fchown(fd, 1234, 1234), 0);
		assert_int_equal(keyd_check_owner_mode(fd, 0600), -EPERM);
	}
}

static void test_sibling_path(void **state)
{
	char buf[32];

	(void)state;
	assert_int_equal(keyd_sibling_path("/run/keyd/keyd.sock", "status.json", buf, sizeof(buf)),
			 0);
	assert_string_equal(buf, "/run/keyd/status.json");
	assert_int_equal(keyd_sibling_path("/keyd.sock", "x", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/x");
	assert_int_equal(keyd_sibling_path("keyd.sock", "x", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "./x");
	/* 31 characters fit the 32-byte buffer, 32 do not. */
	assert_int_equal(keyd_sibling_path("/run/keyd/keyd.sock", "0123456789abcdefghijk", buf,
					   sizeof(buf)), 0);
	assert_int_equal(strlen(buf), 31);
	assert_int_equal(keyd_sibling_path("/run/keyd/keyd.sock", "0123456789abcdefghijkl", buf,
					   sizeof(buf)), -ENAMETOOLONG);
	assert_int_equal(keyd_sibling_path(NULL, "x", buf, sizeof(buf)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_bounds),
		cmocka_unit_test(test_read_stdin),
		cmocka_unit_test(test_write_atomic),
		cmocka_unit_test(test_mkdir_p),
		cmocka_unit_test(test_owner_mode),
		cmocka_unit_test(test_sibling_path),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
