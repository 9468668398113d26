/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for keyd/core/store.c: layout, transactions, recovery from a crash
 * (manifests and temporaries written by hand as a killed keyd would leave them),
 * mode/owner/version refusals, foreign files and lock contention.
 */
#define _GNU_SOURCE /* pipe2 */
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fileio.h"
#include "macro.h"
#include "store.h"

struct fixture {
	char dir[64];  /* mkdtemp */
	char root[96]; /* dir/store */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/keyd-test-store.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->root, sizeof(f->root), "%s/store", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static const char *path(struct fixture *f, const char *rel)
{
	static char buf[4][256];
	static unsigned i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", f->root, rel);
	return buf[i];
}

static void write_raw(const char *p, const char *text, mode_t mode)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	assert_true(fd >= 0);
	assert_int_equal(keyd_write_all(fd, text, strlen(text)), 0);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static keyd_store *open_ok(struct fixture *f, unsigned flags)
{
	keyd_store *s = NULL;
	char reason[512] = "";
	int r = keyd_store_open(f->root, flags, &s, reason, sizeof(reason));

	if (r < 0)
		fail_msg("open: %d %s", r, reason);
	return s;
}

static void open_fails(struct fixture *f, unsigned flags, int want, const char *want_reason)
{
	keyd_store *s = NULL;
	char reason[512] = "";

	assert_int_equal(keyd_store_open(f->root, flags, &s, reason, sizeof(reason)), want);
	assert_null(s);
	if (want_reason && !strstr(reason, want_reason))
		fail_msg("reason '%s' lacks '%s'", reason, want_reason);
}

static void put_commit(keyd_store *s, const char *section, const char *file, const char *text)
{
	keyd_store_txn *t = NULL;

	assert_int_equal(keyd_store_txn_begin(s, &t), 0);
	assert_int_equal(keyd_store_txn_put(t, section, file, text, strlen(text)), 0);
	assert_int_equal(keyd_store_txn_commit(t), 0);
}

static void assert_content(keyd_store *s, const char *section, const char *file, const char *want)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	int r = keyd_store_read(s, section, file, &data, &len);

	if (!want) {
		assert_int_equal(r, -ENOENT);
		return;
	}
	if (r < 0)
		fail_msg("read %s/%s: %d %s", section, file, r, keyd_store_last_error(s));
	assert_int_equal(len, strlen(want));
	assert_string_equal(data, want);
}

/* "a,b,c" or "" */
static void assert_list(keyd_store *s, const char *section, const char *ext, const char *want,
			size_t want_skipped)
{
	_cleanup_strv_free_ char **names = NULL;
	char got[512] = "";
	size_t skipped = 99;

	assert_int_equal(keyd_store_list(s, section, ext, &names, &skipped), 0);
	for (char **n = names; *n; n++) {
		if (n != names)
			strcat(got, ",");
		strcat(got, *n);
	}
	assert_string_equal(got, want);
	assert_int_equal(skipped, want_skipped);
}

static size_t count_temporaries(struct fixture *f)
{
	char cmd[256];
	FILE *p;
	size_t n = 0;
	int c;

	snprintf(cmd, sizeof(cmd), "find '%s' -name '.*.tmp-*'", f->root);
	p = popen(cmd, "r");
	assert_non_null(p);
	while ((c = fgetc(p)) != EOF)
		n += c == '\n';
	pclose(p);
	return n;
}

/* The same CRC-32 the manifest uses, written independently; checked against the
 * standard check value. */
static uint32_t crc32_ref(const char *s)
{
	uint32_t table[256], c = 0xffffffffu;

	for (uint32_t i = 0; i < 256; i++) {
		uint32_t v = i;

		for (int k = 0; k < 8; k++)
			v = v & 1 ? 0xedb88320u ^ (v >> 1) : v >> 1;
		table[i] = v;
	}
	for (; *s; s++)
		c = table[(c ^ (uint8_t)*s) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

static void write_manifest(struct fixture *f, const char *body, bool good_crc)
{
	char text[2048];

	snprintf(text, sizeof(text), "%scrc32 %08x\n", body, crc32_ref(body) ^ (good_crc ? 0 : 1));
	write_raw(path(f, ".txn"), text, 0600);
}

static void test_create_layout(void **state)
{
	struct fixture *f = *state;
	keyd_store *s;
	struct stat st;
	_cleanup_free_ char *fmt = NULL;

	open_fails(f, 0, -ENOENT, "no keyd store");
	open_fails(f, KEYD_STORE_READONLY, -ENOENT, NULL);
	open_fails(f, KEYD_STORE_CREATE | KEYD_STORE_READONLY, -EINVAL, NULL);
	s = open_ok(f, KEYD_STORE_CREATE);
	assert_string_equal(keyd_store_root(s), f->root);
	keyd_store_close(s);

	assert_int_equal(keyd_read_file(path(f, "format"), 64, &fmt, NULL), 0);
	assert_string_equal(fmt, "keyd-store 1\n");
	assert_int_equal(stat(f->root, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(stat(path(f, "format"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	for (const char *const *sec = (const char *const[]){"tpm", "keys", "psk", "ca", NULL}; *sec;
	     sec++) {
		assert_int_equal(stat(path(f, *sec), &st), 0);
		assert_true(S_ISDIR(st.st_mode));
		assert_int_equal(st.st_mode & 07777, 0700);
	}
	/* Opening again finds the store; a missing section heals on a writable open. */
	assert_int_equal(rmdir(path(f, "ca")), 0);
	s = open_ok(f, KEYD_STORE_READONLY);
	assert_list(s, "ca", "pem", "", 0);
	keyd_store_close(s);
	s = open_ok(f, 0);
	keyd_store_close(s);
	assert_int_equal(stat(path(f, "ca"), &st), 0);
}

static void test_create_existing_dir(void **state)
{
	struct fixture *f = *state;
	keyd_store *s;

	assert_int_equal(mkdir(f->root, 0700), 0);
	open_fails(f, 0, -ENOENT, "no 'format' file");
	s = open_ok(f, KEYD_STORE_CREATE); /* empty: set up */
	keyd_store_close(s);

	{
		char other[sizeof(f->root)];

		snprintf(other, sizeof(other), "%.60s/other", f->dir);
		assert_int_equal(mkdir(other, 0700), 0);
		write_raw(path(f, "../other/data.txt"), "x", 0600);
		snprintf(f->root, sizeof(f->root), "%s", other);
	}
	open_fails(f, KEYD_STORE_CREATE, -ENOTEMPTY, "not a keyd store and not empty");
	/* Nothing was added to the foreign directory but the lock file. */
	assert_int_equal(access(path(f, "format"), F_OK), -1);
	assert_int_equal(access(path(f, "data.txt"), F_OK), 0);
}

static void test_version(void **state)
{
	struct fixture *f = *state;

	keyd_store_close(open_ok(f, KEYD_STORE_CREATE));
	write_raw(path(f, "format"), "keyd-store 2\n", 0600);
	open_fails(f, 0, -EPROTO, "store format 2 is newer than this keyd understands");
	open_fails(f, KEYD_STORE_READONLY, -EPROTO, "store format 2 is newer");
	write_raw(path(f, "format"), "keyd-store 01\n", 0600);
	open_fails(f, 0, -EBADMSG, "bad version");
	write_raw(path(f, "format"), "something else\n", 0600);
	open_fails(f, KEYD_STORE_CREATE, -EBADMSG, "not 'keyd-store <version>'");
	write_raw(path(f, "format"), "keyd-store 1", 0600);
	open_fails(f, 0, -EBADMSG, NULL);
	write_raw(path(f, "format"), "keyd-store 1\n", 0600);
	keyd_store_close(open_ok(f, 0));
}

static void test_txn(void **state)
{
	struct fixture *f = *state;
	keyd_store *s, *ro;
	keyd_store_txn *t = NULL, *t2 = NULL;
	struct stat st;

	s = open_ok(f, KEYD_STORE_CREATE);
	assert_int_equal(keyd_store_txn_begin(s, &t), 0);
	assert_int_equal(keyd_store_txn_begin(s, &t2), -EBUSY);
	assert_int_equal(keyd_store_txn_put(t, "psk", "b.meta", "b1", 2), 0);
	assert_int_equal(keyd_store_txn_put(t, "psk", "a.meta", "a1", 2), 0);
	assert_int_equal(keyd_store_txn_put(t, "psk", "a.sealed", "s", 1), 0);
	assert_int_equal(keyd_store_txn_put(t, "ca", "set.pem", "pem", 3), 0);
	assert_int_equal(keyd_store_txn_put(t, "psk", "a.meta", "a2", 2), 0); /* last put wins */
	assert_int_equal(keyd_store_txn_put(t, "nope", "a.meta", "x", 1), -EINVAL);
	assert_int_equal(keyd_store_txn_put(t, "psk", "../a.meta", "x", 1), -EINVAL);
	assert_int_equal(keyd_store_txn_put(t, "psk", ".a.meta", "x", 1), -EINVAL);
	assert_int_equal(keyd_store_txn_put(t, "psk", "noext", "x", 1), -EINVAL);
	assert_int_equal(keyd_store_txn_put(t, "psk", "a.ME", "x", 1), -EINVAL);
	/* Staged, not visible yet. */
	assert_int_equal(keyd_store_exists(s, "psk", "a.meta"), 0);
	assert_list(s, "psk", "meta", "", 3); /* the temporaries are counted, not listed */
	assert_int_equal(count_temporaries(f), 4);
	assert_int_equal(keyd_store_txn_commit(t), 0);
	assert_int_equal(count_temporaries(f), 0);
	assert_int_equal(access(path(f, ".txn"), F_OK), -1);

	assert_content(s, "psk", "a.meta", "a2");
	assert_content(s, "psk", "b.meta", "b1");
	assert_content(s, "ca", "set.pem", "pem");
	assert_content(s, "keys", "a.meta", NULL);
	assert_int_equal(keyd_store_exists(s, "psk", "a.sealed"), 1);
	assert_list(s, "psk", "meta", "a,b", 0);
	assert_list(s, "psk", "sealed", "a", 0);
	assert_list(s, "keys", "tss2", "", 0);
	assert_int_equal(stat(path(f, "psk/a.meta"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	/* Abort: staged files vanish, nothing changes. */
	assert_int_equal(keyd_store_txn_begin(s, &t), 0);
	assert_int_equal(keyd_store_txn_put(t, "psk", "a.meta", "zzz", 3), 0);
	assert_int_equal(keyd_store_txn_remove(t, "psk", "b.meta"), 0);
	assert_null(keyd_store_txn_abort(t));
	assert_null(keyd_store_txn_abort(NULL));
	assert_int_equal(count_temporaries(f), 0);
	assert_content(s, "psk", "a.meta", "a2");
	assert_content(s, "psk", "b.meta", "b1");

	/* Remove, put-then-remove, remove of a missing file. */
	assert_int_equal(keyd_store_txn_begin(s, &t), 0);
	assert_int_equal(keyd_store_txn_remove(t, "psk", "b.meta"), 0);
	assert_int_equal(keyd_store_txn_put(t, "psk", "c.meta", "c", 1), 0);
	assert_int_equal(keyd_store_txn_remove(t, "psk", "c.meta"), 0);
	assert_int_equal(keyd_store_txn_remove(t, "psk", "never.meta"), 0);
	assert_int_equal(keyd_store_txn_put(t, "tpm", "srk.meta", "handle = 0x81000001\n", 20), 0);
	assert_int_equal(keyd_store_txn_commit(t), 0);
	assert_list(s, "psk", "meta", "a", 0);
	assert_content(s, "tpm", "srk.meta", "handle = 0x81000001\n");
	assert_int_equal(count_temporaries(f), 0);

	/* An empty transaction commits. */
	assert_int_equal(keyd_store_txn_begin(s, &t), 0);
	assert_int_equal(keyd_store_txn_commit(t), 0);
	keyd_store_close(s);

	ro = open_ok(f, KEYD_STORE_READONLY);
	assert_int_equal(keyd_store_txn_begin(ro, &t), -EROFS);
	assert_content(ro, "psk", "a.meta", "a2");
	/* Two readers share the lock. */
	s = open_ok(f, KEYD_STORE_READONLY);
	keyd_store_close(s);
	keyd_store_close(ro);
}

static void test_too_big(void **state)
{
	struct fixture *f = *state;
	keyd_store *s;
	keyd_store_txn *t = NULL;
	_cleanup_free_ char *big = NULL, *data = NULL;
	size_t len;
	int fd;

	s = open_ok(f, KEYD_STORE_CREATE);
	big = calloc(1, KEYD_STORE_FILE_MAX + 1);
	assert_non_null(big);
	assert_int_equal(keyd_store_txn_begin(s, &t), 0);
	assert_int_equal(keyd_store_txn_put(t, "ca", "big.pem", big, KEYD_STORE_FILE_MAX + 1),
			 -EFBIG);
	assert_int_equal(keyd_store_txn_put(t, "ca", "max.pem", big, KEYD_STORE_FILE_MAX), 0);
	assert_int_equal(keyd_store_txn_commit(t), 0);
	assert_int_equal(keyd_store_read(s, "ca", "max.pem", &data, &len), 0);
	assert_int_equal(len, KEYD_STORE_FILE_MAX);
	/* Grown behind keyd's back. */
	fd = open(path(f, "ca/max.pem"), O_WRONLY | O_APPEND | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	free(data);
	data = NULL;
	assert_int_equal(keyd_store_read(s, "ca", "max.pem", &data, &len), -EFBIG);
	assert_non_null(strstr(keyd_store_last_error(s), "larger than"));
	keyd_store_close(s);
}

static void test_modes_owner(void **state)
{
	struct fixture *f = *state;
	keyd_store *s;
	_cleanup_free_ char *data = NULL;
	size_t len;

	s = open_ok(f, KEYD_STORE_CREATE);
	put_commit(s, "psk", "a.meta", "x = 1\n");

	/* A file readable by others is refused on read, with the fix. */
	assert_int_equal(chmod(path(f, "psk/a.meta"), 0644), 0);
	assert_int_equal(keyd_store_read(s, "psk", "a.meta", &data, &len), -EPERM);
	assert_non_null(
		strstr(keyd_store_last_error(s), "psk/a.meta: mode 0644 grants more than 0600"));
	assert_non_null(strstr(keyd_store_last_error(s), "chmod 600"));
	assert_int_equal(chmod(path(f, "psk/a.meta"), 0600), 0);
	assert_content(s, "psk", "a.meta", "x = 1\n");

	/* A symlink stands in for nothing. */
	assert_int_equal(symlink("a.meta", path(f, "psk/l.meta")), 0);
	assert_int_equal(keyd_store_read(s, "psk", "l.meta", &data, &len), -EPERM);
	assert_non_null(strstr(keyd_store_last_error(s), "symlink"));
	assert_int_equal(keyd_store_exists(s, "psk", "l.meta"), -EPERM);
	/* A FIFO does not hang the reader. */
	assert_int_equal(mkfifo(path(f, "psk/p.meta"), 0600), 0);
	assert_int_equal(keyd_store_read(s, "psk", "p.meta", &data, &len), -EPERM);
	assert_non_null(strstr(keyd_store_last_error(s), "not a regular file"));
	keyd_store_close(s);

	/* Directories: the root and each section, on open. */
	assert_int_equal(chmod(path(f, "keys"), 0755), 0);
	open_fails(f, KEYD_STORE_READONLY, -EPERM,
		   "keys: mode 0755 grants more than 0700; run chmod 700");
	assert_int_equal(chmod(path(f, "keys"), 0700), 0);
	assert_int_equal(chmod(f->root, 0750), 0);
	open_fails(f, 0, -EPERM, "chmod 700");
	assert_int_equal(chmod(f->root, 0700), 0);

	/* Owners: only root can give a file away. */
	if (geteuid() != 0) {
		print_message("skipping the owner checks: not running as root\n");
		return;
	}
	assert_int_equal(chown(path(f, "psk/a.meta"), 1234, 1234), 0);
	s = open_ok(f, 0);
	assert_int_equal(keyd_store_read(s, "psk", "a.meta", &data, &len), -EPERM);
	assert_non_null(
		strstr(keyd_store_last_error(s), "owned by uid 1234, not root; run chown root"));
	keyd_store_close(s);
	assert_int_equal(chown(path(f, "psk"), 1234, 0), 0);
	open_fails(f, KEYD_STORE_READONLY, -EPERM, "psk: owned by uid 1234");
}

/* A crash after the commit point: the manifest names temporaries, one rename
 * already happened. A read-only open presents the committed state without
 * writing; a writable open finishes the job. */
static void test_roll_forward(void **state)
{
	struct fixture *f = *state;
	keyd_store *s;
	struct stat st;

	assert_int_equal(crc32_ref("123456789"), 0xcbf43926u); /* the CRC-32 check value */
	s = open_ok(f, KEYD_STORE_CREATE);
	put_commit(s, "psk", "a.meta", "old a");
	put_commit(s, "psk", "gone.meta", "to be removed");
	put_commit(s, "ca", "done.pem", "old done");
	keyd_store_close(s);

	write_raw(path(f, "psk/.a.meta.tmp-4242-1"), "new a", 0600);
	write_raw(path(f, "ca/.new.pem.tmp-4242-2"), "new ca", 0600);
	write_raw(path(f, "ca/done.pem"), "new done", 0600); /* its rename was applied */
	write_manifest(f,
		       "keyd-txn 1\n"
		       "rename psk/.a.meta.tmp-4242-1 psk/a.meta\n"
		       "rename ca/.done.pem.tmp-4242-3 ca/done.pem\n"
		       "rename ca/.new.pem.tmp-4242-2 ca/new.pem\n"
		       "unlink psk/gone.meta\n",
		       true);

	s = open_ok(f, KEYD_STORE_READONLY);
	assert_content(s, "psk", "a.meta", "new a");
	assert_content(s, "psk", "gone.meta", NULL);
	assert_content(s, "ca", "new.pem", "new ca");
	assert_content(s, "ca", "done.pem", "new done");
	assert_int_equal(keyd_store_exists(s, "psk", "gone.meta"), 0);
	assert_int_equal(keyd_store_exists(s, "ca", "new.pem"), 1);
	assert_list(s, "psk", "meta", "a", 1);
	assert_list(s, "ca", "pem", "done,new", 1);
	keyd_store_close(s);
	assert_int_equal(stat(path(f, ".txn"), &st), 0); /* read-only wrote nothing */

	s = open_ok(f, 0);
	assert_int_equal(access(path(f, ".txn"), F_OK), -1);
	assert_int_equal(count_temporaries(f), 0);
	assert_content(s, "psk", "a.meta", "new a");
	assert_content(s, "psk", "gone.meta", NULL);
	assert_content(s, "ca", "new.pem", "new ca");
	assert_list(s, "psk", "meta", "a", 0);
	keyd_store_close(s);
}

/* A crash before the commit point: a torn manifest (bad checksum, or cut short)
 * and its temporaries. The old state stays, the leftovers go. */
static void test_torn_manifest(void **state)
{
	struct fixture *f = *state;
	keyd_store *s;

	s = open_ok(f, KEYD_STORE_CREATE);
	put_commit(s, "psk", "a.meta", "old a");
	keyd_store_close(s);

	for (int variant = 0; variant < 4; variant++) {
		write_raw(path(f, "psk/.a.meta.tmp-4242-1"), "new a", 0600);
		write_raw(path(f, "psk/.b.meta.tmp-4242-2"), "new b", 0600);
		write_raw(path(f, "..txn.tmp-4242-3"), "keyd-txn 1\nren", 0600);
		switch (variant) {
		case 0: /* checksum does not match */
			write_manifest(f,
				       "keyd-txn 1\n"
				       "rename psk/.a.meta.tmp-4242-1 psk/a.meta\n"
				       "rename psk/.b.meta.tmp-4242-2 psk/b.meta\n",
				       false);
			break;
		case 1: /* cut short before the checksum line */
			write_raw(path(f, ".txn"),
				  "keyd-txn 1\nrename psk/.a.meta.tmp-4242-1 psk/a.meta\n", 0600);
			break;
		case 2: /* a step that is not keyd's: renaming a temporary over another file */
			write_manifest(f, "keyd-txn 1\nrename psk/.a.meta.tmp-4242-1 psk/b.meta\n",
				       true);
			break;
		default: /* no manifest at all: only the temporaries */
			break;
		}
		s = open_ok(f, KEYD_STORE_READONLY);
		assert_content(s, "psk", "a.meta", "old a");
		assert_content(s, "psk", "b.meta", NULL);
		assert_list(s, "psk", "meta", "a", 2);
		keyd_store_close(s);

		s = open_ok(f, 0);
		assert_content(s, "psk", "a.meta", "old a");
		assert_list(s, "psk", "meta", "a", 0);
		keyd_store_close(s);
		assert_int_equal(access(path(f, ".txn"), F_OK), -1);
		assert_int_equal(count_temporaries(f), 0);
	}
}

static void test_foreign_files(void **state)
{
	struct fixture *f = *state;
	keyd_store *s;

	s = open_ok(f, KEYD_STORE_CREATE);
	put_commit(s, "psk", "good.meta", "x");
	write_raw(path(f, "psk/README"), "hello", 0600);
	write_raw(path(f, "psk/.hidden.meta"), "x", 0600);
	write_raw(path(f, "psk/bad name.meta"), "x", 0600);
	write_raw(path(f, "psk/other.sealed"), "x", 0600); /* keyd's, another extension */
	assert_int_equal(mkdir(path(f, "psk/dir.meta"), 0700), 0);
	assert_int_equal(symlink("good.meta", path(f, "psk/link.meta")), 0);
	assert_int_equal(mkfifo(path(f, "psk/fifo.meta"), 0600), 0);
	assert_list(s, "psk", "meta", "good", 6);
	assert_list(s, "psk", "sealed", "other", 6);
	assert_int_equal(keyd_store_list(s, "psk", "x/y", &(char **){ NULL }, NULL), -EINVAL);
	assert_int_equal(keyd_store_list(s, "etc", "meta", &(char **){ NULL }, NULL), -EINVAL);
	keyd_store_close(s);

	/* A writable open deletes none of them. */
	keyd_store_close(open_ok(f, 0));
	assert_int_equal(access(path(f, "psk/README"), F_OK), 0);
	assert_int_equal(access(path(f, "psk/.hidden.meta"), F_OK), 0);
	assert_int_equal(access(path(f, "psk/bad name.meta"), F_OK), 0);
	assert_int_equal(access(path(f, "psk/dir.meta"), F_OK), 0);
	assert_int_equal(access(path(f, "psk/fifo.meta"), F_OK), 0);
}

/* A child holds the lock; the parent waits about 5 s and gets -EBUSY. */
static pid_t hold_lock(struct fixture *f, unsigned flags, int *ret_release)
{
	int ready[2], release[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	assert_int_equal(pipe2(release, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		keyd_store *s = NULL;

		if (keyd_store_open(f->root, flags, &s, NULL, 0) < 0)
			_exit(1);
		(void)!write(ready[1], "r", 1);
		(void)!read(release[0], &c, 1);
		keyd_store_close(s);
		_exit(0);
	}
	close(ready[1]);
	close(release[0]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	*ret_release = release[1];
	return pid;
}

static void release_lock(pid_t pid, int release)
{
	int status;

	assert_int_equal(write(release, "x", 1), 1);
	close(release);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_lock(void **state)
{
	struct fixture *f = *state;
	struct timespec a, b;
	int release;
	pid_t pid;

	keyd_store_close(open_ok(f, KEYD_STORE_CREATE));

	pid = hold_lock(f, 0, &release);
	clock_gettime(CLOCK_MONOTONIC, &a);
	open_fails(f, 0, -EBUSY, "another keyd process is changing the store");
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_true(b.tv_sec - a.tv_sec >= 4 && b.tv_sec - a.tv_sec <= 8);
	release_lock(pid, release);
	keyd_store_close(open_ok(f, 0));

	/* Readers share: a second reader does not wait. */
	pid = hold_lock(f, KEYD_STORE_READONLY, &release);
	clock_gettime(CLOCK_MONOTONIC, &a);
	keyd_store_close(open_ok(f, KEYD_STORE_READONLY));
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_true(b.tv_sec - a.tv_sec <= 1);
	release_lock(pid, release);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_layout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_existing_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_big, setup, teardown),
		cmocka_unit_test_setup_teardown(test_modes_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_roll_forward, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_manifest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
	};

	umask(022);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
