/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Hash, HMAC, HKDF (RFC 5869), CRC-32 and random bytes. crypto.c owns libcrypto's
 * primitive API (EVP digest/MAC/KDF); x509.c owns its certificate API.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "keyalg.h"

#define KEYD_HASH_MAX 64

int keyd_crypto_hash(enum keyd_hash_alg h, const void *data, size_t len, uint8_t *out);
int keyd_crypto_hmac(enum keyd_hash_alg h, const void *key, size_t key_len, const void *data,
		     size_t len, uint8_t *out);
/* HKDF-Extract; a NULL/empty salt means a string of hash-length zeros. */
int keyd_crypto_hkdf_extract(enum keyd_hash_alg h, const void *salt, size_t salt_len,
			     const void *ikm, size_t ikm_len, uint8_t *ret_prk);
/* HKDF-Expand with info passed as one buffer (never appended piecewise). */
int keyd_crypto_hkdf_expand(enum keyd_hash_alg h, const void *prk, size_t prk_len,
			    const void *info, size_t info_len, uint8_t *out, size_t out_len);
/* zlib CRC-32 (reflected 0xEDB88320, init and final inversion). */
uint32_t keyd_crypto_crc32(const void *data, size_t len);
/* Cryptographically secure random bytes from the system. */
int keyd_crypto_random(void *buf, size_t len);
