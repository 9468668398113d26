/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Store metadata: "key = value" lines. The files are root-owned, but they are
 * also edited by people and copied between machines, so the parser trusts
 * nothing: every limit in meta.h is enforced, and a value that parses is one
 * that keyd_meta_format() writes back byte for byte.
 *
 * Grammar (one entry or comment per line, '\n' ends a line, the last newline
 * may be missing):
 *   line    = blank / comment / entry
 *   blank   = *SP
 *   comment = *SP "#" *printable
 *   entry   = *SP key *SP "=" *SP [value] *SP
 * where SP is a space or a tab, key is [a-z0-9_.-]{1,32} and value is printable
 * UTF-8 (no C0 or C1 controls, no DEL) that neither starts nor ends with a space.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "meta.h"
#include "parse.h"

struct meta_entry {
	char *key;
	char *value;
};

struct keyd_meta {
	struct meta_entry *e;
	size_t n;
	size_t cap;
};

int keyd_meta_new(keyd_meta **ret)
{
	keyd_meta *m;

	if (!ret)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	*ret = m;
	return 0;
}

keyd_meta *keyd_meta_free(keyd_meta *m)
{
	if (!m)
		return NULL;
	for (size_t i = 0; i < m->n; i++) {
		free(m->e[i].key);
		free(m->e[i].value);
	}
	free(m->e);
	free(m);
	return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(keyd_meta *, keyd_meta_free)

static bool key_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

static bool key_ok(const char *k, size_t n)
{
	if (n == 0 || n > KEYD_META_KEY_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!key_char_ok(k[i]))
			return false;
	return true;
}

/* Length of the UTF-8 sequence at s (at most n bytes) if it is a well-formed,
 * printable character (RFC 3629: no overlong forms, no surrogates, at most
 * U+10FFFF; no C0/C1 controls or DEL); 0 otherwise. */
static size_t utf8_printable(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len;

	if (s[0] < 0x20 || s[0] == 0x7f)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
		return 0;
	return len;
}

static bool text_printable(const char *v, size_t n)
{
	const unsigned char *s = (const unsigned char *)v;

	for (size_t i = 0; i < n;) {
		size_t l = utf8_printable(s + i, n - i);

		if (l == 0)
			return false;
		i += l;
	}
	return true;
}

static bool value_ok(const char *v, size_t n)
{
	if (n > 0 && (v[0] == ' ' || v[n - 1] == ' '))
		return false;
	return text_printable(v, n);
}

static ssize_t meta_find(const keyd_meta *m, const char *key, size_t key_len)
{
	for (size_t i = 0; i < m->n; i++)
		if (strlen(m->e[i].key) == key_len && memcmp(m->e[i].key, key, key_len) == 0)
			return (ssize_t)i;
	return -1;
}

/* Insert or replace; key and value already validated. */
static int meta_put(keyd_meta *m, const char *key, size_t key_len, const char *value,
		    size_t value_len)
{
	_cleanup_free_ char *k = NULL, *v = NULL;
	ssize_t i;

	v = strndup(value, value_len);
	if (!v)
		return -ENOMEM;
	i = meta_find(m, key, key_len);
	if (i >= 0) {
		free(m->e[i].value);
		m->e[i].value = TAKE_PTR(v);
		return 0;
	}
	if (m->n >= KEYD_META_ENTRIES_MAX)
		return -E2BIG;
	k = strndup(key, key_len);
	if (!k)
		return -ENOMEM;
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 8;
		struct meta_entry *e = reallocarray(m->e, cap, sizeof(*e));

		if (!e)
			return -ENOMEM;
		m->e = e;
		m->cap = cap;
	}
	m->e[m->n].key = TAKE_PTR(k);
	m->e[m->n].value = TAKE_PTR(v);
	m->n++;
	return 0;
}

static int parse_fail(char *reason, size_t size, size_t line, const char *what)
{
	if (reason && size > 0)
		snprintf(reason, size, "line %zu: %s", line, what);
	return -EBADMSG;
}

static bool is_sp(char c)
{
	return c == ' ' || c == '\t';
}

int keyd_meta_parse(const char *text, size_t len, keyd_meta **ret, char *ret_reason,
		    size_t reason_size)
{
	_cleanup_(keyd_meta_freep) keyd_meta *m = NULL;
	size_t lineno = 0, pos = 0;
	int r;

	if (!text && len > 0)
		return -EINVAL;
	if (!ret)
		return -EINVAL;
	if (ret_reason && reason_size > 0)
		ret_reason[0] = '\0';
	if (len > KEYD_META_TEXT_MAX)
		return parse_fail(ret_reason, reason_size, 0, "file too large");
	r = keyd_meta_new(&m);
	if (r < 0)
		return r;

	while (pos < len) {
		const char *line = text + pos, *nl, *eq, *k, *v, *end;
		size_t n, kn, vn;

		lineno++;
		nl = memchr(line, '\n', len - pos);
		n = nl ? (size_t)(nl - line) : len - pos;
		pos += n + (nl ? 1 : 0);
		if (n > KEYD_META_LINE_MAX)
			return parse_fail(ret_reason, reason_size, lineno, "line too long");
		if (memchr(line, '\0', n))
			return parse_fail(ret_reason, reason_size, lineno, "NUL byte");

		end = line + n;
		while (line < end && is_sp(*line))
			line++;
		while (end > line && is_sp(end[-1]))
			end--;
		if (line == end)
			continue;
		if (*line == '#') {
			if (!text_printable(line, (size_t)(end - line)))
				return parse_fail(
					ret_reason, reason_size, lineno,
					"control character or invalid UTF-8 in a comment");
			continue;
		}

		eq = memchr(line, '=', (size_t)(end - line));
		if (!eq)
			return parse_fail(ret_reason, reason_size, lineno,
					  "expected 'key = value'");
		k = line;
		kn = (size_t)(eq - line);
		while (kn > 0 && is_sp(k[kn - 1]))
			kn--;
		if (!key_ok(k, kn))
			return parse_fail(ret_reason, reason_size, lineno,
					  "key must be 1-32 characters of a-z 0-9 _ . -");
		v = eq + 1;
		while (v < end && is_sp(*v))
			v++;
		vn = (size_t)(end - v);
		if (!value_ok(v, vn))
			return parse_fail(ret_reason, reason_size, lineno,
					  "control character or invalid UTF-8 in the value");
		if (meta_find(m, k, kn) >= 0)
			return parse_fail(ret_reason, reason_size, lineno, "duplicate key");
		if (m->n >= KEYD_META_ENTRIES_MAX)
			return parse_fail(ret_reason, reason_size, lineno, "too many entries");
		r = meta_put(m, k, kn, v, vn);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(m);
	return 0;
}

const char *keyd_meta_get(const keyd_meta *m, const char *key)
{
	ssize_t i;

	if (!m || !key)
		return NULL;
	i = meta_find(m, key, strlen(key));
	return i >= 0 ? m->e[i].value : NULL;
}

int keyd_meta_get_u64(const keyd_meta *m, const char *key, uint64_t *ret)
{
	const char *v = keyd_meta_get(m, key);

	if (!v)
		return -ENOENT;
	/* Decimal, or hex with 0x (handles); never octal from a leading zero. */
	if (v[0] == '0' && (v[1] == 'x' || v[1] == 'X'))
		return keyd_parse_u64(v + 2, 16, ret) < 0 ? -EINVAL : 0;
	return keyd_parse_u64(v, 10, ret) < 0 ? -EINVAL : 0;
}

int keyd_meta_set(keyd_meta *m, const char *key, const char *value)
{
	size_t kn, vn;

	if (!m || !key || !value)
		return -EINVAL;
	kn = strlen(key);
	vn = strlen(value);
	if (!key_ok(key, kn) || !value_ok(value, vn))
		return -EINVAL;
	/* The formatted line "key = value" must parse again. */
	if (kn + 3 + vn > KEYD_META_LINE_MAX)
		return -E2BIG;
	return meta_put(m, key, kn, value, vn);
}

int keyd_meta_setf(keyd_meta *m, const char *key, const char *fmt, ...)
{
	char buf[KEYD_META_LINE_MAX + 1];
	va_list ap;
	int n;

	if (!fmt)
		return -EINVAL;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= sizeof(buf))
		return -E2BIG;
	return keyd_meta_set(m, key, buf);
}

int keyd_meta_format(const keyd_meta *m, char **ret, size_t *ret_len)
{
	size_t total = 1, off = 0;
	char *buf;

	if (!m || !ret)
		return -EINVAL;
	for (size_t i = 0; i < m->n; i++)
		total += strlen(m->e[i].key) + strlen(m->e[i].value) + 4;
	buf = malloc(total);
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < m->n; i++) {
		const char *v = m->e[i].value;
		int n = snprintf(buf + off, total - off, *v ? "%s = %s\n" : "%s =\n", m->e[i].key,
				 v);

		if (n < 0 || (size_t)n >= total - off) {
			free(buf);
			return -EINVAL;
		}
		off += (size_t)n;
	}
	buf[off] = '\0';
	*ret = buf;
	if (ret_len)
		*ret_len = off;
	return 0;
}

size_t keyd_meta_count(const keyd_meta *m)
{
	return m ? m->n : 0;
}

int keyd_meta_entry(const keyd_meta *m, size_t i, const char **ret_key, const char **ret_value)
{
	if (!m)
		return -EINVAL;
	if (i >= m->n)
		return -ENOENT;
	if (ret_key)
		*ret_key = m->e[i].key;
	if (ret_value)
		*ret_value = m->e[i].value;
	return 0;
}
