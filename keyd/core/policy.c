/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The policy language (keyd-policy(5), policy.h). One pass over the lines of all
 * files builds the rings, rules and grants with names still unresolved; a
 * second pass (finish()) resolves references, checks what needs the whole
 * policy (undefined rings, cycles, sealing constraints) and fixes the
 * pointers of the public structs. Errors are collected, never fatal, so one run
 * of keyd --test-config shows them all.
 */
#define _GNU_SOURCE /* asprintf */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"
#include "parse.h"
#include "policy.h"

struct ring {
	struct keyd_policy_ring pub;
	struct keyd_policy_item *items;
	struct keyd_policy_link *links;
	/* Line of each single-valued directive, 0 = not given: for duplicate checks. */
	unsigned kernel_line, if_absent_line, perm_line, item_perm_line, timeout_line, seal_line;
	bool if_absent_set;
};

struct who {
	bool any;
	uint32_t uids[KEYD_POLICY_IDS_MAX];
	size_t n_uids;
	uint32_t gids[KEYD_POLICY_IDS_MAX];
	size_t n_gids;
};

struct rule {
	struct keyd_policy_rule pub;
	struct who who;
	const char *keyring_ref; /* as written: a ring name or a kernel description */
};

struct grant {
	struct keyd_policy_grant pub;
	struct who who;
};

struct keyd_policy {
	struct ring *rings;
	size_t n_rings;
	size_t *order;
	struct rule *rules;
	size_t n_rules;
	struct grant *grants;
	size_t n_grants;
	uint32_t negative_timeout, transient_timeout;
	char **strings; /* every string the structs point to */
	size_t n_strings;
};

enum section {
	SECTION_NONE,
	SECTION_BAD, /* after an unknown header: its lines are not reported one by one */
	SECTION_RING,
	SECTION_REQUEST_KEY,
	SECTION_SIGNING,
};

struct parser {
	keyd_policy *p;
	const struct keyd_policy_resolver *resolver;
	char **errors;
	size_t n_errors;
	size_t n_dropped;
	bool oom;
	const char *file;
	unsigned line;
	enum section section;
	size_t ring;
	const char *neg_file, *transient_file;
	unsigned neg_line, transient_line;
};

/* ---- small helpers ------------------------------------------------------------------ */

#define ESC_MAX 100

/* User text for a message: printable ASCII kept, anything else as \xNN, cut at
 * about 60 bytes, so a hostile file cannot put escapes or newlines into a log. */
static const char *esc(char buf[static ESC_MAX], const char *s)
{
	size_t o = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (o + 8 >= ESC_MAX - 4 || o >= 60) {
			memcpy(buf + o, "...", 4);
			return buf;
		}
		if (c < 0x20 || c >= 0x7f || c == '\\' || c == '\'')
			o += (size_t)snprintf(buf + o, ESC_MAX - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	buf[o] = '\0';
	return buf;
}

static void errors_add(struct parser *ps, char *msg)
{
	char **n;

	if (!msg) {
		ps->oom = true;
		return;
	}
	if (ps->n_errors >= KEYD_POLICY_ERRORS_MAX - 1) {
		ps->n_dropped++;
		free(msg);
		return;
	}
	n = realloc(ps->errors, (ps->n_errors + 2) * sizeof(char *));
	if (!n) {
		ps->oom = true;
		free(msg);
		return;
	}
	ps->errors = n;
	ps->errors[ps->n_errors++] = msg;
	ps->errors[ps->n_errors] = NULL;
}

_printf_(4, 5) static void error_at(struct parser *ps, const char *file, unsigned line,
				    const char *fmt, ...)
{
	char reason[512], where[ESC_MAX], *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	esc(where, file ? file : "policy");
	if (line > 0) {
		if (asprintf(&msg, "%s:%u: %s", where, line, reason) < 0)
			msg = NULL;
	} else if (asprintf(&msg, "%s: %s", where, reason) < 0) {
		msg = NULL;
	}
	errors_add(ps, msg);
}

#define error_here(ps, ...) error_at((ps), (ps)->file, (ps)->line, __VA_ARGS__)

/* Grow an array by one zeroed element; NULL (and oom set) on failure. The
 * allocation doubles at each power of two, so n appends cost O(n) copies (the
 * counts only ever grow by one, and the arrays are freed whole). */
static void *grow(struct parser *ps, void **array, size_t *n, size_t size)
{
	uint8_t *a = *array;

	if ((*n & (*n - 1)) == 0) {
		a = realloc(a, (*n ? 2 * *n : 1) * size);
		if (!a) {
			ps->oom = true;
			return NULL;
		}
		*array = a;
	}
	memset(a + *n * size, 0, size);
	return a + (*n)++ * size;
}

static const char *pstrdup(struct parser *ps, const char *s)
{
	char **slot, *d;

	d = strdup(s);
	if (!d) {
		ps->oom = true;
		return NULL;
	}
	slot = grow(ps, (void **)&ps->p->strings, &ps->p->n_strings, sizeof(char *));
	if (!slot) {
		free(d);
		return NULL;
	}
	*slot = d;
	return d;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static char *trim(char *s)
{
	char *e;

	while (is_blank(*s))
		s++;
	e = s + strlen(s);
	while (e > s && is_blank(e[-1]))
		*--e = '\0';
	return s;
}

/* Split s in place at blanks into at most max tokens. A token that starts with '"'
 * runs to the next unescaped '"' (\" and \\ are the only escapes) and is marked
 * in quoted. -E2BIG too many tokens, -EINVAL bad quoting (reason set). */
static int tokenize(char *s, char **tok, bool *quoted, size_t max, size_t *ret_n,
		    const char **reason)
{
	size_t n = 0;

	for (;;) {
		while (is_blank(*s))
			s++;
		if (!*s)
			break;
		if (n >= max) {
			*reason = "too many words";
			return -E2BIG;
		}
		if (*s == '"') {
			char *o = ++s;
			tok[n] = o;
			quoted[n] = true;
			for (;;) {
				if (!*s) {
					*reason = "unterminated \"";
					return -EINVAL;
				}
				if (*s == '"')
					break;
				if (*s == '\\') {
					if (s[1] != '"' && s[1] != '\\') {
						*reason = "only \\\" and \\\\ are escapes inside "
							  "\"...\"";
						return -EINVAL;
					}
					s++;
				}
				*o++ = *s++;
			}
			s++;
			if (*s && !is_blank(*s)) {
				*reason = "text right after a closing \"";
				return -EINVAL;
			}
			*o = '\0';
			if (*s)
				s++;
		} else {
			tok[n] = s;
			quoted[n] = false;
			while (*s && !is_blank(*s)) {
				if (*s == '"') {
					*reason = "a \" inside a word";
					return -EINVAL;
				}
				s++;
			}
			if (*s)
				*s++ = '\0';
		}
		n++;
	}
	*ret_n = n;
	return 0;
}

/* ---- glob ----------------------------------------------------------------------------- */

/* The end of the set that starts after '[': the position after its closing ']', or
 * NULL when the set is unterminated (a ']' right after '[' or '[!' is a member). */
static const char *set_end(const char *p)
{
	if (*p == '!' || *p == '^')
		p++;
	if (*p == ']')
		p++;
	while (*p && *p != ']')
		p++;
	return *p == ']' ? p + 1 : NULL;
}

static bool set_match(const char *p, const char *end, unsigned char c)
{
	bool neg = false, hit = false;

	if (*p == '!' || *p == '^') {
		neg = true;
		p++;
	}
	for (bool first = true; p < end - 1; first = false) {
		unsigned char lo = (unsigned char)*p;
		if (lo == ']' && !first)
			break;
		if (p[1] == '-' && p + 2 < end - 1) {
			unsigned char hi = (unsigned char)p[2];
			if (c >= lo && c <= hi)
				hit = true;
			p += 3;
		} else {
			if (c == lo)
				hit = true;
			p++;
		}
	}
	return hit != neg;
}

bool keyd_policy_glob_match(const char *pattern, const char *text)
{
	/* Iterative matcher: on a mismatch, retry from the last '*' one byte further.
	 * Only the last star needs remembering, so no recursion and no blow-up. */
	const char *p = pattern, *t = text, *star_p = NULL, *star_t = NULL;

	if (!pattern || !text)
		return false;
	while (*t) {
		if (*p == '*') {
			while (*p == '*')
				p++;
			star_p = p;
			star_t = t;
			continue;
		}
		if (*p == '[') {
			const char *e = set_end(p + 1);
			if (e) {
				if (set_match(p + 1, e, (unsigned char)*t)) {
					p = e;
					t++;
					continue;
				}
				goto mismatch;
			}
			/* unterminated: a literal '[' */
		}
		if (*p && (*p == '?' || *p == *t)) {
			p++;
			t++;
			continue;
		}
mismatch:
		if (!star_p)
			return false;
		p = star_p;
		t = ++star_t;
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

int keyd_policy_glob_validate(const char *pattern)
{
	for (const char *p = pattern; *p; p++) {
		if (*p != '[')
			continue;
		const char *e = set_end(p + 1);
		const char *q = p + 1;
		if (!e)
			return -EINVAL;
		if (*q == '!' || *q == '^')
			q++;
		if (q >= e - 1)
			return -EINVAL; /* "[]" or "[!]": no member */
		for (bool first = true; q < e - 1; first = false) {
			if (*q == ']' && !first)
				break;
			if (q[1] == '-' && q + 2 < e - 1) {
				if ((unsigned char)q[0] > (unsigned char)q[2])
					return -EINVAL;
				q += 3;
			} else {
				q++;
			}
		}
		p = e - 1;
	}
	return 0;
}

/* ---- values ------------------------------------------------------------------------- */

static bool valid_kernel_description(const char *s)
{
	size_t n = strlen(s);

	/* Kernel-made keyrings are named ".nvme", ".builtin_trusted_keys", "_ima". */
	if (n < 2 || n > 64 || (s[0] != '.' && s[0] != '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

static bool valid_key_type(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 31 || !(s[0] >= 'a' && s[0] <= 'z'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		      s[i] == '-'))
			return false;
	return true;
}

/* POSIX portable user and group names, plus the '$' of machine accounts. */
static bool valid_account_name(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 32)
		return false;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];
		if (c == '$' && i == n - 1)
			continue;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

static int default_user(const char *name, uint32_t *ret, void *userdata)
{
	struct passwd pw, *res = NULL;
	_cleanup_free_ char *buf = malloc(16384);

	(void)userdata;
	if (!buf)
		return -ENOMEM;
	if (getpwnam_r(name, &pw, buf, 16384, &res) != 0 || !res)
		return -ENOENT;
	*ret = (uint32_t)res->pw_uid;
	return 0;
}

static int default_group(const char *name, uint32_t *ret, void *userdata)
{
	struct group gr, *res = NULL;
	_cleanup_free_ char *buf = malloc(16384);

	(void)userdata;
	if (!buf)
		return -ENOMEM;
	if (getgrnam_r(name, &gr, buf, 16384, &res) != 0 || !res)
		return -ENOENT;
	*ret = (uint32_t)res->gr_gid;
	return 0;
}

/* One id: a number or a name to resolve. */
static int parse_id(struct parser *ps, const char *s, bool group, uint32_t *ret)
{
	const struct keyd_policy_resolver *res = ps->resolver;
	int (*fn)(const char *, uint32_t *, void *);
	char b[ESC_MAX];
	int r;

	if (s[0] >= '0' && s[0] <= '9') {
		r = keyd_parse_u32(s, 10, ret);
		/* (uid_t)-1 means "no change" to the kernel: never a real id. */
		if (r < 0 || *ret == UINT32_MAX) {
			error_here(ps, "'%s' is not a valid %s id", esc(b, s),
				   group ? "group" : "user");
			return -EINVAL;
		}
		return 0;
	}
	if (!valid_account_name(s)) {
		error_here(ps, "'%s' is neither a number nor a valid %s name", esc(b, s),
			   group ? "group" : "user");
		return -EINVAL;
	}
	fn = group ? (res && res->group ? res->group : default_group)
		   : (res && res->user ? res->user : default_user);
	r = fn(s, ret, res ? res->userdata : NULL);
	if (r == -ENOMEM) {
		ps->oom = true;
		return r;
	}
	if (r < 0) {
		error_here(ps, "unknown %s '%s'", group ? "group" : "user", esc(b, s));
		return -ENOENT;
	}
	return 0;
}

/* "0,1000,name" or "*". */
static int parse_id_list(struct parser *ps, const char *what, const char *s, bool group,
			 uint32_t *ids, size_t *n, bool *any)
{
	char buf[KEYD_POLICY_LINE_MAX + 1], *save = NULL, *tok;

	if (streq(s, "*")) {
		*any = true;
		return 0;
	}
	if (!*s || s[0] == ',' || s[strlen(s) - 1] == ',' || strstr(s, ",,")) {
		error_here(ps, "%s= needs a comma-separated list of ids or names, or *", what);
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		uint32_t id;
		int r;

		if (*n >= KEYD_POLICY_IDS_MAX) {
			error_here(ps, "%s= lists more than %d entries", what, KEYD_POLICY_IDS_MAX);
			return -E2BIG;
		}
		if (streq(tok, "*")) {
			error_here(ps, "%s=* cannot be combined with other entries", what);
			return -EINVAL;
		}
		r = parse_id(ps, tok, group, &id);
		if (r < 0)
			return r;
		for (size_t i = 0; i < *n; i++)
			if (ids[i] == id) {
				error_here(ps, "%s %u is listed twice", what, id);
				return -EINVAL;
			}
		ids[(*n)++] = id;
	}
	return 0;
}

static const struct {
	const char *name;
	uint32_t bit;
} perm_bits[] = {
	{ "view", KEYD_POLICY_PERM_VIEW },   { "read", KEYD_POLICY_PERM_READ },
	{ "write", KEYD_POLICY_PERM_WRITE }, { "search", KEYD_POLICY_PERM_SEARCH },
	{ "link", KEYD_POLICY_PERM_LINK },   { "setattr", KEYD_POLICY_PERM_SETATTR },
};

static const char *const perm_classes[] = { "possessor", "user", "group", "other" };

/* "0x3f0b0000" or "possessor:all user:view,read,search group:none". Classes not
 * named get nothing. */
static int parse_perm(struct parser *ps, const char *key, const char *value, uint32_t *ret)
{
	char buf[KEYD_POLICY_LINE_MAX + 1], *tok[8], b[ESC_MAX];
	bool quoted[8], seen[4] = { false };
	const char *reason = NULL;
	uint32_t mask = 0;
	size_t n;
	int r;

	if (startswith(value, "0x") || startswith(value, "0X")) {
		if (strlen(value) != 10 || keyd_parse_u32(value, 16, &mask) < 0) {
			error_here(ps,
				   "%s '%s': write the mask as 0x and 8 hex digits, "
				   "possessor user group other",
				   key, esc(b, value));
			return -EINVAL;
		}
		if (mask & ~KEYD_POLICY_PERM_VALID_MASK) {
			error_here(ps,
				   "%s 0x%08x sets bits outside view, read, write, search, link, "
				   "setattr (0x3f in each byte)",
				   key, mask);
			return -EINVAL;
		}
		*ret = mask;
		return 0;
	}
	snprintf(buf, sizeof(buf), "%s", value);
	r = tokenize(buf, tok, quoted, ELEMENTSOF(tok), &n, &reason);
	if (r < 0 || n == 0) {
		error_here(ps, "%s: %s", key, reason ? reason : "empty");
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		char *colon = strchr(tok[i], ':'), *save = NULL, *bit;
		size_t c;
		uint32_t bits = 0;

		if (quoted[i] || !colon) {
			error_here(ps, "%s: expected CLASS:BITS, got '%s'", key, esc(b, tok[i]));
			return -EINVAL;
		}
		*colon = '\0';
		for (c = 0; c < ELEMENTSOF(perm_classes); c++)
			if (streq(tok[i], perm_classes[c]))
				break;
		if (c == ELEMENTSOF(perm_classes)) {
			error_here(ps, "%s: unknown class '%s' (possessor, user, group, other)",
				   key, esc(b, tok[i]));
			return -EINVAL;
		}
		if (seen[c]) {
			error_here(ps, "%s: class '%s' given twice", key, perm_classes[c]);
			return -EINVAL;
		}
		seen[c] = true;
		if (streq(colon + 1, "all")) {
			bits = KEYD_POLICY_PERM_ALL;
		} else if (!streq(colon + 1, "none")) {
			if (!colon[1]) {
				error_here(ps, "%s: '%s:' needs bits, 'all' or 'none'", key,
					   perm_classes[c]);
				return -EINVAL;
			}
			for (bit = strtok_r(colon + 1, ",", &save); bit;
			     bit = strtok_r(NULL, ",", &save)) {
				size_t k;
				for (k = 0; k < ELEMENTSOF(perm_bits); k++)
					if (streq(bit, perm_bits[k].name))
						break;
				if (k == ELEMENTSOF(perm_bits)) {
					error_here(
						ps,
						"%s: unknown permission '%s' (view, read, write, "
						"search, link, setattr, all, none)",
						key, esc(b, bit));
					return -EINVAL;
				}
				bits |= perm_bits[k].bit;
			}
		}
		mask |= bits << (8 * (3 - c));
	}
	*ret = mask;
	return 0;
}

static int parse_seconds(struct parser *ps, const char *key, const char *value, uint32_t min,
			 uint32_t max, uint32_t *ret)
{
	char b[ESC_MAX];
	uint32_t v;

	if (keyd_parse_u32(value, 10, &v) < 0 || v < min || v > max) {
		error_here(ps, "%s '%s': expected seconds from %u to %u", key, esc(b, value), min,
			   max);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

/* ---- [keyring NAME] ------------------------------------------------------------------ */

static bool single(struct parser *ps, const char *key, unsigned *line)
{
	if (*line) {
		error_here(ps, "duplicate '%s' (first at line %u)", key, *line);
		return false;
	}
	*line = ps->line;
	return true;
}

/* "NAME" or "NAME as T1,T2" for ca-set, cert and key. */
static void ring_item_named(struct parser *ps, struct ring *rg, enum keyd_policy_item_kind kind,
			    const char *key, char *value)
{
	static const struct {
		const char *name;
		unsigned bit;
	} types[] = {
		{ "asymmetric", KEYD_POLICY_AS_ASYMMETRIC },
		{ "user", KEYD_POLICY_AS_USER },
		{ "ref", KEYD_POLICY_AS_REF },
		{ "tpm2", KEYD_POLICY_AS_TPM2 },
	};
	unsigned allowed = kind == KEYD_POLICY_ITEM_KEY
				   ? KEYD_POLICY_AS_REF | KEYD_POLICY_AS_TPM2
				   : KEYD_POLICY_AS_ASYMMETRIC | KEYD_POLICY_AS_USER;
	unsigned as = kind == KEYD_POLICY_ITEM_CA_SET
			      ? KEYD_POLICY_AS_ASYMMETRIC | KEYD_POLICY_AS_USER
		      : kind == KEYD_POLICY_ITEM_CERT ? KEYD_POLICY_AS_USER
						      : KEYD_POLICY_AS_REF;
	char *tok[4], *save = NULL, *t, b[ESC_MAX];
	const char *reason = NULL;
	struct keyd_policy_item *it;
	bool quoted[4];
	size_t n;

	if (tokenize(value, tok, quoted, ELEMENTSOF(tok), &n, &reason) < 0 || (n != 1 && n != 3) ||
	    quoted[0] || (n == 3 && (!streq(tok[1], "as") || quoted[2]))) {
		error_here(ps, "expected '%s = NAME' or '%s = NAME as TYPE[,TYPE]'", key, key);
		return;
	}
	if (!keyd_name_is_valid(tok[0])) {
		error_here(ps,
			   "%s '%s': names are 1-64 of A-Z a-z 0-9 . _ -, not starting with . or -",
			   key, esc(b, tok[0]));
		return;
	}
	if (n == 3) {
		as = 0;
		for (t = strtok_r(tok[2], ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			size_t k;
			for (k = 0; k < ELEMENTSOF(types); k++)
				if (streq(t, types[k].name))
					break;
			if (k == ELEMENTSOF(types) || !(types[k].bit & allowed)) {
				error_here(ps, "%s cannot go in as '%s' (%s)", key, esc(b, t),
					   kind == KEYD_POLICY_ITEM_KEY ? "ref, tpm2"
									: "asymmetric, user");
				return;
			}
			as |= types[k].bit;
		}
		if (!as) {
			error_here(ps, "%s: 'as' needs a type", key);
			return;
		}
	}
	for (size_t i = 0; i < rg->pub.n_items; i++)
		if (rg->items[i].kind == kind && streq_ptr(rg->items[i].name, tok[0])) {
			error_here(ps, "%s '%s' is already in this keyring (line %u)", key,
				   esc(b, tok[0]), rg->items[i].line);
			return;
		}
	if (rg->pub.n_items >= KEYD_POLICY_ITEMS_MAX) {
		error_here(ps, "more than %d items in one keyring", KEYD_POLICY_ITEMS_MAX);
		return;
	}
	it = grow(ps, (void **)&rg->items, &rg->pub.n_items, sizeof(*it));
	if (!it)
		return;
	*it = (struct keyd_policy_item){
		.kind = kind, .name = pstrdup(ps, tok[0]), .as = as, .line = ps->line
	};
}

static void ring_item_psk(struct parser *ps, struct ring *rg, const char *value)
{
	static const struct {
		const char *prefix;
		enum keyd_policy_psk_match match;
	} sel[] = {
		{ "id:", KEYD_POLICY_PSK_ID },
		{ "hostnqn:", KEYD_POLICY_PSK_HOSTNQN },
		{ "subnqn:", KEYD_POLICY_PSK_SUBNQN },
	};
	enum keyd_policy_psk_match match = KEYD_POLICY_PSK_ALL;
	const char *glob = NULL;
	struct keyd_policy_item *it;
	char b[ESC_MAX];

	if (!streq(value, "all")) {
		size_t k;
		for (k = 0; k < ELEMENTSOF(sel); k++)
			if (startswith(value, sel[k].prefix))
				break;
		if (k == ELEMENTSOF(sel)) {
			error_here(ps,
				   "psk '%s': expected all, id:GLOB, hostnqn:GLOB or subnqn:GLOB",
				   esc(b, value));
			return;
		}
		match = sel[k].match;
		glob = value + strlen(sel[k].prefix);
		if (!*glob || strpbrk(glob, " \t\"") || keyd_policy_glob_validate(glob) < 0) {
			error_here(ps,
				   "psk '%s': not a valid pattern (no blanks or quotes; "
				   "[...] must be closed and not empty)",
				   esc(b, value));
			return;
		}
	}
	for (size_t i = 0; i < rg->pub.n_items; i++)
		if (rg->items[i].kind == KEYD_POLICY_ITEM_PSK && rg->items[i].psk_match == match &&
		    streq_ptr(rg->items[i].name, glob)) {
			error_here(ps, "psk '%s' is already in this keyring (line %u)",
				   esc(b, value), rg->items[i].line);
			return;
		}
	if (rg->pub.n_items >= KEYD_POLICY_ITEMS_MAX) {
		error_here(ps, "more than %d items in one keyring", KEYD_POLICY_ITEMS_MAX);
		return;
	}
	it = grow(ps, (void **)&rg->items, &rg->pub.n_items, sizeof(*it));
	if (!it)
		return;
	*it = (struct keyd_policy_item){ .kind = KEYD_POLICY_ITEM_PSK,
					 .psk_match = match,
					 .name = glob ? pstrdup(ps, glob) : NULL,
					 .line = ps->line };
}

static void ring_link(struct parser *ps, struct ring *rg, const char *value)
{
	struct keyd_policy_link l = { .line = ps->line }, *d;
	char b[ESC_MAX];

	if (streq(value, "session")) {
		l.kind = KEYD_POLICY_LINK_SESSION;
	} else if (startswith(value, "user:") || startswith(value, "persistent:")) {
		l.kind = value[0] == 'u' ? KEYD_POLICY_LINK_USER : KEYD_POLICY_LINK_PERSISTENT;
		if (parse_id(ps, strchr(value, ':') + 1, false, &l.uid) < 0)
			return;
	} else if (startswith(value, "keyring:")) {
		l.kind = KEYD_POLICY_LINK_KEYRING;
		if (!keyd_name_is_valid(value + 8)) {
			error_here(ps, "link '%s': not a valid keyring name", esc(b, value));
			return;
		}
		l.ring = pstrdup(ps, value + 8);
		if (!l.ring)
			return;
	} else {
		error_here(ps,
			   "link '%s': expected user:UID, persistent:UID, keyring:NAME or session",
			   esc(b, value));
		return;
	}
	for (size_t i = 0; i < rg->pub.n_links; i++) {
		const struct keyd_policy_link *o = &rg->links[i];
		if (o->kind == l.kind && o->uid == l.uid && streq_ptr(o->ring, l.ring)) {
			error_here(ps, "link '%s' given twice (line %u)", esc(b, value), o->line);
			return;
		}
	}
	if (rg->pub.n_links >= KEYD_POLICY_LINKS_MAX) {
		error_here(ps, "more than %d links for one keyring", KEYD_POLICY_LINKS_MAX);
		return;
	}
	d = grow(ps, (void **)&rg->links, &rg->pub.n_links, sizeof(*d));
	if (d)
		*d = l;
}

static void ring_directive(struct parser *ps, struct ring *rg, const char *key, char *value)
{
	char b[ESC_MAX];

	if (streq(key, "kernel")) {
		if (!single(ps, key, &rg->kernel_line))
			return;
		if (!valid_kernel_description(value)) {
			error_here(
				ps,
				"kernel '%s': expected the name of a kernel keyring such as .nvme",
				esc(b, value));
			return;
		}
		rg->pub.kernel = true;
		rg->pub.description = pstrdup(ps, value);
	} else if (streq(key, "if-absent")) {
		if (!single(ps, key, &rg->if_absent_line))
			return;
		rg->if_absent_set = true;
		if (streq(value, "fail"))
			rg->pub.if_absent = KEYD_POLICY_ABSENT_FAIL;
		else if (streq(value, "create"))
			rg->pub.if_absent = KEYD_POLICY_ABSENT_CREATE;
		else
			error_here(ps, "if-absent '%s': expected fail or create", esc(b, value));
	} else if (streq(key, "psk")) {
		ring_item_psk(ps, rg, value);
	} else if (streq(key, "ca-set")) {
		ring_item_named(ps, rg, KEYD_POLICY_ITEM_CA_SET, key, value);
	} else if (streq(key, "cert")) {
		ring_item_named(ps, rg, KEYD_POLICY_ITEM_CERT, key, value);
	} else if (streq(key, "key")) {
		ring_item_named(ps, rg, KEYD_POLICY_ITEM_KEY, key, value);
	} else if (streq(key, "link")) {
		ring_link(ps, rg, value);
	} else if (streq(key, "perm")) {
		if (single(ps, key, &rg->perm_line) &&
		    parse_perm(ps, key, value, &rg->pub.perm) >= 0)
			rg->pub.perm_set = true;
	} else if (streq(key, "item-perm")) {
		if (single(ps, key, &rg->item_perm_line))
			(void)parse_perm(ps, key, value, &rg->pub.item_perm);
	} else if (streq(key, "timeout")) {
		if (single(ps, key, &rg->timeout_line))
			(void)parse_seconds(ps, key, value, 0, KEYD_POLICY_TIMEOUT_MAX,
					    &rg->pub.timeout);
	} else if (streq(key, "seal")) {
		if (!single(ps, key, &rg->seal_line))
			return;
		if (streq(value, "open")) {
			rg->pub.seal = KEYD_POLICY_SEAL_OPEN;
		} else if (streq(value, "closed")) {
			rg->pub.seal = KEYD_POLICY_SEAL_CLOSED;
		} else if (startswith(value, "chain:") && keyd_name_is_valid(value + 6)) {
			rg->pub.seal = KEYD_POLICY_SEAL_CHAIN;
			rg->pub.chain = pstrdup(ps, value + 6);
		} else {
			rg->seal_line = 0;
			error_here(ps, "seal '%s': expected closed, chain:RING or open",
				   esc(b, value));
		}
	} else {
		error_here(ps,
			   "unknown key '%s' in [keyring %s] (kernel, if-absent, psk, ca-set, "
			   "cert, key, link, perm, item-perm, timeout, seal)",
			   esc(b, key), rg->pub.name);
	}
}

/* ---- [request-key] and [signing] ---------------------------------------------------- */

/* uid=, gid= and (for rules) keyring= words after the fixed part of a line. */
static int parse_who(struct parser *ps, char **tok, const bool *quoted, size_t n, struct who *w,
		     const char **keyring)
{
	bool seen_uid = false, seen_gid = false, seen_ring = false;
	char b[ESC_MAX];

	for (size_t i = 0; i < n; i++) {
		char *eq = strchr(tok[i], '=');
		if (quoted[i] || !eq) {
			error_here(ps, "unexpected '%s' (expected uid=, gid=%s)", esc(b, tok[i]),
				   keyring ? " or keyring=" : "");
			return -EINVAL;
		}
		*eq = '\0';
		if (streq(tok[i], "uid") || streq(tok[i], "gid")) {
			bool g = tok[i][0] == 'g';
			bool *seen = g ? &seen_gid : &seen_uid;
			if (*seen) {
				error_here(ps, "%s= given twice", tok[i]);
				return -EINVAL;
			}
			*seen = true;
			if (parse_id_list(ps, tok[i], eq + 1, g, g ? w->gids : w->uids,
					  g ? &w->n_gids : &w->n_uids, &w->any) < 0)
				return -EINVAL;
		} else if (keyring && streq(tok[i], "keyring")) {
			if (seen_ring) {
				error_here(ps, "keyring= given twice");
				return -EINVAL;
			}
			seen_ring = true;
			if (!keyd_name_is_valid(eq + 1) && !valid_kernel_description(eq + 1)) {
				error_here(ps,
					   "keyring '%s': expected a keyring of this policy or a "
					   "kernel "
					   "keyring such as .nvme",
					   esc(b, eq + 1));
				return -EINVAL;
			}
			*keyring = pstrdup(ps, eq + 1);
		} else {
			error_here(ps, "unknown condition '%s=' (uid=, gid=%s)", esc(b, tok[i]),
				   keyring ? " or keyring=" : "");
			return -EINVAL;
		}
	}
	/* Saying nobody means nothing; saying everybody must be written out. */
	if (!seen_uid && !seen_gid) {
		error_here(ps, "say for whom: uid=LIST and/or gid=LIST (uid=* for anyone)");
		return -EINVAL;
	}
	return 0;
}

static void request_key_line(struct parser *ps, char *line)
{
	char *tok[8], b[ESC_MAX];
	bool quoted[8];
	const char *reason = NULL;
	struct rule r = { 0 }, *d;
	size_t n;

	if (tokenize(line, tok, quoted, ELEMENTSOF(tok), &n, &reason) < 0) {
		error_here(ps, "%s", reason);
		return;
	}
	if (n < 3 || quoted[0] || quoted[1] || !quoted[2]) {
		error_here(ps, "expected 'allow|deny TYPE \"DESCRIPTION\" uid=... gid=... "
			       "[keyring=RING]'");
		return;
	}
	if (!valid_key_type(tok[1])) {
		error_here(ps, "'%s' is not a key type name", esc(b, tok[1]));
		return;
	}
	if (!*tok[2] || strlen(tok[2]) > KEYD_POLICY_DESC_MAX ||
	    keyd_policy_glob_validate(tok[2]) < 0) {
		error_here(ps,
			   "description pattern '%s' is empty or has an unclosed or empty [...]",
			   esc(b, tok[2]));
		return;
	}
	if (parse_who(ps, tok + 3, quoted + 3, n - 3, &r.who, &r.keyring_ref) < 0)
		return;
	if (ps->p->n_rules >= KEYD_POLICY_RULES_MAX) {
		error_here(ps, "more than %d request-key rules", KEYD_POLICY_RULES_MAX);
		return;
	}
	r.pub.allow = streq(tok[0], "allow");
	r.pub.type = pstrdup(ps, tok[1]);
	r.pub.description = pstrdup(ps, tok[2]);
	r.pub.file = ps->file;
	r.pub.line = ps->line;
	d = grow(ps, (void **)&ps->p->rules, &ps->p->n_rules, sizeof(*d));
	if (d)
		*d = r;
}

static void request_key_setting(struct parser *ps, const char *key, const char *value)
{
	char b[ESC_MAX];

	if (streq(key, "negative-timeout")) {
		if (ps->neg_line) {
			error_here(ps, "duplicate 'negative-timeout' (first at %s:%u)",
				   esc(b, ps->neg_file), ps->neg_line);
			return;
		}
		ps->neg_file = ps->file;
		ps->neg_line = ps->line;
		(void)parse_seconds(ps, key, value, 1, KEYD_POLICY_NEG_TIMEOUT_MAX,
				    &ps->p->negative_timeout);
	} else if (streq(key, "transient-timeout")) {
		if (ps->transient_line) {
			error_here(ps, "duplicate 'transient-timeout' (first at %s:%u)",
				   esc(b, ps->transient_file), ps->transient_line);
			return;
		}
		ps->transient_file = ps->file;
		ps->transient_line = ps->line;
		(void)parse_seconds(ps, key, value, 1, KEYD_POLICY_NEG_TIMEOUT_MAX,
				    &ps->p->transient_timeout);
	} else {
		error_here(ps,
			   "unknown key '%s' in [request-key] (allow, deny, negative-timeout, "
			   "transient-timeout)",
			   esc(b, key));
	}
}

static void signing_line(struct parser *ps, char *line)
{
	char *tok[8], b[ESC_MAX];
	bool quoted[8];
	const char *reason = NULL;
	struct grant g = { 0 }, *d;
	size_t n;

	if (tokenize(line, tok, quoted, ELEMENTSOF(tok), &n, &reason) < 0) {
		error_here(ps, "%s", reason);
		return;
	}
	if (n < 5 || !streq(tok[0], "grant") || quoted[1] || !streq(tok[1], "key") || quoted[3] ||
	    !streq(tok[3], "to")) {
		error_here(ps, "expected 'grant key NAME to uid=... gid=...'");
		return;
	}
	if (!*tok[2] || strlen(tok[2]) > 64 || keyd_policy_glob_validate(tok[2]) < 0) {
		error_here(ps,
			   "key pattern '%s' is empty, longer than 64 bytes or has an unclosed or "
			   "empty [...]",
			   esc(b, tok[2]));
		return;
	}
	if (parse_who(ps, tok + 4, quoted + 4, n - 4, &g.who, NULL) < 0)
		return;
	if (ps->p->n_grants >= KEYD_POLICY_GRANTS_MAX) {
		error_here(ps, "more than %d grants", KEYD_POLICY_GRANTS_MAX);
		return;
	}
	g.pub.key = pstrdup(ps, tok[2]);
	g.pub.file = ps->file;
	g.pub.line = ps->line;
	d = grow(ps, (void **)&ps->p->grants, &ps->p->n_grants, sizeof(*d));
	if (d)
		*d = g;
}

/* ---- lines ---------------------------------------------------------------------------- */

static void section_header(struct parser *ps, char *line)
{
	char *tok[4], *inner, b[ESC_MAX];
	bool quoted[4];
	const char *reason = NULL;
	size_t n = 0;
	size_t len = strlen(line);

	ps->section = SECTION_BAD;
	if (line[len - 1] != ']') {
		error_here(ps, "a section header ends with ']'");
		return;
	}
	line[len - 1] = '\0';
	inner = line + 1;
	if (tokenize(inner, tok, quoted, ELEMENTSOF(tok), &n, &reason) < 0 || n == 0 || quoted[0]) {
		error_here(ps, "expected [keyring NAME], [request-key] or [signing]");
		return;
	}
	if (streq(tok[0], "request-key") && n == 1) {
		ps->section = SECTION_REQUEST_KEY;
	} else if (streq(tok[0], "signing") && n == 1) {
		ps->section = SECTION_SIGNING;
	} else if (streq(tok[0], "keyring") && n == 2 && !quoted[1]) {
		struct ring *rg;
		if (!keyd_name_is_valid(tok[1])) {
			error_here(ps,
				   "keyring name '%s': 1-64 of A-Z a-z 0-9 . _ -, not starting "
				   "with . or - (a kernel keyring is named with 'kernel =')",
				   esc(b, tok[1]));
			return;
		}
		for (size_t i = 0; i < ps->p->n_rings; i++)
			if (streq(ps->p->rings[i].pub.name, tok[1])) {
				error_here(ps, "keyring '%s' is already defined at %s:%u", tok[1],
					   esc(b, ps->p->rings[i].pub.file),
					   ps->p->rings[i].pub.line);
				return;
			}
		if (ps->p->n_rings >= KEYD_POLICY_RINGS_MAX) {
			error_here(ps, "more than %d keyrings", KEYD_POLICY_RINGS_MAX);
			return;
		}
		rg = grow(ps, (void **)&ps->p->rings, &ps->p->n_rings, sizeof(*rg));
		if (!rg)
			return;
		rg->pub.name = pstrdup(ps, tok[1]);
		rg->pub.file = ps->file;
		rg->pub.line = ps->line;
		rg->pub.item_perm = KEYD_POLICY_DEFAULT_ITEM_PERM;
		ps->ring = ps->p->n_rings - 1;
		ps->section = SECTION_RING;
	} else {
		error_here(ps,
			   "unknown section '[%s]' (expected [keyring NAME], [request-key] or "
			   "[signing])",
			   esc(b, inner));
	}
}

/* The first word: up to a blank or '='. */
static size_t first_word(const char *s)
{
	return strcspn(s, " \t=");
}

static void parse_line(struct parser *ps, char *line)
{
	char *eq, *key, *value, b[ESC_MAX];
	size_t w;

	line = trim(line);
	if (!*line || *line == '#')
		return;
	if (*line == '[') {
		section_header(ps, line);
		return;
	}
	w = first_word(line);
	if (ps->section == SECTION_BAD)
		return;
	if (ps->section == SECTION_REQUEST_KEY &&
	    ((w == 5 && startswith(line, "allow")) || (w == 4 && startswith(line, "deny")))) {
		request_key_line(ps, line);
		return;
	}
	if (ps->section == SECTION_SIGNING) {
		signing_line(ps, line);
		return;
	}
	eq = strchr(line, '=');
	if (!eq) {
		error_here(ps, "expected 'key = value', got '%s'", esc(b, line));
		return;
	}
	*eq = '\0';
	key = trim(line);
	value = trim(eq + 1);
	if (!*key) {
		error_here(ps, "a line starts with '='");
		return;
	}
	if (!*value) {
		error_here(ps, "'%s' needs a value", esc(b, key));
		return;
	}
	switch (ps->section) {
	case SECTION_NONE:
		error_here(ps,
			   "'%s' outside a section; start with [keyring NAME], [request-key] or "
			   "[signing]",
			   esc(b, key));
		return;
	case SECTION_RING:
		ring_directive(ps, &ps->p->rings[ps->ring], key, value);
		return;
	case SECTION_REQUEST_KEY:
		request_key_setting(ps, key, value);
		return;
	case SECTION_BAD:
	case SECTION_SIGNING:
		return;
	}
}

static void parse_text(struct parser *ps, const char *name, const char *text, size_t len)
{
	char line[KEYD_POLICY_LINE_MAX + 1];
	size_t pos = 0;

	ps->file = pstrdup(ps, name ? name : "policy");
	ps->line = 0;
	ps->section = SECTION_NONE;
	if (!ps->file)
		return;
	if (len > KEYD_POLICY_FILE_MAX) {
		error_at(ps, ps->file, 0, "larger than %d bytes", KEYD_POLICY_FILE_MAX);
		return;
	}
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		bool bad = false;

		ps->line++;
		if (n > KEYD_POLICY_LINE_MAX) {
			error_here(ps, "line longer than %d bytes", KEYD_POLICY_LINE_MAX);
			bad = true;
		}
		for (size_t i = 0; i < n && !bad; i++) {
			unsigned char c = (unsigned char)text[pos + i];
			if (c == '\r') {
				error_here(ps, "carriage return (DOS line ending?); use Unix line "
					       "endings");
				bad = true;
			} else if ((c < 0x20 && c != '\t') || c == 0x7f) {
				error_here(ps, "control character \\x%02x", c);
				bad = true;
			}
		}
		if (!bad) {
			memcpy(line, text + pos, n);
			line[n] = '\0';
			parse_line(ps, line);
		}
		pos += n + (nl ? 1 : 0);
	}
}

/* ---- whole-policy checks ---------------------------------------------------------- */

static int find_ring(const keyd_policy *p, const char *name, size_t *ret)
{
	for (size_t i = 0; i < p->n_rings; i++)
		if (streq(p->rings[i].pub.name, name)) {
			*ret = i;
			return 1;
		}
	return 0;
}

static bool has_asymmetric_ca(const struct ring *rg)
{
	for (size_t i = 0; i < rg->pub.n_items; i++)
		if (rg->items[i].kind == KEYD_POLICY_ITEM_CA_SET &&
		    (rg->items[i].as & KEYD_POLICY_AS_ASYMMETRIC))
			return true;
	return false;
}

static void finish_ring(struct parser *ps, size_t idx)
{
	struct ring *rg = &ps->p->rings[idx];
	struct keyd_policy_ring *r = &rg->pub;
	const char *f = r->file;
	char *desc = NULL;

	r->items = rg->items;
	r->links = rg->links;
	if (!r->kernel) {
		if (asprintf(&desc, "keyd:%s", r->name) < 0) {
			ps->oom = true;
			return;
		}
		r->description = pstrdup(ps, desc);
		free(desc);
		if (rg->if_absent_set)
			error_at(ps, f, rg->if_absent_line,
				 "'if-absent' applies only with 'kernel ='");
	}
	for (size_t i = 0; i < idx; i++)
		if (r->kernel && ps->p->rings[i].pub.kernel &&
		    streq_ptr(ps->p->rings[i].pub.description, r->description))
			error_at(ps, f, rg->kernel_line,
				 "kernel keyring '%s' is already keyring '%s'", r->description,
				 ps->p->rings[i].pub.name);
	if (!rg->seal_line)
		error_at(ps, f, r->line, "keyring '%s' has no 'seal' (closed, chain:RING or open)",
			 r->name);
	if (r->kernel && r->seal == KEYD_POLICY_SEAL_CLOSED)
		error_at(ps, f, rg->seal_line,
			 "keyring '%s' is the kernel's '%s', which keyd cannot "
			 "replace, and a closed seal cannot be lifted: use seal = open or "
			 "chain:RING",
			 r->name, r->description);
	if (r->n_links == 0 && (!r->kernel || r->if_absent == KEYD_POLICY_ABSENT_CREATE))
		error_at(ps, f, r->line,
			 "keyring '%s' is linked nowhere, so the kernel would drop "
			 "it as soon as keyd creates it%s: add 'link = ...'",
			 r->name, r->kernel ? " (if-absent = create)" : "");

	if (!r->perm_set) {
		r->perm = r->kernel ? 0 : KEYD_POLICY_DEFAULT_RING_PERM;
		if (r->seal == KEYD_POLICY_SEAL_CLOSED)
			r->perm &= ~(KEYD_POLICY_PERM_WRITE * 0x01010101u);
	} else {
		if ((r->perm >> 24 & (KEYD_POLICY_PERM_VIEW | KEYD_POLICY_PERM_SEARCH)) !=
		    (KEYD_POLICY_PERM_VIEW | KEYD_POLICY_PERM_SEARCH))
			error_at(ps, f, rg->perm_line,
				 "perm must give the possessor view and search: "
				 "keyd manages the keyring as its possessor");
		if (r->n_links > 0 && !(r->perm >> 24 & KEYD_POLICY_PERM_LINK))
			error_at(ps, f, rg->perm_line,
				 "perm must give the possessor link: keyd links "
				 "each new generation of the keyring into place");
		if (r->seal == KEYD_POLICY_SEAL_CLOSED &&
		    (r->perm & (KEYD_POLICY_PERM_WRITE * 0x01010101u)))
			error_at(ps, f, rg->perm_line,
				 "perm grants write, but seal = closed drops it: "
				 "remove write from perm");
	}
	if (rg->item_perm_line && !(r->item_perm >> 24 & KEYD_POLICY_PERM_VIEW))
		error_at(ps, f, rg->item_perm_line, "item-perm must give the possessor view");

	for (size_t i = 0; i < r->n_links; i++) {
		struct keyd_policy_link *l = &rg->links[i];
		size_t t;

		if (l->kind != KEYD_POLICY_LINK_KEYRING)
			continue;
		if (!find_ring(ps->p, l->ring, &t)) {
			error_at(ps, f, l->line, "link: keyring '%s' is not defined", l->ring);
			continue;
		}
		l->ring_index = t;
		if (t == idx)
			error_at(ps, f, l->line, "keyring '%s' cannot be linked into itself",
				 r->name);
		else if (ps->p->rings[t].pub.seal == KEYD_POLICY_SEAL_CHAIN &&
			 ps->p->rings[t].seal_line)
			error_at(ps, f, l->line,
				 "keyring '%s' is sealed chain: and accepts only "
				 "certificates; it cannot hold keyring '%s'",
				 l->ring, r->name);
	}
	if (r->seal == KEYD_POLICY_SEAL_CHAIN && r->chain) {
		size_t t;
		if (!find_ring(ps->p, r->chain, &t)) {
			error_at(ps, f, rg->seal_line, "seal chain: keyring '%s' is not defined",
				 r->chain);
		} else if (t == idx) {
			error_at(ps, f, rg->seal_line, "keyring '%s' cannot chain to itself",
				 r->name);
		} else {
			r->chain_index = t;
			if (!ps->p->rings[t].pub.kernel && !has_asymmetric_ca(&ps->p->rings[t]))
				error_at(ps, f, rg->seal_line,
					 "seal chain:%s, but keyring '%s' holds no "
					 "CA set as asymmetric keys for the kernel to verify with",
					 r->chain, r->chain);
		}
	}
}

/* Provisioning order by Kahn's algorithm, definition order among equals. Edges:
 * a ring before the rings it is linked into, a chain: target before its user.
 * Rings left over are on a cycle. */
struct edge {
	size_t from, to;
};

static void finish_order(struct parser *ps)
{
	keyd_policy *p = ps->p;
	size_t n = p->n_rings, done = 0, n_edges = 0;
	_cleanup_free_ size_t *indeg = NULL;
	_cleanup_free_ bool *placed = NULL;
	_cleanup_free_ struct edge *edges = NULL;

	if (n == 0)
		return;
	indeg = calloc(n, sizeof(size_t));
	placed = calloc(n, sizeof(bool));
	/* At most one edge per link and one per chain: bounded by the limits. */
	edges = calloc(n * (KEYD_POLICY_LINKS_MAX + 1), sizeof(struct edge));
	p->order = calloc(n, sizeof(size_t));
	if (!indeg || !placed || !edges || !p->order) {
		ps->oom = true;
		return;
	}
	for (size_t a = 0; a < n; a++) {
		const struct ring *rg = &p->rings[a];
		size_t t;

		for (size_t k = 0; k < rg->pub.n_links; k++)
			if (rg->links[k].kind == KEYD_POLICY_LINK_KEYRING &&
			    find_ring(p, rg->links[k].ring, &t) && t != a)
				edges[n_edges++] = (struct edge){ a, t };
		if (rg->pub.seal == KEYD_POLICY_SEAL_CHAIN && rg->pub.chain &&
		    find_ring(p, rg->pub.chain, &t) && t != a)
			edges[n_edges++] = (struct edge){ t, a };
	}
	for (size_t e = 0; e < n_edges; e++)
		indeg[edges[e].to]++;
	while (done < n) {
		size_t pick = n;

		for (size_t i = 0; i < n; i++)
			if (!placed[i] && indeg[i] == 0) {
				pick = i;
				break;
			}
		if (pick == n)
			break;
		placed[pick] = true;
		p->order[done++] = pick;
		for (size_t e = 0; e < n_edges; e++)
			if (edges[e].from == pick)
				indeg[edges[e].to]--;
	}
	for (size_t i = 0; i < n; i++)
		if (!placed[i])
			error_at(ps, p->rings[i].pub.file, p->rings[i].pub.line,
				 "keyring '%s' is on a cycle of 'link = keyring:' and 'seal = "
				 "chain:' "
				 "references",
				 p->rings[i].pub.name);
}

static void fix_who(struct keyd_policy_principals *pub, const struct who *w)
{
	pub->any = w->any;
	pub->uids = w->uids;
	pub->n_uids = w->n_uids;
	pub->gids = w->gids;
	pub->n_gids = w->n_gids;
}

static void finish(struct parser *ps)
{
	keyd_policy *p = ps->p;

	for (size_t i = 0; i < p->n_rings; i++)
		finish_ring(ps, i);
	finish_order(ps);
	for (size_t i = 0; i < p->n_rules; i++) {
		struct rule *r = &p->rules[i];
		size_t t;

		fix_who(&r->pub.who, &r->who);
		if (!r->keyring_ref)
			continue;
		/* A ring of the policy first: its name may start with '_' like a kernel one. */
		if (find_ring(p, r->keyring_ref, &t))
			r->pub.keyring = p->rings[t].pub.description;
		else if (valid_kernel_description(r->keyring_ref))
			r->pub.keyring = r->keyring_ref;
		else
			error_at(ps, r->pub.file, r->pub.line,
				 "keyring=%s: no such keyring in the policy", r->keyring_ref);
	}
	for (size_t i = 0; i < p->n_grants; i++)
		fix_who(&p->grants[i].pub.who, &p->grants[i].who);
}

/* ---- public API ---------------------------------------------------------------------- */

keyd_policy *keyd_policy_free(keyd_policy *p)
{
	if (!p)
		return NULL;
	for (size_t i = 0; i < p->n_rings; i++) {
		free(p->rings[i].items);
		free(p->rings[i].links);
	}
	free(p->rings);
	free(p->order);
	free(p->rules);
	free(p->grants);
	for (size_t i = 0; i < p->n_strings; i++)
		free(p->strings[i]);
	free(p->strings);
	free(p);
	return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(keyd_policy *, keyd_policy_free)

static int parser_end(struct parser *ps, keyd_policy **ret, char ***ret_errors)
{
	_cleanup_(keyd_policy_freep) keyd_policy *p = ps->p;

	ps->p = NULL;
	if (ps->n_dropped > 0 && !ps->oom) {
		/* errors_add() keeps the last slot for this line. */
		char *more = NULL, **n;

		if (asprintf(&more, "... and %zu more errors", ps->n_dropped) < 0)
			more = NULL;
		n = more ? realloc(ps->errors, (ps->n_errors + 2) * sizeof(char *)) : NULL;
		if (!n) {
			free(more);
			ps->oom = true;
		} else {
			ps->errors = n;
			ps->errors[ps->n_errors++] = more;
			ps->errors[ps->n_errors] = NULL;
		}
	}
	if (ps->oom) {
		strv_free(ps->errors);
		return -ENOMEM;
	}
	if (ps->n_errors > 0) {
		if (ret_errors)
			*ret_errors = ps->errors;
		else
			strv_free(ps->errors);
		return -EBADMSG;
	}
	free(ps->errors);
	*ret = TAKE_PTR(p);
	return 0;
}

static int parser_begin(struct parser *ps, const struct keyd_policy_resolver *resolver)
{
	*ps = (struct parser){ .resolver = resolver };
	ps->p = calloc(1, sizeof(keyd_policy));
	if (!ps->p)
		return -ENOMEM;
	ps->p->negative_timeout = KEYD_POLICY_DEFAULT_NEG_TIMEOUT;
	ps->p->transient_timeout = KEYD_POLICY_DEFAULT_TRANSIENT_TIMEOUT;
	return 0;
}

int keyd_policy_parse(const struct keyd_policy_source *sources, size_t n,
		      const struct keyd_policy_resolver *resolver, keyd_policy **ret,
		      char ***ret_errors)
{
	struct parser ps;
	int r;

	if (ret_errors)
		*ret_errors = NULL;
	if (!ret || (n > 0 && !sources))
		return -EINVAL;
	r = parser_begin(&ps, resolver);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n && !ps.oom; i++)
		parse_text(&ps, sources[i].name, sources[i].text,
			   sources[i].text ? sources[i].len : 0);
	if (!ps.oom)
		finish(&ps);
	return parser_end(&ps, ret, ret_errors);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Read one file of the directory, bounded, with the owner and mode checks. */
static int read_policy_file(struct parser *ps, int dfd, const char *dir, const char *name,
			    unsigned flags, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL, *path = NULL;
	struct stat st;
	size_t len = 0;
	int r;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return -ENOMEM;
	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;
		error_at(ps, path, 0, "cannot read: %s", strerror(e));
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		error_at(ps, path, 0, "not a regular file");
		return -EBADMSG;
	}
	if (flags & KEYD_POLICY_CHECK_OWNER) {
		if (st.st_uid != 0 && st.st_uid != geteuid()) {
			error_at(ps, path, 0,
				 "owned by uid %u, not root: the policy decides who gets "
				 "keys; chown root",
				 (unsigned)st.st_uid);
			return -EPERM;
		}
		if (st.st_mode & 022) {
			error_at(ps, path, 0, "writable by group or others (mode %04o); chmod go-w",
				 (unsigned)(st.st_mode & 07777));
			return -EPERM;
		}
	}
	r = keyd_read_fd(fd, KEYD_POLICY_FILE_MAX, &buf, &len);
	if (r == -EFBIG)
		error_at(ps, path, 0, "larger than %d bytes", KEYD_POLICY_FILE_MAX);
	else if (r < 0 && r != -ENOMEM)
		error_at(ps, path, 0, "cannot read: %s", strerror(-r));
	if (r < 0)
		return r;
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

int keyd_policy_load_dir(const char *dir, unsigned flags,
			 const struct keyd_policy_resolver *resolver, keyd_policy **ret,
			 char ***ret_errors)
{
	_cleanup_close_ int dfd = -1;
	DIR *d = NULL;
	struct dirent *de;
	char **names = NULL;
	size_t n_names = 0;
	struct parser ps;
	struct stat st;
	int r;

	if (ret_errors)
		*ret_errors = NULL;
	if (!dir || !ret)
		return -EINVAL;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	r = parser_begin(&ps, resolver);
	if (r < 0)
		return r;
	if ((flags & KEYD_POLICY_CHECK_OWNER) && fstat(dfd, &st) >= 0 &&
	    ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 022)))
		error_at(&ps, dir, 0,
			 "the directory must be owned by root and not writable by "
			 "group or others (mode %04o, uid %u)",
			 (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid);

	d = fdopendir(dup(dfd));
	if (!d) {
		ps.oom = errno == ENOMEM;
		if (!ps.oom)
			error_at(&ps, dir, 0, "cannot list: %s", strerror(errno));
	}
	while (d && (de = readdir(d))) {
		size_t l = strlen(de->d_name);
		char **nn;

		if (de->d_name[0] == '.' || l <= 7 || !streq(de->d_name + l - 7, ".policy"))
			continue;
		if (n_names >= KEYD_POLICY_FILES_MAX) {
			error_at(&ps, dir, 0, "more than %d *.policy files", KEYD_POLICY_FILES_MAX);
			break;
		}
		nn = realloc(names, (n_names + 2) * sizeof(char *));
		if (!nn || !(nn[n_names] = strdup(de->d_name))) {
			if (nn)
				names = nn;
			ps.oom = true;
			break;
		}
		names = nn;
		names[++n_names] = NULL;
	}
	if (d)
		closedir(d);
	if (n_names > 0)
		qsort(names, n_names, sizeof(char *), cmp_str);
	for (size_t i = 0; i < n_names && !ps.oom; i++) {
		_cleanup_free_ char *text = NULL, *path = NULL;
		size_t len = 0;

		r = read_policy_file(&ps, dfd, dir, names[i], flags, &text, &len);
		if (r == -ENOMEM)
			ps.oom = true;
		if (r < 0)
			continue;
		if (asprintf(&path, "%s/%s", dir, names[i]) < 0) {
			ps.oom = true;
			break;
		}
		parse_text(&ps, path, text, len);
	}
	for (size_t i = 0; i < n_names; i++)
		free(names[i]);
	free(names);
	if (!ps.oom)
		finish(&ps);
	return parser_end(&ps, ret, ret_errors);
}

size_t keyd_policy_ring_count(const keyd_policy *p)
{
	return p ? p->n_rings : 0;
}

const struct keyd_policy_ring *keyd_policy_ring(const keyd_policy *p, size_t i)
{
	return p && i < p->n_rings ? &p->rings[i].pub : NULL;
}

const struct keyd_policy_ring *keyd_policy_ring_by_name(const keyd_policy *p, const char *name)
{
	size_t i;

	return p && name && find_ring(p, name, &i) ? &p->rings[i].pub : NULL;
}

size_t keyd_policy_ring_order(const keyd_policy *p, size_t i)
{
	return p && i < p->n_rings ? p->order[i] : 0;
}

size_t keyd_policy_rule_count(const keyd_policy *p)
{
	return p ? p->n_rules : 0;
}

const struct keyd_policy_rule *keyd_policy_rule(const keyd_policy *p, size_t i)
{
	return p && i < p->n_rules ? &p->rules[i].pub : NULL;
}

size_t keyd_policy_grant_count(const keyd_policy *p)
{
	return p ? p->n_grants : 0;
}

const struct keyd_policy_grant *keyd_policy_grant(const keyd_policy *p, size_t i)
{
	return p && i < p->n_grants ? &p->grants[i].pub : NULL;
}

uint32_t keyd_policy_negative_timeout(const keyd_policy *p)
{
	return p ? p->negative_timeout : KEYD_POLICY_DEFAULT_NEG_TIMEOUT;
}

uint32_t keyd_policy_transient_timeout(const keyd_policy *p)
{
	return p ? p->transient_timeout : KEYD_POLICY_DEFAULT_TRANSIENT_TIMEOUT;
}

static bool who_matches(const struct keyd_policy_principals *w, const struct keyd_policy_subject *s)
{
	if (w->any)
		return true;
	for (size_t i = 0; i < w->n_uids; i++)
		if (w->uids[i] == s->uid)
			return true;
	for (size_t i = 0; i < w->n_gids; i++) {
		if (w->gids[i] == s->gid)
			return true;
		for (size_t k = 0; s->groups && k < s->n_groups; k++)
			if (w->gids[i] == s->groups[k])
				return true;
	}
	return false;
}

int keyd_policy_check_request(const keyd_policy *p, const char *type, const char *description,
			      const struct keyd_policy_subject *who, const char *dest,
			      const struct keyd_policy_rule **ret_rule)
{
	size_t len;

	if (ret_rule)
		*ret_rule = NULL;
	if (!p || !type || !description || !who)
		return -EINVAL;
	/* Bounded before anything else looks at it; the kernel never sends more. */
	len = strnlen(description, KEYD_POLICY_DESC_MAX + 1);
	if (len > KEYD_POLICY_DESC_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)description[i];
		if (c < 0x20 || c == 0x7f)
			return 0;
	}
	if (dest && !*dest)
		dest = NULL;
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct keyd_policy_rule *r = &p->rules[i].pub;

		if (!streq(r->type, type))
			continue;
		if (r->keyring && !streq_ptr(r->keyring, dest))
			continue;
		if (!who_matches(&r->who, who))
			continue;
		if (!keyd_policy_glob_match(r->description, description))
			continue;
		if (ret_rule)
			*ret_rule = r;
		return r->allow ? 1 : 0;
	}
	return 0;
}

int keyd_policy_check_sign(const keyd_policy *p, const char *key,
			   const struct keyd_policy_subject *who,
			   const struct keyd_policy_grant **ret_grant)
{
	if (ret_grant)
		*ret_grant = NULL;
	if (!p || !key || !who)
		return -EINVAL;
	if (!keyd_name_is_valid(key))
		return 0;
	for (size_t i = 0; i < p->n_grants; i++) {
		const struct keyd_policy_grant *g = &p->grants[i].pub;
		if (who_matches(&g->who, who) && keyd_policy_glob_match(g->key, key)) {
			if (ret_grant)
				*ret_grant = g;
			return 1;
		}
	}
	return 0;
}

const char *keyd_policy_seal_to_string(enum keyd_policy_seal s)
{
	switch (s) {
	case KEYD_POLICY_SEAL_OPEN:
		return "open";
	case KEYD_POLICY_SEAL_CLOSED:
		return "closed";
	case KEYD_POLICY_SEAL_CHAIN:
		return "chain";
	}
	return NULL;
}

const char *keyd_policy_item_kind_to_string(enum keyd_policy_item_kind k)
{
	switch (k) {
	case KEYD_POLICY_ITEM_PSK:
		return "psk";
	case KEYD_POLICY_ITEM_CA_SET:
		return "ca-set";
	case KEYD_POLICY_ITEM_CERT:
		return "cert";
	case KEYD_POLICY_ITEM_KEY:
		return "key";
	}
	return NULL;
}

const char *keyd_policy_link_kind_to_string(enum keyd_policy_link_kind k)
{
	switch (k) {
	case KEYD_POLICY_LINK_USER:
		return "user";
	case KEYD_POLICY_LINK_PERSISTENT:
		return "persistent";
	case KEYD_POLICY_LINK_KEYRING:
		return "keyring";
	case KEYD_POLICY_LINK_SESSION:
		return "session";
	}
	return NULL;
}
