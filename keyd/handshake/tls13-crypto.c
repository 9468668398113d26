/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The crypto interface of the TLS 1.3 PSK core (kernel-patches/tls13-psk/tls13_crypto.h)
 * on libcrypto, for keyd-handshaked: SHA-256/384, HMAC, AES-GCM, x25519 and P-256 ECDH,
 * random bytes. The agent already links libcrypto (keyd/core); nothing here needs libssl,
 * so an early-boot image with the agent still holds no libssl.
 *
 * Unlike the test backend (tests/tls13/crypto_openssl.c) this one takes no fixed private
 * keys (-EOPNOTSUPP, which the interface allows) and caches nothing: every handshake runs
 * in its own forked child, with fresh ephemeral keys.
 */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "tls13_crypto.h"

struct tls13_hash {
	EVP_MD_CTX *ctx;
};

struct tls13_aead {
	EVP_CIPHER_CTX *ctx;
	const EVP_CIPHER *cipher;
	u8 key[32];
	size_t key_len;
};

struct tls13_ecdh {
	enum tls13_group group;
	EVP_PKEY *pkey;
};

static const EVP_MD *tls13_md(enum tls13_hash_alg alg)
{
	return alg == TLS13_SHA384 ? EVP_sha384() : EVP_sha256();
}

int tls13_hash_new(enum tls13_hash_alg alg, struct tls13_hash **ret)
{
	struct tls13_hash *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || EVP_DigestInit_ex(h->ctx, tls13_md(alg), NULL) != 1) {
		tls13_hash_free(h);
		return -EIO;
	}
	*ret = h;
	return 0;
}

int tls13_hash_update(struct tls13_hash *h, const u8 *data, size_t len)
{
	return EVP_DigestUpdate(h->ctx, data, len) == 1 ? 0 : -EIO;
}

int tls13_hash_final(struct tls13_hash *h, u8 *out)
{
	int ok = EVP_DigestFinal_ex(h->ctx, out, NULL);

	tls13_hash_free(h);
	return ok == 1 ? 0 : -EIO;
}

void tls13_hash_free(struct tls13_hash *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

int tls13_hmac(enum tls13_hash_alg alg, const u8 *key, size_t key_len,
	       const struct tls13_iov *iov, unsigned int n, u8 *out)
{
	OSSL_PARAM params[2] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						 alg == TLS13_SHA384 ? "SHA384" : "SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	size_t len = 0;
	unsigned int i;
	int r = -EIO;

	if (!ctx || EVP_MAC_init(ctx, key, key_len, params) != 1)
		goto out;
	for (i = 0; i < n; i++)
		if (iov[i].n && EVP_MAC_update(ctx, iov[i].p, iov[i].n) != 1)
			goto out;
	if (EVP_MAC_final(ctx, out, &len, tls13_hash_len(alg)) != 1 ||
	    len != tls13_hash_len(alg))
		goto out;
	r = 0;
out:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return r;
}

int tls13_aead_new(const u8 *key, size_t key_len, struct tls13_aead **ret)
{
	struct tls13_aead *a;

	if (key_len != 16 && key_len != 32)
		return -EINVAL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->ctx = EVP_CIPHER_CTX_new();
	if (!a->ctx) {
		free(a);
		return -ENOMEM;
	}
	a->cipher = key_len == 32 ? EVP_aes_256_gcm() : EVP_aes_128_gcm();
	memcpy(a->key, key, key_len);
	a->key_len = key_len;
	*ret = a;
	return 0;
}

int tls13_aead_seal(struct tls13_aead *a, const u8 *nonce, const u8 *aad, size_t aad_len,
		    const u8 *in, size_t len, u8 *out)
{
	int n;

	if (EVP_EncryptInit_ex(a->ctx, a->cipher, NULL, a->key, nonce) != 1 ||
	    EVP_EncryptUpdate(a->ctx, NULL, &n, aad, (int)aad_len) != 1 ||
	    (len && EVP_EncryptUpdate(a->ctx, out, &n, in, (int)len) != 1) ||
	    EVP_EncryptFinal_ex(a->ctx, out + len, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_GCM_GET_TAG, TLS13_AEAD_TAG, out + len) != 1)
		return -EIO;
	return 0;
}

int tls13_aead_open(struct tls13_aead *a, const u8 *nonce, const u8 *aad, size_t aad_len,
		    const u8 *in, size_t len, u8 *out)
{
	u8 tag[TLS13_AEAD_TAG];
	size_t clen;
	int n;

	if (len < TLS13_AEAD_TAG)
		return -EBADMSG;
	clen = len - TLS13_AEAD_TAG;
	/* Decrypting in place: keep the tag before the plaintext may overwrite it. */
	memcpy(tag, in + clen, TLS13_AEAD_TAG);
	if (EVP_DecryptInit_ex(a->ctx, a->cipher, NULL, a->key, nonce) != 1 ||
	    EVP_DecryptUpdate(a->ctx, NULL, &n, aad, (int)aad_len) != 1 ||
	    (clen && EVP_DecryptUpdate(a->ctx, out, &n, in, (int)clen) != 1) ||
	    EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_GCM_SET_TAG, TLS13_AEAD_TAG, tag) != 1)
		return -EIO;
	if (EVP_DecryptFinal_ex(a->ctx, out + clen, &n) != 1) {
		explicit_bzero(out, clen);
		return -EBADMSG;
	}
	return 0;
}

void tls13_aead_free(struct tls13_aead *a)
{
	if (!a)
		return;
	EVP_CIPHER_CTX_free(a->ctx);
	explicit_bzero(a, sizeof(*a));
	free(a);
}

int tls13_ecdh_new(enum tls13_group group, const u8 *priv, struct tls13_ecdh **ret)
{
	struct tls13_ecdh *e;

	if (group != TLS13_GROUP_X25519 && group != TLS13_GROUP_P256)
		return -EOPNOTSUPP;
	/* Fixed keys exist for test vectors only; the agent never takes one. */
	if (priv)
		return -EOPNOTSUPP;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->group = group;
	e->pkey = group == TLS13_GROUP_X25519 ? EVP_PKEY_Q_keygen(NULL, NULL, "X25519")
					      : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!e->pkey) {
		free(e);
		return -EIO;
	}
	*ret = e;
	return 0;
}

int tls13_ecdh_public(struct tls13_ecdh *e, u8 *out, size_t cap, size_t *ret_len)
{
	size_t n = cap;

	if (e->group == TLS13_GROUP_X25519) {
		if (EVP_PKEY_get_raw_public_key(e->pkey, out, &n) != 1 || n != 32)
			return -EIO;
	} else if (EVP_PKEY_get_octet_string_param(e->pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
						   out, cap, &n) != 1 ||
		   n != 65) {
		/* P-256: the uncompressed point, libcrypto's default encoding. */
		return -EIO;
	}
	*ret_len = n;
	return 0;
}

int tls13_ecdh_derive(struct tls13_ecdh *e, const u8 *peer, size_t peer_len,
		      u8 *out, size_t cap, size_t *ret_len)
{
	EVP_PKEY *pp = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	size_t n = cap;
	int r = -EINVAL;

	if (e->group == TLS13_GROUP_X25519) {
		if (peer_len != 32)
			return -EINVAL;
		pp = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer, 32);
	} else {
		if (peer_len != 65 || peer[0] != 4)
			return -EINVAL;
		pp = EVP_PKEY_new();
		if (pp && (EVP_PKEY_copy_parameters(pp, e->pkey) != 1 ||
			   EVP_PKEY_set1_encoded_public_key(pp, peer, peer_len) != 1)) {
			EVP_PKEY_free(pp);
			pp = NULL;
		}
	}
	if (!pp)
		return -EINVAL;
	ctx = EVP_PKEY_CTX_new(e->pkey, NULL);
	/* libcrypto refuses points off the curve and an all-zero x25519 result (RFC 8446
	 * 7.4.2); set_peer also checks the peer key. */
	if (ctx && EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer(ctx, pp) == 1 &&
	    EVP_PKEY_derive(ctx, out, &n) == 1 && n <= cap) {
		*ret_len = n;
		r = 0;
	}
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pp);
	return r;
}

void tls13_ecdh_free(struct tls13_ecdh *e)
{
	if (!e)
		return;
	EVP_PKEY_free(e->pkey);
	free(e);
}

int tls13_random(u8 *buf, size_t len)
{
	return RAND_bytes(buf, (int)len) == 1 ? 0 : -EIO;
}
