/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The callout's command line, strictly (reqkey-args.h). Everything here came
 * through /sbin/request-key from whoever called request_key().
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "parse.h"
#include "reqkey-args.h"

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

void keyd_reqkey_quote(const char *s, size_t max_len, char *buf, size_t size)
{
	size_t o = 0, i;

	if (!buf || size == 0)
		return;
	buf[0] = '\0';
	if (!s)
		return;
	for (i = 0; s[i] && i < max_len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (o + 5 >= size)
			break;
		if (c < 0x20 || c >= 0x7f)
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	buf[o] = '\0';
	if (s[i] && o + 4 <= size)
		memcpy(buf + o, "...", 4);
}

/* A key id as request-key writes it: decimal, no sign, no leading zero. */
static int parse_serial(const char *s, bool zero_ok, int32_t *ret)
{
	uint32_t v;

	if (!s || s[0] < '0' || s[0] > '9' || (s[0] == '0' && s[1]))
		return -EINVAL;
	if (keyd_parse_u32(s, 10, &v) < 0 || v > INT32_MAX || (v == 0 && !zero_ok))
		return -EINVAL;
	*ret = (int32_t)v;
	return 0;
}

static int parse_id(const char *s, uint32_t *ret)
{
	if (!s || s[0] < '0' || s[0] > '9')
		return -EINVAL;
	return keyd_parse_u32(s, 10, ret);
}

int keyd_reqkey_args_parse(int argc, char *const *argv, struct keyd_reqkey_args *ret,
			   char *reason, size_t reason_size)
{
	static const char *const names[] = { "key id (%k)", "thread keyring (%T)",
					     "process keyring (%P)", "session keyring (%S)" };
	int32_t *serials[4];

	if (!ret)
		return -EINVAL;
	memset(ret, 0, sizeof(*ret));
	if (reason && reason_size)
		reason[0] = '\0';
	if (argc != KEYD_REQKEY_ARGS || !argv)
		return fail(EINVAL, reason, reason_size,
			    "expected %d arguments (%%k %%t %%d %%c %%u %%g %%T %%P %%S), got %d",
			    KEYD_REQKEY_ARGS, argc);
	for (int i = 0; i < argc; i++)
		if (!argv[i])
			return fail(EINVAL, reason, reason_size, "missing argument");

	serials[0] = &ret->key;
	serials[1] = &ret->thread_ring;
	serials[2] = &ret->process_ring;
	serials[3] = &ret->session_ring;
	for (size_t i = 0; i < 4; i++) {
		const char *s = argv[i == 0 ? 0 : 5 + i];

		if (parse_serial(s, i > 0, serials[i]) < 0)
			return fail(EINVAL, reason, reason_size, "bad %s", names[i]);
	}
	if (parse_id(argv[4], &ret->uid) < 0)
		return fail(EINVAL, reason, reason_size, "bad uid (%%u)");
	if (parse_id(argv[5], &ret->gid) < 0)
		return fail(EINVAL, reason, reason_size, "bad gid (%%g)");
	if (strnlen(argv[1], KEYD_REQKEY_TYPE_MAX + 1) > KEYD_REQKEY_TYPE_MAX)
		return fail(EMSGSIZE, reason, reason_size, "key type longer than %u bytes",
			    KEYD_REQKEY_TYPE_MAX);
	if (strnlen(argv[2], KEYD_REQKEY_DESC_MAX + 1) > KEYD_REQKEY_DESC_MAX)
		return fail(EMSGSIZE, reason, reason_size, "description longer than %u bytes",
			    KEYD_REQKEY_DESC_MAX);
	/* request-key passes the callout data as text; ours is bounded by the protocol. */
	if (strnlen(argv[3], KEYD_REQKEY_CALLOUT_MAX + 1) > KEYD_REQKEY_CALLOUT_MAX)
		return fail(EMSGSIZE, reason, reason_size, "callout data longer than %u bytes",
			    KEYD_REQKEY_CALLOUT_MAX);
	ret->type = argv[1];
	ret->description = argv[2];
	ret->callout = argv[3];
	return 0;
}

bool keyd_reqkey_text_is_plain(const char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return s != NULL;
}

bool keyd_reqkey_error_is_transient(int error)
{
	switch (error < 0 ? -error : error) {
	case ENODEV:    /* no TPM (yet): early boot, swtpm or the driver not up */
	case EBUSY:     /* TPM busy, retries exhausted, or a lockout that will expire */
	case ENOSPC:    /* TPM out of object memory */
	case EAGAIN:
	case ETIMEDOUT:
	case EINTR:
	case ENOMEM:
	case ECONNREFUSED:
		return true;
	default:
		return false;
	}
}
