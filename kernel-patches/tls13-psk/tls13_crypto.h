/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The crypto primitives the TLS 1.3 PSK client core uses, and nothing more.
 * Two backends implement it: tls13_crypto_kernel.c (the kernel crypto API,
 * for the module) and keyd/handshake/tls13-crypto.c (libcrypto, for keyd's
 * agent, unit tests, fuzzing and the userspace interop driver).
 *
 * Every function returns 0 or a negative errno. Objects are opaque; each
 * _free() accepts NULL and wipes what it held.
 *
 * HKDF is not here: it is two HMAC loops (RFC 5869) and lives in the key
 * schedule, because the 6.12 kernel has no HKDF in its crypto API.
 */
#ifndef TLS13_CRYPTO_H
#define TLS13_CRYPTO_H

#include "tls13_compat.h"

enum tls13_hash_alg {
	TLS13_SHA256,
	TLS13_SHA384,
};

#define TLS13_MAX_HASH 48

static inline size_t tls13_hash_len(enum tls13_hash_alg alg)
{
	return alg == TLS13_SHA384 ? 48 : 32;
}

/* Named groups (RFC 8446 section 4.2.7). */
enum tls13_group {
	TLS13_GROUP_P256 = 0x0017,
	TLS13_GROUP_X25519 = 0x001d,
};

/* x25519: 32 bytes; P-256: uncompressed point 0x04 || X || Y (RFC 8446 4.2.8.2). */
#define TLS13_MAX_PUBLIC 65
#define TLS13_MAX_SHARED 32

/* One piece of a message that is hashed or MACed in several parts. */
struct tls13_iov {
	const u8 *p;
	size_t n;
};

/* Incremental hash; final() writes tls13_hash_len(alg) bytes and frees. */
struct tls13_hash;
int tls13_hash_new(enum tls13_hash_alg alg, struct tls13_hash **ret);
int tls13_hash_update(struct tls13_hash *h, const u8 *data, size_t len);
int tls13_hash_final(struct tls13_hash *h, u8 *out);
void tls13_hash_free(struct tls13_hash *h);

/* HMAC-Hash(key, iov[0] || ... || iov[n-1]); out gets tls13_hash_len(alg) bytes. */
int tls13_hmac(enum tls13_hash_alg alg, const u8 *key, size_t key_len,
	       const struct tls13_iov *iov, unsigned int n, u8 *out);

/* AES-GCM with a 12-byte nonce and a 16-byte tag; key_len 16 or 32. */
#define TLS13_AEAD_TAG 16
#define TLS13_AEAD_NONCE 12
struct tls13_aead;
int tls13_aead_new(const u8 *key, size_t key_len, struct tls13_aead **ret);
/* out: len + TLS13_AEAD_TAG bytes (ciphertext || tag). */
int tls13_aead_seal(struct tls13_aead *a, const u8 *nonce, const u8 *aad, size_t aad_len,
		    const u8 *in, size_t len, u8 *out);
/* in: ciphertext || tag, len >= TLS13_AEAD_TAG; out: len - TLS13_AEAD_TAG bytes.
 * -EBADMSG when the tag does not verify.
 */
int tls13_aead_open(struct tls13_aead *a, const u8 *nonce, const u8 *aad, size_t aad_len,
		    const u8 *in, size_t len, u8 *out);
void tls13_aead_free(struct tls13_aead *a);

/*
 * An ephemeral (EC)DHE key. priv == NULL generates a fresh key; a given
 * private key (32 bytes, either group) exists for test vectors and the
 * fuzzer, and a backend may refuse it with -EOPNOTSUPP.
 */
struct tls13_ecdh;
int tls13_ecdh_new(enum tls13_group group, const u8 *priv, struct tls13_ecdh **ret);
int tls13_ecdh_public(struct tls13_ecdh *e, u8 *out, size_t cap, size_t *ret_len);
/* -EINVAL for a peer value that is not a valid point / gives an all-zero x25519 result. */
int tls13_ecdh_derive(struct tls13_ecdh *e, const u8 *peer, size_t peer_len,
		      u8 *out, size_t cap, size_t *ret_len);
void tls13_ecdh_free(struct tls13_ecdh *e);

int tls13_random(u8 *buf, size_t len);

#endif /* TLS13_CRYPTO_H */
