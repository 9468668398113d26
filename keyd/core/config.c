/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * keyd.conf (config.h, keyd.conf(5)). A table names every key with its parser;
 * values go into a copy of the configuration that replaces the caller's only
 * when the whole text was clean, so a bad reload changes nothing.
 */
#define _GNU_SOURCE /* asprintf */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"
#include "fileio.h"
#include "macro.h"
#include "parse.h"

struct errors {
	char **v;
	size_t n;
	size_t dropped;
	bool oom;
};

#define ESC_MAX 100

/* User text for a message: printable ASCII kept, the rest as \xNN, cut at about
 * 60 bytes, so a hostile file cannot put escapes or newlines into a log. */
static const char *esc(char buf[static ESC_MAX], const char *s)
{
	size_t o = 0;

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (o >= 60) {
			memcpy(buf + o, "...", 4);
			return buf;
		}
		if (ch < 0x20 || ch >= 0x7f || ch == '\\' || ch == '\'')
			o += (size_t)snprintf(buf + o, ESC_MAX - o, "\\x%02x", ch);
		else
			buf[o++] = (char)ch;
	}
	buf[o] = '\0';
	return buf;
}

static void errors_push(struct errors *e, char *msg)
{
	char **n;

	if (!msg) {
		e->oom = true;
		return;
	}
	n = realloc(e->v, (e->n + 2) * sizeof(char *));
	if (!n) {
		free(msg);
		e->oom = true;
		return;
	}
	e->v = n;
	e->v[e->n++] = msg;
	e->v[e->n] = NULL;
}

_printf_(4, 5) static void error_at(struct errors *e, const char *file, unsigned line,
				    const char *fmt, ...)
{
	char reason[512], where[ESC_MAX], *msg = NULL;
	va_list ap;

	if (e->n >= KEYD_CONFIG_ERRORS_MAX - 1) {
		e->dropped++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	esc(where, file);
	if ((line > 0 ? asprintf(&msg, "%s:%u: %s", where, line, reason)
		      : asprintf(&msg, "%s: %s", where, reason)) < 0)
		msg = NULL;
	errors_push(e, msg);
}

/* Hand the errors to the caller: 0 when there were none, else -EBADMSG/-ENOMEM. */
static int errors_end(struct errors *e, char ***ret_errors)
{
	if (e->dropped > 0 && !e->oom) {
		char *more = NULL;
		if (asprintf(&more, "... and %zu more errors", e->dropped) < 0)
			more = NULL;
		errors_push(e, more);
	}
	if (e->oom) {
		strv_free(e->v);
		return -ENOMEM;
	}
	if (e->n == 0) {
		free(e->v);
		return 0;
	}
	if (ret_errors)
		*ret_errors = e->v;
	else
		strv_free(e->v);
	return -EBADMSG;
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return true;
	return false;
}

/* ---- value checks: NULL when fine, else the reason ------------------------------ */

static const char *check_path(const char *v, size_t max)
{
	if (v[0] != '/')
		return "must be an absolute path";
	if (strlen(v) > max)
		return "path too long";
	if (has_control(v))
		return "control character in path";
	/* ".." would let the path leave the directory an administrator reads. */
	for (const char *p = v; (p = strstr(p, "..")); p += 2)
		if (p[-1] == '/' && (p[2] == '/' || p[2] == '\0'))
			return "'..' is not allowed in the path";
	return NULL;
}

static const char *check_tcti(const char *v)
{
	/* pcap wraps another TCTI and records every command (benchmarks count them). */
	static const char *const prefixes[] = { "device",  "swtpm", "mssim",      "tabrmd",
						"libtpms", "cmd",   "spi-helper", "pcap" };
	size_t n = strcspn(v, ":");

	if (strlen(v) > KEYD_CONFIG_TCTI_MAX)
		return "longer than 256 bytes";
	if (has_control(v))
		return "control character";
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p >= 0x7f || *p == ' ' || *p == '\t')
			return "blanks and non-ASCII bytes are not allowed";
	/* The TCTI loader takes "name[:config]"; keyd accepts the TCTIs tpm2-tss ships. */
	for (size_t i = 0; i < ELEMENTSOF(prefixes); i++)
		if (strlen(prefixes[i]) == n && strncmp(v, prefixes[i], n) == 0)
			return NULL;
	return "expected device:PATH, swtpm:..., mssim:..., tabrmd:..., libtpms:..., cmd:..., "
	       "spi-helper:... or pcap:...";
}

static const char *check_group(const char *v)
{
	size_t n = strlen(v);
	bool digits = true;

	if (n < 1 || n > 32)
		return "expected a group name of 1-32 characters or a gid";
	for (size_t i = 0; i < n; i++) {
		char ch = v[i];
		if (ch < '0' || ch > '9')
			digits = false;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.'))
			return "expected a group name (letters, digits, . _ -) or a gid";
	}
	if (digits) {
		uint32_t gid;
		if (keyd_parse_u32(v, 10, &gid) < 0 || gid == UINT32_MAX)
			return "not a valid gid";
	} else if (v[0] == '-' || v[0] == '.') {
		return "a group name does not start with - or .";
	}
	return NULL;
}

static const char *const level_names[] = {
	[LOG_ERR] = "err",   [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

const char *keyd_config_log_level_to_string(int level)
{
	if (level < 0 || (size_t)level >= ELEMENTSOF(level_names))
		return NULL;
	return level_names[level];
}

int keyd_config_log_level_from_string(const char *s)
{
	for (size_t i = 0; s && i < ELEMENTSOF(level_names); i++)
		if (level_names[i] && streq(s, level_names[i]))
			return (int)i;
	return -EINVAL;
}

/* ---- the table ------------------------------------------------------------------- */

enum value_kind {
	VALUE_PATH,
	VALUE_SOCKET,
	VALUE_TCTI,
	VALUE_GROUP,
	VALUE_LOG_LEVEL,
	VALUE_SECONDS,
	VALUE_COUNT,
};

static const struct setting {
	const char *key;
	enum value_kind kind;
	size_t offset;
	uint32_t min, max;  /* VALUE_SECONDS, VALUE_COUNT */
	const char *range; /* the error for a value outside min..max */
} settings[] = {
	{ "store", VALUE_PATH, offsetof(struct keyd_config, store), 0, 0, NULL },
	{ "tcti", VALUE_TCTI, offsetof(struct keyd_config, tcti), 0, 0, NULL },
	{ "policy-dir", VALUE_PATH, offsetof(struct keyd_config, policy_dir), 0, 0, NULL },
	{ "socket", VALUE_SOCKET, offsetof(struct keyd_config, socket), 0, 0, NULL },
	{ "enroll-group", VALUE_GROUP, offsetof(struct keyd_config, enroll_group), 0, 0, NULL },
	{ "log-level", VALUE_LOG_LEVEL, offsetof(struct keyd_config, log_level), 0, 0, NULL },
	{ "tpm-wait", VALUE_SECONDS, offsetof(struct keyd_config, tpm_wait), 0,
	  KEYD_CONFIG_TPM_WAIT_MAX, "expected seconds from 0 to 600" },
	{ "max-clients", VALUE_COUNT, offsetof(struct keyd_config, max_clients), 1,
	  KEYD_CONFIG_MAX_CLIENTS_MAX, "expected a number from 1 to 1024" },
	{ "sign-hold-ms", VALUE_COUNT, offsetof(struct keyd_config, sign_hold_ms), 0,
	  KEYD_CONFIG_SIGN_HOLD_MS_MAX, "expected milliseconds from 0 to 60000" },
};

static bool is_string_kind(enum value_kind k)
{
	switch (k) {
	case VALUE_PATH:
	case VALUE_SOCKET:
	case VALUE_TCTI:
	case VALUE_GROUP:
		return true;
	case VALUE_LOG_LEVEL:
	case VALUE_SECONDS:
	case VALUE_COUNT:
		return false;
	}
	return false;
}

/* Check value for setting s; NULL when fine, else the reason (static text). */
static const char *check_value(const struct setting *s, const char *value, int *ret_level,
			       uint32_t *ret_num)
{
	switch (s->kind) {
	case VALUE_PATH:
		return check_path(value, KEYD_CONFIG_PATH_MAX);
	case VALUE_SOCKET:
		return check_path(value, KEYD_CONFIG_SOCKET_MAX);
	case VALUE_TCTI:
		return check_tcti(value);
	case VALUE_GROUP:
		return check_group(value);
	case VALUE_LOG_LEVEL:
		*ret_level = keyd_config_log_level_from_string(value);
		return *ret_level < 0 ? "expected err, warning, notice, info or debug" : NULL;
	case VALUE_SECONDS:
	case VALUE_COUNT:
		if (keyd_parse_u32(value, 10, ret_num) < 0 || *ret_num < s->min ||
		    *ret_num > s->max)
			return s->range;
		return NULL;
	}
	return "unknown setting";
}

/* Store a checked value; the old string is freed. */
static int set_value(struct keyd_config *c, const struct setting *s, const char *value, int level,
		     uint32_t num)
{
	uint8_t *field = (uint8_t *)c + s->offset;

	if (is_string_kind(s->kind)) {
		char *d = strdup(value), **slot = (char **)(void *)field;
		if (!d)
			return -ENOMEM;
		free(*slot);
		*slot = d;
	} else if (s->kind == VALUE_LOG_LEVEL) {
		*(int *)(void *)field = level;
	} else {
		*(uint32_t *)(void *)field = num;
	}
	return 0;
}

/* ---- lifecycle ---------------------------------------------------------------------- */

void keyd_config_done(struct keyd_config *c)
{
	if (!c)
		return;
	free(c->store);
	free(c->tcti);
	free(c->policy_dir);
	free(c->socket);
	free(c->enroll_group);
	*c = (struct keyd_config){ 0 };
}

int keyd_config_init(struct keyd_config *c)
{
	*c = (struct keyd_config){
		.store = strdup(KEYD_CONFIG_DEFAULT_STORE),
		.tcti = strdup(KEYD_CONFIG_DEFAULT_TCTI),
		.policy_dir = strdup(KEYD_CONFIG_DEFAULT_POLICY_DIR),
		.socket = strdup(KEYD_CONFIG_DEFAULT_SOCKET),
		.enroll_group = strdup(KEYD_CONFIG_DEFAULT_ENROLL_GROUP),
		.log_level = LOG_INFO,
		.tpm_wait = KEYD_CONFIG_DEFAULT_TPM_WAIT,
		.max_clients = KEYD_CONFIG_DEFAULT_MAX_CLIENTS,
		.sign_hold_ms = KEYD_CONFIG_DEFAULT_SIGN_HOLD_MS,
	};
	if (!c->store || !c->tcti || !c->policy_dir || !c->socket || !c->enroll_group) {
		keyd_config_done(c);
		return -ENOMEM;
	}
	return 0;
}

static int config_copy(const struct keyd_config *from, struct keyd_config *to)
{
	*to = *from;
	to->store = from->store ? strdup(from->store) : NULL;
	to->tcti = from->tcti ? strdup(from->tcti) : NULL;
	to->policy_dir = from->policy_dir ? strdup(from->policy_dir) : NULL;
	to->socket = from->socket ? strdup(from->socket) : NULL;
	to->enroll_group = from->enroll_group ? strdup(from->enroll_group) : NULL;
	if ((from->store && !to->store) || (from->tcti && !to->tcti) ||
	    (from->policy_dir && !to->policy_dir) || (from->socket && !to->socket) ||
	    (from->enroll_group && !to->enroll_group)) {
		keyd_config_done(to);
		return -ENOMEM;
	}
	return 0;
}

/* ---- parsing ------------------------------------------------------------------------ */

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

static void parse_line(struct keyd_config *c, struct errors *e, const char *file, unsigned ln,
		       char *line, unsigned *seen)
{
	char *eq, *key, *value, b[ESC_MAX];
	const struct setting *s = NULL;
	const char *reason;
	uint32_t num = 0;
	int level = 0, r;
	size_t i;

	line = trim(line);
	if (!*line || *line == '#')
		return;
	eq = strchr(line, '=');
	if (!eq) {
		error_at(e, file, ln, "expected 'key = value', got '%s'", esc(b, line));
		return;
	}
	*eq = '\0';
	key = trim(line);
	value = trim(eq + 1);
	for (i = 0; i < ELEMENTSOF(settings); i++)
		if (streq(key, settings[i].key)) {
			s = &settings[i];
			break;
		}
	if (!s) {
		error_at(e, file, ln,
			 "unknown key '%s' (store, tcti, policy-dir, socket, "
			 "enroll-group, log-level, tpm-wait, max-clients, sign-hold-ms)",
			 esc(b, key));
		return;
	}
	if (seen[i]) {
		error_at(e, file, ln, "duplicate '%s' (first at line %u)", s->key, seen[i]);
		return;
	}
	seen[i] = ln;
	if (!*value) {
		error_at(e, file, ln, "'%s' needs a value", s->key);
		return;
	}
	reason = check_value(s, value, &level, &num);
	if (reason) {
		error_at(e, file, ln, "%s '%s': %s", s->key, esc(b, value), reason);
		return;
	}
	r = set_value(c, s, value, level, num);
	if (r < 0)
		e->oom = true;
}

int keyd_config_parse(struct keyd_config *c, const char *name, const char *text, size_t len,
		      char ***ret_errors)
{
	struct keyd_config n;
	struct errors e = { 0 };
	char line[KEYD_CONFIG_LINE_MAX + 1];
	unsigned seen[ELEMENTSOF(settings)] = { 0 }, ln = 0;
	size_t pos = 0;
	int r;

	if (ret_errors)
		*ret_errors = NULL;
	if (!c || (!text && len > 0))
		return -EINVAL;
	if (!name)
		name = "keyd.conf";
	r = config_copy(c, &n);
	if (r < 0)
		return r;
	if (len > KEYD_CONFIG_FILE_MAX) {
		error_at(&e, name, 0, "larger than %d bytes", KEYD_CONFIG_FILE_MAX);
		pos = len;
	}
	while (pos < len && !e.oom) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t k = nl ? (size_t)(nl - (text + pos)) : len - pos;
		bool bad = false;

		ln++;
		if (k > KEYD_CONFIG_LINE_MAX) {
			error_at(&e, name, ln, "line longer than %d bytes", KEYD_CONFIG_LINE_MAX);
			bad = true;
		}
		for (size_t i = 0; i < k && !bad; i++) {
			unsigned char ch = (unsigned char)text[pos + i];
			if (ch == '\r') {
				error_at(&e, name, ln,
					 "carriage return (DOS line ending?); use Unix "
					 "line endings");
				bad = true;
			} else if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
				error_at(&e, name, ln, "control character \\x%02x", ch);
				bad = true;
			}
		}
		if (!bad) {
			memcpy(line, text + pos, k);
			line[k] = '\0';
			parse_line(&n, &e, name, ln, line, seen);
		}
		pos += k + (nl ? 1 : 0);
	}
	r = errors_end(&e, ret_errors);
	if (r < 0) {
		keyd_config_done(&n);
		return r;
	}
	keyd_config_done(c);
	*c = n;
	return 0;
}

int keyd_config_load(struct keyd_config *c, const char *path, unsigned flags, char ***ret_errors)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *text = NULL;
	struct errors e = { 0 };
	struct stat st;
	size_t len = 0;
	int r;

	if (ret_errors)
		*ret_errors = NULL;
	if (!c)
		return -EINVAL;
	if (!path)
		path = KEYD_CONFIG_DEFAULT_PATH;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0 || fstat(fd, &st) < 0) {
		error_at(&e, path, 0, "cannot read: %s", strerror(errno));
		return errors_end(&e, ret_errors);
	}
	if (!S_ISREG(st.st_mode)) {
		error_at(&e, path, 0, "not a regular file");
		return errors_end(&e, ret_errors);
	}
	if ((flags & KEYD_CONFIG_CHECK_OWNER) &&
	    ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 022))) {
		error_at(&e, path, 0,
			 "must be owned by root and not writable by group or others "
			 "(uid %u, mode %04o); chown root and chmod go-w",
			 (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		return errors_end(&e, ret_errors);
	}
	r = keyd_read_fd(fd, KEYD_CONFIG_FILE_MAX, &text, &len);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		error_at(&e, path, 0, "%s", r == -EFBIG ? "larger than 65536 bytes" : strerror(-r));
		return errors_end(&e, ret_errors);
	}
	r = keyd_config_parse(c, path, text, len, ret_errors);
	return r < 0 ? r : 1;
}

int keyd_config_apply_env(struct keyd_config *c, char ***ret_errors)
{
	static const struct {
		const char *env;
		const char *key;
	} vars[] = {
		{ "KEYD_TCTI", "tcti" },
		{ "KEYD_ROOT", "store" },
	};
	struct keyd_config n;
	struct errors e = { 0 };
	char b[ESC_MAX];
	int r;

	if (ret_errors)
		*ret_errors = NULL;
	if (!c)
		return -EINVAL;
	r = config_copy(c, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ELEMENTSOF(vars); i++) {
		const char *v = getenv(vars[i].env), *reason;
		const struct setting *s = NULL;
		uint32_t num = 0;
		int level = 0;

		if (!v)
			continue;
		for (size_t k = 0; k < ELEMENTSOF(settings); k++)
			if (streq(settings[k].key, vars[i].key))
				s = &settings[k];
		if (!s)
			continue;
		reason = *v ? check_value(s, v, &level, &num) : "is set but empty";
		if (reason) {
			error_at(&e, vars[i].env, 0, "'%s': %s", esc(b, v), reason);
			continue;
		}
		if (set_value(&n, s, v, level, num) < 0)
			e.oom = true;
	}
	r = errors_end(&e, ret_errors);
	if (r < 0) {
		keyd_config_done(&n);
		return r;
	}
	keyd_config_done(c);
	*c = n;
	return 0;
}

int keyd_config_format(const struct keyd_config *c, char **ret)
{
	const char *level;

	if (!c || !ret)
		return -EINVAL;
	level = keyd_config_log_level_to_string(c->log_level);
	if (asprintf(ret,
		     "store = %s\n"
		     "tcti = %s\n"
		     "policy-dir = %s\n"
		     "socket = %s\n"
		     "enroll-group = %s\n"
		     "log-level = %s\n"
		     "tpm-wait = %u\n"
		     "max-clients = %u\n"
		     "sign-hold-ms = %u\n",
		     c->store ? c->store : "", c->tcti ? c->tcti : "",
		     c->policy_dir ? c->policy_dir : "", c->socket ? c->socket : "",
		     c->enroll_group ? c->enroll_group : "", level ? level : "info", c->tpm_wait,
		     c->max_clients, c->sign_hold_ms) < 0) {
		*ret = NULL;
		return -ENOMEM;
	}
	return 0;
}
