// SPDX-License-Identifier: GPL-2.0-only
/*
 * tls13_crypto.h on the kernel crypto API, for the in-kernel TLS 1.3 PSK
 * client (NVMe/TCP). Algorithms used, all in Debian's 6.12 configuration:
 *   "sha256", "sha384", "hmac(sha256)", "hmac(sha384)"   (shash)
 *   "gcm(aes)"                                           (aead; kTLS needs it too)
 *   "ecdh-nist-p256"                                     (kpp)
 *   lib/crypto curve25519 (CONFIG_CRYPTO_LIB_CURVE25519) for x25519
 *
 * The client context is kvzalloc()ed, so its buffers may be vmalloc memory,
 * which a scatterlist cannot point at: AEAD and KPP data go through small
 * kmalloc() bounce buffers, wiped before they are freed.
 *
 * Runs in process context (the handshake runs in a kernel thread or work
 * item that may sleep); asynchronous implementations are waited for.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/random.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <crypto/aead.h>
#include <crypto/curve25519.h>
#include <crypto/ecdh.h>
#include <crypto/hash.h>
#include <crypto/kpp.h>

#include "tls13_crypto.h"

struct tls13_hash {
	struct crypto_shash *tfm;
	struct shash_desc *desc;
};

struct tls13_aead {
	struct crypto_aead *tfm;
};

struct tls13_ecdh {
	enum tls13_group group;
	u8 x25519_secret[CURVE25519_KEY_SIZE];
	u8 public[TLS13_MAX_PUBLIC];
	size_t public_len;
	struct crypto_kpp *kpp;		/* P-256 */
};

static const char *tls13_hash_name(enum tls13_hash_alg alg, bool hmac)
{
	if (alg == TLS13_SHA384)
		return hmac ? "hmac(sha384)" : "sha384";
	return hmac ? "hmac(sha256)" : "sha256";
}

static struct shash_desc *tls13_desc_alloc(struct crypto_shash *tfm)
{
	struct shash_desc *desc;

	desc = kzalloc(sizeof(*desc) + crypto_shash_descsize(tfm), GFP_KERNEL);
	if (desc)
		desc->tfm = tfm;
	return desc;
}

static void tls13_desc_free(struct shash_desc *desc)
{
	if (desc)
		kfree_sensitive(desc);
}

int tls13_hash_new(enum tls13_hash_alg alg, struct tls13_hash **ret)
{
	struct tls13_hash *h;
	int r;

	h = kzalloc(sizeof(*h), GFP_KERNEL);
	if (!h)
		return -ENOMEM;
	h->tfm = crypto_alloc_shash(tls13_hash_name(alg, false), 0, 0);
	if (IS_ERR(h->tfm)) {
		r = PTR_ERR(h->tfm);
		h->tfm = NULL;
		goto fail;
	}
	h->desc = tls13_desc_alloc(h->tfm);
	if (!h->desc) {
		r = -ENOMEM;
		goto fail;
	}
	r = crypto_shash_init(h->desc);
	if (r)
		goto fail;
	*ret = h;
	return 0;
fail:
	tls13_hash_free(h);
	return r;
}

int tls13_hash_update(struct tls13_hash *h, const u8 *data, size_t len)
{
	return crypto_shash_update(h->desc, data, len);
}

int tls13_hash_final(struct tls13_hash *h, u8 *out)
{
	int r = crypto_shash_final(h->desc, out);

	tls13_hash_free(h);
	return r;
}

void tls13_hash_free(struct tls13_hash *h)
{
	if (!h)
		return;
	tls13_desc_free(h->desc);
	crypto_free_shash(h->tfm);
	kfree(h);
}

int tls13_hmac(enum tls13_hash_alg alg, const u8 *key, size_t key_len,
	       const struct tls13_iov *iov, unsigned int n, u8 *out)
{
	struct crypto_shash *tfm;
	struct shash_desc *desc = NULL;
	unsigned int i;
	int r;

	/* A handshake makes a few dozen HMACs: a transform per call keeps this simple. */
	tfm = crypto_alloc_shash(tls13_hash_name(alg, true), 0, 0);
	if (IS_ERR(tfm))
		return PTR_ERR(tfm);
	r = crypto_shash_setkey(tfm, key, key_len);
	if (r)
		goto out;
	desc = tls13_desc_alloc(tfm);
	if (!desc) {
		r = -ENOMEM;
		goto out;
	}
	r = crypto_shash_init(desc);
	for (i = 0; !r && i < n; i++)
		if (iov[i].n)
			r = crypto_shash_update(desc, iov[i].p, iov[i].n);
	if (!r)
		r = crypto_shash_final(desc, out);
out:
	tls13_desc_free(desc);
	crypto_free_shash(tfm);	/* the key schedule of the transform is zeroed on free */
	return r;
}

int tls13_aead_new(const u8 *key, size_t key_len, struct tls13_aead **ret)
{
	struct tls13_aead *a;
	int r;

	if (key_len != 16 && key_len != 32)
		return -EINVAL;
	a = kzalloc(sizeof(*a), GFP_KERNEL);
	if (!a)
		return -ENOMEM;
	a->tfm = crypto_alloc_aead("gcm(aes)", 0, 0);
	if (IS_ERR(a->tfm)) {
		r = PTR_ERR(a->tfm);
		kfree(a);
		return r;
	}
	r = crypto_aead_setkey(a->tfm, key, key_len);
	if (!r)
		r = crypto_aead_setauthsize(a->tfm, TLS13_AEAD_TAG);
	if (r) {
		tls13_aead_free(a);
		return r;
	}
	*ret = a;
	return 0;
}

/* One AEAD operation over a bounce buffer aad || data || tag. */
static int tls13_aead_crypt(struct tls13_aead *a, bool enc, const u8 *nonce, const u8 *aad,
			    size_t aad_len, const u8 *in, size_t len, u8 *out)
{
	size_t out_len = enc ? len + TLS13_AEAD_TAG : len - TLS13_AEAD_TAG;
	size_t buf_len = aad_len + (enc ? out_len : len);
	DECLARE_CRYPTO_WAIT(wait);
	struct aead_request *req;
	struct scatterlist sg;
	u8 iv[TLS13_AEAD_NONCE];
	u8 *buf;
	int r;

	buf = kmalloc(buf_len, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	req = aead_request_alloc(a->tfm, GFP_KERNEL);
	if (!req) {
		kfree(buf);
		return -ENOMEM;
	}
	memcpy(buf, aad, aad_len);
	memcpy(buf + aad_len, in, len);
	memcpy(iv, nonce, sizeof(iv));
	sg_init_one(&sg, buf, buf_len);
	aead_request_set_callback(req, CRYPTO_TFM_REQ_MAY_SLEEP | CRYPTO_TFM_REQ_MAY_BACKLOG,
				  crypto_req_done, &wait);
	aead_request_set_ad(req, aad_len);
	/* cryptlen: the plaintext when encrypting, ciphertext + tag when decrypting. */
	aead_request_set_crypt(req, &sg, &sg, len, iv);
	r = crypto_wait_req(enc ? crypto_aead_encrypt(req) : crypto_aead_decrypt(req), &wait);
	if (r == -EBADMSG || (!enc && r))
		r = -EBADMSG;
	else if (!r)
		memcpy(out, buf + aad_len, out_len);
	aead_request_free(req);
	kfree_sensitive(buf);
	return r;
}

int tls13_aead_seal(struct tls13_aead *a, const u8 *nonce, const u8 *aad, size_t aad_len,
		    const u8 *in, size_t len, u8 *out)
{
	return tls13_aead_crypt(a, true, nonce, aad, aad_len, in, len, out);
}

int tls13_aead_open(struct tls13_aead *a, const u8 *nonce, const u8 *aad, size_t aad_len,
		    const u8 *in, size_t len, u8 *out)
{
	if (len < TLS13_AEAD_TAG)
		return -EBADMSG;
	return tls13_aead_crypt(a, false, nonce, aad, aad_len, in, len, out);
}

void tls13_aead_free(struct tls13_aead *a)
{
	if (!a)
		return;
	crypto_free_aead(a->tfm);
	kfree(a);
}

/* Run one KPP operation: src (may be NULL) -> dst, through bounce buffers. */
static int tls13_kpp_run(struct crypto_kpp *tfm, bool shared, const u8 *src, size_t src_len,
			 u8 *dst, size_t dst_len)
{
	DECLARE_CRYPTO_WAIT(wait);
	struct scatterlist sg_src, sg_dst;
	struct kpp_request *req;
	u8 *bsrc = NULL, *bdst;
	int r = -ENOMEM;

	bdst = kzalloc(dst_len, GFP_KERNEL);
	if (!bdst)
		return -ENOMEM;
	if (src) {
		bsrc = kmemdup(src, src_len, GFP_KERNEL);
		if (!bsrc)
			goto out;
	}
	req = kpp_request_alloc(tfm, GFP_KERNEL);
	if (!req)
		goto out;
	if (bsrc)
		sg_init_one(&sg_src, bsrc, src_len);
	sg_init_one(&sg_dst, bdst, dst_len);
	kpp_request_set_input(req, bsrc ? &sg_src : NULL, src_len);
	kpp_request_set_output(req, &sg_dst, dst_len);
	kpp_request_set_callback(req, CRYPTO_TFM_REQ_MAY_BACKLOG, crypto_req_done, &wait);
	r = crypto_wait_req(shared ? crypto_kpp_compute_shared_secret(req) :
				     crypto_kpp_generate_public_key(req), &wait);
	if (!r)
		memcpy(dst, bdst, dst_len);
	kpp_request_free(req);
out:
	kfree_sensitive(bsrc);
	kfree_sensitive(bdst);
	return r;
}

static int tls13_p256_new(struct tls13_ecdh *e, const u8 *priv)
{
	struct ecdh params = { .key = (char *)priv, .key_size = priv ? 32 : 0 };
	unsigned int len = crypto_ecdh_key_len(&params);
	u8 *packed;
	int r;

	e->kpp = crypto_alloc_kpp("ecdh-nist-p256", 0, 0);
	if (IS_ERR(e->kpp)) {
		r = PTR_ERR(e->kpp);
		e->kpp = NULL;
		return r;
	}
	packed = kmalloc(len, GFP_KERNEL);
	if (!packed)
		return -ENOMEM;
	/* key_size 0: the kernel generates the private key itself. */
	r = crypto_ecdh_encode_key(packed, len, &params);
	if (!r)
		r = crypto_kpp_set_secret(e->kpp, packed, len);
	kfree_sensitive(packed);
	if (r)
		return r;
	/* The kernel's public key is X || Y, big endian; TLS wants 0x04 || X || Y. */
	e->public[0] = 0x04;
	r = tls13_kpp_run(e->kpp, false, NULL, 0, e->public + 1, 64);
	if (r)
		return r;
	e->public_len = 65;
	return 0;
}

int tls13_ecdh_new(enum tls13_group group, const u8 *priv, struct tls13_ecdh **ret)
{
	struct tls13_ecdh *e;
	int r = 0;

	if (group != TLS13_GROUP_X25519 && group != TLS13_GROUP_P256)
		return -EOPNOTSUPP;
	e = kzalloc(sizeof(*e), GFP_KERNEL);
	if (!e)
		return -ENOMEM;
	e->group = group;
	if (group == TLS13_GROUP_X25519) {
		if (priv) {
			memcpy(e->x25519_secret, priv, CURVE25519_KEY_SIZE);
			curve25519_clamp_secret(e->x25519_secret);
		} else {
			curve25519_generate_secret(e->x25519_secret);
		}
		if (!curve25519_generate_public(e->public, e->x25519_secret))
			r = -EIO;
		e->public_len = CURVE25519_KEY_SIZE;
	} else {
		r = tls13_p256_new(e, priv);
	}
	if (r) {
		tls13_ecdh_free(e);
		return r;
	}
	*ret = e;
	return 0;
}

int tls13_ecdh_public(struct tls13_ecdh *e, u8 *out, size_t cap, size_t *ret_len)
{
	if (cap < e->public_len)
		return -ENOBUFS;
	memcpy(out, e->public, e->public_len);
	*ret_len = e->public_len;
	return 0;
}

int tls13_ecdh_derive(struct tls13_ecdh *e, const u8 *peer, size_t peer_len,
		      u8 *out, size_t cap, size_t *ret_len)
{
	int r;

	if (cap < 32)
		return -ENOBUFS;
	if (e->group == TLS13_GROUP_X25519) {
		if (peer_len != CURVE25519_KEY_SIZE)
			return -EINVAL;
		/* false for an all-zero result: a small-order point (RFC 8446 7.4.2). */
		if (!curve25519(out, e->x25519_secret, peer))
			return -EINVAL;
	} else {
		if (peer_len != 65 || peer[0] != 0x04)
			return -EINVAL;
		/* The kernel checks the point is on the curve (full public key validation). */
		r = tls13_kpp_run(e->kpp, true, peer + 1, 64, out, 32);
		if (r)
			return -EINVAL;
	}
	*ret_len = 32;
	return 0;
}

void tls13_ecdh_free(struct tls13_ecdh *e)
{
	if (!e)
		return;
	if (e->kpp)
		crypto_free_kpp(e->kpp);
	kfree_sensitive(e);
}

int tls13_random(u8 *buf, size_t len)
{
	get_random_bytes(buf, len);
	return 0;
}
