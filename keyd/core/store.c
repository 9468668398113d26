/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The on-disk store; docs/store.md describes the layout and the protocol.
 *
 * Every path below the root is opened relative to a directory descriptor with
 * O_NOFOLLOW: a symlink planted inside the store can neither redirect a write nor
 * stand in for a sealed blob. Modes and owners are checked on the descriptor
 * that is then used (fstat after open), so there is no window between the check
 * and the use.
 *
 * Transactions. txn_put writes <section>/.<file>.tmp-<pid>-<n> and fsyncs it.
 * txn_commit fsyncs the touched sections, writes the manifest <root>/.txn
 * atomically (the commit point), applies its steps, fsyncs the touched sections,
 * removes .txn and fsyncs the root. Every step is idempotent (a rename whose
 * temporary is gone was applied; an unlink of a missing file is done), so a
 * writable open simply replays a complete manifest. A manifest whose checksum
 * does not match never committed: it and all temporaries are removed.
 *
 * A READONLY open never writes (beyond creating an absent lock file): when it
 * finds a committed manifest it reads it and presents the committed state in
 * read/exists/list, looking through to the temporaries the manifest names.
 *
 * A keyd_store handle is used by one thread; processes are serialised with
 * flock() on <root>/.lock.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"
#include "parse.h"
#include "store.h"

#define STORE_FORMAT_FILE "format"
#define STORE_LOCK_FILE ".lock"
#define STORE_TXN_FILE ".txn"
#define STORE_TXN_MAGIC "keyd-txn 1"
#define STORE_TXN_OPS_MAX 256       /* files one transaction may touch */
#define STORE_TXN_TEXT_MAX (256 * 1024)
#define STORE_LIST_MAX 65536        /* entries one section may hold */
#define STORE_LOCK_WAIT_MS 5000
#define STORE_DIR_MODE 0700
#define STORE_FILE_MODE 0600
#define STORE_TMP_MAX (NAME_MAX + 1)

static const char *const sections[] = { "tpm", "keys", "psk", "ca" };
#define N_SECTIONS ELEMENTSOF(sections)

/* One step of a transaction or manifest: tmp set = rename tmp over file;
 * tmp NULL = unlink file. */
struct store_op {
	unsigned section;
	char *file;
	char *tmp;
};

struct keyd_store {
	char *root;
	unsigned flags;
	int root_fd;
	int lock_fd;
	int section_fd[N_SECTIONS]; /* -1: section absent (read-only store) */
	bool in_txn;
	int broken; /* a commit failed half-way: refuse more transactions */
	/* READONLY with a committed manifest still on disk: its view. */
	struct store_op *pending;
	size_t n_pending;
	char error[512];
};

struct keyd_store_txn {
	keyd_store *store;
	struct store_op *ops;
	size_t n_ops;
};

_printf_(3, 4) static int store_fail(keyd_store *s, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->error, sizeof(s->error), fmt, ap);
	va_end(ap);
	return r;
}

const char *keyd_store_last_error(const keyd_store *s)
{
	return s && s->error[0] ? s->error : "no error";
}

const char *keyd_store_root(const keyd_store *s)
{
	return s ? s->root : NULL;
}

static int section_index(const char *section)
{
	if (!section)
		return -EINVAL;
	for (unsigned i = 0; i < N_SECTIONS; i++)
		if (streq(section, sections[i]))
			return (int)i;
	return -EINVAL;
}

/* "<name>.<ext>": the whole and the name before the last dot follow the
 * entry name rules, ext is [a-z0-9]+. */
static bool file_name_ok(const char *file)
{
	const char *dot;

	if (!keyd_name_is_valid(file))
		return false;
	dot = strrchr(file, '.');
	if (!dot || dot == file || !dot[1])
		return false;
	for (const char *p = dot + 1; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
			return false;
	return true;
}

/* ".<file>.tmp-<digits>-<digits>", the names keyd_tmp_name() makes; file may be
 * NULL (any file name). */
static bool tmp_name_ok(const char *tmp, const char *file)
{
	const char *t, *p;
	size_t fn;

	if (!tmp || tmp[0] != '.')
		return false;
	t = strstr(tmp + 1, ".tmp-");
	if (!t)
		return false;
	/* The last ".tmp-" starts the suffix. */
	for (const char *q = t; (q = strstr(q + 1, ".tmp-"));)
		t = q;
	fn = (size_t)(t - (tmp + 1));
	if (fn == 0 || (file && (strlen(file) != fn || memcmp(file, tmp + 1, fn) != 0)))
		return false;
	p = t + 5;
	if (*p < '0' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p++ != '-' || *p < '0' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9')
		p++;
	return *p == '\0';
}

static void ops_free(struct store_op *ops, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(ops[i].file);
		free(ops[i].tmp);
	}
	free(ops);
}

/* CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as zlib computes it. It
 * only has to detect a torn or damaged manifest, not an adversary: the manifest
 * is root-owned like everything else here. */
static uint32_t crc32_ieee(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t c = 0xffffffffu;

	for (size_t i = 0; i < len; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
	}
	return c ^ 0xffffffffu;
}

/* Owner, mode and type of an open descriptor, with a reason that names the path
 * and the remedy. */
static int check_fd(keyd_store *s, int fd, const char *rel, bool dir)
{
	mode_t max = dir ? STORE_DIR_MODE : STORE_FILE_MODE;
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s%s%s", s->root, rel ? "/" : "", rel ? rel : "");
	if (fstat(fd, &st) < 0)
		return store_fail(s, -errno, "%s: cannot stat: %s", path, strerror(errno));
	if (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
		return store_fail(s, -EPERM, "%s: not a %s; move it out of the store", path,
				  dir ? "directory" : "regular file");
	if (keyd_check_owner(st.st_uid) < 0)
		return store_fail(s, -EPERM, "%s: owned by uid %u, not root; run chown root '%s'",
				  path, (unsigned)st.st_uid, path);
	if ((st.st_mode & 07777) & ~max)
		return store_fail(
			s, -EPERM, "%s: mode %04o grants more than %04o; run chmod %o '%s'", path,
			(unsigned)(st.st_mode & 07777), (unsigned)max, (unsigned)max, path);
	return 0;
}

/* Open a regular store file below dir_fd, refusing symlinks, FIFOs and devices
 * (O_NONBLOCK: a FIFO must not hang us before fstat sees it). */
static int open_checked(keyd_store *s, int dir_fd, const char *name, const char *rel)
{
	_cleanup_close_ int fd = -1;
	int r;

	fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ELOOP)
			return store_fail(s, -EPERM,
					  "%s/%s: a symlink; store files must be regular "
					  "files, remove it",
					  s->root, rel);
		return store_fail(s, -errno, "%s/%s: %s", s->root, rel, strerror(errno));
	}
	r = check_fd(s, fd, rel, false);
	if (r < 0)
		return r;
	return TAKE_FD(fd);
}

static int read_checked(keyd_store *s, int dir_fd, const char *name, const char *rel, size_t max,
			char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = -1;
	int r;

	fd = open_checked(s, dir_fd, name, rel);
	if (fd < 0)
		return fd;
	r = keyd_read_fd(fd, max, ret, ret_len);
	if (r == -EFBIG)
		return store_fail(s, r, "%s/%s: larger than %zu bytes", s->root, rel, max);
	if (r < 0)
		return store_fail(s, r, "%s/%s: %s", s->root, rel, strerror(-r));
	return 0;
}

static int open_dir_checked(keyd_store *s, int dir_fd, const char *name, const char *rel)
{
	_cleanup_close_ int fd = -1;
	int r;

	fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP || errno == ENOTDIR)
			return store_fail(s, -EPERM, "%s/%s: not a directory (or a symlink); "
					  "move it out of the store", s->root, rel);
		return store_fail(s, -errno, "%s/%s: %s", s->root, rel, strerror(errno));
	}
	r = check_fd(s, fd, rel, true);
	if (r < 0)
		return r;
	return TAKE_FD(fd);
}

/* ---- manifest ---------------------------------------------------------------- */

static int manifest_format(const struct store_op *ops, size_t n, char **ret, size_t *ret_len)
{
	size_t cap = 64, off = 0;
	_cleanup_free_ char *buf = NULL;
	int k;

	for (size_t i = 0; i < n; i++)
		cap += 2 * (strlen(ops[i].file) + (ops[i].tmp ? strlen(ops[i].tmp) : 0) + 16);
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	k = snprintf(buf, cap, "%s\n", STORE_TXN_MAGIC);
	off = (size_t)k;
	for (size_t i = 0; i < n; i++) {
		const char *sec = sections[ops[i].section];

		if (ops[i].tmp)
			k = snprintf(buf + off, cap - off, "rename %s/%s %s/%s\n", sec, ops[i].tmp,
				     sec, ops[i].file);
		else
			k = snprintf(buf + off, cap - off, "unlink %s/%s\n", sec, ops[i].file);
		if (k < 0 || (size_t)k >= cap - off)
			return -EINVAL;
		off += (size_t)k;
	}
	k = snprintf(buf + off, cap - off, "crc32 %08x\n", crc32_ieee(buf, off));
	if (k < 0 || (size_t)k >= cap - off)
		return -EINVAL;
	off += (size_t)k;
	*ret = TAKE_PTR(buf);
	*ret_len = off;
	return 0;
}

/* "section/name" -> section index and name (pointing into p). */
static int split_path(char *p, unsigned *ret_section, char **ret_name)
{
	char *slash = strchr(p, '/');
	int si;

	if (!slash)
		return -EBADMSG;
	*slash = '\0';
	si = section_index(p);
	if (si < 0)
		return -EBADMSG;
	*ret_section = (unsigned)si;
	*ret_name = slash + 1;
	return 0;
}

/* Strict: magic, steps whose names are keyd's own (a temporary can only be renamed
 * over the file it was made for, in the same section), each file at most once,
 * and a final checksum line over everything before it. -EBADMSG: torn or damaged. */
static int manifest_parse(const char *text, size_t len, struct store_op **ret, size_t *ret_n)
{
	struct store_op *ops = NULL;
	size_t n = 0, pos = 0, body_end = 0;
	bool have_crc = false;
	uint32_t crc = 0;
	int r = -EBADMSG;

	if (len > STORE_TXN_TEXT_MAX || len == 0 || text[len - 1] != '\n' ||
	    memchr(text, '\0', len))
		return -EBADMSG;
	ops = calloc(STORE_TXN_OPS_MAX, sizeof(*ops));
	if (!ops)
		return -ENOMEM;

	for (size_t lineno = 0; pos < len; lineno++) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t ln = (size_t)(nl - (text + pos));
		char line[2 * STORE_TMP_MAX + 64];
		char *a, *b, *save = NULL, *verb, *extra;

		if (ln >= sizeof(line) || have_crc)
			goto fail;
		memcpy(line, text + pos, ln);
		line[ln] = '\0';
		if (lineno == 0) {
			if (!streq(line, STORE_TXN_MAGIC))
				goto fail;
			pos += ln + 1;
			continue;
		}
		verb = strtok_r(line, " ", &save);
		a = strtok_r(NULL, " ", &save);
		b = strtok_r(NULL, " ", &save);
		extra = strtok_r(NULL, " ", &save);
		if (!verb || !a || extra)
			goto fail;
		if (streq(verb, "crc32")) {
			uint32_t v;

			if (b || strlen(a) != 8 || keyd_parse_u32(a, 16, &v) < 0)
				goto fail;
			crc = v;
			have_crc = true;
			body_end = pos;
		} else {
			unsigned sa, sb;
			char *na, *nb;

			if (n >= STORE_TXN_OPS_MAX)
				goto fail;
			if (streq(verb, "rename") && b) {
				if (split_path(a, &sa, &na) < 0 || split_path(b, &sb, &nb) < 0 ||
				    sa != sb || !file_name_ok(nb) || !tmp_name_ok(na, nb))
					goto fail;
				ops[n].tmp = strdup(na);
				if (!ops[n].tmp) {
					r = -ENOMEM;
					goto fail;
				}
			} else if (streq(verb, "unlink") && !b) {
				if (split_path(a, &sb, &nb) < 0 || !file_name_ok(nb))
					goto fail;
			} else {
				goto fail;
			}
			for (size_t i = 0; i < n; i++)
				if (ops[i].section == sb && streq(ops[i].file, nb)) {
					free(ops[n].tmp);
					ops[n].tmp = NULL;
					goto fail;
				}
			ops[n].section = sb;
			ops[n].file = strdup(nb);
			if (!ops[n].file) {
				free(ops[n].tmp);
				ops[n].tmp = NULL;
				r = -ENOMEM;
				goto fail;
			}
			n++;
		}
		pos += ln + 1;
	}
	if (!have_crc || crc32_ieee(text, body_end) != crc)
		goto fail;
	*ret = ops;
	*ret_n = n;
	return 0;
fail:
	ops_free(ops, n);
	return r;
}

/* Read <root>/.txn: 1 and the steps when a committed manifest is there, 0 when there
 * is none or it is torn (*ret_torn set), -errno when it cannot be read. */
static int manifest_load(keyd_store *s, struct store_op **ret, size_t *ret_n, bool *ret_torn)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	*ret_torn = false;
	r = read_checked(s, s->root_fd, STORE_TXN_FILE, STORE_TXN_FILE, STORE_TXN_TEXT_MAX, &text,
			 &len);
	if (r == -ENOENT)
		return 0;
	if (r == -EFBIG) {
		*ret_torn = true;
		return 0;
	}
	if (r < 0)
		return r;
	r = manifest_parse(text, len, ret, ret_n);
	if (r == -EBADMSG) {
		*ret_torn = true;
		return 0;
	}
	return r < 0 ? r : 1;
}

static int fsync_sections(keyd_store *s, const bool touched[N_SECTIONS])
{
	for (unsigned i = 0; i < N_SECTIONS; i++)
		if (touched[i] && s->section_fd[i] >= 0 && fsync(s->section_fd[i]) < 0)
			return store_fail(s, -errno, "%s/%s: fsync: %s", s->root, sections[i],
					  strerror(errno));
	return 0;
}

/* Apply steps; each is idempotent, so this also replays a manifest after a crash. */
static int manifest_apply(keyd_store *s, const struct store_op *ops, size_t n)
{
	bool touched[N_SECTIONS] = {};

	for (size_t i = 0; i < n; i++) {
		int fd = s->section_fd[ops[i].section];
		const char *sec = sections[ops[i].section];

		if (fd < 0)
			return store_fail(s, -ENOENT, "%s/%s: section missing", s->root, sec);
		touched[ops[i].section] = true;
		if (ops[i].tmp) {
			/* A missing temporary was renamed already. */
			if (renameat(fd, ops[i].tmp, fd, ops[i].file) < 0 && errno != ENOENT)
				return store_fail(s, -errno, "%s/%s/%s: rename: %s", s->root, sec,
						  ops[i].file, strerror(errno));
		} else if (unlinkat(fd, ops[i].file, 0) < 0 && errno != ENOENT) {
			return store_fail(s, -errno, "%s/%s/%s: unlink: %s", s->root, sec,
					  ops[i].file, strerror(errno));
		}
	}
	return fsync_sections(s, touched);
}

static int manifest_remove(keyd_store *s)
{
	if (unlinkat(s->root_fd, STORE_TXN_FILE, 0) < 0 && errno != ENOENT)
		return store_fail(s, -errno, "%s/%s: unlink: %s", s->root, STORE_TXN_FILE,
				  strerror(errno));
	if (fsync(s->root_fd) < 0)
		return store_fail(s, -errno, "%s: fsync: %s", s->root, strerror(errno));
	return 0;
}

/* Remove keyd's own staging files (never anything else) left by a transaction
 * that did not commit. Only called with the exclusive lock held, when no
 * manifest is pending, so no live transaction owns them. */
static int remove_temporaries(keyd_store *s, int dir_fd, const char *rel)
{
	_cleanup_close_ int fd = -1;
	DIR *d;
	struct dirent *de;
	bool removed = false;
	int r = 0;

	fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return store_fail(s, -errno, "%s: %s", rel, strerror(errno));
	d = fdopendir(fd);
	if (!d)
		return store_fail(s, -errno, "%s: %s", rel, strerror(errno));
	TAKE_FD(fd);
	while ((errno = 0, de = readdir(d))) {
		if (!tmp_name_ok(de->d_name, NULL))
			continue;
		if (unlinkat(dir_fd, de->d_name, 0) < 0 && errno != ENOENT) {
			r = store_fail(s, -errno, "%s/%s: unlink: %s", rel, de->d_name,
				       strerror(errno));
			break;
		}
		removed = true;
	}
	if (r == 0 && errno)
		r = store_fail(s, -errno, "%s: readdir: %s", rel, strerror(errno));
	closedir(d);
	if (r == 0 && removed && fsync(dir_fd) < 0)
		r = store_fail(s, -errno, "%s: fsync: %s", rel, strerror(errno));
	return r;
}

static int recover(keyd_store *s)
{
	struct store_op *ops = NULL;
	size_t n = 0;
	bool torn;
	int r, found;

	found = manifest_load(s, &ops, &n, &torn);
	if (found < 0)
		return found;
	if (found > 0) {
		r = manifest_apply(s, ops, n);
		ops_free(ops, n);
		if (r < 0)
			return r;
	}
	if (found > 0 || torn) {
		r = manifest_remove(s);
		if (r < 0)
			return r;
	}
	r = remove_temporaries(s, s->root_fd, s->root);
	for (unsigned i = 0; r >= 0 && i < N_SECTIONS; i++)
		if (s->section_fd[i] >= 0)
			r = remove_temporaries(s, s->section_fd[i], sections[i]);
	return r;
}

/* ---- open ------------------------------------------------------------------- */

static int take_lock(keyd_store *s)
{
	bool ro = s->flags & KEYD_STORE_READONLY;
	struct timespec slice = { 0, 50 * 1000 * 1000 };
	int fd, r;

	fd = openat(s->root_fd, STORE_LOCK_FILE,
		    (ro ? O_RDONLY : O_RDWR | O_CREAT) | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
		    STORE_FILE_MODE);
	if (fd < 0 && ro && errno == ENOENT) {
		/* A store no writer has opened yet; create the lock if we may, else a
		 * read-only file system has no writer to wait for. */
		fd = openat(s->root_fd, STORE_LOCK_FILE,
			    O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
			    STORE_FILE_MODE);
		if (fd < 0 && (errno == EROFS || errno == EACCES))
			return 0;
	}
	if (fd < 0)
		return store_fail(s, -errno, "%s/%s: %s", s->root, STORE_LOCK_FILE,
				  strerror(errno));
	s->lock_fd = fd;
	r = check_fd(s, fd, STORE_LOCK_FILE, false);
	if (r < 0)
		return r;
	for (unsigned waited = 0;; waited += 50) {
		if (flock(fd, (ro ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return store_fail(s, -errno, "%s/%s: flock: %s", s->root, STORE_LOCK_FILE,
					  strerror(errno));
		if (waited >= STORE_LOCK_WAIT_MS)
			return store_fail(s, -EBUSY,
					  "%s: another keyd process is changing the store; "
					  "try again when it is done",
					  s->root);
		nanosleep(&slice, NULL);
	}
}

/* Is the directory empty apart from our lock and a crashed setup's temporaries? */
static int dir_is_empty(keyd_store *s)
{
	_cleanup_close_ int fd = -1;
	struct dirent *de;
	DIR *d;
	int r = 1;

	fd = openat(s->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d)
		return -errno;
	TAKE_FD(fd);
	while ((errno = 0, de = readdir(d))) {
		if (streq(de->d_name, ".") || streq(de->d_name, "..") ||
		    streq(de->d_name, STORE_LOCK_FILE) ||
		    tmp_name_ok(de->d_name, STORE_FORMAT_FILE))
			continue;
		r = 0;
		break;
	}
	if (r == 1 && errno)
		r = -errno;
	closedir(d);
	return r;
}

static int check_format(keyd_store *s)
{
	_cleanup_free_ char *text = NULL;
	char expect[64];
	uint32_t v;
	size_t len;
	char *end;
	int r;

	r = read_checked(s, s->root_fd, STORE_FORMAT_FILE, STORE_FORMAT_FILE, 64, &text, &len);
	if (r == -EFBIG)
		return store_fail(s, -EBADMSG, "%s/%s: not a keyd store format line", s->root,
				  STORE_FORMAT_FILE);
	if (r < 0)
		return r;
	if (!startswith(text, "keyd-store ") || len < 13 || text[len - 1] != '\n' ||
	    strlen(text) != len)
		return store_fail(s, -EBADMSG, "%s/%s: not 'keyd-store <version>'", s->root,
				  STORE_FORMAT_FILE);
	text[len - 1] = '\0';
	end = text + strlen("keyd-store ");
	if (keyd_parse_u32(end, 10, &v) < 0 || v == 0)
		return store_fail(s, -EBADMSG, "%s/%s: bad version '%s'", s->root,
				  STORE_FORMAT_FILE, end);
	if (v > KEYD_STORE_FORMAT_VERSION)
		return store_fail(s, -EPROTO, "%s: store format %u is newer than this keyd "
				  "understands (%u); use a newer keyd", s->root, v,
				  KEYD_STORE_FORMAT_VERSION);
	snprintf(expect, sizeof(expect), "%u", v);
	if (!streq(expect, end)) /* leading zeros */
		return store_fail(s, -EBADMSG, "%s/%s: bad version '%s'", s->root,
				  STORE_FORMAT_FILE, end);
	return 0;
}

static int write_format(keyd_store *s)
{
	char text[32];
	int n, r;

	n = snprintf(text, sizeof(text), "keyd-store %u\n", KEYD_STORE_FORMAT_VERSION);
	r = keyd_write_file_atomic_at(s->root_fd, STORE_FORMAT_FILE, text, (size_t)n,
				      STORE_FILE_MODE);
	if (r < 0)
		return store_fail(s, r, "%s/%s: cannot write: %s", s->root, STORE_FORMAT_FILE,
				  strerror(-r));
	return 0;
}

static int open_sections(keyd_store *s)
{
	bool ro = s->flags & KEYD_STORE_READONLY;
	bool created = false;
	int fd;

	for (unsigned i = 0; i < N_SECTIONS; i++) {
		fd = open_dir_checked(s, s->root_fd, sections[i], sections[i]);
		if (fd == -ENOENT && !ro) {
			/* Made here rather than at setup, so a crash during setup or a
			 * section removed by hand heals on the next writable open. */
			if (mkdirat(s->root_fd, sections[i], STORE_DIR_MODE) < 0 && errno != EEXIST)
				return store_fail(s, -errno, "%s/%s: mkdir: %s", s->root,
						  sections[i], strerror(errno));
			fd = openat(s->root_fd, sections[i],
				    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0 || fchmod(fd, STORE_DIR_MODE) < 0)
				return store_fail(s, -errno, "%s/%s: %s", s->root, sections[i],
						  strerror(errno));
			created = true;
		} else if (fd == -ENOENT) {
			continue; /* read-only: an absent section is empty */
		}
		if (fd < 0)
			return fd;
		s->section_fd[i] = fd;
	}
	if (created && fsync(s->root_fd) < 0)
		return store_fail(s, -errno, "%s: fsync: %s", s->root, strerror(errno));
	return 0;
}

keyd_store *keyd_store_close(keyd_store *s)
{
	if (!s)
		return NULL;
	for (unsigned i = 0; i < N_SECTIONS; i++)
		safe_close(s->section_fd[i]);
	safe_close(s->root_fd);
	safe_close(s->lock_fd); /* releases the flock */
	ops_free(s->pending, s->n_pending);
	free(s->root);
	free(s);
	return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(keyd_store *, keyd_store_close)

static int store_open(keyd_store *s)
{
	bool ro = s->flags & KEYD_STORE_READONLY;
	int r;

	s->root_fd = open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->root_fd < 0 && errno == ENOENT && (s->flags & KEYD_STORE_CREATE)) {
		r = keyd_mkdir_p(s->root, STORE_DIR_MODE);
		if (r < 0)
			return store_fail(s, r, "%s: cannot create: %s", s->root, strerror(-r));
		s->root_fd = open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (s->root_fd >= 0 && fchmod(s->root_fd, STORE_DIR_MODE) < 0)
			return store_fail(s, -errno, "%s: chmod: %s", s->root, strerror(errno));
	}
	if (s->root_fd < 0) {
		if (errno == ENOENT)
			return store_fail(s, -ENOENT, "%s: no keyd store there", s->root);
		return store_fail(s, -errno, "%s: %s", s->root, strerror(errno));
	}
	r = check_fd(s, s->root_fd, NULL, true);
	if (r < 0)
		return r;
	/* A reader looks for the format file first, so reading a directory that is
	 * no store leaves no lock file behind; the format file is written once,
	 * atomically, so reading it unlocked is safe. A writer may have to create
	 * it, which two writers must not do at once. */
	if (ro) {
		r = check_format(s);
		if (r == -ENOENT)
			return store_fail(s, -ENOENT, "%s: no keyd store there (no '%s' file)",
					  s->root, STORE_FORMAT_FILE);
		if (r < 0)
			return r;
	}
	r = take_lock(s);
	if (r < 0)
		return r;

	r = ro ? 0 : check_format(s);
	if (r == -ENOENT) {
		if (!(s->flags & KEYD_STORE_CREATE))
			return store_fail(s, -ENOENT, "%s: no keyd store there (no '%s' file)",
					  s->root, STORE_FORMAT_FILE);
		r = dir_is_empty(s);
		if (r < 0)
			return store_fail(s, r, "%s: %s", s->root, strerror(-r));
		if (r == 0)
			return store_fail(s, -ENOTEMPTY, "%s: not a keyd store and not empty; "
					  "choose an empty or new directory", s->root);
		/* Format first: the sections follow on this and every writable open. */
		r = write_format(s);
		if (r < 0)
			return r;
	} else if (r < 0) {
		return r;
	}

	r = open_sections(s);
	if (r < 0)
		return r;

	if (!ro)
		return recover(s);

	/* Read-only: present what a committed manifest says, without writing. */
	{
		bool torn;

		r = manifest_load(s, &s->pending, &s->n_pending, &torn);
		if (r < 0)
			return r;
	}
	return 0;
}

int keyd_store_open(const char *root, unsigned flags, keyd_store **ret, char *ret_reason,
		    size_t reason_size)
{
	_cleanup_(keyd_store_closep) keyd_store *s = NULL;
	int r;

	if (ret_reason && reason_size > 0)
		ret_reason[0] = '\0';
	if (!root || !*root || !ret ||
	    (flags & ~(unsigned)(KEYD_STORE_CREATE | KEYD_STORE_READONLY)))
		return -EINVAL;
	if ((flags & KEYD_STORE_CREATE) && (flags & KEYD_STORE_READONLY))
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->root_fd = s->lock_fd = -1;
	for (unsigned i = 0; i < N_SECTIONS; i++)
		s->section_fd[i] = -1;
	s->flags = flags;
	s->root = strdup(root);
	if (!s->root)
		return -ENOMEM;
	r = store_open(s);
	if (r < 0) {
		if (ret_reason && reason_size > 0)
			snprintf(ret_reason, reason_size, "%s", s->error);
		return r;
	}
	s->error[0] = '\0';
	*ret = TAKE_PTR(s);
	return 0;
}

/* ---- reading ------------------------------------------------------------------ */

static const struct store_op *pending_find(const keyd_store *s, unsigned section, const char *file)
{
	for (size_t i = 0; i < s->n_pending; i++)
		if (s->pending[i].section == section && streq(s->pending[i].file, file))
			return &s->pending[i];
	return NULL;
}

static int check_args(keyd_store *s, const char *section, const char *file)
{
	int si = section_index(section);

	if (si < 0)
		return store_fail(s, -EINVAL, "'%s': not a store section", section ? section : "");
	if (!file_name_ok(file))
		return store_fail(s, -EINVAL, "'%s': not a valid store file name",
				  file ? file : "");
	return si;
}

/* The name under which the committed content of section/file is found now:
 * the file itself, or the temporary a pending manifest renames over it.
 * NULL: the pending manifest removes it. */
static const char *committed_name(keyd_store *s, unsigned si, const char *file)
{
	const struct store_op *op = pending_find(s, si, file);
	struct stat st;

	if (!op)
		return file;
	if (!op->tmp)
		return NULL;
	if (fstatat(s->section_fd[si], op->tmp, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return op->tmp;
	return file;
}

int keyd_store_read(keyd_store *s, const char *section, const char *file, char **ret,
		    size_t *ret_len)
{
	char rel[PATH_MAX];
	const char *name;
	int si;

	if (!s || !ret)
		return -EINVAL;
	si = check_args(s, section, file);
	if (si < 0)
		return si;
	snprintf(rel, sizeof(rel), "%s/%s", section, file);
	name = committed_name(s, (unsigned)si, file);
	if (s->section_fd[si] < 0 || !name)
		return store_fail(s, -ENOENT, "%s/%s: %s", s->root, rel, strerror(ENOENT));
	return read_checked(s, s->section_fd[si], name, rel, KEYD_STORE_FILE_MAX, ret, ret_len);
}

int keyd_store_exists(keyd_store *s, const char *section, const char *file)
{
	const char *name;
	struct stat st;
	int si;

	if (!s)
		return -EINVAL;
	si = check_args(s, section, file);
	if (si < 0)
		return si;
	name = committed_name(s, (unsigned)si, file);
	if (s->section_fd[si] < 0 || !name)
		return 0;
	if (fstatat(s->section_fd[si], name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return store_fail(s, -errno, "%s/%s/%s: %s", s->root, section, file,
				  strerror(errno));
	}
	if (!S_ISREG(st.st_mode))
		return store_fail(s, -EPERM,
				  "%s/%s/%s: not a regular file; move it out of the store", s->root,
				  section, file);
	return 1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool ext_ok(const char *ext)
{
	if (!ext || !*ext || strlen(ext) > 16)
		return false;
	for (const char *p = ext; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
			return false;
	return true;
}

/* Append a name (without extension) once. */
static int names_add(char ***names, size_t *n, size_t *cap, const char *name, size_t len)
{
	char *copy;

	for (size_t i = 0; i < *n; i++)
		if (strlen((*names)[i]) == len && memcmp((*names)[i], name, len) == 0)
			return 0;
	if (*n >= STORE_LIST_MAX)
		return -E2BIG;
	if (*n + 1 >= *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		char **l = reallocarray(*names, c, sizeof(char *));

		if (!l)
			return -ENOMEM;
		*names = l;
		*cap = c;
	}
	copy = strndup(name, len);
	if (!copy)
		return -ENOMEM;
	(*names)[(*n)++] = copy;
	(*names)[*n] = NULL;
	return 0;
}

int keyd_store_list(keyd_store *s, const char *section, const char *ext, char ***ret_names,
		    size_t *ret_skipped)
{
	_cleanup_strv_free_ char **names = NULL;
	_cleanup_close_ int fd = -1;
	size_t n = 0, cap = 0, skipped = 0, extlen;
	struct dirent *de;
	DIR *d;
	int si, r = 0;

	if (!s || !ret_names)
		return -EINVAL;
	si = section_index(section);
	if (si < 0)
		return store_fail(s, -EINVAL, "'%s': not a store section", section ? section : "");
	if (!ext_ok(ext))
		return store_fail(s, -EINVAL, "'%s': not a file extension", ext ? ext : "");
	extlen = strlen(ext);
	names = calloc(1, sizeof(char *));
	if (!names)
		return -ENOMEM;
	cap = 1;
	if (s->section_fd[si] < 0)
		goto done;

	fd = openat(s->section_fd[si], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return store_fail(s, -errno, "%s/%s: %s", s->root, section, strerror(errno));
	d = fdopendir(fd);
	if (!d)
		return store_fail(s, -errno, "%s/%s: %s", s->root, section, strerror(errno));
	TAKE_FD(fd);
	while ((errno = 0, de = readdir(d))) {
		const char *name = de->d_name;
		size_t len = strlen(name);
		const struct store_op *op;
		struct stat st;

		if (streq(name, ".") || streq(name, ".."))
			continue;
		if (!file_name_ok(name)) {
			skipped++; /* foreign names and keyd's own temporaries */
			continue;
		}
		if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;
			r = store_fail(s, -errno, "%s/%s/%s: %s", s->root, section, name,
				       strerror(errno));
			break;
		}
		if (!S_ISREG(st.st_mode)) {
			skipped++;
			continue;
		}
		if (len <= extlen + 1 || name[len - extlen - 1] != '.' ||
		    !streq(name + len - extlen, ext))
			continue;
		op = pending_find(s, (unsigned)si, name);
		if (op && !op->tmp)
			continue; /* the pending manifest removes it */
		r = names_add(&names, &n, &cap, name, len - extlen - 1);
		if (r < 0) {
			store_fail(s, r, "%s/%s: %s", s->root, section, strerror(-r));
			break;
		}
	}
	if (r == 0 && errno)
		r = store_fail(s, -errno, "%s/%s: readdir: %s", s->root, section, strerror(errno));
	closedir(d);
	if (r < 0)
		return r;

	/* Files a pending manifest creates and whose temporary still holds them. */
	for (size_t i = 0; i < s->n_pending; i++) {
		const struct store_op *op = &s->pending[i];
		size_t len = strlen(op->file);
		struct stat st;

		if (op->section != (unsigned)si || !op->tmp || len <= extlen + 1 ||
		    op->file[len - extlen - 1] != '.' || !streq(op->file + len - extlen, ext))
			continue;
		if (fstatat(s->section_fd[si], op->tmp, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		r = names_add(&names, &n, &cap, op->file, len - extlen - 1);
		if (r < 0)
			return store_fail(s, r, "%s/%s: %s", s->root, section, strerror(-r));
	}
done:
	qsort(names, n, sizeof(char *), cmp_str);
	*ret_names = TAKE_PTR(names);
	if (ret_skipped)
		*ret_skipped = skipped;
	return 0;
}

/* ---- transactions ---------------------------------------------------------------- */

int keyd_store_txn_begin(keyd_store *s, keyd_store_txn **ret)
{
	keyd_store_txn *t;

	if (!s || !ret)
		return -EINVAL;
	if (s->flags & KEYD_STORE_READONLY)
		return store_fail(s, -EROFS, "%s: opened read-only", s->root);
	if (s->broken)
		return store_fail(s, s->broken, "%s: an earlier commit failed; reopen the store to "
				  "finish it", s->root);
	if (s->in_txn)
		return store_fail(s, -EBUSY, "%s: a transaction is already open", s->root);
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->ops = calloc(STORE_TXN_OPS_MAX, sizeof(*t->ops));
	if (!t->ops) {
		free(t);
		return -ENOMEM;
	}
	t->store = s;
	s->in_txn = true;
	*ret = t;
	return 0;
}

/* The step for section/file, created when missing; its old temporary is removed
 * (the last put or remove of a file in a transaction wins). */
static int txn_slot(keyd_store_txn *t, unsigned si, const char *file, struct store_op **ret)
{
	keyd_store *s = t->store;
	struct store_op *op = NULL;

	for (size_t i = 0; i < t->n_ops; i++)
		if (t->ops[i].section == si && streq(t->ops[i].file, file))
			op = &t->ops[i];
	if (op) {
		if (op->tmp) {
			(void)unlinkat(s->section_fd[si], op->tmp, 0);
			free(op->tmp);
			op->tmp = NULL;
		}
		*ret = op;
		return 0;
	}
	if (t->n_ops >= STORE_TXN_OPS_MAX)
		return store_fail(s, -E2BIG, "%s: more than %d files in one transaction", s->root,
				  STORE_TXN_OPS_MAX);
	op = &t->ops[t->n_ops];
	op->file = strdup(file);
	if (!op->file)
		return -ENOMEM;
	op->section = si;
	op->tmp = NULL;
	t->n_ops++;
	*ret = op;
	return 0;
}

int keyd_store_txn_put(keyd_store_txn *t, const char *section, const char *file,
		       const void *data, size_t len)
{
	char tmp[STORE_TMP_MAX];
	_cleanup_close_ int fd = -1;
	struct store_op *op;
	keyd_store *s;
	int si, dfd, r;

	if (!t || (!data && len > 0))
		return -EINVAL;
	s = t->store;
	si = check_args(s, section, file);
	if (si < 0)
		return si;
	if (len > KEYD_STORE_FILE_MAX)
		return store_fail(s, -EFBIG, "%s/%s/%s: larger than %d bytes", s->root, section,
				  file, KEYD_STORE_FILE_MAX);
	dfd = s->section_fd[si];
	r = keyd_tmp_name(file, tmp, sizeof(tmp));
	if (r < 0)
		return store_fail(s, r, "%s/%s/%s: name too long", s->root, section, file);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    STORE_FILE_MODE);
	if (fd < 0)
		return store_fail(s, -errno, "%s/%s/%s: %s", s->root, section, tmp,
				  strerror(errno));
	r = fchmod(fd, STORE_FILE_MODE) < 0 ? -errno : 0;
	if (r == 0)
		r = keyd_write_all(fd, data, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r < 0) {
		(void)unlinkat(dfd, tmp, 0);
		return store_fail(s, r, "%s/%s/%s: cannot write: %s", s->root, section, tmp,
				  strerror(-r));
	}
	r = txn_slot(t, (unsigned)si, file, &op);
	if (r == 0) {
		op->tmp = strdup(tmp);
		if (!op->tmp)
			r = -ENOMEM;
	}
	if (r < 0)
		(void)unlinkat(dfd, tmp, 0);
	return r;
}

int keyd_store_txn_remove(keyd_store_txn *t, const char *section, const char *file)
{
	struct store_op *op;
	int si;

	if (!t)
		return -EINVAL;
	si = check_args(t->store, section, file);
	if (si < 0)
		return si;
	return txn_slot(t, (unsigned)si, file, &op);
}

static keyd_store_txn *txn_free(keyd_store_txn *t)
{
	if (!t)
		return NULL;
	t->store->in_txn = false;
	ops_free(t->ops, t->n_ops);
	free(t);
	return NULL;
}

keyd_store_txn *keyd_store_txn_abort(keyd_store_txn *t)
{
	if (!t)
		return NULL;
	for (size_t i = 0; i < t->n_ops; i++)
		if (t->ops[i].tmp)
			(void)unlinkat(t->store->section_fd[t->ops[i].section], t->ops[i].tmp, 0);
	return txn_free(t);
}

int keyd_store_txn_commit(keyd_store_txn *t)
{
	_cleanup_free_ char *text = NULL;
	bool touched[N_SECTIONS] = {};
	keyd_store *s;
	size_t len;
	int r;

	if (!t)
		return -EINVAL;
	s = t->store;
	if (t->n_ops == 0) {
		txn_free(t);
		return 0;
	}
	/* The temporaries' directory entries must be durable before the manifest
	 * that names them, or a power cut could keep the manifest and lose them. */
	for (size_t i = 0; i < t->n_ops; i++)
		if (t->ops[i].tmp)
			touched[t->ops[i].section] = true;
	r = fsync_sections(s, touched);
	if (r >= 0)
		r = manifest_format(t->ops, t->n_ops, &text, &len);
	if (r >= 0) {
		/* The commit point: once .txn is renamed into place, the change happens. */
		struct stat st;

		r = keyd_write_file_atomic_at(s->root_fd, STORE_TXN_FILE, text, len,
					      STORE_FILE_MODE);
		/* Only the directory fsync failed after the rename: it is committed. */
		if (r < 0 && fstatat(s->root_fd, STORE_TXN_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			s->broken = r;
			r = 0;
		}
		if (r < 0)
			store_fail(s, r, "%s/%s: cannot write: %s", s->root, STORE_TXN_FILE,
				   strerror(-r));
	}
	if (r < 0) {
		keyd_store_txn_abort(t);
		return r;
	}
	r = manifest_apply(s, t->ops, t->n_ops);
	if (r >= 0)
		r = manifest_remove(s);
	if (r < 0 || s->broken)
		s->broken =
			r < 0 ? r : s->broken; /* committed; the next writable open finishes it */
	txn_free(t);
	return r < 0 ? r : s->broken;
}
