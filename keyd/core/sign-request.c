/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "parse.h"
#include "sign-request.h"

_printf_(4, 5) static int fail(int r, char *reason, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (reason && size > 0) {
		va_start(ap, fmt);
		vsnprintf(reason, size, fmt, ap);
		va_end(ap);
	}
	return r;
}

static int scheme_from_proto(uint32_t v, enum keyd_sig_scheme *ret)
{
	switch (v) {
	case KEYD_PROTO_SCHEME_RSA_PKCS1:
		*ret = KEYD_SIG_RSA_PKCS1;
		return 0;
	case KEYD_PROTO_SCHEME_RSA_PSS:
		*ret = KEYD_SIG_RSA_PSS;
		return 0;
	case KEYD_PROTO_SCHEME_ECDSA:
		*ret = KEYD_SIG_ECDSA;
		return 0;
	default:
		return -EBADMSG;
	}
}

static int hash_from_proto(uint32_t v, enum keyd_hash_alg *ret)
{
	switch (v) {
	case KEYD_PROTO_HASH_SHA256:
		*ret = KEYD_HASH_SHA256;
		return 0;
	case KEYD_PROTO_HASH_SHA384:
		*ret = KEYD_HASH_SHA384;
		return 0;
	case KEYD_PROTO_HASH_SHA512:
		*ret = KEYD_HASH_SHA512;
		return 0;
	default:
		return -EBADMSG;
	}
}

int keyd_sign_request_parse(const struct keyd_proto_msg *m, struct keyd_sign_request *ret,
			    char *reason, size_t reason_size)
{
	struct keyd_sign_request q = { .type = m->type };
	uint32_t v;

	if (m->type != KEYD_PROTO_SIGN && m->type != KEYD_PROTO_GET_PUBKEY)
		return fail(-EBADMSG, reason, reason_size, "not a SIGN or GET-PUBKEY request");
	/* The table bounds key-name to 1..64 bytes, so it fits. */
	if (keyd_proto_get_string(m, KEYD_TAG_KEY_NAME, q.key, sizeof(q.key)) < 0)
		return fail(-EBADMSG, reason, reason_size, "%s without a key name",
			    keyd_proto_type_to_string(m->type));
	if (!keyd_name_is_valid(q.key))
		/* Not quoted: it may hold anything the decoder lets through (UTF-8). */
		return fail(-ENOENT, reason, reason_size,
			    "the key name is not a store name ([A-Za-z0-9._-], not starting "
			    "with '.')");
	if (m->type == KEYD_PROTO_SIGN) {
		if (keyd_proto_get_u32(m, KEYD_TAG_SCHEME, &v) < 0 ||
		    scheme_from_proto(v, &q.scheme) < 0)
			return fail(-EBADMSG, reason, reason_size, "SIGN without a valid scheme");
		if (keyd_proto_get_u32(m, KEYD_TAG_HASH, &v) < 0 || hash_from_proto(v, &q.hash) < 0)
			return fail(-EBADMSG, reason, reason_size, "SIGN without a valid hash");
		if (keyd_proto_get_bytes(m, KEYD_TAG_DIGEST, 0, &q.digest, &q.digest_len) < 0 ||
		    q.digest_len != keyd_hash_alg_size(q.hash))
			return fail(-EBADMSG, reason, reason_size,
				    "SIGN without a digest of the hash's size");
	}
	*ret = q;
	return 0;
}
