/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Hash, HMAC, HKDF (RFC 5869), CRC-32, random bytes, and the two primitives of TPM
 * session crypto (AES-128-CFB, P-256 ECDH). crypto.c owns libcrypto's primitive API
 * (EVP digest/MAC/KDF/cipher/derive); x509.c owns its certificate API.
 */
#pragma once

#include <stdbool.h>
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
/* AES-128 in CFB mode with 128-bit feedback (TPM parameter encryption, TPM 2.0
 * Part 1, 21.4), in place. */
int keyd_crypto_aes128_cfb(bool encrypt, const uint8_t key[16], const uint8_t iv[16],
			   uint8_t *buf, size_t len);
/* One-pass ECDH on P-256 with a fresh ephemeral key against the point (peer_x,
 * peer_y): the ephemeral public point (ret_x, ret_y) and the shared secret Z, the
 * x-coordinate of the product (32 bytes each, big-endian, zero-padded).
 * -EINVAL when the peer's point is not on the curve. */
int keyd_crypto_ecdh_p256(const uint8_t peer_x[32], const uint8_t peer_y[32], uint8_t ret_x[32],
			  uint8_t ret_y[32], uint8_t ret_z[32]);
