/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TPM-resident keys as the kernel's asymmetric keys: info strings, TLS 1.3
 * schemes, signature checks and error sentences (kernel-key.h). No syscalls.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "der.h"
#include "kernel-key.h"
#include "macro.h"

static const struct {
	enum keyd_key_alg alg;
	bool ec;
	unsigned bits;
} key_sizes[] = {
	{ KEYD_KEY_EC_P256, true, 256 },
	{ KEYD_KEY_EC_P384, true, 384 },
	{ KEYD_KEY_RSA2048, false, 2048 },
	{ KEYD_KEY_RSA3072, false, 3072 },
};

int keyd_kernel_key_alg(bool ec, unsigned key_bits, enum keyd_key_alg *ret)
{
	for (size_t i = 0; i < ELEMENTSOF(key_sizes); i++)
		if (key_sizes[i].ec == ec && key_sizes[i].bits == key_bits) {
			*ret = key_sizes[i].alg;
			return 0;
		}
	return -EOPNOTSUPP;
}

unsigned keyd_kernel_key_bits(enum keyd_key_alg alg)
{
	for (size_t i = 0; i < ELEMENTSOF(key_sizes); i++)
		if (key_sizes[i].alg == alg)
			return key_sizes[i].bits;
	return 0;
}

/* What each TLS 1.3 scheme needs. An RSA entry fits every RSA size keyd makes. */
static const struct {
	uint16_t tls;
	enum keyd_key_alg alg; /* for ECDSA: the one curve */
	enum keyd_sig_scheme scheme;
	enum keyd_hash_alg hash;
} tls13_schemes[] = {
	{ KEYD_TLS13_ECDSA_SECP256R1_SHA256, KEYD_KEY_EC_P256, KEYD_SIG_ECDSA, KEYD_HASH_SHA256 },
	{ KEYD_TLS13_ECDSA_SECP384R1_SHA384, KEYD_KEY_EC_P384, KEYD_SIG_ECDSA, KEYD_HASH_SHA384 },
	{ KEYD_TLS13_RSA_PSS_RSAE_SHA256, _KEYD_KEY_ALG_INVALID, KEYD_SIG_RSA_PSS,
	  KEYD_HASH_SHA256 },
	{ KEYD_TLS13_RSA_PSS_RSAE_SHA384, _KEYD_KEY_ALG_INVALID, KEYD_SIG_RSA_PSS,
	  KEYD_HASH_SHA384 },
};

int keyd_kernel_key_tls13(enum keyd_key_alg alg, uint16_t tls_scheme,
			  enum keyd_sig_scheme *ret_scheme, enum keyd_hash_alg *ret_hash)
{
	if (keyd_kernel_key_bits(alg) == 0)
		return -EOPNOTSUPP;
	for (size_t i = 0; i < ELEMENTSOF(tls13_schemes); i++) {
		if (tls13_schemes[i].tls != tls_scheme)
			continue;
		if (tls13_schemes[i].scheme == KEYD_SIG_ECDSA ? tls13_schemes[i].alg != alg
							      : keyd_key_alg_is_ec(alg))
			return -EOPNOTSUPP;
		*ret_scheme = tls13_schemes[i].scheme;
		*ret_hash = tls13_schemes[i].hash;
		return 0;
	}
	return -EOPNOTSUPP;
}

int keyd_kernel_key_sign_info(enum keyd_sig_scheme scheme, enum keyd_hash_alg hash, char *buf,
			      size_t size)
{
	const char *enc;
	int n;

	switch (scheme) {
	case KEYD_SIG_ECDSA:
		enc = "x962";
		break;
	case KEYD_SIG_RSA_PKCS1:
		enc = "pkcs1";
		break;
	case KEYD_SIG_RSA_PSS:
		enc = "pss";
		break;
	case _KEYD_SIG_SCHEME_MAX:
	case _KEYD_SIG_SCHEME_INVALID:
	default:
		return -EINVAL;
	}
	switch (hash) {
	case KEYD_HASH_SHA256:
	case KEYD_HASH_SHA384:
		break;
	case KEYD_HASH_SHA512:
		return -EOPNOTSUPP;
	case _KEYD_HASH_ALG_MAX:
	case _KEYD_HASH_ALG_INVALID:
	default:
		return -EINVAL;
	}
	/* The kernel's hash names are the crypto API's: "sha256", "sha384". */
	n = snprintf(buf, size, "enc=%s hash=%s", enc, keyd_hash_alg_to_string(hash));
	if (n < 0 || (size_t)n >= size)
		return -EINVAL;
	return 0;
}

/* A DER ECDSA-Sig-Value with r and s in 1..2^field_bits-1, nothing after it. */
static int ecdsa_sig_check(const uint8_t *sig, size_t len, size_t field_len)
{
	struct keyd_der d = { sig, len }, seq, r, s;

	if (keyd_der_read(&d, KEYD_DER_SEQUENCE, &seq) < 0 || !keyd_der_empty(&d))
		return -EBADMSG;
	if (keyd_der_read_uint(&seq, &r) < 0 || keyd_der_read_uint(&seq, &s) < 0 ||
	    !keyd_der_empty(&seq))
		return -EBADMSG;
	if (r.len == 0 || s.len == 0 || r.len > field_len || s.len > field_len)
		return -EBADMSG;
	return 0;
}

int keyd_kernel_key_signature(enum keyd_key_alg alg, enum keyd_sig_scheme scheme,
			      const uint8_t *sig, size_t len, uint8_t *out, size_t out_size,
			      size_t *ret_len)
{
	unsigned bits = keyd_kernel_key_bits(alg);
	size_t n = bits / 8;

	if (bits == 0 || !sig || len == 0)
		return -EBADMSG;
	if ((scheme == KEYD_SIG_ECDSA) != !!keyd_key_alg_is_ec(alg))
		return -EINVAL;
	if (scheme == KEYD_SIG_ECDSA) {
		if (ecdsa_sig_check(sig, len, n) < 0)
			return -EBADMSG;
		if (len > out_size)
			return -ENOBUFS;
		memmove(out, sig, len);
		*ret_len = len;
		return 0;
	}
	/* RSA: an integer below the modulus, as many bytes as the modulus. */
	if (len > n)
		return -EBADMSG;
	if (n > out_size)
		return -ENOBUFS;
	memmove(out + (n - len), sig, len);
	memset(out, 0, n - len);
	*ret_len = n;
	return 0;
}

const char *keyd_kernel_key_add_error_reason(int error)
{
	switch (error < 0 ? -error : error) {
	case EBADMSG:
		return "the kernel has no TPM2 asymmetric key subtype (no key parser took the "
		       "TSS2 key); load the module from kernel-patches/0004 or use 'as ref'";
	case ENOPKG:
	case ENOENT:
		return "the kernel's TPM2 key subtype lacks a crypto algorithm this key needs "
		       "(ecdsa, rsa or the hash)";
	case ENODEV:
		return "the kernel's TPM2 key subtype finds no TPM (no TPM driver bound)";
	case EKEYREJECTED:
		return "the kernel's TPM2 key subtype refused the key: its parent, the storage "
		       "root key 0x81000001, is not in this TPM, or the key is of another TPM";
	case ENOKEY:
		return "the destination keyring does not exist, or its chain restriction admits "
		       "only certificates";
	case EPERM:
		return "the keyring is closed (restricted)";
	case EACCES:
		return "the keyring's permission mask does not allow adding to it";
	case EDQUOT:
		return "the owner's key quota is exhausted "
		       "(/proc/sys/kernel/keys/maxkeys, maxbytes)";
	case EINVAL:
		return "the kernel refused the description or payload";
	case ENODATA:
		return "the TPM2 key subtype found no key in the payload";
	default:
		return "the kernel refused the key";
	}
}
