/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "json.h"

void keyd_json_init(struct keyd_json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
}

/* Separator before a value or key at the current level. */
static void sep(struct keyd_json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->need_comma[j->depth])
		fputc(',', j->f);
	j->need_comma[j->depth] = true;
}

static void open_(struct keyd_json *j, char c)
{
	sep(j);
	fputc(c, j->f);
	if (j->depth + 1 < sizeof(j->need_comma) / sizeof(j->need_comma[0]))
		j->depth++;
	j->need_comma[j->depth] = false;
}

static void close_(struct keyd_json *j, char c)
{
	if (j->depth > 0)
		j->depth--;
	fputc(c, j->f);
}

void keyd_json_begin_object(struct keyd_json *j) { open_(j, '{'); }
void keyd_json_end_object(struct keyd_json *j) { close_(j, '}'); }
void keyd_json_begin_array(struct keyd_json *j) { open_(j, '['); }
void keyd_json_end_array(struct keyd_json *j) { close_(j, ']'); }

/* Length of a valid UTF-8 sequence starting at p (at most n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t len;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = p[0] & 0x1f;
	} else if ((p[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = p[0] & 0x0f;
	} else if ((p[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = p[0] & 0x07;
	} else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static void write_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	fputc('"', f);
	while (n > 0) {
		unsigned char c = *p;
		size_t l;

		if (c == '"' || c == '\\') {
			fputc('\\', f);
			fputc(c, f);
		} else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c == '\r')
			fputs("\\r", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else if (c < 0x80)
			fputc(c, f);
		else if ((l = utf8_len(p, n)) > 0) {
			fwrite(p, 1, l, f);
			p += l;
			n -= l;
			continue;
		} else
			fputs("\\ufffd", f);
		p++;
		n--;
	}
	fputc('"', f);
}

void keyd_json_key(struct keyd_json *j, const char *key)
{
	sep(j);
	write_string(j->f, key);
	fputc(':', j->f);
	j->after_key = true;
}

void keyd_json_string(struct keyd_json *j, const char *s)
{
	sep(j);
	if (s)
		write_string(j->f, s);
	else
		fputs("null", j->f);
}

void keyd_json_int(struct keyd_json *j, int64_t v)
{
	sep(j);
	fprintf(j->f, "%" PRId64, v);
}

void keyd_json_uint(struct keyd_json *j, uint64_t v)
{
	sep(j);
	fprintf(j->f, "%" PRIu64, v);
}

void keyd_json_bool(struct keyd_json *j, bool v)
{
	sep(j);
	fputs(v ? "true" : "false", j->f);
}

void keyd_json_null(struct keyd_json *j)
{
	sep(j);
	fputs("null", j->f);
}

void keyd_json_kv_string(struct keyd_json *j, const char *key, const char *s)
{
	keyd_json_key(j, key);
	keyd_json_string(j, s);
}

void keyd_json_kv_int(struct keyd_json *j, const char *key, int64_t v)
{
	keyd_json_key(j, key);
	keyd_json_int(j, v);
}

void keyd_json_kv_uint(struct keyd_json *j, const char *key, uint64_t v)
{
	keyd_json_key(j, key);
	keyd_json_uint(j, v);
}

void keyd_json_kv_bool(struct keyd_json *j, const char *key, bool v)
{
	keyd_json_key(j, key);
	keyd_json_bool(j, v);
}

int keyd_json_finish(struct keyd_json *j)
{
	fputc('\n', j->f);
	if (fflush(j->f) != 0 || ferror(j->f))
		return -EIO;
	return 0;
}
