/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Hash, HMAC, HKDF, CRC-32, random bytes, AES-128-CFB and P-256 ECDH on top of
 * libcrypto's EVP API. Every algorithm is fetched from the default library context,
 * whose method cache makes a repeated fetch cheap (tpm-session.c calls these per TPM
 * command).
 *
 * HKDF goes through EVP_KDF with the mode set to EXTRACT_ONLY or EXPAND_ONLY so
 * each step is explicit, and the info string is handed over as one parameter:
 * OpenSSL 3.0.x builds disagree on whether repeated "add info" calls on the old
 * EVP_PKEY interface append or replace (libnvme carries a test for exactly
 * that), so callers build the whole HkdfLabel in one buffer.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "crypto.h"
#include "macro.h"

static const char *digest_name(enum keyd_hash_alg h)
{
	switch (h) {
	case KEYD_HASH_SHA256:
		return "SHA256";
	case KEYD_HASH_SHA384:
		return "SHA384";
	case KEYD_HASH_SHA512:
		return "SHA512";
	case _KEYD_HASH_ALG_MAX:
	case _KEYD_HASH_ALG_INVALID:
		break;
	}
	return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_MD *, EVP_MD_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_MAC *, EVP_MAC_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_MAC_CTX *, EVP_MAC_CTX_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_KDF *, EVP_KDF_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_KDF_CTX *, EVP_KDF_CTX_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_CIPHER *, EVP_CIPHER_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_CIPHER_CTX *, EVP_CIPHER_CTX_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY *, EVP_PKEY_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY_CTX *, EVP_PKEY_CTX_free)

int keyd_crypto_hash(enum keyd_hash_alg h, const void *data, size_t len, uint8_t *out)
{
	_cleanup_(EVP_MD_freep) EVP_MD *md = NULL;
	const char *name = digest_name(h);
	unsigned int n = 0;

	if (!name || (!data && len > 0) || !out)
		return -EINVAL;
	md = EVP_MD_fetch(NULL, name, NULL);
	if (!md)
		return -EOPNOTSUPP;
	if (EVP_Digest(data, len, out, &n, md, NULL) != 1)
		return -EIO;
	return n == keyd_hash_alg_size(h) ? 0 : -EIO;
}

int keyd_crypto_hmac(enum keyd_hash_alg h, const void *key, size_t key_len, const void *data,
		     size_t len, uint8_t *out)
{
	_cleanup_(EVP_MAC_freep) EVP_MAC *mac = NULL;
	_cleanup_(EVP_MAC_CTX_freep) EVP_MAC_CTX *ctx = NULL;
	const char *name = digest_name(h);
	size_t hlen = keyd_hash_alg_size(h), n = 0;
	OSSL_PARAM params[2];

	if (!name || (!key && key_len > 0) || (!data && len > 0) || !out)
		return -EINVAL;
	mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
	if (!mac)
		return -EOPNOTSUPP;
	ctx = EVP_MAC_CTX_new(mac);
	if (!ctx)
		return -ENOMEM;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)name, 0);
	params[1] = OSSL_PARAM_construct_end();
	/* An empty key is legal for HMAC; OpenSSL wants a non-NULL pointer for it. */
	if (EVP_MAC_init(ctx, key_len ? key : (const void *)"", key_len, params) != 1)
		return -EIO;
	if (len > 0 && EVP_MAC_update(ctx, data, len) != 1)
		return -EIO;
	if (EVP_MAC_final(ctx, out, &n, hlen) != 1 || n != hlen)
		return -EIO;
	return 0;
}

/* One EVP_KDF "HKDF" call in the given mode; every input passed as a single parameter. */
static int hkdf_run(enum keyd_hash_alg h, int mode, const void *key, size_t key_len,
		    const void *salt, size_t salt_len, const void *info, size_t info_len,
		    uint8_t *out, size_t out_len)
{
	_cleanup_(EVP_KDF_freep) EVP_KDF *kdf = NULL;
	_cleanup_(EVP_KDF_CTX_freep) EVP_KDF_CTX *ctx = NULL;
	const char *name = digest_name(h);
	OSSL_PARAM params[6], *p = params;

	if (!name)
		return -EINVAL;
	kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_HKDF, NULL);
	if (!kdf)
		return -EOPNOTSUPP;
	ctx = EVP_KDF_CTX_new(kdf);
	if (!ctx)
		return -ENOMEM;

	*p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)name, 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, key_len);
	if (salt)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt,
							 salt_len);
	if (info)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info,
							 info_len);
	*p = OSSL_PARAM_construct_end();

	if (EVP_KDF_derive(ctx, out, out_len, params) != 1)
		return -EIO;
	return 0;
}

int keyd_crypto_hkdf_extract(enum keyd_hash_alg h, const void *salt, size_t salt_len,
			     const void *ikm, size_t ikm_len, uint8_t *ret_prk)
{
	uint8_t zeros[KEYD_HASH_MAX] = {};
	size_t hlen = keyd_hash_alg_size(h);

	if (hlen == 0 || (!ikm && ikm_len > 0) || !ret_prk || (!salt && salt_len > 0))
		return -EINVAL;
	/* RFC 5869 section 2.2: a missing salt is HashLen zero octets. Passed explicitly so
	 * the result does not depend on how the provider treats an absent salt. */
	if (!salt || salt_len == 0) {
		salt = zeros;
		salt_len = hlen;
	}
	/* OpenSSL's HKDF treats a zero-length key as missing; nothing in keyd extracts from
	 * an empty input, so refuse it rather than depend on that. */
	if (ikm_len == 0)
		return -EINVAL;
	return hkdf_run(h, EVP_KDF_HKDF_MODE_EXTRACT_ONLY, ikm, ikm_len, salt, salt_len, NULL, 0,
			ret_prk, hlen);
}

int keyd_crypto_hkdf_expand(enum keyd_hash_alg h, const void *prk, size_t prk_len,
			    const void *info, size_t info_len, uint8_t *out, size_t out_len)
{
	size_t hlen = keyd_hash_alg_size(h);

	if (hlen == 0 || !prk || prk_len < hlen || (!info && info_len > 0) || !out)
		return -EINVAL;
	/* RFC 5869 section 2.3: L <= 255 * HashLen. */
	if (out_len == 0 || out_len > 255 * hlen)
		return -EINVAL;
	return hkdf_run(h, EVP_KDF_HKDF_MODE_EXPAND_ONLY, prk, prk_len, NULL, 0,
			info ? info : (const void *)"", info_len, out, out_len);
}

uint32_t keyd_crypto_crc32(const void *data, size_t len)
{
	/* Bitwise CRC-32 as zlib computes it: reflected polynomial 0xEDB88320, register
	 * preset to all ones and inverted at the end (ISO 3309 / ITU-T V.42). Keys are
	 * 32 or 48 bytes, so a table buys nothing. */
	const uint8_t *p = data;
	uint32_t crc = 0xffffffffu;

	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		for (int b = 0; b < 8; b++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
	}
	return crc ^ 0xffffffffu;
}

int keyd_crypto_random(void *buf, size_t len)
{
	uint8_t *p = buf;

	if (!buf && len > 0)
		return -EINVAL;
	while (len > 0) {
		int chunk = len > INT_MAX ? INT_MAX : (int)len;

		if (RAND_bytes(p, chunk) != 1)
			return -EIO;
		p += chunk;
		len -= (size_t)chunk;
	}
	return 0;
}

int keyd_crypto_aes128_cfb(bool encrypt, const uint8_t key[16], const uint8_t iv[16],
			   uint8_t *buf, size_t len)
{
	_cleanup_(EVP_CIPHER_freep) EVP_CIPHER *cipher = NULL;
	_cleanup_(EVP_CIPHER_CTX_freep) EVP_CIPHER_CTX *ctx = NULL;
	int n = 0, fin = 0;

	if (!key || !iv || (!buf && len > 0) || len > INT_MAX)
		return -EINVAL;
	if (len == 0)
		return 0;
	cipher = EVP_CIPHER_fetch(NULL, "AES-128-CFB", NULL);
	if (!cipher)
		return -EOPNOTSUPP;
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return -ENOMEM;
	/* CFB is a stream mode: output length equals input length, in place is fine. */
	if (EVP_CipherInit_ex2(ctx, cipher, key, iv, encrypt ? 1 : 0, NULL) != 1 ||
	    EVP_CipherUpdate(ctx, buf, &n, buf, (int)len) != 1 ||
	    EVP_CipherFinal_ex(ctx, buf + n, &fin) != 1 || (size_t)(n + fin) != len)
		return -EIO;
	return 0;
}

int keyd_crypto_ecdh_p256(const uint8_t peer_x[32], const uint8_t peer_y[32], uint8_t ret_x[32],
			  uint8_t ret_y[32], uint8_t ret_z[32])
{
	_cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *fctx = NULL, *dctx = NULL;
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *peer = NULL, *eph = NULL;
	uint8_t point[65], mine[65];
	char group[] = "P-256";
	size_t mine_len = 0, z_len = 32;
	OSSL_PARAM params[3];

	if (!peer_x || !peer_y || !ret_x || !ret_y || !ret_z)
		return -EINVAL;
	/* SEC 1 uncompressed point: 0x04 || x || y. */
	point[0] = 0x04;
	memcpy(point + 1, peer_x, 32);
	memcpy(point + 33, peer_y, 32);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point,
						      sizeof(point));
	params[2] = OSSL_PARAM_construct_end();
	fctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (!fctx)
		return -ENOMEM;
	/* fromdata checks that the point is on the curve. */
	if (EVP_PKEY_fromdata_init(fctx) != 1 ||
	    EVP_PKEY_fromdata(fctx, &peer, EVP_PKEY_PUBLIC_KEY, params) != 1)
		return -EINVAL;
	eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC", group);
	if (!eph)
		return -EIO;
	if (EVP_PKEY_get_octet_string_param(eph, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, mine,
					    sizeof(mine), &mine_len) != 1 ||
	    mine_len != sizeof(mine) || mine[0] != 0x04)
		return -EIO;
	dctx = EVP_PKEY_CTX_new_from_pkey(NULL, eph, NULL);
	if (!dctx)
		return -ENOMEM;
	/* The derived secret is the x-coordinate, padded to the field size. */
	if (EVP_PKEY_derive_init(dctx) != 1 || EVP_PKEY_derive_set_peer(dctx, peer) != 1 ||
	    EVP_PKEY_derive(dctx, ret_z, &z_len) != 1 || z_len != 32) {
		explicit_bzero(ret_z, 32);
		return -EIO;
	}
	memcpy(ret_x, mine + 1, 32);
	memcpy(ret_y, mine + 33, 32);
	return 0;
}
