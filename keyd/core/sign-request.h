/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A SIGN or GET-PUBKEY request (docs/protocol.md) as the signing service uses
 * it: the decoded message (proto.c has checked kinds, bounds and the digest
 * length against the hash) turned into keyd's own types, with the key name
 * checked as a store name. Pure: no I/O, no TPM; fuzzed by
 * tests/fuzz/fuzz-sign-request.c.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "keyalg.h"
#include "proto.h"

struct keyd_sign_request {
	uint16_t type; /* KEYD_PROTO_SIGN or KEYD_PROTO_GET_PUBKEY */
	char key[65];  /* a valid store name (keyd_name_is_valid) */
	/* SIGN only: */
	enum keyd_sig_scheme scheme;
	enum keyd_hash_alg hash;
	const uint8_t *digest; /* points into the message's buffer */
	size_t digest_len;     /* = keyd_hash_alg_size(hash) */
};

/* From a message decoded with KEYD_PROTO_EXPECT_REQUEST. -EBADMSG for another
 * type or a field the table would have refused (cannot happen after the
 * decoder, checked anyway); -ENOENT for a key name that is not a store name
 * (no such key can exist). reason (may be NULL) gets one line. */
int keyd_sign_request_parse(const struct keyd_proto_msg *m, struct keyd_sign_request *ret,
			    char *reason, size_t reason_size);
