/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The only file that calls add_key()/keyctl(). libkeyutils reports failure as
 * -1 with errno; every call is translated here, once, into -errno.
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <keyutils.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "keyring.h"
#include "log.h"
#include "parse.h"

/* The kernel ABI values in keyring.h must match libkeyutils' view of them. */
_Static_assert(KEYD_KEYRING_SESSION == KEY_SPEC_SESSION_KEYRING, "session id");
_Static_assert(KEYD_KEYRING_USER == KEY_SPEC_USER_KEYRING, "user id");
_Static_assert(KEYD_KEYRING_REQKEY_AUTH == KEY_SPEC_REQKEY_AUTH_KEY, "auth id");
_Static_assert(KEYD_PERM_POSSESSOR(KEYD_PERM_ALL) == KEY_POS_ALL, "perm layout");
_Static_assert(KEYD_PERM_USER(KEYD_PERM_ALL) == KEY_USR_ALL, "perm layout");

static int neg_errno(long r)
{
	if (r >= 0)
		return 0;
	return errno > 0 ? -errno : -EIO;
}

static int check_serial_ret(long r, keyd_serial_t *ret)
{
	if (r < 0)
		return neg_errno(r);
	if (ret)
		*ret = (keyd_serial_t)r;
	return 0;
}

static bool type_is_valid(const char *type)
{
	size_t n;

	if (!type)
		return false;
	n = strnlen(type, KEYD_KEYRING_TYPE_MAX + 1);
	return n > 0 && n <= KEYD_KEYRING_TYPE_MAX;
}

static bool description_is_valid(const char *d)
{
	return d && strnlen(d, KEYD_KEYRING_DESC_MAX + 1) <= KEYD_KEYRING_DESC_MAX;
}

/* ---- names and lookups ------------------------------------------------------------ */

int keyd_keyring_new(const char *name, keyd_serial_t dest, keyd_serial_t *ret)
{
	if (!description_is_valid(name) || !*name)
		return -EINVAL;
	return check_serial_ret(add_key("keyring", name, NULL, 0, dest), ret);
}

/* Candidates from /proc/keys, confirmed with KEYCTL_DESCRIBE. libkeyutils'
 * find_key_by_type_and_desc() parses /proc/keys with fixed buffers and crashes on
 * lines that other programs' hostile descriptions (embedded newlines, 4 KiB)
 * produce, so keyd reads the file itself: a line only nominates a serial, and the
 * kernel's own description of that serial decides. */
static int find_in_proc_keys(const char *name, keyd_serial_t *ret)
{
	_cleanup_free_ char *text = NULL;
	size_t len = strlen(name), size = 0;
	FILE *f;
	int r = -ENOKEY;

	f = fopen("/proc/keys", "re");
	if (!f)
		return errno == ENOENT ? -ENOKEY : -errno;
	for (char *line; r == -ENOKEY && getline(&text, &size, f) > 0;) {
		struct keyd_keyring_info info;
		unsigned long serial;
		char *end, *p;
		int field;

		line = text;
		errno = 0;
		serial = strtoul(line, &end, 16);
		if (errno || end == line || *end != ' ' || serial == 0 || serial > INT32_MAX)
			continue;
		/* Skip flags, usage, expiry, perm, uid, gid; then the type; then the description. */
		p = end;
		for (field = 0; field < 7 && p; field++) {
			while (*p == ' ')
				p++;
			p = strchr(p, ' ');
		}
		if (!p || field != 7 || strncmp(p - 7, "keyring", 7) != 0)
			continue;
		while (*p == ' ')
			p++;
		if (strncmp(p, name, len) != 0 || p[len] != ':')
			continue;
		if (keyd_keyring_describe((keyd_serial_t)serial, &info) < 0 ||
		    !streq(info.type, "keyring") || !streq(info.description, name))
			continue;
		*ret = (keyd_serial_t)serial;
		r = 0;
	}
	fclose(f);
	return r;
}

int keyd_keyring_find_by_name(const char *name, keyd_serial_t *ret)
{
	keyd_serial_t found;
	key_serial_t id;
	int r;

	if (!description_is_valid(name) || !*name)
		return -EINVAL;
	/* Keyrings the caller possesses (session, user, ...), then the system's. */
	id = request_key("keyring", name, NULL, 0);
	if (id > 0) {
		found = id;
	} else {
		if (errno == ENOMEM)
			return -ENOMEM;
		r = find_in_proc_keys(name, &found);
		if (r < 0)
			return r;
	}
	if (ret)
		*ret = found;
	return 0;
}

int keyd_keyring_search(keyd_serial_t ring, const char *type, const char *description,
			keyd_serial_t *ret)
{
	if (!type_is_valid(type) || !description_is_valid(description))
		return -EINVAL;
	return check_serial_ret(keyctl_search(ring, type, description, 0), ret);
}

int keyd_keyring_resolve(keyd_serial_t special, bool create, keyd_serial_t *ret)
{
	return check_serial_ret(keyctl_get_keyring_ID(special, create), ret);
}

int keyd_keyring_join_session(const char *name, keyd_serial_t *ret)
{
	if (name && (!description_is_valid(name) || !*name))
		return -EINVAL;
	return check_serial_ret(keyctl_join_session_keyring(name), ret);
}

/* ---- adding keys ------------------------------------------------------------------ */

int keyd_keyring_add(const char *type, const char *description, const void *payload,
		     size_t len, keyd_serial_t ring, keyd_serial_t *ret)
{
	if (!type_is_valid(type) || (description && !description_is_valid(description)))
		return -EINVAL;
	if (len > KEYD_KEYRING_PAYLOAD_MAX || (len > 0 && !payload))
		return -EINVAL;
	/* An empty description means "let the type choose one" (asymmetric). */
	if (description && !*description)
		description = NULL;
	return check_serial_ret(add_key(type, description, payload, len, ring), ret);
}

int keyd_keyring_add_user(keyd_serial_t ring, const char *description, const void *payload,
			  size_t len, keyd_serial_t *ret)
{
	if (!description || !*description || len == 0 || len > KEYD_KEYRING_USER_PAYLOAD_MAX)
		return -EINVAL;
	return keyd_keyring_add("user", description, payload, len, ring, ret);
}

static void set_reason(char *buf, size_t size, const char *reason)
{
	if (buf && size > 0)
		snprintf(buf, size, "%s", reason);
}

int keyd_keyring_add_asymmetric(keyd_serial_t ring, const char *description, const void *der,
				size_t len, keyd_serial_t *ret, char *ret_reason,
				size_t reason_size)
{
	int r;

	set_reason(ret_reason, reason_size, "");
	if (!der || len == 0) {
		set_reason(ret_reason, reason_size, "empty certificate");
		return -EINVAL;
	}
	r = keyd_keyring_add("asymmetric", description, der, len, ring, ret);
	if (r < 0) {
		set_reason(ret_reason, reason_size, keyd_keyring_add_error_reason("asymmetric", r));
		log_debug("asymmetric add_key into %d: %s", ring, strerror(-r));
	}
	return r;
}

int keyd_keyring_add_psk(keyd_serial_t ring, const char *identity, const void *psk, size_t len,
			 keyd_serial_t *ret)
{
	if (!identity || !*identity || !psk || (len != 32 && len != 48))
		return -EINVAL;
	return keyd_keyring_add("psk", identity, psk, len, ring, ret);
}

int keyd_keyring_has_type(const char *type)
{
	key_serial_t id;

	if (!type_is_valid(type) || type[0] == '.')
		return -EINVAL;
	/* A keyring takes an empty payload: probing would create one. It always exists. */
	if (streq(type, "keyring"))
		return 1;
	/* The kernel looks the type up (ENODEV) before the payload is checked, and every
	 * payload-carrying type refuses an empty one (EINVAL), so nothing is created. */
	id = add_key(type, "keyd:type-probe", NULL, 0, KEY_SPEC_USER_KEYRING);
	if (id >= 0) {
		/* A type that accepts an empty payload: undo, it exists. */
		(void)keyctl_invalidate(id);
		return 1;
	}
	switch (errno) {
	case ENODEV:
		return 0;
	case EINVAL:
	case EBADMSG:
		return 1;
	default:
		return -errno;
	}
}

const char *keyd_keyring_add_error_reason(const char *type, int error)
{
	bool asym = type && streq(type, "asymmetric");

	switch (error < 0 ? -error : error) {
	case ENODEV:
		if (type && streq(type, "psk"))
			return "the kernel has no 'psk' key type (it needs Linux 6.7+ with the "
			       "nvme-keyring module loaded)";
		return "the kernel does not know this key type";
	case ENOENT:
		if (asym)
			return "the kernel cannot parse this certificate (no ECDSA support?)";
		return "the destination keyring does not exist";
	case ENOPKG:
		return asym ? "the kernel lacks this certificate's public-key or signature "
			      "algorithm"
			    : "the kernel lacks a crypto algorithm this key needs";
	case EBADMSG:
		return asym ? "the kernel cannot parse this certificate (malformed DER?)"
			    : "the kernel cannot parse the payload";
	case ENOKEY:
		return asym ? "the keyring's chain restriction refused it: no trusted CA signed it "
			      "(or the destination keyring does not exist)"
			    : "the destination keyring does not exist";
	case EKEYREJECTED:
		return "the keyring's restriction refused it: the signature does not verify";
	case EPERM:
		return "the keyring is closed (restricted) or the key type is reserved";
	case EACCES:
		return "the keyring's permission mask does not allow adding to it";
	case EDQUOT:
		return "the owner's key quota is exhausted "
		       "(/proc/sys/kernel/keys/maxkeys, maxbytes)";
	case EINVAL:
		return "the kernel refused the description or payload (size or format)";
	case ENOTDIR:
		return "the destination is not a keyring";
	case EKEYREVOKED:
	case EKEYEXPIRED:
		return "the destination keyring is revoked or expired";
	case ENOMEM:
		return "the kernel is out of memory";
	default:
		return "the kernel refused the key";
	}
}

/* ---- links, attributes, sealing ----------------------------------------------------- */

int keyd_keyring_link(keyd_serial_t key, keyd_serial_t ring)
{
	return neg_errno(keyctl_link(key, ring));
}

int keyd_keyring_unlink(keyd_serial_t key, keyd_serial_t ring)
{
	return neg_errno(keyctl_unlink(key, ring));
}

int keyd_keyring_move(keyd_serial_t key, keyd_serial_t from, keyd_serial_t to, bool exclusive)
{
	return neg_errno(keyctl_move(key, from, to, exclusive ? KEYCTL_MOVE_EXCL : 0));
}

int keyd_keyring_setperm(keyd_serial_t key, uint32_t perm)
{
	return neg_errno(keyctl_setperm(key, perm));
}

int keyd_keyring_set_timeout(keyd_serial_t key, unsigned seconds)
{
	return neg_errno(keyctl_set_timeout(key, seconds));
}

int keyd_keyring_clear(keyd_serial_t ring)
{
	return neg_errno(keyctl_clear(ring));
}

int keyd_keyring_restrict(keyd_serial_t ring, const char *type, const char *restriction)
{
	if (type && !type_is_valid(type))
		return -EINVAL;
	if (!type && restriction)
		return -EINVAL;
	return neg_errno(keyctl_restrict_keyring(ring, type, restriction));
}

int keyd_keyring_restrict_closed(keyd_serial_t ring)
{
	return keyd_keyring_restrict(ring, NULL, NULL);
}

int keyd_keyring_restrict_chain(keyd_serial_t ring, keyd_serial_t ca_ring)
{
	char restriction[64];

	if (ca_ring <= 0)
		return -EINVAL;
	/* Syntax from Documentation/crypto/asymmetric-keys.rst: ":chain" also accepts
	 * certificates signed by a key already in ring (intermediates). */
	snprintf(restriction, sizeof(restriction), "key_or_keyring:%d:chain", ca_ring);
	return keyd_keyring_restrict(ring, "asymmetric", restriction);
}

int keyd_keyring_invalidate(keyd_serial_t key)
{
	return neg_errno(keyctl_invalidate(key));
}

int keyd_keyring_revoke(keyd_serial_t key)
{
	return neg_errno(keyctl_revoke(key));
}

/* ---- inspection ------------------------------------------------------------------- */

/* "type;uid;gid;perm;description": type, decimal ids, 8 hex digits, then the rest
 * (a description may itself contain ';'). */
static int describe_parse(char *s, struct keyd_keyring_info *ret)
{
	char *field[4];
	uint32_t v;
	size_t n;
	int r;

	for (size_t i = 0; i < ELEMENTSOF(field); i++) {
		char *semi = strchr(s, ';');
		if (!semi)
			return -EBADMSG;
		*semi = '\0';
		field[i] = s;
		s = semi + 1;
	}
	n = strlen(field[0]);
	if (n == 0 || n > KEYD_KEYRING_TYPE_MAX)
		return -EBADMSG;
	memcpy(ret->type, field[0], n + 1);
	r = keyd_parse_u32(field[1], 10, &v);
	if (r < 0)
		return -EBADMSG;
	ret->uid = v;
	r = keyd_parse_u32(field[2], 10, &v);
	if (r < 0)
		return -EBADMSG;
	ret->gid = v;
	if (strlen(field[3]) != 8 || strspn(field[3], "0123456789abcdefABCDEF") != 8 ||
	    keyd_parse_u32(field[3], 16, &ret->perm) < 0)
		return -EBADMSG;
	n = strlen(s);
	if (n > KEYD_KEYRING_DESC_MAX)
		return -EBADMSG;
	memcpy(ret->description, s, n + 1);
	return 0;
}

int keyd_keyring_describe(keyd_serial_t key, struct keyd_keyring_info *ret)
{
	/* type + two 10-digit ids + 8 hex + description + 4 separators + NUL */
	char buf[KEYD_KEYRING_TYPE_MAX + 10 + 10 + 8 + KEYD_KEYRING_DESC_MAX + 4 + 1];
	long n;

	if (!ret)
		return -EINVAL;
	n = keyctl_describe(key, buf, sizeof(buf));
	if (n < 0)
		return neg_errno(n);
	/* n counts the NUL; a longer answer was truncated and cannot be trusted. */
	if (n == 0 || (size_t)n > sizeof(buf))
		return -EBADMSG;
	buf[n - 1] = '\0';
	return describe_parse(buf, ret);
}

int keyd_keyring_read(keyd_serial_t key, size_t max, struct keyd_secret *ret)
{
	long size;

	if (!ret)
		return -EINVAL;
	*ret = (struct keyd_secret){};
	size = keyctl_read(key, NULL, 0);
	if (size < 0)
		return neg_errno(size);
	/* The payload may change between the two calls (update): retry a few times. */
	for (int attempt = 0; attempt < 4; attempt++) {
		_cleanup_secret_ struct keyd_secret buf = {};
		long got;

		if ((size_t)size > max)
			return -EFBIG;
		buf.len = (size_t)size;
		buf.data = malloc(buf.len > 0 ? buf.len : 1);
		if (!buf.data)
			return -ENOMEM;
		got = keyctl_read(key, (char *)buf.data, buf.len);
		if (got < 0)
			return neg_errno(got);
		if ((size_t)got <= buf.len) {
			buf.len = (size_t)got;
			*ret = buf;
			buf = (struct keyd_secret){};
			return 0;
		}
		size = got;
	}
	return -EAGAIN;
}

/* ---- keys the kernel signs with ---------------------------------------------------------- */

int keyd_keyring_pkey_query(keyd_serial_t key, const char *info, struct keyd_keyring_pkey *ret)
{
	struct keyctl_pkey_query q;
	long r;

	if (!ret)
		return -EINVAL;
	memset(&q, 0, sizeof(q));
	r = keyctl_pkey_query(key, info ? info : "", &q);
	if (r < 0)
		return neg_errno(r);
	*ret = (struct keyd_keyring_pkey){
		.key_bits = q.key_size,
		.can_sign = q.supported_ops & KEYCTL_SUPPORTS_SIGN,
		.max_data = q.max_data_size,
		.max_sig = q.max_sig_size,
	};
	return 0;
}

int keyd_keyring_pkey_sign(keyd_serial_t key, const char *info, const void *data, size_t len,
			   void *sig, size_t size, size_t *ret_len)
{
	struct keyd_keyring_pkey q;
	long r;
	int e;

	if (!info || !data || len == 0 || !sig || size == 0 || !ret_len)
		return -EINVAL;
	/* The kernel refuses an output buffer larger than the key's max_sig_size
	 * (EINVAL, security/keys/keyctl_pkey.c), so ask for that size first. */
	e = keyd_keyring_pkey_query(key, info, &q);
	if (e < 0)
		return e;
	if (!q.can_sign)
		return -EOPNOTSUPP;
	if (q.max_sig == 0 || q.max_sig > size)
		return -EMSGSIZE;
	r = keyctl_pkey_sign(key, info, data, len, sig, q.max_sig);
	if (r < 0)
		return neg_errno(r);
	if ((size_t)r > q.max_sig)
		return -EMSGSIZE;
	*ret_len = (size_t)r;
	return 0;
}

int keyd_keyring_list(keyd_serial_t ring, size_t max, keyd_serial_t **ret, size_t *ret_count)
{
	_cleanup_secret_ struct keyd_secret raw = {};
	struct keyd_keyring_info info;
	keyd_serial_t *list;
	size_t count;
	int r;

	if (!ret || !ret_count)
		return -EINVAL;
	r = keyd_keyring_describe(ring, &info);
	if (r < 0)
		return r;
	if (!streq(info.type, "keyring"))
		return -ENOTDIR;
	if (max > KEYD_KEYRING_LIST_MAX)
		max = KEYD_KEYRING_LIST_MAX;
	r = keyd_keyring_read(ring, max * sizeof(keyd_serial_t), &raw);
	if (r < 0)
		return r;
	if (raw.len % sizeof(keyd_serial_t))
		return -EBADMSG;
	count = raw.len / sizeof(keyd_serial_t);
	list = malloc(count > 0 ? raw.len : 1);
	if (!list)
		return -ENOMEM;
	memcpy(list, raw.data, raw.len);
	*ret = list;
	*ret_count = count;
	return 0;
}

/* ---- per-uid keyrings --------------------------------------------------------------- */

int keyd_keyring_get_persistent(uid_t uid, keyd_serial_t dest, keyd_serial_t *ret)
{
	return check_serial_ret(keyctl_get_persistent(uid, dest), ret);
}

enum user_op {
	USER_OP_ID,
	USER_OP_LINK,
	USER_OP_UNLINK,
};

/* The operation itself, with the caller's user keyring standing for uid's. */
static int user_op_run(enum user_op op, keyd_serial_t key, keyd_serial_t *ret)
{
	switch (op) {
	case USER_OP_ID:
		return check_serial_ret(keyctl_get_keyring_ID(KEY_SPEC_USER_KEYRING, 1), ret);
	case USER_OP_LINK:
		return neg_errno(keyctl_link(key, KEY_SPEC_USER_KEYRING));
	case USER_OP_UNLINK:
		return neg_errno(keyctl_unlink(key, KEY_SPEC_USER_KEYRING));
	}
	return -EINVAL;
}

struct user_op_result {
	int32_t error;
	int32_t serial;
};

static int user_op(uid_t uid, enum user_op op, keyd_serial_t key, keyd_serial_t *ret)
{
	_cleanup_close_ int rfd = -1, wfd = -1;
	struct user_op_result res = { .error = -EPROTO };
	int fds[2], status;
	size_t got = 0;
	pid_t pid;

	if (uid == (uid_t)-1)
		return -EINVAL;
	if (uid == getuid())
		return user_op_run(op, key, ret);
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	rfd = fds[0];
	wfd = fds[1];
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* Only async-signal-safe calls here: raw syscalls and _exit. The raw
		 * setresuid changes this (only) thread's real uid; euid stays, so root's
		 * access to its own keys is kept and @u now means _uid.<uid>. */
		struct user_op_result out = { 0, 0 };
		keyd_serial_t serial = 0;
		ssize_t w;

		if (syscall(SYS_setresuid, uid, (uid_t)-1, (uid_t)-1) < 0)
			out.error = -errno;
		else
			out.error = user_op_run(op, key, &serial);
		out.serial = serial;
		w = write(wfd, &out, sizeof(out));
		_exit(w == (ssize_t)sizeof(out) ? 0 : 1);
	}
	wfd = safe_close(wfd);
	while (got < sizeof(res)) {
		ssize_t n = read(rfd, (uint8_t *)&res + got, sizeof(res) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (got != sizeof(res) || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -EPROTO;
	if (res.error < 0)
		return res.error;
	if (ret)
		*ret = res.serial;
	return 0;
}

int keyd_keyring_user_link(uid_t uid, keyd_serial_t key)
{
	return user_op(uid, USER_OP_LINK, key, NULL);
}

int keyd_keyring_user_unlink(uid_t uid, keyd_serial_t key)
{
	return user_op(uid, USER_OP_UNLINK, key, NULL);
}

int keyd_keyring_user_id(uid_t uid, keyd_serial_t *ret)
{
	if (!ret)
		return -EINVAL;
	return user_op(uid, USER_OP_ID, 0, ret);
}

/* ---- request-key helper ------------------------------------------------------------- */

int keyd_keyring_assume_authority(keyd_serial_t key)
{
	return neg_errno(keyctl_assume_authority(key));
}

int keyd_keyring_instantiate(keyd_serial_t key, const void *payload, size_t len,
			     keyd_serial_t ring)
{
	if (len > KEYD_KEYRING_PAYLOAD_MAX || (len > 0 && !payload))
		return -EINVAL;
	return neg_errno(keyctl_instantiate(key, payload, len, ring));
}

int keyd_keyring_negate(keyd_serial_t key, unsigned timeout, keyd_serial_t ring)
{
	return neg_errno(keyctl_negate(key, timeout, ring));
}

int keyd_keyring_reject(keyd_serial_t key, unsigned timeout, int error, keyd_serial_t ring)
{
	if (error == 0)
		return -EINVAL;
	return neg_errno(keyctl_reject(key, timeout, (unsigned)(error < 0 ? -error : error), ring));
}
