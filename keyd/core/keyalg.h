/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Key algorithms, signature schemes and public keys in a neutral form shared by
 * tpm.c (which makes them), x509.c (which turns them into SubjectPublicKeyInfo)
 * and the programs. No foreign library types here.
 */
#pragma once

#include <stddef.h>
#include <errno.h>
#include <stdint.h>

enum keyd_key_alg {
	KEYD_KEY_EC_P256,
	KEYD_KEY_EC_P384,
	KEYD_KEY_RSA2048,
	KEYD_KEY_RSA3072,
	_KEYD_KEY_ALG_MAX,
	_KEYD_KEY_ALG_INVALID = -EINVAL,
};
/* "ec-p256", "ec-p384", "rsa2048", "rsa3072" */
const char *keyd_key_alg_to_string(enum keyd_key_alg a);
enum keyd_key_alg keyd_key_alg_from_string(const char *s);

enum keyd_hash_alg {
	KEYD_HASH_SHA256,
	KEYD_HASH_SHA384,
	KEYD_HASH_SHA512,
	_KEYD_HASH_ALG_MAX,
	_KEYD_HASH_ALG_INVALID = -EINVAL,
};
const char *keyd_hash_alg_to_string(enum keyd_hash_alg h); /* "sha256" ... */
enum keyd_hash_alg keyd_hash_alg_from_string(const char *s);
size_t keyd_hash_alg_size(enum keyd_hash_alg h);           /* 32, 48, 64 */

enum keyd_sig_scheme {
	KEYD_SIG_ECDSA,       /* DER ECDSA-Sig-Value */
	KEYD_SIG_RSA_PKCS1,   /* RSASSA-PKCS1-v1_5 */
	KEYD_SIG_RSA_PSS,     /* RSASSA-PSS, salt length = digest length, MGF1 with the same hash */
	_KEYD_SIG_SCHEME_MAX,
	_KEYD_SIG_SCHEME_INVALID = -EINVAL,
};
const char *keyd_sig_scheme_to_string(enum keyd_sig_scheme s); /* "ecdsa", "rsa-pkcs1", "rsa-pss" */
enum keyd_sig_scheme keyd_sig_scheme_from_string(const char *s);

#define KEYD_PUBKEY_MAX 512 /* RSA-4096 modulus */

/* A public key: EC as uncompressed point coordinates, RSA as modulus and exponent,
 * all big-endian without leading zero padding beyond the field size. */
struct keyd_pubkey {
	enum keyd_key_alg alg;
	union {
		struct {
			uint8_t x[66], y[66];
			size_t len; /* field size in bytes: 32 or 48 */
		} ec;
		struct {
			uint8_t n[KEYD_PUBKEY_MAX];
			size_t n_len;
			uint32_t e;
		} rsa;
	};
};

/* The schemes a key can sign with. */
static inline int keyd_key_alg_is_ec(enum keyd_key_alg a)
{
	return a == KEYD_KEY_EC_P256 || a == KEYD_KEY_EC_P384;
}
