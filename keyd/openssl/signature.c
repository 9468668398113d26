/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Signatures with keyd's keys: ECDSA (DER ECDSA-Sig-Value), RSASSA-PKCS1-v1_5
 * and RSASSA-PSS with salt length = digest length and MGF1 with the same hash,
 * each over SHA-256, SHA-384 or SHA-512 (what keyd's SIGN carries). Messages
 * are hashed here, in the provider's own library context; keyd signs the
 * digest. Anything keyd cannot do (another digest, another salt length, no
 * padding) is refused when it is set, with KEYD_OSSL_R_UNSUPPORTED, rather than
 * failing later.
 *
 * Verification, and signing with plain keys (provider.h), is delegated to the
 * default provider in the provider's library context: when keyd.so comes first
 * OpenSSL asks it to verify certificates and handshake signatures too.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

#include "provider.h"

struct sig_ctx {
	struct keyd_ossl_prov *prov;
	struct keyd_ossl_key *key;
	bool is_ec;
	int pad;       /* RSA_PKCS1_PADDING or RSA_PKCS1_PSS_PADDING */
	uint32_t hash; /* KEYD_PROTO_HASH_*, 0 = not chosen yet */
	EVP_MD_CTX *md; /* digest_sign_* only */

	/* Delegated operations: one of these, in prov->libctx. */
	bool delegate;
	EVP_MD_CTX *dmd;    /* digest_sign/verify: its EVP_PKEY_CTX is owned by it */
	EVP_PKEY_CTX *dctx; /* sign/verify on a digest */
};

/* Where the parameters of a delegated operation go. */
static EVP_PKEY_CTX *delegate_pctx(const struct sig_ctx *c)
{
	return c->dmd ? EVP_MD_CTX_get_pkey_ctx(c->dmd) : c->dctx;
}

static void delegate_reset(struct sig_ctx *c)
{
	EVP_MD_CTX_free(c->dmd);
	EVP_PKEY_CTX_free(c->dctx);
	c->dmd = NULL;
	c->dctx = NULL;
	c->delegate = false;
}

/* AlgorithmIdentifier DER for certificates and requests signed with these keys.
 * OIDs: ecdsa-with-SHA256/384/512 1.2.840.10045.4.3.2/3/4 without parameters
 * (RFC 5758 3.2); sha256/384/512WithRSAEncryption 1.2.840.113549.1.1.11/12/13
 * with NULL parameters (RFC 4055 5). */
static const uint8_t algid_ecdsa[3][12] = {
	{ 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 },
	{ 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03 },
	{ 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04 },
};
static const uint8_t algid_rsa[3][15] = {
	{ 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b,
	  0x05, 0x00 },
	{ 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c,
	  0x05, 0x00 },
	{ 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d,
	  0x05, 0x00 },
};

static size_t hash_size(uint32_t hash)
{
	switch (hash) {
	case KEYD_PROTO_HASH_SHA256:
		return 32;
	case KEYD_PROTO_HASH_SHA384:
		return 48;
	case KEYD_PROTO_HASH_SHA512:
		return 64;
	default:
		return 0;
	}
}

static const char *hash_name(uint32_t hash)
{
	switch (hash) {
	case KEYD_PROTO_HASH_SHA384:
		return "SHA2-384";
	case KEYD_PROTO_HASH_SHA512:
		return "SHA2-512";
	default:
		return "SHA2-256";
	}
}

/* keyd's hash for an OpenSSL digest name, 0 if keyd cannot sign it. */
static uint32_t hash_from_name(struct keyd_ossl_prov *p, const char *mdname)
{
	EVP_MD *md = EVP_MD_fetch(keyd_ossl_libctx(p), mdname, NULL);
	uint32_t h = 0;

	if (!md)
		return 0;
	if (EVP_MD_is_a(md, "SHA2-256"))
		h = KEYD_PROTO_HASH_SHA256;
	else if (EVP_MD_is_a(md, "SHA2-384"))
		h = KEYD_PROTO_HASH_SHA384;
	else if (EVP_MD_is_a(md, "SHA2-512"))
		h = KEYD_PROTO_HASH_SHA512;
	EVP_MD_free(md);
	return h;
}

static int set_digest(struct sig_ctx *c, const char *mdname)
{
	uint32_t h = hash_from_name(c->prov, mdname);

	if (!h) {
		keyd_ossl_error(c->prov, KEYD_OSSL_R_UNSUPPORTED,
				"digest '%.40s': keyd signs SHA-256, SHA-384 or SHA-512 digests",
				mdname);
		return 0;
	}
	c->hash = h;
	return 1;
}

static void *sig_newctx(void *provctx, const char *propq, bool is_ec)
{
	struct sig_ctx *c = calloc(1, sizeof(*c));

	(void)propq;
	if (!c) {
		keyd_ossl_error(provctx, KEYD_OSSL_R_INTERNAL, "out of memory");
		return NULL;
	}
	c->prov = provctx;
	c->is_ec = is_ec;
	c->pad = RSA_PKCS1_PADDING;
	return c;
}

static void *sig_newctx_ec(void *provctx, const char *propq)
{
	return sig_newctx(provctx, propq, true);
}

static void *sig_newctx_rsa(void *provctx, const char *propq)
{
	return sig_newctx(provctx, propq, false);
}

static void sig_freectx(void *ctx)
{
	struct sig_ctx *c = ctx;

	if (!c)
		return;
	keyd_ossl_key_unref(c->key);
	EVP_MD_CTX_free(c->md);
	delegate_reset(c);
	free(c);
}

static void *sig_dupctx(void *ctx)
{
	struct sig_ctx *c = ctx, *d;

	d = malloc(sizeof(*d));
	if (!d)
		return NULL;
	*d = *c;
	d->md = d->dmd = NULL;
	d->dctx = NULL;
	keyd_ossl_key_ref(d->key);
	if (c->md) {
		d->md = EVP_MD_CTX_new();
		if (!d->md || !EVP_MD_CTX_copy_ex(d->md, c->md))
			goto fail;
	}
	if (c->dmd) {
		d->dmd = EVP_MD_CTX_new();
		if (!d->dmd || !EVP_MD_CTX_copy_ex(d->dmd, c->dmd))
			goto fail;
	}
	if (c->dctx) {
		d->dctx = EVP_PKEY_CTX_dup(c->dctx);
		if (!d->dctx)
			goto fail;
	}
	return d;
fail:
	sig_freectx(d);
	return NULL;
}

static int sig_set_ctx_params(void *ctx, const OSSL_PARAM params[]);

enum op { OP_SIGN, OP_VERIFY };

/* Set up c for key k. Returns 1 when keyd signs, 2 when the operation is
 * delegated (the caller then starts it on prov->libctx), 0 on error. */
static int sig_setup(struct sig_ctx *c, struct keyd_ossl_key *k, enum op op)
{
	if (!k || !k->pkey || k->is_ec != c->is_ec) {
		keyd_ossl_error(c->prov, KEYD_OSSL_R_BAD_KEY, "not a key of this kind");
		return 0;
	}
	keyd_ossl_key_unref(c->key);
	c->key = keyd_ossl_key_ref(k);
	delegate_reset(c);
	EVP_MD_CTX_free(c->md);
	c->md = NULL;
	c->hash = 0;
	c->pad = RSA_PKCS1_PADDING;
	if (op == OP_SIGN && k->name[0])
		return 1;
	c->delegate = true;
	return 2;
}

static int sig_init(void *ctx, void *provkey, const OSSL_PARAM params[])
{
	struct sig_ctx *c = ctx;
	int r = sig_setup(c, provkey, OP_SIGN);

	if (r == 2) {
		c->dctx = EVP_PKEY_CTX_new_from_pkey(keyd_ossl_libctx(c->prov), c->key->pkey, NULL);
		return c->dctx && EVP_PKEY_sign_init_ex(c->dctx, params) == 1;
	}
	return r == 1 && sig_set_ctx_params(c, params);
}

static int sig_verify_init(void *ctx, void *provkey, const OSSL_PARAM params[])
{
	struct sig_ctx *c = ctx;

	if (sig_setup(c, provkey, OP_VERIFY) != 2)
		return 0;
	c->dctx = EVP_PKEY_CTX_new_from_pkey(keyd_ossl_libctx(c->prov), c->key->pkey, NULL);
	return c->dctx && EVP_PKEY_verify_init_ex(c->dctx, params) == 1;
}

static int sig_verify(void *ctx, const unsigned char *sig, size_t siglen,
		      const unsigned char *tbs, size_t tbslen)
{
	struct sig_ctx *c = ctx;

	return c->dctx && EVP_PKEY_verify(c->dctx, sig, siglen, tbs, tbslen) == 1;
}

/* Sign digest (already the hash's size) through keyd. sig NULL: the maximal size. */
static int sign_digest(struct sig_ctx *c, unsigned char *sig, size_t *siglen, size_t sigsize,
		       const unsigned char *digest, size_t digest_len)
{
	uint8_t buf[KEYD_CLIENT_SIGNATURE_MAX];
	size_t len = 0;
	uint32_t scheme;
	int max = EVP_PKEY_get_size(c->key->pkey);

	if (max <= 0)
		return 0;
	if (!sig) {
		*siglen = (size_t)max;
		return 1;
	}
	if (c->hash == 0) { /* EVP_PKEY_sign without a digest: tell it by its size */
		c->hash = digest_len == 32 ? KEYD_PROTO_HASH_SHA256 :
			  digest_len == 48 ? KEYD_PROTO_HASH_SHA384 :
			  digest_len == 64 ? KEYD_PROTO_HASH_SHA512 : 0;
	}
	if (hash_size(c->hash) != digest_len) {
		keyd_ossl_error(c->prov, KEYD_OSSL_R_UNSUPPORTED,
				"a %zu-byte input is not a SHA-256/384/512 digest; keyd signs "
				"digests only", digest_len);
		return 0;
	}
	scheme = c->is_ec ? KEYD_PROTO_SCHEME_ECDSA :
		 c->pad == RSA_PKCS1_PSS_PADDING ? KEYD_PROTO_SCHEME_RSA_PSS :
						    KEYD_PROTO_SCHEME_RSA_PKCS1;
	if (!keyd_ossl_sign(c->key, scheme, c->hash, digest, digest_len, buf, sizeof(buf), &len))
		return 0;
	if (len > sigsize) {
		keyd_ossl_error(c->prov, KEYD_OSSL_R_INTERNAL,
				"the signature (%zu bytes) does not fit the caller's buffer (%zu)",
				len, sigsize);
		return 0;
	}
	memcpy(sig, buf, len);
	*siglen = len;
	return 1;
}

static int sig_sign(void *ctx, unsigned char *sig, size_t *siglen, size_t sigsize,
		    const unsigned char *tbs, size_t tbslen)
{
	struct sig_ctx *c = ctx;

	if (c->delegate) {
		*siglen = sigsize;
		return c->dctx && EVP_PKEY_sign(c->dctx, sig, siglen, tbs, tbslen) == 1;
	}
	return sign_digest(ctx, sig, siglen, sigsize, tbs, tbslen);
}

static int sig_digest_sign_init(void *ctx, const char *mdname, void *provkey,
				const OSSL_PARAM params[])
{
	struct sig_ctx *c = ctx;
	EVP_MD *md;
	int ok, r;

	r = sig_setup(c, provkey, OP_SIGN);
	if (r == 2) {
		c->dmd = EVP_MD_CTX_new();
		return c->dmd && EVP_DigestSignInit_ex(c->dmd, NULL, mdname, keyd_ossl_libctx(c->prov), NULL,
						       c->key->pkey, params) == 1;
	}
	if (r != 1 || !sig_set_ctx_params(c, params))
		return 0;
	if (!set_digest(c, mdname && mdname[0] ? mdname : "SHA2-256"))
		return 0;
	md = EVP_MD_fetch(keyd_ossl_libctx(c->prov), hash_name(c->hash), NULL);
	if (!c->md)
		c->md = EVP_MD_CTX_new();
	ok = md && c->md && EVP_DigestInit_ex2(c->md, md, NULL) == 1;
	EVP_MD_free(md);
	if (!ok)
		keyd_ossl_error(c->prov, KEYD_OSSL_R_INTERNAL, "cannot start the digest");
	return ok;
}

static int sig_digest_sign_update(void *ctx, const unsigned char *data, size_t datalen)
{
	struct sig_ctx *c = ctx;

	if (c->delegate)
		return c->dmd && EVP_DigestSignUpdate(c->dmd, data, datalen) == 1;
	return c->md && EVP_DigestUpdate(c->md, data, datalen) == 1;
}

static int sig_digest_verify_init(void *ctx, const char *mdname, void *provkey,
				  const OSSL_PARAM params[])
{
	struct sig_ctx *c = ctx;

	if (sig_setup(c, provkey, OP_VERIFY) != 2)
		return 0;
	c->dmd = EVP_MD_CTX_new();
	return c->dmd && EVP_DigestVerifyInit_ex(c->dmd, NULL, mdname, keyd_ossl_libctx(c->prov), NULL,
						 c->key->pkey, params) == 1;
}

static int sig_digest_verify_update(void *ctx, const unsigned char *data, size_t datalen)
{
	struct sig_ctx *c = ctx;

	return c->dmd && EVP_DigestVerifyUpdate(c->dmd, data, datalen) == 1;
}

static int sig_digest_verify_final(void *ctx, const unsigned char *sig, size_t siglen)
{
	struct sig_ctx *c = ctx;

	return c->dmd && EVP_DigestVerifyFinal(c->dmd, sig, siglen) == 1;
}

static int sig_digest_sign_final(void *ctx, unsigned char *sig, size_t *siglen, size_t sigsize)
{
	struct sig_ctx *c = ctx;
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (c->delegate) {
		if (!c->dmd)
			return 0;
		if (sig)
			*siglen = sigsize;
		return EVP_DigestSignFinal(c->dmd, sig, siglen) == 1;
	}
	if (!c->md)
		return 0;
	if (!sig)
		return sign_digest(c, NULL, siglen, 0, NULL, 0);
	if (EVP_DigestFinal_ex(c->md, digest, &len) != 1)
		return 0;
	return sign_digest(c, sig, siglen, sigsize, digest, len);
}

/* "digest", a number equal to the digest size: what keyd's PSS does. */
static int check_saltlen(struct sig_ctx *c, const OSSL_PARAM *p)
{
	int v;

	if (p->data_type == OSSL_PARAM_UTF8_STRING) {
		const char *s = p->data;

		if (strcmp(s, OSSL_PKEY_RSA_PSS_SALT_LEN_DIGEST) == 0)
			return 1;
		/* A decimal of at most 3 digits; "max", "auto" and the rest are refused. */
		v = 0;
		for (size_t i = 0; s[i]; i++)
			v = i < 3 && s[i] >= '0' && s[i] <= '9' ? v * 10 + (s[i] - '0') : -100;
		if (!s[0])
			v = -100;
	} else if (!OSSL_PARAM_get_int(p, &v))
		return 0;
	if (v == RSA_PSS_SALTLEN_DIGEST || (v > 0 && c->hash && (size_t)v == hash_size(c->hash)))
		return 1;
	if (v > 0 && !c->hash && (v == 32 || v == 48 || v == 64))
		return 1;
	keyd_ossl_error(c->prov, KEYD_OSSL_R_UNSUPPORTED,
			"PSS salt length: keyd signs with salt length = digest length only");
	return 0;
}

static int set_pad(struct sig_ctx *c, const OSSL_PARAM *p)
{
	int pad = 0;

	if (p->data_type == OSSL_PARAM_UTF8_STRING) {
		if (strcmp(p->data, OSSL_PKEY_RSA_PAD_MODE_PKCSV15) == 0)
			pad = RSA_PKCS1_PADDING;
		else if (strcmp(p->data, OSSL_PKEY_RSA_PAD_MODE_PSS) == 0)
			pad = RSA_PKCS1_PSS_PADDING;
	} else if (!OSSL_PARAM_get_int(p, &pad))
		return 0;
	if (pad != RSA_PKCS1_PADDING && pad != RSA_PKCS1_PSS_PADDING) {
		keyd_ossl_error(c->prov, KEYD_OSSL_R_UNSUPPORTED,
				"RSA padding: keyd signs with PKCS#1 v1.5 or PSS only");
		return 0;
	}
	c->pad = pad;
	return 1;
}

static int sig_set_ctx_params(void *ctx, const OSSL_PARAM params[])
{
	struct sig_ctx *c = ctx;
	const OSSL_PARAM *p;
	const char *s = NULL;

	if (!params)
		return 1;
	if (c->delegate)
		return delegate_pctx(c) && EVP_PKEY_CTX_set_params(delegate_pctx(c), params) == 1;
	p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_DIGEST);
	if (p && (!OSSL_PARAM_get_utf8_string_ptr(p, &s) || !set_digest(c, s)))
		return 0;
	if (c->is_ec)
		return 1;
	p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PAD_MODE);
	if (p && !set_pad(c, p))
		return 0;
	p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN);
	if (p && !check_saltlen(c, p))
		return 0;
	p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_MGF1_DIGEST);
	if (p) {
		uint32_t h;

		if (!OSSL_PARAM_get_utf8_string_ptr(p, &s))
			return 0;
		h = hash_from_name(c->prov, s);
		if (!h || (c->hash && h != c->hash)) {
			keyd_ossl_error(c->prov, KEYD_OSSL_R_UNSUPPORTED,
					"MGF1 digest '%.40s': keyd uses the signature's digest",
					s);
			return 0;
		}
	}
	return 1;
}

static const OSSL_PARAM *sig_settable_ctx_params_ec(void *ctx, void *provctx)
{
	static const OSSL_PARAM params[] = {
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
		OSSL_PARAM_END,
	};

	(void)ctx;
	(void)provctx;
	return params;
}

static const OSSL_PARAM *sig_settable_ctx_params_rsa(void *ctx, void *provctx)
{
	static const OSSL_PARAM params[] = {
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, NULL, 0),
		OSSL_PARAM_END,
	};

	(void)ctx;
	(void)provctx;
	return params;
}

static int sig_get_ctx_params(void *ctx, OSSL_PARAM params[])
{
	struct sig_ctx *c = ctx;
	uint32_t h = c->hash ? c->hash : KEYD_PROTO_HASH_SHA256;
	OSSL_PARAM *p;

	if (c->delegate)
		return delegate_pctx(c) && EVP_PKEY_CTX_get_params(delegate_pctx(c), params) == 1;
	p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_ALGORITHM_ID);
	if (p) {
		/* No AlgorithmIdentifier for PSS: its parameters are not fixed bytes, and
		 * X.509 signing with PSS keys is not something keyd offers. */
		if (!c->is_ec && c->pad == RSA_PKCS1_PSS_PADDING)
			return 0;
		if (c->is_ec && !OSSL_PARAM_set_octet_string(p, algid_ecdsa[h - 1],
							     sizeof(algid_ecdsa[0])))
			return 0;
		if (!c->is_ec &&
		    !OSSL_PARAM_set_octet_string(p, algid_rsa[h - 1], sizeof(algid_rsa[0])))
			return 0;
	}
	p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_DIGEST);
	if (p && !OSSL_PARAM_set_utf8_string(p, hash_name(h)))
		return 0;
	if (c->is_ec)
		return 1;
	p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PAD_MODE);
	if (p && p->data_type == OSSL_PARAM_INTEGER && !OSSL_PARAM_set_int(p, c->pad))
		return 0;
	if (p && p->data_type == OSSL_PARAM_UTF8_STRING &&
	    !OSSL_PARAM_set_utf8_string(p, c->pad == RSA_PKCS1_PSS_PADDING ?
						   OSSL_PKEY_RSA_PAD_MODE_PSS :
						   OSSL_PKEY_RSA_PAD_MODE_PKCSV15))
		return 0;
	p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN);
	if (p && p->data_type == OSSL_PARAM_INTEGER && !OSSL_PARAM_set_int(p, (int)hash_size(h)))
		return 0;
	if (p && p->data_type == OSSL_PARAM_UTF8_STRING &&
	    !OSSL_PARAM_set_utf8_string(p, OSSL_PKEY_RSA_PSS_SALT_LEN_DIGEST))
		return 0;
	return 1;
}

static const OSSL_PARAM *sig_gettable_ctx_params(void *ctx, void *provctx)
{
	static const OSSL_PARAM params[] = {
		OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, NULL, 0),
		OSSL_PARAM_END,
	};

	(void)ctx;
	(void)provctx;
	return params;
}

#define SIG_COMMON                                                                                 \
	{ OSSL_FUNC_SIGNATURE_FREECTX, (void (*)(void))sig_freectx },                             \
	{ OSSL_FUNC_SIGNATURE_DUPCTX, (void (*)(void))sig_dupctx },                               \
	{ OSSL_FUNC_SIGNATURE_SIGN_INIT, (void (*)(void))sig_init },                              \
	{ OSSL_FUNC_SIGNATURE_SIGN, (void (*)(void))sig_sign },                                   \
	{ OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT, (void (*)(void))sig_digest_sign_init },           \
	{ OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE, (void (*)(void))sig_digest_sign_update },       \
	{ OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL, (void (*)(void))sig_digest_sign_final },         \
	{ OSSL_FUNC_SIGNATURE_VERIFY_INIT, (void (*)(void))sig_verify_init },                     \
	{ OSSL_FUNC_SIGNATURE_VERIFY, (void (*)(void))sig_verify },                               \
	{ OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_INIT, (void (*)(void))sig_digest_verify_init },       \
	{ OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_UPDATE, (void (*)(void))sig_digest_verify_update },   \
	{ OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_FINAL, (void (*)(void))sig_digest_verify_final },     \
	{ OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS, (void (*)(void))sig_set_ctx_params },               \
	{ OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS, (void (*)(void))sig_get_ctx_params },               \
	{ OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS, (void (*)(void))sig_gettable_ctx_params }

const OSSL_DISPATCH keyd_ossl_signature_ecdsa_functions[] = {
	{ OSSL_FUNC_SIGNATURE_NEWCTX, (void (*)(void))sig_newctx_ec },
	SIG_COMMON,
	{ OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS, (void (*)(void))sig_settable_ctx_params_ec },
	{ 0, NULL },
};

const OSSL_DISPATCH keyd_ossl_signature_rsa_functions[] = {
	{ OSSL_FUNC_SIGNATURE_NEWCTX, (void (*)(void))sig_newctx_rsa },
	SIG_COMMON,
	{ OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS, (void (*)(void))sig_settable_ctx_params_rsa },
	{ 0, NULL },
};
