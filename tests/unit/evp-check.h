/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Checking the TPM's signatures in the unit tests that make them (test-tpm,
 * test-tpm-held): an OpenSSL public key from keyd's neutral public key, and a
 * verification of a signature over a digest with the scheme's padding (PSS: salt
 * length = digest length, as tpm.h says the TPM uses). Include after cmocka.h.
 */
#pragma once

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "keyalg.h"

static EVP_PKEY *evp_pkey_from(const struct keyd_pubkey *pk)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *n = NULL, *e = NULL;
	uint8_t point[1 + 2 * 66];

	assert_non_null(bld);
	if (keyd_key_alg_is_ec(pk->alg)) {
		point[0] = 0x04;
		memcpy(point + 1, pk->ec.x, pk->ec.len);
		memcpy(point + 1 + pk->ec.len, pk->ec.y, pk->ec.len);
		assert_true(OSSL_PARAM_BLD_push_utf8_string(
			bld, OSSL_PKEY_PARAM_GROUP_NAME,
			pk->alg == KEYD_KEY_EC_P256 ? "prime256v1" : "secp384r1", 0));
		assert_true(OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point,
							     1 + 2 * pk->ec.len));
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	} else {
		n = BN_bin2bn(pk->rsa.n, (int)pk->rsa.n_len, NULL);
		e = BN_new();
		assert_true(n && e && BN_set_word(e, pk->rsa.e));
		assert_true(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n));
		assert_true(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e));
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	}
	params = OSSL_PARAM_BLD_to_param(bld);
	assert_non_null(params);
	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params), 1);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return pkey;
}

static int evp_verify(EVP_PKEY *pkey, enum keyd_sig_scheme scheme, const EVP_MD *md,
		  const uint8_t *digest, size_t dlen, const uint8_t *sig, size_t slen)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
	int r;

	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_signature_md(ctx, md), 1);
	if (scheme == KEYD_SIG_RSA_PKCS1)
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING), 1);
	else if (scheme == KEYD_SIG_RSA_PSS) {
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING), 1);
		/* tpm.h: salt length = digest length */
		assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST), 1);
	}
	r = EVP_PKEY_verify(ctx, sig, slen, digest, dlen);
	EVP_PKEY_CTX_free(ctx);
	return r;
}
