/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Certificates at enrollment time, and PKCS#10 requests signed by a TPM key.
 * x509.c owns libcrypto's certificate API; it is not used on the boot path.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keyalg.h"

#define KEYD_X509_NAME_MAX 512
#define KEYD_X509_BUNDLE_MAX 4096 /* certificates in one bundle */

struct keyd_x509_cert {
	uint8_t *der;
	size_t der_len;
	char subject[KEYD_X509_NAME_MAX]; /* RFC 2253 one-line form */
	char issuer[KEYD_X509_NAME_MAX];
	char fingerprint[65];             /* SHA-256 of the DER, lower-case hex */
	int64_t not_before, not_after;    /* seconds since the epoch */
	bool is_ca;                       /* basicConstraints cA=TRUE */
	bool self_signed;
	char key_type[24];                /* "rsa2048", "ec-p256", ... or the OpenSSL name */
};

/* A problem with one block of a bundle; index counts blocks from 1. */
struct keyd_x509_problem {
	size_t index;
	int error;     /* -EBADMSG garbled, -ENOTSUP unsupported, ... */
	char reason[256];
};

/* Parse a PEM bundle (any number of CERTIFICATE blocks, text between ignored) or
 * one DER certificate. Garbled blocks become problems; every good certificate is
 * returned. -ENODATA when there is no certificate at all. */
int keyd_x509_bundle_parse(const uint8_t *data, size_t len, struct keyd_x509_cert **ret_certs,
			   size_t *ret_n, struct keyd_x509_problem **ret_problems,
			   size_t *ret_n_problems);
void keyd_x509_certs_free(struct keyd_x509_cert *certs, size_t n);

/* CA checks for enrollment: -ENOTSUP not a CA (basic constraint), -EKEYEXPIRED
 * expired (or not yet valid: -EKEYREJECTED); 1 when valid but expiring within
 * warn_days; 0 when fine. reason says which. */
int keyd_x509_check_ca(const struct keyd_x509_cert *c, int64_t now, int warn_days, char *reason,
		       size_t reason_size);

/* 1 if the certificate's public key is pk, 0 if not. */
int keyd_x509_matches_pubkey(const struct keyd_x509_cert *c, const struct keyd_pubkey *pk);

/* Verify leaf through untrusted intermediates to one of the trusted CAs at time
 * now. 0 ok; -EKEYREJECTED with reason otherwise. */
int keyd_x509_verify_chain(const struct keyd_x509_cert *leaf,
			   const struct keyd_x509_cert *intermediates, size_t n_intermediates,
			   const struct keyd_x509_cert *trusted, size_t n_trusted, int64_t now,
			   char *reason, size_t reason_size);

/* SubjectPublicKeyInfo DER (and PEM "PUBLIC KEY") for a public key. */
int keyd_x509_pubkey_to_spki(const struct keyd_pubkey *pk, uint8_t **ret, size_t *ret_len);
int keyd_x509_pubkey_to_pem(const struct keyd_pubkey *pk, char **ret);

/* DER to PEM "CERTIFICATE" text, and a list of certificates to one PEM bundle. */
int keyd_x509_cert_to_pem(const struct keyd_x509_cert *c, char **ret);

/* Sign callback: called once with the digest of the request's TBS bytes. */
typedef int (*keyd_x509_sign_fn)(void *userdata, enum keyd_sig_scheme scheme,
				 enum keyd_hash_alg hash, const uint8_t *digest, size_t digest_len,
				 uint8_t **ret_sig, size_t *ret_sig_len);

/* Build a PKCS#10 request for pk. subject is "/CN=host/O=org" or "CN=host,O=org";
 * sans (NULL-terminated, may be NULL) are "DNS:name", "IP:addr", "URI:..." or a
 * bare DNS name. Hash: SHA-256 for P-256 and RSA (PKCS#1 v1.5), SHA-384 for P-384.
 * ret_pem is "CERTIFICATE REQUEST" PEM text. */
int keyd_x509_csr_build(const struct keyd_pubkey *pk, const char *subject, char *const *sans,
			keyd_x509_sign_fn sign, void *userdata, char **ret_pem, char *reason,
			size_t reason_size);
