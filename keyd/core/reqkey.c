/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The request-key description and callout parser (reqkey.h). Everything that
 * reaches it came across the kernel's upcall, from whoever called
 * request_key(): lengths are checked before anything is copied, and the first
 * byte that does not fit the grammar ends the parse.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "parse.h"
#include "reqkey.h"

static int fail(int error, char *reason, size_t size, const char *fmt, ...) _printf_(4, 5);
static int fail(int error, char *reason, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (reason && size > 0) {
		va_start(ap, fmt);
		vsnprintf(reason, size, fmt, ap);
		va_end(ap);
	}
	return -error;
}

static bool has_control(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
}

static bool type_is_valid(const char *t, size_t n)
{
	if (n == 0 || n > KEYD_REQKEY_TYPE_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789._-", t[i]))
			return false;
	return true;
}

/* Words "timeout=N" separated by single spaces; "" is no words. */
static int parse_callout(const char *c, struct keyd_reqkey_request *ret, char *reason,
			 size_t size)
{
	char word[64];
	bool seen_timeout = false;
	size_t n;

	if (!c || !*c)
		return 0;
	n = strnlen(c, KEYD_REQKEY_CALLOUT_MAX + 1);
	if (n > KEYD_REQKEY_CALLOUT_MAX)
		return fail(EMSGSIZE, reason, size, "callout data longer than %u bytes",
			    KEYD_REQKEY_CALLOUT_MAX);
	if (has_control(c, n))
		return fail(EBADMSG, reason, size, "callout data holds a control character");

	for (const char *p = c; *p;) {
		const char *sp = strchr(p, ' ');
		size_t len = sp ? (size_t)(sp - p) : strlen(p);
		uint32_t v;

		if (len == 0)
			return fail(EINVAL, reason, size, "empty word in the callout data");
		if (len >= sizeof(word))
			return fail(EINVAL, reason, size, "unknown word in the callout data");
		memcpy(word, p, len);
		word[len] = '\0';
		if (!startswith(word, "timeout="))
			return fail(EINVAL, reason, size, "unknown word in the callout data");
		if (seen_timeout)
			return fail(EINVAL, reason, size, "timeout= given twice in the callout data");
		seen_timeout = true;
		/* Decimal only: "0x10" or "+5" are not what a person means by seconds. */
		if (word[8] < '0' || word[8] > '9' || keyd_parse_u32(word + 8, 10, &v) < 0 ||
		    v == 0 || v > KEYD_REQKEY_TIMEOUT_MAX)
			return fail(EINVAL, reason, size,
				    "callout timeout= must be 1..%u seconds", KEYD_REQKEY_TIMEOUT_MAX);
		ret->timeout = v;
		p += len;
		if (*p == ' ') {
			p++;
			if (!*p)
				return fail(EINVAL, reason, size, "trailing space in the callout data");
		}
	}
	return 0;
}

static int parse_identity(const char *s, struct keyd_reqkey_request *ret, char *reason,
			  size_t size)
{
	size_t n = strlen(s);
	int r;

	if (n >= sizeof(ret->identity))
		return fail(EMSGSIZE, reason, size, "NVMe identity longer than %zu bytes",
			    sizeof(ret->identity) - 1);
	r = keyd_psk_identity_parse(s, &ret->parts);
	if (r < 0)
		return fail(EINVAL, reason, size, "not an NVMe TLS PSK identity");
	if (ret->parts.kind != 'R')
		/* Generated PSKs ('G') come from a DH-HMAC-CHAP exchange, never from the store. */
		return fail(EINVAL, reason, size, "a generated ('G') PSK is not in keyd's store");
	memcpy(ret->identity, s, n + 1);
	ret->prefix = ret->parts.version == KEYD_PSK_IDENTITY_V1 && !ret->parts.digest[0];
	return 0;
}

static int parse_name(const char *s, struct keyd_reqkey_request *ret, char *reason, size_t size)
{
	size_t n = strnlen(s, KEYD_REQKEY_NAME_MAX + 1);

	if (n > KEYD_REQKEY_NAME_MAX || keyd_name_is_valid(s) <= 0)
		return fail(EINVAL, reason, size, "not a valid store name");
	memcpy(ret->name, s, n + 1);
	return 0;
}

int keyd_reqkey_parse(const char *type, const char *description, const char *callout,
		      struct keyd_reqkey_request *ret, char *reason, size_t reason_size)
{
	size_t tn, dn;
	int r;

	if (!ret)
		return -EINVAL;
	memset(ret, 0, sizeof(*ret));
	if (reason && reason_size)
		reason[0] = '\0';
	if (!type || !description)
		return fail(EINVAL, reason, reason_size, "no type or description");

	tn = strnlen(type, KEYD_REQKEY_TYPE_MAX + 1);
	if (!type_is_valid(type, tn))
		return fail(EINVAL, reason, reason_size, "not a key type name");
	dn = strnlen(description, KEYD_REQKEY_DESC_MAX + 1);
	if (dn > KEYD_REQKEY_DESC_MAX)
		return fail(EMSGSIZE, reason, reason_size, "description longer than %u bytes",
			    KEYD_REQKEY_DESC_MAX);
	if (dn == 0)
		return fail(EINVAL, reason, reason_size, "empty description");
	if (has_control(description, dn))
		return fail(EBADMSG, reason, reason_size, "description holds a control character");
	memcpy(ret->type, type, tn + 1);
	memcpy(ret->description, description, dn + 1);

	if (streq(type, "psk")) {
		ret->kind = KEYD_REQKEY_PSK;
		r = parse_identity(description, ret, reason, reason_size);
	} else if (streq(type, "user") && startswith(description, "keyd:psk:")) {
		ret->kind = KEYD_REQKEY_USER_PSK;
		r = parse_identity(description + strlen("keyd:psk:"), ret, reason, reason_size);
	} else if (streq(type, "user") && startswith(description, "keyd:cert:")) {
		ret->kind = KEYD_REQKEY_CERT;
		r = parse_name(description + strlen("keyd:cert:"), ret, reason, reason_size);
	} else if (streq(type, "user") && startswith(description, "keyd:ca:")) {
		ret->kind = KEYD_REQKEY_CA;
		r = parse_name(description + strlen("keyd:ca:"), ret, reason, reason_size);
	} else
		r = fail(EINVAL, reason, reason_size, "not a key keyd provides");
	if (r >= 0)
		r = parse_callout(callout, ret, reason, reason_size);
	if (r < 0) {
		/* Leave nothing half-filled behind for a caller that ignores the error. */
		memset(ret, 0, sizeof(*ret));
		return r;
	}
	return 0;
}

bool keyd_reqkey_needs_tpm(const struct keyd_reqkey_request *r)
{
	return r && (r->kind == KEYD_REQKEY_PSK || r->kind == KEYD_REQKEY_USER_PSK);
}

const char *keyd_reqkey_kind_to_string(enum keyd_reqkey_kind k)
{
	switch (k) {
	case KEYD_REQKEY_PSK:
		return "psk";
	case KEYD_REQKEY_USER_PSK:
		return "user-psk";
	case KEYD_REQKEY_CERT:
		return "cert";
	case KEYD_REQKEY_CA:
		return "ca";
	case _KEYD_REQKEY_KIND_MAX:
		break;
	}
	return "?";
}
