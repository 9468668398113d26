/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for keyd/core/kernel-key.c: the KEYCTL_PKEY_SIGN info string each
 * signature takes, the TLS 1.3 schemes a kernel key offers (and those it must not),
 * and the checks on the signature the kernel returns, good and bad side by side. */
#include <setjmp.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "der.h"
#include "kernel-key.h"

static void test_alg(void **state)
{
	enum keyd_key_alg a;

	(void)state;
	assert_int_equal(keyd_kernel_key_alg(true, 256, &a), 0);
	assert_int_equal(a, KEYD_KEY_EC_P256);
	assert_int_equal(keyd_kernel_key_alg(true, 384, &a), 0);
	assert_int_equal(a, KEYD_KEY_EC_P384);
	assert_int_equal(keyd_kernel_key_alg(false, 2048, &a), 0);
	assert_int_equal(a, KEYD_KEY_RSA2048);
	assert_int_equal(keyd_kernel_key_alg(false, 3072, &a), 0);
	assert_int_equal(a, KEYD_KEY_RSA3072);
	/* Sizes keyd does not make, and a kind that does not fit the size. */
	assert_int_equal(keyd_kernel_key_alg(true, 521, &a), -EOPNOTSUPP);
	assert_int_equal(keyd_kernel_key_alg(false, 1024, &a), -EOPNOTSUPP);
	assert_int_equal(keyd_kernel_key_alg(false, 256, &a), -EOPNOTSUPP);
	assert_int_equal(keyd_kernel_key_alg(true, 2048, &a), -EOPNOTSUPP);
	assert_int_equal(keyd_kernel_key_bits(KEYD_KEY_RSA3072), 3072);
	assert_int_equal(keyd_kernel_key_bits(_KEYD_KEY_ALG_INVALID), 0);
}

static void expect_tls13(enum keyd_key_alg alg, uint16_t tls, int want,
			 enum keyd_sig_scheme want_scheme, enum keyd_hash_alg want_hash)
{
	enum keyd_sig_scheme s = _KEYD_SIG_SCHEME_INVALID;
	enum keyd_hash_alg h = _KEYD_HASH_ALG_INVALID;

	assert_int_equal(keyd_kernel_key_tls13(alg, tls, &s, &h), want);
	if (want == 0) {
		assert_int_equal(s, want_scheme);
		assert_int_equal(h, want_hash);
	}
}

static void test_tls13(void **state)
{
	(void)state;
	/* RFC 8446 binds the curve and the hash. */
	expect_tls13(KEYD_KEY_EC_P256, 0x0403, 0, KEYD_SIG_ECDSA, KEYD_HASH_SHA256);
	expect_tls13(KEYD_KEY_EC_P256, 0x0503, -EOPNOTSUPP, 0, 0);
	expect_tls13(KEYD_KEY_EC_P384, 0x0503, 0, KEYD_SIG_ECDSA, KEYD_HASH_SHA384);
	expect_tls13(KEYD_KEY_EC_P384, 0x0403, -EOPNOTSUPP, 0, 0);
	/* ecdsa_secp521r1_sha512, ed25519: never. */
	expect_tls13(KEYD_KEY_EC_P384, 0x0603, -EOPNOTSUPP, 0, 0);
	expect_tls13(KEYD_KEY_EC_P256, 0x0807, -EOPNOTSUPP, 0, 0);
	/* RSA: PSS (rsae) only; PKCS#1 v1.5 (0x0401, 0x0501) is not a TLS 1.3 handshake
	 * signature, and PSS with a PSS-only key (0x0809) is not what keyd enrolls. */
	expect_tls13(KEYD_KEY_RSA2048, 0x0804, 0, KEYD_SIG_RSA_PSS, KEYD_HASH_SHA256);
	expect_tls13(KEYD_KEY_RSA3072, 0x0805, 0, KEYD_SIG_RSA_PSS, KEYD_HASH_SHA384);
	expect_tls13(KEYD_KEY_RSA2048, 0x0401, -EOPNOTSUPP, 0, 0);
	expect_tls13(KEYD_KEY_RSA2048, 0x0501, -EOPNOTSUPP, 0, 0);
	expect_tls13(KEYD_KEY_RSA2048, 0x0806, -EOPNOTSUPP, 0, 0);
	expect_tls13(KEYD_KEY_RSA2048, 0x0809, -EOPNOTSUPP, 0, 0);
	/* A key kind does not borrow the other's schemes. */
	expect_tls13(KEYD_KEY_RSA2048, 0x0403, -EOPNOTSUPP, 0, 0);
	expect_tls13(KEYD_KEY_EC_P256, 0x0804, -EOPNOTSUPP, 0, 0);
	expect_tls13(_KEYD_KEY_ALG_INVALID, 0x0804, -EOPNOTSUPP, 0, 0);
}

static void test_sign_info(void **state)
{
	char buf[KEYD_KERNEL_KEY_INFO_MAX];

	(void)state;
	assert_int_equal(keyd_kernel_key_sign_info(KEYD_SIG_ECDSA, KEYD_HASH_SHA256, buf,
						   sizeof(buf)), 0);
	assert_string_equal(buf, "enc=x962 hash=sha256");
	assert_int_equal(keyd_kernel_key_sign_info(KEYD_SIG_ECDSA, KEYD_HASH_SHA384, buf,
						   sizeof(buf)), 0);
	assert_string_equal(buf, "enc=x962 hash=sha384");
	assert_int_equal(keyd_kernel_key_sign_info(KEYD_SIG_RSA_PSS, KEYD_HASH_SHA256, buf,
						   sizeof(buf)), 0);
	assert_string_equal(buf, "enc=pss hash=sha256");
	assert_int_equal(keyd_kernel_key_sign_info(KEYD_SIG_RSA_PKCS1, KEYD_HASH_SHA384, buf,
						   sizeof(buf)), 0);
	assert_string_equal(buf, "enc=pkcs1 hash=sha384");
	/* SHA-512 is not offered (TPMs often lack it); nonsense is refused. */
	assert_int_equal(keyd_kernel_key_sign_info(KEYD_SIG_ECDSA, KEYD_HASH_SHA512, buf,
						   sizeof(buf)), -EOPNOTSUPP);
	assert_int_equal(keyd_kernel_key_sign_info(_KEYD_SIG_SCHEME_INVALID, KEYD_HASH_SHA256,
						   buf, sizeof(buf)), -EINVAL);
	assert_int_equal(keyd_kernel_key_sign_info(KEYD_SIG_ECDSA, _KEYD_HASH_ALG_INVALID, buf,
						   sizeof(buf)), -EINVAL);
	assert_int_equal(keyd_kernel_key_sign_info(KEYD_SIG_ECDSA, KEYD_HASH_SHA256, buf, 8),
			 -EINVAL);
}

/* A DER ECDSA-Sig-Value with r and s of the given lengths (first byte 0x80 | i so
 * the encoder must add the sign octet). */
static uint8_t *ecdsa_der(size_t rlen, size_t slen, size_t *ret_len)
{
	uint8_t r[80], s[80], *der = NULL;

	for (size_t i = 0; i < sizeof(r); i++) {
		r[i] = (uint8_t)(0x80 | i);
		s[i] = (uint8_t)(0x81 + i);
	}
	assert_int_equal(keyd_der_ecdsa_sig_encode(r, rlen, s, slen, &der, ret_len), 0);
	return der;
}

static void test_signature_ecdsa(void **state)
{
	uint8_t out[KEYD_KERNEL_KEY_SIG_MAX], *der;
	size_t len, out_len = 0;

	(void)state;
	/* Good: full-size and short r, s; copied as they are. */
	der = ecdsa_der(32, 31, &len);
	assert_int_equal(keyd_kernel_key_signature(KEYD_KEY_EC_P256, KEYD_SIG_ECDSA, der, len, out,
						   sizeof(out), &out_len), 0);
	assert_int_equal(out_len, len);
	assert_memory_equal(out, der, len);
	/* Bad: trailing data; an r wider than the curve; truncated. */
	der = realloc(der, len + 1);
	der[len] = 0;
	assert_int_equal(keyd_kernel_key_signature(KEYD_KEY_EC_P256, KEYD_SIG_ECDSA, der, len + 1,
						   out, sizeof(out), &out_len), -EBADMSG);
	assert_int_equal(keyd_kernel_key_signature(KEYD_KEY_EC_P256, KEYD_SIG_ECDSA, der, len - 1,
						   out, sizeof(out), &out_len), -EBADMSG);
	free(der);
	der = ecdsa_der(48, 48, &len);
	assert_int_equal(keyd_kernel_key_signature(KEYD_KEY_EC_P256, KEYD_SIG_ECDSA, der, len, out,
						   sizeof(out), &out_len), -EBADMSG);
	assert_int_equal(keyd_kernel_key_signature(KEYD_KEY_EC_P384, KEYD_SIG_ECDSA, der, len, out,
						   sizeof(out), &out_len), 0);
	assert_int_equal(keyd_kernel_key_signature(KEYD_KEY_EC_P384, KEYD_SIG_ECDSA, der, len, out,
						   len - 1, &out_len), -ENOBUFS);
	free(der);
	/* A raw r||s (what a TPM returns before encoding) is not accepted as DER. */
	memset(out, 0x42, 64);
	assert_int_equal(keyd_kernel_key_signature(KEYD_KEY_EC_P256, KEYD_SIG_ECDSA, out, 64, out,
						   sizeof(out), &out_len), -EBADMSG);
	/* A negative INTEGER (no sign octet). */
	{
		static const uint8_t neg[] = { 0x30, 0x06, 0x02, 0x01, 0x80, 0x02, 0x01, 0x01 };

		assert_int_equal(keyd_kernel_key_signature(KEYD_KEY_EC_P256, KEYD_SIG_ECDSA, neg,
							   sizeof(neg), out, sizeof(out), &out_len),
				 -EBADMSG);
	}
	/* Scheme and key kind must agree. */
	assert_int_equal(keyd_kernel_key_signature(KEYD_KEY_RSA2048, KEYD_SIG_ECDSA, out, 64, out,
						   sizeof(out), &out_len), -EINVAL);
}

static void test_signature_rsa(void **state)
{
	uint8_t sig[384], out[KEYD_KERNEL_KEY_SIG_MAX];
	size_t out_len = 0;

	(void)state;
	memset(sig, 0xa5, sizeof(sig));
	/* Exactly the modulus size: as is. */
	assert_int_equal(keyd_kernel_key_signature(KEYD_KEY_RSA2048, KEYD_SIG_RSA_PSS, sig, 256,
						   out, sizeof(out), &out_len), 0);
	assert_int_equal(out_len, 256);
	assert_memory_equal(out, sig, 256);
	/* Shorter (leading zero octets dropped): left-padded to the modulus size. */
	assert_int_equal(keyd_kernel_key_signature(KEYD_KEY_RSA2048, KEYD_SIG_RSA_PKCS1, sig, 254,
						   out, sizeof(out), &out_len), 0);
	assert_int_equal(out_len, 256);
	assert_int_equal(out[0], 0);
	assert_int_equal(out[1], 0);
	assert_memory_equal(out + 2, sig, 254);
	/* Longer than the modulus, empty, or no room. */
	assert_int_equal(keyd_kernel_key_signature(KEYD_KEY_RSA2048, KEYD_SIG_RSA_PSS, sig, 257,
						   out, sizeof(out), &out_len), -EBADMSG);
	assert_int_equal(keyd_kernel_key_signature(KEYD_KEY_RSA2048, KEYD_SIG_RSA_PSS, sig, 0, out,
						   sizeof(out), &out_len), -EBADMSG);
	assert_int_equal(keyd_kernel_key_signature(KEYD_KEY_RSA3072, KEYD_SIG_RSA_PSS, sig, 384,
						   out, 383, &out_len), -ENOBUFS);
	assert_int_equal(keyd_kernel_key_signature(KEYD_KEY_EC_P256, KEYD_SIG_RSA_PSS, sig, 64,
						   out, sizeof(out), &out_len), -EINVAL);
}

static void test_add_error(void **state)
{
	(void)state;
	/* The kernel without the subtype: no parser takes the key. The sentence says so
	 * and names both remedies. */
	assert_non_null(strstr(keyd_kernel_key_add_error_reason(-EBADMSG),
			       "the kernel has no TPM2 asymmetric key subtype"));
	assert_non_null(strstr(keyd_kernel_key_add_error_reason(EBADMSG), "kernel-patches/0004"));
	assert_non_null(strstr(keyd_kernel_key_add_error_reason(-EBADMSG), "'as ref'"));
	assert_non_null(strstr(keyd_kernel_key_add_error_reason(-EPERM), "closed"));
	assert_non_null(keyd_kernel_key_add_error_reason(-ETXTBSY));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alg),
		cmocka_unit_test(test_tls13),
		cmocka_unit_test(test_sign_info),
		cmocka_unit_test(test_signature_ecdsa),
		cmocka_unit_test(test_signature_rsa),
		cmocka_unit_test(test_add_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
