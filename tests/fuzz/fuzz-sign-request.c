/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target for the signing service's request decoding: arbitrary bytes
 * through keyd_proto_decode() as a server does (requests only), then
 * keyd_sign_request_parse() for SIGN and GET-PUBKEY. What it accepts must hold
 * the service's assumptions: a valid store name, a known scheme and hash, a
 * digest of the hash's size lying inside the input.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "proto.h"
#include "sign-request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct keyd_sign_request q;
	struct keyd_proto_msg m;
	char reason[256];
	int r;

	if (keyd_proto_decode(data, size, KEYD_PROTO_EXPECT_REQUEST, &m, NULL) < 0)
		return 0;
	r = keyd_sign_request_parse(&m, &q, reason, sizeof(reason));
	if (m.type != KEYD_PROTO_SIGN && m.type != KEYD_PROTO_GET_PUBKEY) {
		if (r != -EBADMSG)
			abort();
		return 0;
	}
	if (r < 0) {
		if (r != -EBADMSG && r != -ENOENT)
			abort();
		if (!memchr(reason, '\0', sizeof(reason)) || !reason[0])
			abort(); /* every refusal says why */
		return 0;
	}
	if (q.type != m.type || !keyd_name_is_valid(q.key) || strlen(q.key) > 64)
		abort();
	if (q.type == KEYD_PROTO_SIGN) {
		if ((unsigned)q.scheme >= _KEYD_SIG_SCHEME_MAX ||
		    (unsigned)q.hash >= _KEYD_HASH_ALG_MAX)
			abort();
		if (q.digest_len != keyd_hash_alg_size(q.hash) || q.digest < data ||
		    q.digest + q.digest_len > data + size)
			abort();
	}
	return 0;
}
