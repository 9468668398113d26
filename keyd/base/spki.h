/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SubjectPublicKeyInfo (RFC 5280 4.1.2.7) in the two forms keyd's keys take:
 * id-ecPublicKey with a named curve (RFC 5480 2.1.1) and rsaEncryption with
 * NULL parameters (RFC 8017 A.1). libc only: the result views the input, so a
 * caller builds its own key object from it without a general decoder.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "der.h"

enum keyd_spki_kind {
	KEYD_SPKI_EC = 1,
	KEYD_SPKI_RSA,
};

struct keyd_spki {
	enum keyd_spki_kind kind;
	const char *curve;     /* EC: "P-256", "P-384" or "P-521" (OpenSSL's group names) */
	struct keyd_der point; /* EC: the encoded point (SEC 1 2.3.3), as written */
	struct keyd_der n, e;  /* RSA: big-endian magnitudes without a leading zero */
};

/* Parse der (exactly len bytes, nothing after). -EBADMSG when it is not a
 * well-formed SPKI of these forms; -EOPNOTSUPP when it is well-formed DER of
 * another algorithm, another curve or explicit curve parameters. */
int keyd_spki_parse(const uint8_t *der, size_t len, struct keyd_spki *ret);
