/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The crypto interface of the TLS 1.3 PSK core (kernel-patches/tls13-psk/tls13_crypto.h)
 * on libcrypto: SHA-256/384, HMAC, AES-GCM, x25519 and P-256 ECDH, random bytes. The only
 * libcrypto backend of the core; nothing here needs libssl, so an early-boot image with the
 * agent still holds no libssl.
 *
 * keyd-handshaked builds it plain: no fixed private keys (-EOPNOTSUPP, which the interface
 * allows) and no caches, since every handshake runs in its own forked child with fresh
 * ephemeral keys. The unit tests, fuzz targets and test tools build it with
 * TLS13_CRYPTO_TEST_KEYS (tests/tls13/crypto_test.c): then it takes fixed private scalars
 * (RFC 8448 vectors, deterministic flights) and caches digest and cipher fetches, fixed key
 * objects and their shared secrets, which is what makes the fuzzer fast. Those builds are
 * single-threaded; the cached objects live until exit.
 */
#include <stdbool.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#ifdef TLS13_CRYPTO_TEST_KEYS
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#endif

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

/* Test builds fetch once: OpenSSL 3 fetches are slow, and the fuzzer hashes a lot. */
static const EVP_MD *tls13_md(enum tls13_hash_alg alg)
{
#ifdef TLS13_CRYPTO_TEST_KEYS
	static EVP_MD *md[2];
	int i = alg == TLS13_SHA384;

	if (!md[i])
		md[i] = EVP_MD_fetch(NULL, i ? "SHA384" : "SHA256", NULL);
	return md[i];
#else
	return alg == TLS13_SHA384 ? EVP_sha384() : EVP_sha256();
#endif
}

static const EVP_CIPHER *tls13_gcm(size_t key_len)
{
#ifdef TLS13_CRYPTO_TEST_KEYS
	static EVP_CIPHER *c[2];
	int i = key_len == 32;

	if (!c[i])
		c[i] = EVP_CIPHER_fetch(NULL, i ? "AES-256-GCM" : "AES-128-GCM", NULL);
	return c[i];
#else
	return key_len == 32 ? EVP_aes_256_gcm() : EVP_aes_128_gcm();
#endif
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

/*
 * HMAC (RFC 2104) over tls13_md(): H((K ^ opad) || H((K ^ ipad) || m)). Written out
 * because EVP_MAC fetches on every call in OpenSSL 3.0, which made the fuzzer several times
 * slower; the agent runs the same code, so the RFC 8448 vectors of unit/test-tls13 cover it.
 */
int tls13_hmac(enum tls13_hash_alg alg, const u8 *key, size_t key_len,
	       const struct tls13_iov *iov, unsigned int n, u8 *out)
{
	const EVP_MD *md = tls13_md(alg);
	size_t block = alg == TLS13_SHA384 ? 128 : 64, hlen = tls13_hash_len(alg);
	u8 k[128] = { 0 }, pad[128], inner[TLS13_MAX_HASH];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int i;
	int r = -EIO;

	if (!ctx || !md)
		goto out;
	if (key_len > block) {
		if (EVP_Digest(key, key_len, k, NULL, md, NULL) != 1)
			goto out;
	} else {
		memcpy(k, key, key_len);
	}
	for (i = 0; i < block; i++)
		pad[i] = k[i] ^ 0x36;
	if (EVP_DigestInit_ex(ctx, md, NULL) != 1 || EVP_DigestUpdate(ctx, pad, block) != 1)
		goto out;
	for (i = 0; i < n; i++)
		if (iov[i].n && EVP_DigestUpdate(ctx, iov[i].p, iov[i].n) != 1)
			goto out;
	if (EVP_DigestFinal_ex(ctx, inner, NULL) != 1)
		goto out;
	for (i = 0; i < block; i++)
		pad[i] = k[i] ^ 0x5c;
	if (EVP_DigestInit_ex(ctx, md, NULL) != 1 || EVP_DigestUpdate(ctx, pad, block) != 1 ||
	    EVP_DigestUpdate(ctx, inner, hlen) != 1 || EVP_DigestFinal_ex(ctx, out, NULL) != 1)
		goto out;
	r = 0;
out:
	EVP_MD_CTX_free(ctx);
	explicit_bzero(k, sizeof(k));
	explicit_bzero(pad, sizeof(pad));
	explicit_bzero(inner, sizeof(inner));
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
	a->cipher = tls13_gcm(key_len);
	if (!a->cipher) {
		tls13_aead_free(a);
		return -EIO;
	}
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

#ifdef TLS13_CRYPTO_TEST_KEYS
/* P-256 key from a fixed private scalar (tests): libcrypto derives the public point. */
static EVP_PKEY *tls13_p256_from_priv(const u8 *priv)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *d = BN_bin2bn(priv, 32, NULL);
	EC_GROUP *grp = NULL;
	EC_POINT *pub = NULL;
	u8 pubbuf[65];

	if (!d)
		return NULL;
	grp = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	pub = grp ? EC_POINT_new(grp) : NULL;
	if (!pub || EC_POINT_mul(grp, pub, d, NULL, NULL, NULL) != 1 ||
	    EC_POINT_point2oct(grp, pub, POINT_CONVERSION_UNCOMPRESSED, pubbuf, sizeof(pubbuf),
			       NULL) != sizeof(pubbuf))
		goto out;
	bld = OSSL_PARAM_BLD_new();
	if (!bld ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pubbuf,
					      sizeof(pubbuf)))
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) != 1)
		pkey = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EC_POINT_free(pub);
	EC_GROUP_free(grp);
	BN_clear_free(d);
	return pkey;
}

/*
 * Tests and the fuzzer use a few fixed private keys over and over; the key objects and
 * their shared secrets with fixed peers are cached, because scalar multiplications
 * dominated the fuzzer's time. Fresh (random) keys never enter the cache.
 */
#define TLS13_CACHE 8
static struct {
	enum tls13_group group;
	u8 priv[32];
	EVP_PKEY *pkey;
} key_cache[TLS13_CACHE];
static struct {
	EVP_PKEY *pkey;
	u8 peer[TLS13_MAX_PUBLIC];
	size_t peer_len;
	u8 secret[TLS13_MAX_SHARED];
	size_t secret_len;
} dh_cache[TLS13_CACHE];
static unsigned int key_cache_next, dh_cache_next;

static EVP_PKEY *tls13_fixed_key(enum tls13_group group, const u8 *priv)
{
	EVP_PKEY *pkey;
	unsigned int i;

	for (i = 0; i < TLS13_CACHE; i++)
		if (key_cache[i].pkey && key_cache[i].group == group &&
		    !memcmp(key_cache[i].priv, priv, 32))
			return EVP_PKEY_up_ref(key_cache[i].pkey) == 1 ? key_cache[i].pkey : NULL;
	pkey = group == TLS13_GROUP_X25519 ?
		       EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, 32) :
		       tls13_p256_from_priv(priv);
	if (!pkey || EVP_PKEY_up_ref(pkey) != 1)
		return pkey;
	i = key_cache_next++ % TLS13_CACHE;
	EVP_PKEY_free(key_cache[i].pkey);
	key_cache[i].group = group;
	memcpy(key_cache[i].priv, priv, 32);
	key_cache[i].pkey = pkey;
	return pkey;
}

/* A secret derived before from the same cached key and peer: true and *ret_len set. */
static bool tls13_dh_cache_get(const EVP_PKEY *pkey, const u8 *peer, size_t peer_len,
			       u8 *out, size_t cap, size_t *ret_len)
{
	unsigned int i;

	for (i = 0; i < TLS13_CACHE; i++)
		if (dh_cache[i].pkey && dh_cache[i].pkey == pkey &&
		    dh_cache[i].peer_len == peer_len && !memcmp(dh_cache[i].peer, peer, peer_len) &&
		    dh_cache[i].secret_len <= cap) {
			memcpy(out, dh_cache[i].secret, dh_cache[i].secret_len);
			*ret_len = dh_cache[i].secret_len;
			return true;
		}
	return false;
}

static void tls13_dh_cache_put(EVP_PKEY *pkey, const u8 *peer, size_t peer_len,
			       const u8 *secret, size_t len)
{
	unsigned int i;

	for (i = 0; i < TLS13_CACHE; i++)
		if (key_cache[i].pkey == pkey)
			break;
	if (i == TLS13_CACHE || peer_len > TLS13_MAX_PUBLIC || len > TLS13_MAX_SHARED)
		return;
	i = dh_cache_next++ % TLS13_CACHE;
	dh_cache[i].pkey = pkey;
	memcpy(dh_cache[i].peer, peer, peer_len);
	dh_cache[i].peer_len = peer_len;
	memcpy(dh_cache[i].secret, secret, len);
	dh_cache[i].secret_len = len;
}
#else
/* keyd-handshaked: fixed keys exist for test vectors only, and nothing is cached. */
static EVP_PKEY *tls13_fixed_key(enum tls13_group group, const u8 *priv)
{
	(void)group;
	(void)priv;
	return NULL;
}

static bool tls13_dh_cache_get(const EVP_PKEY *pkey, const u8 *peer, size_t peer_len,
			       u8 *out, size_t cap, size_t *ret_len)
{
	(void)pkey, (void)peer, (void)peer_len, (void)out, (void)cap, (void)ret_len;
	return false;
}

static void tls13_dh_cache_put(EVP_PKEY *pkey, const u8 *peer, size_t peer_len,
			       const u8 *secret, size_t len)
{
	(void)pkey, (void)peer, (void)peer_len, (void)secret, (void)len;
}
#endif

int tls13_ecdh_new(enum tls13_group group, const u8 *priv, struct tls13_ecdh **ret)
{
	struct tls13_ecdh *e;

	if (group != TLS13_GROUP_X25519 && group != TLS13_GROUP_P256)
		return -EOPNOTSUPP;
#ifndef TLS13_CRYPTO_TEST_KEYS
	/* Fixed keys exist for test vectors only; the agent never takes one. */
	if (priv)
		return -EOPNOTSUPP;
#endif
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->group = group;
	if (priv)
		e->pkey = tls13_fixed_key(group, priv);
	else if (group == TLS13_GROUP_X25519)
		e->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	else
		e->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
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

	if (tls13_dh_cache_get(e->pkey, peer, peer_len, out, cap, ret_len))
		return 0;
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
		tls13_dh_cache_put(e->pkey, peer, peer_len, out, n);
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
