/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * keyd's public key (GET-PUBKEY's SubjectPublicKeyInfo) as an EVP_PKEY in the
 * provider's library context. The forms keyd writes (keyd/base/spki.h) are read
 * with keyd's DER reader and imported with EVP_PKEY_fromdata: the first
 * d2i_PUBKEY_ex in a library context builds OpenSSL's decoder chains, about
 * 0.6 ms of a 5 ms `openssl pkeyutl` process on the development machine
 * (OpenSSL 3.0), where the import costs 0.03 ms. Any other SPKI still goes
 * through d2i_PUBKEY_ex, so nothing keyd might send is refused here.
 */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "provider.h"
#include "spki.h"

static EVP_PKEY *import_ec(struct keyd_ossl_prov *p, const struct keyd_spki *s)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)s->curve, 0),
		OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)s->point.p, s->point.len),
		OSSL_PARAM_END,
	};

	/* The import checks that the point is on the curve. */
	return keyd_ossl_default_fromdata(p, true, EVP_PKEY_PUBLIC_KEY, params);
}

static EVP_PKEY *import_rsa(struct keyd_ossl_prov *p, const struct keyd_spki *s)
{
	BIGNUM *n = BN_bin2bn(s->n.p, (int)s->n.len, NULL);
	BIGNUM *e = BN_bin2bn(s->e.p, (int)s->e.len, NULL);
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY *pkey = NULL;

	if (n && e && bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) == 1 &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) == 1)
		params = OSSL_PARAM_BLD_to_param(bld);
	if (params)
		pkey = keyd_ossl_default_fromdata(p, false, EVP_PKEY_PUBLIC_KEY, params);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return pkey;
}

EVP_PKEY *keyd_ossl_pubkey_from_spki(struct keyd_ossl_prov *p, const uint8_t *der, size_t len)
{
	OSSL_LIB_CTX *libctx = keyd_ossl_libctx(p);
	const unsigned char *q = der;
	struct keyd_spki s;
	EVP_PKEY *pkey;

	if (!libctx)
		return NULL;
	if (keyd_spki_parse(der, len, &s) == 0)
		return s.kind == KEYD_SPKI_EC ? import_ec(p, &s) : import_rsa(p, &s);
	pkey = d2i_PUBKEY_ex(NULL, &q, (long)len, libctx, NULL);
	if (pkey && q != der + len) {
		EVP_PKEY_free(pkey);
		return NULL;
	}
	return pkey;
}
