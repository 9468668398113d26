/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for keyd/base/spki.c: the SubjectPublicKeyInfo of OpenSSL-made
 * P-256, P-384, P-521 and RSA keys gives back their curve, point, modulus and
 * exponent; other algorithms and curves are -EOPNOTSUPP; damaged encodings are
 * -EBADMSG. */
#include <setjmp.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "spki.h"

/* The key's SPKI (i2d_PUBKEY) in a malloc()ed buffer. */
static uint8_t *spki_of(EVP_PKEY *pkey, size_t *ret_len)
{
	unsigned char *der = NULL;
	int len = i2d_PUBKEY(pkey, &der);
	uint8_t *copy;

	assert_true(len > 0);
	copy = malloc((size_t)len);
	assert_non_null(copy);
	memcpy(copy, der, (size_t)len);
	OPENSSL_free(der);
	*ret_len = (size_t)len;
	return copy;
}

static void check_ec(const char *curve)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
	uint8_t point[200];
	size_t point_len = 0, len;
	struct keyd_spki s;
	uint8_t *der;

	assert_non_null(pkey);
	assert_int_equal(EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, point,
							 sizeof(point), &point_len), 1);
	der = spki_of(pkey, &len);
	assert_int_equal(keyd_spki_parse(der, len, &s), 0);
	assert_int_equal(s.kind, KEYD_SPKI_EC);
	assert_string_equal(s.curve, curve);
	assert_int_equal(s.point.len, point_len);
	assert_memory_equal(s.point.p, point, point_len);

	/* A byte after the SPKI, a byte short, and a bit string with unused bits. */
	der = realloc(der, len + 1);
	assert_non_null(der);
	der[len] = 0;
	assert_int_equal(keyd_spki_parse(der, len + 1, &s), -EBADMSG);
	assert_int_equal(keyd_spki_parse(der, len - 1, &s), -EBADMSG);
	der[len - point_len - 1] = 1; /* the bit string's unused-bits octet */
	assert_int_equal(keyd_spki_parse(der, len, &s), -EBADMSG);
	free(der);
	EVP_PKEY_free(pkey);
}

static void test_ec(void **state)
{
	(void)state;
	check_ec("P-256");
	check_ec("P-384");
	check_ec("P-521");
}

static void test_rsa(void **state)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	BIGNUM *n = NULL, *e = NULL;
	uint8_t nb[256], eb[8];
	struct keyd_spki s;
	size_t len;
	uint8_t *der;
	int nl, el;

	(void)state;
	assert_non_null(pkey);
	assert_int_equal(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n), 1);
	assert_int_equal(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e), 1);
	nl = BN_bn2bin(n, nb);
	el = BN_bn2bin(e, eb);
	der = spki_of(pkey, &len);
	assert_int_equal(keyd_spki_parse(der, len, &s), 0);
	assert_int_equal(s.kind, KEYD_SPKI_RSA);
	assert_null(s.curve);
	assert_int_equal(s.n.len, (size_t)nl);
	assert_memory_equal(s.n.p, nb, (size_t)nl);
	assert_int_equal(s.e.len, (size_t)el);
	assert_memory_equal(s.e.p, eb, (size_t)el);

	/* rsaEncryption's NULL parameters made something else: 05 00 -> 04 00. */
	for (size_t i = 0; i + 1 < len; i++)
		if (der[i] == 0x05 && der[i + 1] == 0x00) {
			der[i] = 0x04;
			break;
		}
	assert_int_equal(keyd_spki_parse(der, len, &s), -EBADMSG);
	free(der);
	BN_free(n);
	BN_free(e);
	EVP_PKEY_free(pkey);
}

static void test_other_algorithms(void **state)
{
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_PKEY *k1 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
	struct keyd_spki s;
	size_t len;
	uint8_t *der;

	(void)state;
	assert_non_null(ed);
	assert_non_null(k1);
	der = spki_of(ed, &len);
	assert_int_equal(keyd_spki_parse(der, len, &s), -EOPNOTSUPP);
	free(der);
	der = spki_of(k1, &len); /* a curve keyd does not use */
	assert_int_equal(keyd_spki_parse(der, len, &s), -EOPNOTSUPP);
	free(der);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(k1);
}

static void test_malformed(void **state)
{
	/* id-ecPublicKey with explicit parameters (a SEQUENCE where the curve's OID goes). */
	static const uint8_t explicit_params[] = {
		0x30, 0x13, 0x30, 0x0d, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
		0x30, 0x02, 0x05, 0x00, 0x03, 0x02, 0x00, 0x04,
	};
	/* rsaEncryption whose modulus is negative (0x80). */
	static const uint8_t negative_n[] = {
		0x30, 0x1a, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
		0x01, 0x01, 0x05, 0x00, 0x03, 0x09, 0x00, 0x30, 0x06, 0x02, 0x01, 0x80, 0x02,
		0x01, 0x03,
	};
	/* id-ecPublicKey, P-256, an empty point. */
	static const uint8_t empty_point[] = {
		0x30, 0x18, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
		0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x01, 0x00,
	};
	static const uint8_t garbage[] = { 0x30, 0x80, 0x00, 0x00 };
	uint8_t buf[64];
	struct keyd_spki s;

	(void)state;
	assert_int_equal(keyd_spki_parse(explicit_params, sizeof(explicit_params), &s),
			 -EOPNOTSUPP);
	assert_int_equal(keyd_spki_parse(negative_n, sizeof(negative_n), &s), -EBADMSG);
	assert_int_equal(keyd_spki_parse(empty_point, sizeof(empty_point), &s), -EBADMSG);

	/* Their well-formed twins parse, so the cases above fail where they say. */
	memcpy(buf, negative_n, sizeof(negative_n));
	buf[24] = 0x7f;
	assert_int_equal(keyd_spki_parse(buf, sizeof(negative_n), &s), 0);
	assert_int_equal(s.kind, KEYD_SPKI_RSA);
	assert_int_equal(s.n.len, 1);
	assert_int_equal(s.n.p[0], 0x7f);
	assert_int_equal(s.e.p[0], 0x03);
	memcpy(buf, empty_point, sizeof(empty_point));
	buf[1] = 0x19; /* the SPKI and its bit string one octet longer: the point 04 */
	buf[24] = 0x02;
	buf[26] = 0x04;
	assert_int_equal(keyd_spki_parse(buf, sizeof(empty_point) + 1, &s), 0);
	assert_string_equal(s.curve, "P-256");
	assert_int_equal(s.point.len, 1);
	assert_int_equal(keyd_spki_parse(garbage, sizeof(garbage), &s), -EBADMSG);
	assert_int_equal(keyd_spki_parse(garbage, 0, &s), -EBADMSG);
	assert_int_equal(keyd_spki_parse(NULL, 0, &s), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ec),
		cmocka_unit_test(test_rsa),
		cmocka_unit_test(test_other_algorithms),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
