/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for keyd/core/crypto.c against published test vectors. */
#include <setjmp.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crypto.h"
#include "parse.h"

static void hex(const char *s, uint8_t *out, size_t size, size_t *ret_len)
{
	assert_int_equal(keyd_hex_decode(s, out, size, ret_len), 0);
}

/* RFC 5869 appendix A, test cases 1-3 (SHA-256). */
static const struct {
	const char *ikm, *salt, *info, *prk, *okm;
} hkdf_cases[] = {
	{ "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "000102030405060708090a0b0c",
	  "f0f1f2f3f4f5f6f7f8f9",
	  "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
	  "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865" },
	{ "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	  "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
	  "404142434445464748494a4b4c4d4e4f",
	  "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
	  "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
	  "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
	  "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecf"
	  "d0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeef"
	  "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
	  "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
	  "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
	  "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
	  "cc30c58179ec3e87c14c01d5c1f3434f1d87" },
	{ "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "", "",
	  "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
	  "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8" },
};

static void test_hkdf_rfc5869(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(hkdf_cases) / sizeof(hkdf_cases[0]); i++) {
		uint8_t ikm[128], salt[128], info[128], prk_want[32], okm_want[128];
		uint8_t prk[KEYD_HASH_MAX], okm[128];
		size_t ikm_len, salt_len, info_len, prk_len, okm_len;

		hex(hkdf_cases[i].ikm, ikm, sizeof(ikm), &ikm_len);
		hex(hkdf_cases[i].salt, salt, sizeof(salt), &salt_len);
		hex(hkdf_cases[i].info, info, sizeof(info), &info_len);
		hex(hkdf_cases[i].prk, prk_want, sizeof(prk_want), &prk_len);
		hex(hkdf_cases[i].okm, okm_want, sizeof(okm_want), &okm_len);

		/* Case 3 has an empty salt: the NULL form must give the same PRK. */
		assert_int_equal(keyd_crypto_hkdf_extract(KEYD_HASH_SHA256, salt_len ? salt : NULL,
							  salt_len, ikm, ikm_len, prk), 0);
		assert_memory_equal(prk, prk_want, 32);
		assert_int_equal(keyd_crypto_hkdf_expand(KEYD_HASH_SHA256, prk, 32,
							 info_len ? info : NULL, info_len, okm,
							 okm_len), 0);
		assert_memory_equal(okm, okm_want, okm_len);
	}
}

static void test_hkdf_bounds(void **state)
{
	uint8_t prk[32] = { 1 }, out[32];

	(void)state;
	assert_int_equal(keyd_crypto_hkdf_expand(KEYD_HASH_SHA256, prk, 32, NULL, 0, out, 0), -EINVAL);
	/* RFC 5869: L <= 255 * HashLen. */
	assert_int_equal(keyd_crypto_hkdf_expand(KEYD_HASH_SHA256, prk, 32, NULL, 0, out,
						 255 * 32 + 1), -EINVAL);
	assert_int_equal(keyd_crypto_hkdf_expand(KEYD_HASH_SHA256, prk, 16, NULL, 0, out, 32),
			 -EINVAL);
	assert_int_equal(keyd_crypto_hkdf_extract(_KEYD_HASH_ALG_INVALID, NULL, 0, prk, 32, out),
			 -EINVAL);
}

/* RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?". */
static void test_hmac_rfc4231(void **state)
{
	static const char *const want[] = {
		[KEYD_HASH_SHA256] = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
		[KEYD_HASH_SHA384] = "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
				     "8e2240ca5e69e2c78b3239ecfab21649",
		[KEYD_HASH_SHA512] = "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
				     "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
	};
	const char *data = "what do ya want for nothing?";

	(void)state;
	for (int h = 0; h < _KEYD_HASH_ALG_MAX; h++) {
		uint8_t mac[KEYD_HASH_MAX], w[KEYD_HASH_MAX];
		size_t n;

		hex(want[h], w, sizeof(w), &n);
		assert_int_equal(keyd_crypto_hmac((enum keyd_hash_alg)h, "Jefe", 4, data,
						  strlen(data), mac), 0);
		assert_int_equal(n, keyd_hash_alg_size((enum keyd_hash_alg)h));
		assert_memory_equal(mac, w, n);
	}
}

/* FIPS 180-2 appendix B.1 / D.1: "abc". */
static void test_hash(void **state)
{
	uint8_t d[KEYD_HASH_MAX], w[KEYD_HASH_MAX];
	size_t n;

	(void)state;
	hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", w, sizeof(w), &n);
	assert_int_equal(keyd_crypto_hash(KEYD_HASH_SHA256, "abc", 3, d), 0);
	assert_memory_equal(d, w, 32);
	hex("cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
	    "8086072ba1e7cc2358baeca134c825a7", w, sizeof(w), &n);
	assert_int_equal(keyd_crypto_hash(KEYD_HASH_SHA384, "abc", 3, d), 0);
	assert_memory_equal(d, w, 48);
	assert_int_equal(keyd_crypto_hash(_KEYD_HASH_ALG_INVALID, "abc", 3, d), -EINVAL);
}

/* The CRC-32 check value of the "Catalogue of parametrised CRC algorithms" (CRC-32/ISO-HDLC). */
static void test_crc32(void **state)
{
	(void)state;
	assert_int_equal(keyd_crypto_crc32("123456789", 9), 0xCBF43926u);
	assert_int_equal(keyd_crypto_crc32("", 0), 0);
}

static void test_random(void **state)
{
	uint8_t a[48] = {}, b[48] = {};

	(void)state;
	assert_int_equal(keyd_crypto_random(a, sizeof(a)), 0);
	assert_int_equal(keyd_crypto_random(b, sizeof(b)), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(keyd_crypto_random(NULL, 0), 0);
}

/* NIST SP 800-38A F.3.13/F.3.14, CFB128-AES128, the first two blocks; in place. */
static void test_aes128_cfb(void **state)
{
	uint8_t key[16], iv[16], buf[32], pt[32], ct[32];
	size_t n;

	(void)state;
	hex("2b7e151628aed2a6abf7158809cf4f3c", key, sizeof(key), &n);
	hex("000102030405060708090a0b0c0d0e0f", iv, sizeof(iv), &n);
	hex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51", pt, sizeof(pt),
	    &n);
	hex("3b3fd92eb72dad20333449f8e83cfb4ac8a64537a0b3a93fcde3cdad9f1ce58b", ct, sizeof(ct),
	    &n);
	memcpy(buf, pt, sizeof(buf));
	assert_int_equal(keyd_crypto_aes128_cfb(true, key, iv, buf, sizeof(buf)), 0);
	assert_memory_equal(buf, ct, sizeof(ct));
	assert_int_equal(keyd_crypto_aes128_cfb(false, key, iv, buf, sizeof(buf)), 0);
	assert_memory_equal(buf, pt, sizeof(pt));
	/* CFB is a stream mode: a partial block is fine. */
	memcpy(buf, pt, sizeof(buf));
	assert_int_equal(keyd_crypto_aes128_cfb(true, key, iv, buf, 5), 0);
	assert_memory_equal(buf, ct, 5);
}

/* With the generator G as the peer's point, Z = x(d_e G) is the ephemeral public
 * key's x: a check that needs no second party. A point off the curve is refused. */
static void test_ecdh_p256(void **state)
{
	uint8_t gx[32], gy[32], x[32], y[32], z[32], x2[32];
	size_t n;

	(void)state;
	hex("6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296", gx, sizeof(gx),
	    &n);
	hex("4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5", gy, sizeof(gy),
	    &n);
	assert_int_equal(keyd_crypto_ecdh_p256(gx, gy, x, y, z), 0);
	assert_memory_equal(z, x, sizeof(z));
	assert_int_equal(keyd_crypto_ecdh_p256(gx, gy, x2, y, z), 0);
	assert_memory_not_equal(x, x2, sizeof(x)); /* a fresh ephemeral key each time */
	gy[31] ^= 1;
	assert_int_equal(keyd_crypto_ecdh_p256(gx, gy, x, y, z), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hkdf_rfc5869), cmocka_unit_test(test_hkdf_bounds),
		cmocka_unit_test(test_hmac_rfc4231), cmocka_unit_test(test_hash),
		cmocka_unit_test(test_crc32),        cmocka_unit_test(test_random),
		cmocka_unit_test(test_aes128_cfb),   cmocka_unit_test(test_ecdh_p256),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
