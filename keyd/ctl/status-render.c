/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "status-render.h"

struct rd {
	const char *p, *end;
	FILE *out;
	bool dash; /* the next line starts an array element: "- " instead of indentation */
};

static void ws(struct rd *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static void indent(struct rd *r, unsigned n)
{
	if (!r->out)
		return;
	if (r->dash) {
		fprintf(r->out, "%*s- ", n >= 2 ? (int)n - 2 : 0, "");
		r->dash = false;
	} else {
		fprintf(r->out, "%*s", (int)n, "");
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A string, written to out (escapes decoded; control characters and \u escapes
 * outside ASCII shown as '?': this is for display only). */
static int string(struct rd *r, FILE *out)
{
	if (r->p >= r->end || *r->p != '"')
		return -EBADMSG;
	r->p++;
	while (r->p < r->end) {
		unsigned char ch = (unsigned char)*r->p++;

		if (ch == '"')
			return 0;
		if (ch < 0x20)
			return -EBADMSG;
		if (ch != '\\') {
			if (out)
				fputc(ch == 0x7f ? '?' : ch, out);
			continue;
		}
		if (r->p >= r->end)
			return -EBADMSG;
		ch = (unsigned char)*r->p++;
		switch (ch) {
		case '"':
		case '\\':
		case '/':
			if (out)
				fputc(ch, out);
			break;
		case 'b':
		case 'f':
		case 'n':
		case 'r':
		case 't':
			if (out)
				fputc(ch == 't' ? ' ' : '?', out);
			break;
		case 'u': {
			unsigned v = 0;

			if (r->end - r->p < 4)
				return -EBADMSG;
			for (int i = 0; i < 4; i++) {
				int h = hexval(*r->p++);

				if (h < 0)
					return -EBADMSG;
				v = v << 4 | (unsigned)h;
			}
			if (out)
				fputc(v >= 0x20 && v < 0x7f ? (int)v : '?', out);
			break;
		}
		default:
			return -EBADMSG;
		}
	}
	return -EBADMSG;
}

static int scalar(struct rd *r, FILE *out)
{
	static const char *const words[] = { "true", "false", "null" };
	const char *start = r->p;

	if (r->p < r->end && *r->p == '"')
		return string(r, out);
	for (size_t i = 0; i < ELEMENTSOF(words); i++) {
		size_t n = strlen(words[i]);

		if ((size_t)(r->end - r->p) >= n && memcmp(r->p, words[i], n) == 0) {
			r->p += n;
			if (out)
				fputs(words[i], out);
			return 0;
		}
	}
	/* number: -?int frac? exp? */
	if (r->p < r->end && *r->p == '-')
		r->p++;
	if (r->p >= r->end || *r->p < '0' || *r->p > '9')
		return -EBADMSG;
	if (*r->p == '0')
		r->p++;
	else
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
			r->p++;
	if (r->p < r->end && *r->p == '.') {
		r->p++;
		if (r->p >= r->end || *r->p < '0' || *r->p > '9')
			return -EBADMSG;
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
			r->p++;
	}
	if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
		r->p++;
		if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
			r->p++;
		if (r->p >= r->end || *r->p < '0' || *r->p > '9')
			return -EBADMSG;
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
			r->p++;
	}
	if (out)
		fwrite(start, 1, (size_t)(r->p - start), out);
	return 0;
}

static int value(struct rd *r, unsigned depth, unsigned ind);

/* After "key:" (or a "- " for an array element): a scalar stays on the line, a
 * container goes below, indented. */
static int member_value(struct rd *r, unsigned depth, unsigned ind)
{
	ws(r);
	if (r->p < r->end && (*r->p == '{' || *r->p == '[')) {
		char open = *r->p, close = open == '{' ? '}' : ']';
		const char *q = r->p + 1;

		while (q < r->end && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r'))
			q++;
		if (q < r->end && *q == close) {
			r->p = q + 1;
			if (r->out)
				fputs(" (none)\n", r->out);
			return 0;
		}
		if (r->out)
			fputc('\n', r->out);
		return value(r, depth, ind + 2);
	}
	if (r->out)
		fputc(' ', r->out);
	if (scalar(r, r->out) < 0)
		return -EBADMSG;
	if (r->out)
		fputc('\n', r->out);
	return 0;
}

static int value(struct rd *r, unsigned depth, unsigned ind)
{
	int k;

	if (depth >= STATUS_RENDER_DEPTH_MAX)
		return -EBADMSG;
	ws(r);
	if (r->p >= r->end)
		return -EBADMSG;
	if (*r->p == '{') {
		r->p++;
		ws(r);
		if (r->p < r->end && *r->p == '}') {
			r->p++;
			return 0;
		}
		for (;;) {
			ws(r);
			indent(r, ind);
			if (string(r, r->out) < 0)
				return -EBADMSG;
			if (r->out)
				fputc(':', r->out);
			ws(r);
			if (r->p >= r->end || *r->p++ != ':')
				return -EBADMSG;
			k = member_value(r, depth + 1, ind);
			if (k < 0)
				return k;
			ws(r);
			if (r->p < r->end && *r->p == ',') {
				r->p++;
				continue;
			}
			if (r->p < r->end && *r->p == '}') {
				r->p++;
				return 0;
			}
			return -EBADMSG;
		}
	}
	if (*r->p == '[') {
		r->p++;
		ws(r);
		if (r->p < r->end && *r->p == ']') {
			r->p++;
			return 0;
		}
		for (;;) {
			ws(r);
			if (r->p < r->end && (*r->p == '{' || *r->p == '[')) {
				/* The element's first line carries the dash. */
				r->dash = true;
				k = value(r, depth + 1, ind + 2);
				r->dash = false;
			} else {
				r->dash = true;
				indent(r, ind + 2);
				k = scalar(r, r->out);
				if (r->out)
					fputc('\n', r->out);
			}
			if (k < 0)
				return k;
			ws(r);
			if (r->p < r->end && *r->p == ',') {
				r->p++;
				continue;
			}
			if (r->p < r->end && *r->p == ']') {
				r->p++;
				return 0;
			}
			return -EBADMSG;
		}
	}
	indent(r, ind);
	k = scalar(r, r->out);
	if (k >= 0 && r->out)
		fputc('\n', r->out);
	return k;
}

int status_render(const char *text, size_t len, FILE *out)
{
	struct rd r = { .p = text, .end = text + len };
	int k;

	/* Validate first, so nothing is printed for a document that turns out bad. */
	k = value(&r, 0, 0);
	ws(&r);
	if (k < 0 || r.p != r.end)
		return -EBADMSG;
	if (!out)
		return 0;
	r = (struct rd){ .p = text, .end = text + len, .out = out };
	return value(&r, 0, 0);
}
