/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TPM-resident keys as the kernel's own keys: the "asymmetric" key type with the
 * TPM 2.0 subtype of keyd's kernel patches (kernel-patches/0004). keyd adds a key
 * with its TSS2 PRIVATE KEY in DER as the payload (parent = the persistent SRK);
 * the kernel then signs with it through the TPM (KEYCTL_PKEY_SIGN) and the private
 * part never leaves the TPM (no read operation).
 *
 * This module is the pure part, with no syscall and no foreign library, so that a
 * unit test covers it: which KEYCTL_PKEY_* info string a signature takes, which
 * TLS 1.3 signature schemes a key can make, checks on what the kernel returns, and
 * the sentence for an add_key() failure. The keyctl calls are in keyring.c.
 *
 * Facts, from Linux's crypto/asymmetric_keys/asymmetric_type.c and
 * security/keys/keyctl_pkey.c (6.12), and the subtype's contract:
 *  - the info string is space-separated "enc=..." and "hash=..." tokens; ECDSA
 *    signs with "enc=x962" (the signature is a DER ECDSA-Sig-Value), RSA with
 *    "enc=pkcs1" (RSASSA-PKCS1-v1_5) or "enc=pss" (RSASSA-PSS, salt length = the
 *    digest length, as RFC 8446 section 4.2.3 requires); "hash=sha256|sha384"
 *    names the digest that is the input;
 *  - add_key("asymmetric") tries every registered parser and answers EBADMSG when
 *    none takes the payload: on a kernel without the subtype a TSS2 key fails so.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keyalg.h"

/* Longest info string built here ("enc=x962 hash=sha384") with room to spare. */
#define KEYD_KERNEL_KEY_INFO_MAX 48
/* Largest signature of a key keyd makes: RSA-3072 (384 bytes); ECDSA P-384 DER is 104. */
#define KEYD_KERNEL_KEY_SIG_MAX 512

/* TLS 1.3 SignatureScheme code points (RFC 8446 section 4.2.3) a kernel key can make. */
enum {
	KEYD_TLS13_ECDSA_SECP256R1_SHA256 = 0x0403,
	KEYD_TLS13_ECDSA_SECP384R1_SHA384 = 0x0503,
	KEYD_TLS13_RSA_PSS_RSAE_SHA256 = 0x0804,
	KEYD_TLS13_RSA_PSS_RSAE_SHA384 = 0x0805,
};

/* The key algorithm from the certificate's kind of key (EC or RSA) and the size in
 * bits the kernel reports (KEYCTL_PKEY_QUERY key_size). -EOPNOTSUPP for sizes keyd
 * does not make (RSA-1024, P-521, ...). */
int keyd_kernel_key_alg(bool ec, unsigned key_bits, enum keyd_key_alg *ret);

/* The bits the kernel must report for a key of alg (256, 384, 2048, 3072). */
unsigned keyd_kernel_key_bits(enum keyd_key_alg alg);

/* Whether the key can make the TLS 1.3 signature scheme, and with which
 * scheme and hash: ECDSA keys the one scheme of their curve (RFC 8446 binds the
 * curve and the hash), RSA keys RSA-PSS (rsae) with SHA-256 or SHA-384, never
 * PKCS#1 v1.5, which TLS 1.3 does not allow in handshake signatures.
 * -EOPNOTSUPP when it cannot. */
int keyd_kernel_key_tls13(enum keyd_key_alg alg, uint16_t tls_scheme,
			  enum keyd_sig_scheme *ret_scheme, enum keyd_hash_alg *ret_hash);

/* The KEYCTL_PKEY_SIGN info string for a signature of scheme over a hash digest,
 * into buf (KEYD_KERNEL_KEY_INFO_MAX). -EOPNOTSUPP for SHA-512 (TPMs commonly have
 * none), -EINVAL for values out of range or a small buffer. */
int keyd_kernel_key_sign_info(enum keyd_sig_scheme scheme, enum keyd_hash_alg hash, char *buf,
			      size_t size);

/* Check what KEYCTL_PKEY_SIGN returned and put it in the form TLS wants, into out:
 * ECDSA: a DER ECDSA-Sig-Value whose r and s are positive and fit the curve, copied
 * as is; RSA: the signature as an integer of exactly the modulus size (a shorter
 * answer is left-padded with zeros, RFC 8017 I2OSP). -EBADMSG when it is neither,
 * -ENOBUFS when out is too small. */
int keyd_kernel_key_signature(enum keyd_key_alg alg, enum keyd_sig_scheme scheme,
			      const uint8_t *sig, size_t len, uint8_t *out, size_t out_size,
			      size_t *ret_len);

/* A sentence for an add_key("asymmetric", TSS2 key) failure, naming the remedy:
 * EBADMSG "the kernel has no TPM2 asymmetric key subtype; ..." Never NULL. */
const char *keyd_kernel_key_add_error_reason(int error);
