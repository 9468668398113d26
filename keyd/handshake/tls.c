/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TLS 1.3 handshakes with GnuTLS and session-key export to kTLS (see tls.h).
 *
 * Facts this relies on:
 *  - TLS 1.3 only, AES-GCM only: those are the suites kTLS offloads here
 *    (linux/tls.h TLS_CIPHER_AES_GCM_128/256), and NVMe/TCP (TP8018) asks for
 *    TLS_AES_128_GCM_SHA256 with SHA-256 PSKs and TLS_AES_256_GCM_SHA384 with
 *    SHA-384 ones.
 *  - gnutls_record_get_state() gives, per direction, the traffic key, the 12-byte
 *    static IV and the 8-byte big-endian record sequence. kTLS wants the first 4 IV
 *    bytes as "salt" and the other 8 as "iv" (the AEAD nonce is salt||iv XOR seq,
 *    RFC 8446 section 5.3).
 *  - Servers are told not to send session tickets (GNUTLS_NO_TICKETS): a ticket
 *    arriving after the keys moved to the kernel would surface to the kernel
 *    consumer as an unexpected handshake record.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fileio.h"
#include "kernel-key.h"
#include "keyd-gnutls.h"
#include "log.h"
#include "macro.h"
#include "tls.h"
#include "tls13-agent.h"

#ifndef SOL_TLS
#define SOL_TLS 282 /* include/linux/socket.h */
#endif
#ifndef TCP_ULP
#define TCP_ULP 31 /* include/uapi/linux/tcp.h */
#endif

/* TLS 1.3 record layer (RFC 8446 section 5): header, limits, inner content type. */
#define TLS_RECORD_HEADER 5
#define TLS_RECORD_MAX_PLAIN (1 << 14)
#define TLS_RECORD_MAX_CIPHER (TLS_RECORD_MAX_PLAIN + 256)
#define TLS_CT_APPLICATION_DATA 23
#define TLS_GCM_TAG 16

/* Priority strings: TLS 1.3 only, AES-GCM only. PSK modes allow the (EC)DHE
 * variants (psk_dhe_ke) and plain psk_ke. */
#define PRIO_BASE "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:%NO_TICKETS"
#define PRIO_PSK_SHA256 PRIO_BASE ":+AES-128-GCM:+ECDHE-PSK:+DHE-PSK:+PSK"
#define PRIO_PSK_SHA384 PRIO_BASE ":+AES-256-GCM:+ECDHE-PSK:+DHE-PSK:+PSK"
#define PRIO_PSK_ANY PRIO_BASE ":+AES-128-GCM:+AES-256-GCM:+ECDHE-PSK:+DHE-PSK:+PSK"
#define PRIO_X509 PRIO_BASE ":+AES-128-GCM:+AES-256-GCM"

/* State of one handshake, reachable from GnuTLS callbacks via the session pointer. */
struct tls_ctx {
	const struct keyd_tls_params *p;
	struct keyd_tls_result *r;
	bool psk_lookup_failed; /* server: the offered identity has no key */
};

int keyd_tls_fail(struct keyd_tls_result *r, int error, const char *fmt, ...)
{
	va_list ap;

	error = error < 0 ? -error : error;
	if (r->status == 0) {
		r->status = error;
		va_start(ap, fmt);
		vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
		va_end(ap);
	}
	return -r->status;
}
#define fail keyd_tls_fail

/* ---- keys from keyrings -------------------------------------------------------- */

/* Read a key that must be of one of the readable types tlshd reads. */
static int read_key(keyd_serial_t serial, const char *const *types, size_t max,
		    struct keyd_keyring_info *ret_info, struct keyd_secret *ret)
{
	bool ok = false;
	int r;

	r = keyd_keyring_describe(serial, ret_info);
	if (r < 0)
		return r;
	for (const char *const *t = types; *t; t++)
		if (streq(ret_info->type, *t))
			ok = true;
	if (!ok)
		return -EKEYREJECTED;
	return keyd_keyring_read(serial, max, ret);
}

static const char *const psk_types[] = { "psk", "user", NULL };
static const char *const der_types[] = { "user", NULL };

/* The hash a PSK goes with: from the NVMe identity ("NVMe<v>R01" = SHA-256, "02" =
 * SHA-384, shared/reference/nvme-psk.md), or from the key size for other identities.
 * Returns the key length the hash needs (32 or 48). */
int keyd_tls_psk_hash_len(const char *identity, size_t key_len)
{
	struct keyd_psk_identity_parts parts;

	if (keyd_psk_identity_parse(identity, &parts) >= 0) {
		switch (parts.hmac) {
		case KEYD_PSK_HMAC_SHA256:
			return 32;
		case KEYD_PSK_HMAC_SHA384:
			return 48;
		case KEYD_PSK_HMAC_NONE:
		case _KEYD_PSK_HMAC_MAX:
		case _KEYD_PSK_HMAC_INVALID:
			return -EINVAL;
		}
		return -EINVAL;
	}
	return key_len == 32 || key_len == 48 ? (int)key_len : -EINVAL;
}

static int set_priority(gnutls_session_t s, const char *prio, struct keyd_tls_result *r)
{
	const char *err = NULL;
	int g;

	g = gnutls_priority_set_direct(s, prio, &err);
	if (g < 0)
		return fail(r, EINVAL, "GnuTLS refuses the priority string at '%s': %s",
			    err ? err : "?", gnutls_strerror(g));
	return 0;
}

int keyd_tls_preload(const char **ret_reason)
{
	static const char *const prios[] = { PRIO_PSK_SHA256, PRIO_PSK_SHA384, PRIO_PSK_ANY,
					     PRIO_X509 };
	int g;

	*ret_reason = NULL;
	g = gnutls_global_init();
	if (g < 0) {
		*ret_reason = gnutls_strerror(g);
		return -EIO;
	}
	for (size_t i = 0; i < ELEMENTSOF(prios); i++) {
		gnutls_priority_t prio;

		g = gnutls_priority_init(&prio, prios[i], NULL);
		if (g < 0) {
			*ret_reason = gnutls_strerror(g);
			return -EINVAL;
		}
		gnutls_priority_deinit(prio);
	}
	/* The TLS 1.3 core's libcrypto primitives (SHA-384 PSKs) load their state now too. */
	if (keyd_tls13_agent_preload() < 0) {
		*ret_reason = "libcrypto cannot run the TLS 1.3 core's primitives";
		return -EIO;
	}
	/* The global reference stays: the library's state must outlive this call. */
	return 0;
}

/* Client: the first serial the kernel sent that can be read and fits its identity's hash.
 * Fills ret->identity and ret->psk_serial; the key goes to *key, its length is the hash's. */
static int psk_client_pick(const struct keyd_tls_params *p, struct keyd_tls_result *r,
			   struct keyd_secret *key)
{
	struct keyd_keyring_info info;
	int hash_len = -EINVAL, e = -ENOKEY;
	size_t i;

	if (p->n_psk_serials == 0)
		return fail(r, ENOKEY, "the kernel sent no PSK identity");
	for (i = 0; i < p->n_psk_serials; i++) {
		keyd_secret_wipe(key);
		e = read_key(p->psk_serials[i], psk_types, KEYD_PSK_KEY_MAX, &info, key);
		if (e < 0) {
			log_debug_errno(e, "PSK key %d: cannot read it: %m", p->psk_serials[i]);
			continue;
		}
		hash_len = keyd_tls_psk_hash_len(info.description, key->len);
		if (hash_len < 0 || (size_t)hash_len != key->len ||
		    strlen(info.description) > KEYD_PSK_IDENTITY_MAX) {
			log_debug("PSK key %d: %zu bytes do not fit identity '%s'",
				  p->psk_serials[i], key->len, info.description);
			e = -EINVAL;
			continue;
		}
		break;
	}
	if (i == p->n_psk_serials) {
		keyd_secret_wipe(key);
		return fail(r, e == -EINVAL ? EINVAL : ENOKEY,
			    "no usable PSK among the %zu serial(s) the kernel sent (first: %d): %s",
			    p->n_psk_serials, p->psk_serials[0],
			    e == -EINVAL ? "key size does not match the identity's hash"
					 : "missing, unreadable or not a psk/user key");
	}
	memcpy(r->identity, info.description, strlen(info.description) + 1); /* length checked */
	r->psk_serial = p->psk_serials[i];
	return 0;
}

/* A SHA-256 PSK with GnuTLS. (GnuTLS 3.7, Debian 12, computes every external PSK binder
 * with SHA-256, so SHA-384 PSKs go to the TLS 1.3 core instead: tls13-agent.c.) */
static int psk_client_setup(struct tls_ctx *c, gnutls_session_t s, const struct keyd_secret *key,
			    gnutls_psk_client_credentials_t *ret_cred)
{
	struct keyd_tls_result *r = c->r;
	gnutls_psk_client_credentials_t cred = NULL;
	int g;

	g = gnutls_psk_allocate_client_credentials(&cred);
	if (g < 0)
		return fail(r, ENOMEM, "GnuTLS: %s", gnutls_strerror(g));
	*ret_cred = cred;
	g = gnutls_psk_set_client_credentials(cred, r->identity,
					      &(gnutls_datum_t){ key->data, (unsigned)key->len },
					      GNUTLS_PSK_KEY_RAW);
	if (g < 0)
		return fail(r, EINVAL, "GnuTLS refuses the PSK: %s", gnutls_strerror(g));
	g = gnutls_credentials_set(s, GNUTLS_CRD_PSK, cred);
	if (g < 0)
		return fail(r, ENOMEM, "GnuTLS: %s", gnutls_strerror(g));
	return set_priority(s, key->len == 48 ? PRIO_PSK_SHA384 : PRIO_PSK_SHA256, r);
}

int keyd_tls_psk_find(const struct keyd_tls_params *p, const char *identity,
		      struct keyd_secret *ret, keyd_serial_t *ret_serial)
{
	struct keyd_keyring_info info;
	keyd_serial_t serial = 0;
	int r = -ENOKEY, hash_len;

	for (size_t i = 0; i < p->n_psk_keyrings; i++) {
		r = keyd_keyring_search(p->psk_keyrings[i], "psk", identity, &serial);
		if (r == -ENODEV || r == -ENOKEY)
			r = keyd_keyring_search(p->psk_keyrings[i], "user", identity, &serial);
		if (r >= 0)
			break;
	}
	if (r < 0)
		return r;
	r = read_key(serial, psk_types, KEYD_PSK_KEY_MAX, &info, ret);
	if (r < 0)
		return r;
	hash_len = keyd_tls_psk_hash_len(identity, ret->len);
	if (hash_len < 0 || (size_t)hash_len != ret->len) {
		keyd_secret_wipe(ret);
		return -EINVAL;
	}
	*ret_serial = serial;
	return 0;
}

/* Server: find the key for the identity the client offered (tlshd searches its
 * session keyring by description; keyd searches the keyrings it was given). */
static int psk_server_lookup(gnutls_session_t s, const gnutls_datum_t *username,
			     gnutls_datum_t *key)
{
	struct tls_ctx *c = gnutls_session_get_ptr(s);
	char identity[KEYD_PSK_IDENTITY_MAX + 1];
	_cleanup_secret_ struct keyd_secret secret = { 0 };
	keyd_serial_t serial = 0;

	/* The identity is peer input: bounded, printable, no NUL. */
	if (username->size == 0 || username->size > KEYD_PSK_IDENTITY_MAX)
		goto refuse;
	for (unsigned i = 0; i < username->size; i++)
		if (username->data[i] < 0x20 || username->data[i] > 0x7e)
			goto refuse;
	memcpy(identity, username->data, username->size);
	identity[username->size] = '\0';
	snprintf(c->r->identity, sizeof(c->r->identity), "%s", identity);
	if (keyd_tls_psk_find(c->p, identity, &secret, &serial) < 0)
		goto refuse;
	key->data = gnutls_malloc(secret.len);
	if (!key->data)
		return -1;
	memcpy(key->data, secret.data, secret.len);
	key->size = (unsigned)secret.len;
	c->r->psk_serial = serial;
	return 0;
refuse:
	c->psk_lookup_failed = true;
	return -1;
}

static int psk_server_setup(struct tls_ctx *c, gnutls_session_t s,
			    gnutls_psk_server_credentials_t *ret_cred)
{
	gnutls_psk_server_credentials_t cred = NULL;
	int g;

	g = gnutls_psk_allocate_server_credentials(&cred);
	if (g < 0)
		return fail(c->r, ENOMEM, "GnuTLS: %s", gnutls_strerror(g));
	*ret_cred = cred;
	gnutls_psk_set_server_credentials_function2(cred, psk_server_lookup);
	g = gnutls_credentials_set(s, GNUTLS_CRD_PSK, cred);
	if (g < 0)
		return fail(c->r, ENOMEM, "GnuTLS: %s", gnutls_strerror(g));
	return set_priority(s, PRIO_PSK_ANY, c->r);
}

/* Trust anchors: every user key in the trust keyrings that holds a DER CA
 * certificate. Anything else in those keyrings (asymmetric keys, which cannot be
 * read, other data) is skipped. */
static int add_trust(struct tls_ctx *c, gnutls_certificate_credentials_t cred, size_t *ret_n)
{
	const struct keyd_tls_params *p = c->p;
	gnutls_x509_crt_t cas[KEYD_TLS_TRUST_MAX];
	size_t n = 0;
	int g, r = 0;

	for (size_t i = 0; i < p->n_trust_keyrings && n < KEYD_TLS_TRUST_MAX; i++) {
		_cleanup_free_ keyd_serial_t *serials = NULL;
		size_t count = 0;

		r = keyd_keyring_list(p->trust_keyrings[i], KEYD_TLS_TRUST_MAX, &serials, &count);
		if (r < 0) {
			log_debug_errno(r, "trust keyring %d: cannot list it: %m",
					p->trust_keyrings[i]);
			continue;
		}
		for (size_t j = 0; j < count && n < KEYD_TLS_TRUST_MAX; j++) {
			_cleanup_secret_ struct keyd_secret der = { 0 };
			struct keyd_keyring_info info;
			unsigned critical = 0;

			if (read_key(serials[j], der_types, KEYD_TLS_DER_MAX, &info, &der) < 0)
				continue;
			if (gnutls_x509_crt_init(&cas[n]) < 0)
				break;
			g = gnutls_x509_crt_import(cas[n],
						   &(gnutls_datum_t){ der.data, (unsigned)der.len },
						   GNUTLS_X509_FMT_DER);
			if (g < 0 || gnutls_x509_crt_get_basic_constraints(cas[n], &critical, NULL,
									   NULL) != 1) {
				gnutls_x509_crt_deinit(cas[n]);
				continue;
			}
			n++;
		}
	}
	r = 0;
	if (n > 0) {
		g = gnutls_certificate_set_x509_trust(cred, cas, (int)n);
		if (g < 0)
			r = fail(c->r, ENOMEM, "GnuTLS: %s", gnutls_strerror(g));
	}
	for (size_t i = 0; i < n; i++)
		gnutls_x509_crt_deinit(cas[i]);
	*ret_n = n;
	return r;
}

/* The seam for TPM-resident keys: the certificate from its keyring key, the private
 * key through libkeyd-gnutls, which signs with keyd's signing service (the policy's
 * [signing] must grant the key to the agent's uid). The library compares the
 * certificate's public key with the key's, so GnuTLS's test signature, one more
 * TPM command per handshake, is skipped (cred holds this one key only). */
static int signer_certificate(struct tls_ctx *c, gnutls_certificate_credentials_t cred,
			      const struct keyd_secret *cder)
{
	const struct keyd_tls_params *p = c->p;
	int g, status;

	gnutls_certificate_set_flags(cred, GNUTLS_CERTIFICATE_SKIP_KEY_CERT_MATCH);
	g = keyd_gnutls_certificate_set_key_ref(
		cred, &(gnutls_datum_t){ cder->data, (unsigned)cder->len }, 1, p->privkey, NULL, 0);
	if (g >= 0)
		return 0;
	status = g == GNUTLS_E_INSUFFICIENT_CREDENTIALS		 ? EACCES
		 : g == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE	 ? ENOKEY
		 : g == GNUTLS_E_MEMORY_ERROR			 ? ENOMEM
		 : g == GNUTLS_E_PK_SIGN_FAILED || g == GNUTLS_E_TIMEDOUT ? EIO
									  : EINVAL;
	return fail(c->r, status, "certificate %d, private key %d: %s", p->cert, p->privkey,
		    keyd_gnutls_last_error());
}

/* ---- TPM-resident keys the kernel holds (kernel-patches/0004) ------------------------ */

/* An "asymmetric" key of the kernel's TPM2 subtype (keyd-policy(5) "key = NAME as
 * tpm2", keyd-ctl key to-kernel): the kernel signs through the TPM with
 * KEYCTL_PKEY_SIGN (keyring.c) and the private part never leaves it. GnuTLS gets an
 * external key whose callbacks offer only what the key can do in TLS 1.3
 * (kernel-key.c: ECDSA with its curve's hash, RSA-PSS) and ask the kernel for each
 * signature. Every signature is checked against the certificate's public key in
 * software before it goes out: a key that does not belong to the certificate fails
 * here with a reason instead of as a peer alert, without GnuTLS's test signature
 * (one more TPM command per handshake). */
struct kernel_key {
	keyd_serial_t serial, cert;
	enum keyd_key_alg alg;
	gnutls_pubkey_t pub; /* the certificate's */
	struct keyd_tls_result *r;
};

/* GnuTLS's names for the TLS 1.3 schemes kernel-key.c knows. */
static const struct {
	gnutls_sign_algorithm_t algo;
	uint16_t tls;
} kernel_key_algos[] = {
	{ GNUTLS_SIGN_ECDSA_SECP256R1_SHA256, KEYD_TLS13_ECDSA_SECP256R1_SHA256 },
	{ GNUTLS_SIGN_ECDSA_SECP384R1_SHA384, KEYD_TLS13_ECDSA_SECP384R1_SHA384 },
	{ GNUTLS_SIGN_RSA_PSS_RSAE_SHA256, KEYD_TLS13_RSA_PSS_RSAE_SHA256 },
	{ GNUTLS_SIGN_RSA_PSS_RSAE_SHA384, KEYD_TLS13_RSA_PSS_RSAE_SHA384 },
};

static int kernel_key_scheme(const struct kernel_key *k, gnutls_sign_algorithm_t algo,
			     enum keyd_sig_scheme *ret_scheme, enum keyd_hash_alg *ret_hash)
{
	for (size_t i = 0; i < ELEMENTSOF(kernel_key_algos); i++)
		if (kernel_key_algos[i].algo == algo)
			return keyd_kernel_key_tls13(k->alg, kernel_key_algos[i].tls, ret_scheme,
						     ret_hash);
	return -EOPNOTSUPP;
}

static int kernel_key_sign_hash(gnutls_privkey_t key, gnutls_sign_algorithm_t algo,
				void *userdata, unsigned flags, const gnutls_datum_t *hash,
				gnutls_datum_t *signature)
{
	struct kernel_key *k = userdata;
	uint8_t raw[KEYD_KERNEL_KEY_SIG_MAX], sig[KEYD_KERNEL_KEY_SIG_MAX];
	char info[KEYD_KERNEL_KEY_INFO_MAX];
	enum keyd_sig_scheme scheme;
	enum keyd_hash_alg h;
	size_t raw_len = 0, sig_len = 0;
	int e;

	(void)key;
	(void)flags;
	if (kernel_key_scheme(k, algo, &scheme, &h) < 0) {
		fail(k->r, EINVAL, "private key %d (kernel %s key) cannot make %s signatures",
		     k->serial, keyd_key_alg_to_string(k->alg), gnutls_sign_get_name(algo) ?: "?");
		return GNUTLS_E_UNSUPPORTED_SIGNATURE_ALGORITHM;
	}
	if (!hash || hash->size != keyd_hash_alg_size(h)) {
		fail(k->r, EINVAL, "private key %d: GnuTLS asked to sign %u bytes, not a %s digest",
		     k->serial, hash ? hash->size : 0, keyd_hash_alg_to_string(h));
		return GNUTLS_E_INVALID_REQUEST;
	}
	e = keyd_kernel_key_sign_info(scheme, h, info, sizeof(info));
	if (e >= 0)
		e = keyd_keyring_pkey_sign(k->serial, info, hash->data, hash->size, raw,
					   sizeof(raw), &raw_len);
	if (e < 0) {
		fail(k->r, e == -EACCES ? EACCES : e == -ENOKEY || e == -EKEYREVOKED ||
				 e == -EKEYEXPIRED ? ENOKEY : EIO,
		     "private key %d: the kernel did not sign ('%s'): %s", k->serial, info,
		     strerror(-e));
		return GNUTLS_E_PK_SIGN_FAILED;
	}
	e = keyd_kernel_key_signature(k->alg, scheme, raw, raw_len, sig, sizeof(sig), &sig_len);
	explicit_bzero(raw, sizeof(raw));
	if (e < 0) {
		fail(k->r, EIO, "private key %d: the kernel returned %zu bytes that are not a %s "
		     "signature", k->serial, raw_len, keyd_sig_scheme_to_string(scheme));
		return GNUTLS_E_PK_SIGN_FAILED;
	}
	if (gnutls_pubkey_verify_hash2(k->pub, algo, 0, hash,
				       &(gnutls_datum_t){ sig, (unsigned)sig_len }) < 0) {
		fail(k->r, EINVAL, "private key %d does not belong to certificate %d: its "
		     "signature does not verify with the certificate's public key", k->serial,
		     k->cert);
		return GNUTLS_E_PK_SIGN_FAILED;
	}
	signature->data = gnutls_malloc(sig_len);
	if (!signature->data)
		return GNUTLS_E_MEMORY_ERROR;
	memcpy(signature->data, sig, sig_len);
	signature->size = (unsigned)sig_len;
	return 0;
}

static int kernel_key_info(gnutls_privkey_t key, unsigned flags, void *userdata)
{
	const struct kernel_key *k = userdata;
	enum keyd_sig_scheme scheme;
	enum keyd_hash_alg h;

	(void)key;
	if (flags & GNUTLS_PRIVKEY_INFO_HAVE_SIGN_ALGO)
		return kernel_key_scheme(k, GNUTLS_FLAGS_TO_SIGN_ALGO(flags), &scheme, &h) >= 0;
	if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO)
		return keyd_key_alg_is_ec(k->alg) ? GNUTLS_PK_ECDSA : GNUTLS_PK_RSA;
	if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO_BITS)
		return (int)keyd_kernel_key_bits(k->alg);
	if (flags & GNUTLS_PRIVKEY_INFO_SIGN_ALGO)
		return 0; /* none preferred: GnuTLS picks among the above */
	return -1;
}

static void kernel_key_deinit(gnutls_privkey_t key, void *userdata)
{
	struct kernel_key *k = userdata;

	(void)key;
	if (!k)
		return;
	gnutls_pubkey_deinit(k->pub);
	free(k);
}

/* The certificate's key kind and size against what the kernel says of its key. */
static int kernel_key_new(struct tls_ctx *c, const gnutls_pcert_st *pcert,
			  struct kernel_key **ret)
{
	const struct keyd_tls_params *p = c->p;
	struct keyd_keyring_pkey q;
	gnutls_pubkey_t pub = NULL;
	gnutls_datum_t spki = { 0 };
	struct kernel_key *k;
	unsigned bits = 0;
	int pk, e, g;

	pk = gnutls_pubkey_get_pk_algorithm(pcert->pubkey, &bits);
	e = keyd_keyring_pkey_query(p->privkey, NULL, &q);
	if (e < 0)
		return fail(c->r, e == -EOPNOTSUPP ? EINVAL : ENOKEY,
			    "private key %d: the kernel cannot describe it (%s); an asymmetric "
			    "key here must be a TPM key keyd placed (keyd-ctl key to-kernel)",
			    p->privkey, strerror(-e));
	if (!q.can_sign)
		return fail(c->r, EINVAL, "private key %d is an asymmetric key the kernel cannot "
			    "sign with (a certificate's public key, not a TPM2 key)", p->privkey);
	k = calloc(1, sizeof(*k));
	if (!k)
		return fail(c->r, ENOMEM, "out of memory");
	*k = (struct kernel_key){ .serial = p->privkey, .cert = p->cert, .r = c->r };
	if ((pk != GNUTLS_PK_ECDSA && pk != GNUTLS_PK_RSA) ||
	    keyd_kernel_key_alg(pk == GNUTLS_PK_ECDSA, bits, &k->alg) < 0 ||
	    q.key_bits != bits) {
		free(k);
		return fail(c->r, EINVAL,
			    "certificate %d (%s, %u bits) and private key %d (a %u-bit kernel "
			    "key) do not go together, or are of a kind keyd does not use",
			    p->cert, gnutls_pk_get_name(pk) ?: "?", bits, p->privkey, q.key_bits);
	}
	/* A copy of the certificate's public key, for checking each signature. */
	g = gnutls_pubkey_export2(pcert->pubkey, GNUTLS_X509_FMT_DER, &spki);
	if (g >= 0)
		g = gnutls_pubkey_init(&pub);
	if (g >= 0)
		g = gnutls_pubkey_import(pub, &spki, GNUTLS_X509_FMT_DER);
	gnutls_free(spki.data);
	if (g < 0) {
		gnutls_pubkey_deinit(pub);
		free(k);
		return fail(c->r, ENOMEM, "GnuTLS: %s", gnutls_strerror(g));
	}
	k->pub = pub;
	*ret = k;
	return 0;
}

static int kernel_certificate(struct tls_ctx *c, gnutls_certificate_credentials_t cred,
			      const struct keyd_secret *cder)
{
	const struct keyd_tls_params *p = c->p;
	gnutls_pcert_st pcert;
	gnutls_privkey_t pkey = NULL;
	struct kernel_key *k = NULL;
	int e, g;

	g = gnutls_pcert_import_x509_raw(&pcert, &(gnutls_datum_t){ cder->data, (unsigned)cder->len },
					 GNUTLS_X509_FMT_DER, 0);
	if (g < 0)
		return fail(c->r, EINVAL, "certificate key %d does not hold a DER certificate: %s",
			    p->cert, gnutls_strerror(g));
	e = kernel_key_new(c, &pcert, &k);
	if (e < 0)
		goto fail;
	g = gnutls_privkey_init(&pkey);
	if (g >= 0)
		g = gnutls_privkey_import_ext4(pkey, k, NULL, kernel_key_sign_hash, NULL,
					       kernel_key_deinit, kernel_key_info,
					       GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE);
	if (g < 0) {
		kernel_key_deinit(NULL, k);
		e = fail(c->r, ENOMEM, "GnuTLS refuses the kernel key: %s", gnutls_strerror(g));
		goto fail;
	}
	/* pkey owns k now (kernel_key_deinit); cred owns both after this succeeds. Each
	 * signature is checked against the certificate, so no test signature here. */
	gnutls_certificate_set_flags(cred, GNUTLS_CERTIFICATE_SKIP_KEY_CERT_MATCH);
	g = gnutls_certificate_set_key(cred, NULL, 0, &pcert, 1, pkey);
	if (g < 0)
		/* GnuTLS may hold them already: leaking beats a double free. */
		return fail(c->r, EINVAL, "certificate %d and private key %d: GnuTLS refuses "
			    "them: %s", p->cert, p->privkey, gnutls_strerror(g));
	log_debug("private key %d: a kernel %s key, signed with KEYCTL_PKEY_SIGN", p->privkey,
		  keyd_key_alg_to_string(k->alg));
	return 0;
fail:
	if (pkey)
		gnutls_privkey_deinit(pkey);
	gnutls_pcert_deinit(&pcert);
	return e;
}

static int own_certificate(struct tls_ctx *c, gnutls_certificate_credentials_t cred)
{
	const struct keyd_tls_params *p = c->p;
	struct keyd_tls_result *r = c->r;
	_cleanup_secret_ struct keyd_secret cder = { 0 }, kder = { 0 };
	gnutls_x509_crt_t crt = NULL;
	gnutls_x509_privkey_t key = NULL;
	struct keyd_keyring_info info;
	gnutls_datum_t d;
	int e, g;

	e = read_key(p->cert, der_types, KEYD_TLS_DER_MAX, &info, &cder);
	if (e < 0)
		return fail(r, e == -EKEYREJECTED ? EINVAL : ENOKEY, "certificate key %d: %s",
			    p->cert,
			    e == -EKEYREJECTED ? "not a user key holding DER" : strerror(-e));
	/* The kernel's TPM2 key subtype: an asymmetric key the kernel signs with. */
	if (p->key_source == KEYD_TLS_KEY_KEYRING_DER && p->privkey &&
	    keyd_keyring_describe(p->privkey, &info) >= 0 && streq(info.type, "asymmetric"))
		return kernel_certificate(c, cred, &cder);
	switch (p->key_source) {
	case KEYD_TLS_KEY_KEYRING_DER:
		/* A reference to a TPM-resident key (policy "key = NAME as ref": a user
		 * key holding "keyd:NAME") where DER key material would be. */
		if (keyd_gnutls_serial_is_ref(p->privkey) != 1)
			break;
		__attribute__((fallthrough));
	case KEYD_TLS_KEY_KEYD_SIGNER:
		return signer_certificate(c, cred, &cder);
	}
	e = read_key(p->privkey, der_types, KEYD_TLS_DER_MAX, &info, &kder);
	if (e < 0)
		return fail(r, e == -EKEYREJECTED ? EINVAL : ENOKEY,
			    "private key %d: %s (a key only the TPM holds cannot be read)",
			    p->privkey,
			    e == -EKEYREJECTED ? "not a user key holding DER" : strerror(-e));

	if (gnutls_x509_crt_init(&crt) < 0 || gnutls_x509_privkey_init(&key) < 0) {
		e = fail(r, ENOMEM, "GnuTLS: out of memory");
		goto out;
	}
	d = (gnutls_datum_t){ cder.data, (unsigned)cder.len };
	g = gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_DER);
	if (g < 0) {
		e = fail(r, EINVAL, "certificate key %d does not hold a DER certificate: %s",
			 p->cert, gnutls_strerror(g));
		goto out;
	}
	d = (gnutls_datum_t){ kder.data, (unsigned)kder.len };
	g = gnutls_x509_privkey_import_pkcs8(key, &d, GNUTLS_X509_FMT_DER, NULL, GNUTLS_PKCS_PLAIN);
	if (g < 0)
		g = gnutls_x509_privkey_import(key, &d, GNUTLS_X509_FMT_DER);
	if (g < 0) {
		e = fail(r, EINVAL, "private key %d is not a DER key (PKCS#8 or plain): %s",
			 p->privkey, gnutls_strerror(g));
		goto out;
	}
	g = gnutls_certificate_set_x509_key(cred, &crt, 1, key);
	if (g < 0) {
		e = fail(r, EINVAL, "certificate %d and key %d do not match: %s", p->cert,
			 p->privkey, gnutls_strerror(g));
		goto out;
	}
	e = 0;
out:
	if (key)
		gnutls_x509_privkey_deinit(key);
	if (crt)
		gnutls_x509_crt_deinit(crt);
	return e;
}

static bool is_ip_literal(const char *s)
{
	uint8_t buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static int x509_setup(struct tls_ctx *c, gnutls_session_t s,
		      gnutls_certificate_credentials_t *ret_cred)
{
	const struct keyd_tls_params *p = c->p;
	gnutls_certificate_credentials_t cred = NULL;
	size_t n_trust = 0;
	int e, g;

	g = gnutls_certificate_allocate_credentials(&cred);
	if (g < 0)
		return fail(c->r, ENOMEM, "GnuTLS: %s", gnutls_strerror(g));
	*ret_cred = cred;
	if (p->auth == KEYD_TLS_AUTH_X509 && (p->cert || p->privkey || p->server)) {
		e = own_certificate(c, cred);
		if (e < 0)
			return e;
	}
	e = add_trust(c, cred, &n_trust);
	if (e < 0)
		return e;
	g = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
	if (g < 0)
		return fail(c->r, ENOMEM, "GnuTLS: %s", gnutls_strerror(g));

	if (p->server) {
		/* Ask for a client certificate; one that comes must verify. */
		gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUEST);
		gnutls_session_set_verify_cert(s, NULL, 0);
	} else {
		/* Fail closed: a client always verifies the server. */
		if (n_trust == 0)
			return fail(c->r, EACCES,
				    "no trust anchor: no DER CA certificate in the trust keyrings");
		if (p->peername && p->peername[0] && !is_ip_literal(p->peername)) {
			g = gnutls_server_name_set(s, GNUTLS_NAME_DNS, p->peername,
						   strlen(p->peername));
			if (g < 0)
				return fail(c->r, EINVAL, "GnuTLS: %s", gnutls_strerror(g));
		}
		gnutls_session_set_verify_cert(
			s, p->peername && p->peername[0] ? p->peername : NULL, 0);
	}
	return set_priority(s, PRIO_X509, c->r);
}

/* ---- status ---------------------------------------------------------------------- */

static int status_from_gnutls(struct tls_ctx *c, gnutls_session_t s, int g)
{
	bool psk = c->p->auth == KEYD_TLS_AUTH_PSK;
	const char *what = gnutls_strerror(g);

	switch (g) {
	case GNUTLS_E_MEMORY_ERROR:
		return fail(c->r, ENOMEM, "%s", what);
	case GNUTLS_E_TIMEDOUT:
		return fail(c->r, EIO, "the handshake timed out");
	case GNUTLS_E_PREMATURE_TERMINATION:
	case GNUTLS_E_PULL_ERROR:
	case GNUTLS_E_PUSH_ERROR:
		if (psk && !c->p->server)
			/* Some servers close without an alert when they do not know
			 * the identity. */
			return fail(c->r, EKEYREJECTED, "the peer closed the connection: %s", what);
		return fail(c->r, EIO, "%s", what);
	case GNUTLS_E_FATAL_ALERT_RECEIVED: {
		const char *alert = gnutls_alert_get_name(gnutls_alert_get(s));

		return fail(c->r, psk ? EKEYREJECTED : EACCES, "the peer sent alert '%s'",
			    alert ? alert : "?");
	}
	case GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR:
	case GNUTLS_E_CERTIFICATE_ERROR:
	case GNUTLS_E_NO_CERTIFICATE_FOUND:
		return fail(c->r, EACCES, "the peer certificate was refused: %s", what);
	default:
		if (psk && c->psk_lookup_failed)
			return fail(c->r, ENOKEY, "no PSK for the identity '%s' the client offered",
				    c->r->identity);
		return fail(c->r, psk ? EKEYREJECTED : EACCES, "%s", what);
	}
}

/* ---- kTLS ------------------------------------------------------------------------ */

static int export_dir(gnutls_session_t s, bool read, gnutls_cipher_algorithm_t cipher,
		      struct keyd_tls_dir *d)
{
	gnutls_datum_t mac, iv, key;
	unsigned char seq[8];
	size_t key_len;
	int g;

	g = gnutls_record_get_state(s, read ? 1 : 0, &mac, &iv, &key, seq);
	if (g < 0)
		return -EIO;
	key_len = cipher == GNUTLS_CIPHER_AES_128_GCM ? TLS_CIPHER_AES_GCM_128_KEY_SIZE
						      : TLS_CIPHER_AES_GCM_256_KEY_SIZE;
	if (key.size != key_len ||
	    iv.size != TLS_CIPHER_AES_GCM_128_SALT_SIZE + TLS_CIPHER_AES_GCM_128_IV_SIZE)
		return -EIO;
	memset(d, 0, sizeof(*d));
	d->info.version = TLS_1_3_VERSION;
	if (cipher == GNUTLS_CIPHER_AES_128_GCM) {
		d->info.cipher_type = TLS_CIPHER_AES_GCM_128;
		memcpy(d->gcm128.key, key.data, key.size);
		memcpy(d->gcm128.salt, iv.data, TLS_CIPHER_AES_GCM_128_SALT_SIZE);
		memcpy(d->gcm128.iv, iv.data + TLS_CIPHER_AES_GCM_128_SALT_SIZE,
		       TLS_CIPHER_AES_GCM_128_IV_SIZE);
		memcpy(d->gcm128.rec_seq, seq, sizeof(seq));
		d->len = sizeof(d->gcm128);
	} else {
		d->info.cipher_type = TLS_CIPHER_AES_GCM_256;
		memcpy(d->gcm256.key, key.data, key.size);
		memcpy(d->gcm256.salt, iv.data, TLS_CIPHER_AES_GCM_256_SALT_SIZE);
		memcpy(d->gcm256.iv, iv.data + TLS_CIPHER_AES_GCM_256_SALT_SIZE,
		       TLS_CIPHER_AES_GCM_256_IV_SIZE);
		memcpy(d->gcm256.rec_seq, seq, sizeof(seq));
		d->len = sizeof(d->gcm256);
	}
	return 0;
}

static int install(struct tls_ctx *c, gnutls_session_t s)
{
	struct keyd_tls_result *r = c->r;
	gnutls_cipher_algorithm_t cipher = gnutls_cipher_get(s);

	if (gnutls_protocol_get_version(s) != GNUTLS_TLS1_3)
		return fail(r, EIO, "the session is not TLS 1.3");
	if (cipher != GNUTLS_CIPHER_AES_128_GCM && cipher != GNUTLS_CIPHER_AES_256_GCM)
		return fail(r, EIO, "cipher %s cannot go to kTLS", gnutls_cipher_get_name(cipher));
	/* Bytes GnuTLS already read past the handshake would be lost to the kernel. */
	if (gnutls_record_check_pending(s) > 0)
		return fail(r, EIO, "the peer sent data before the keys reached the kernel");
	if (export_dir(s, false, cipher, &r->tx) < 0 || export_dir(s, true, cipher, &r->rx) < 0)
		return fail(r, EIO, "GnuTLS cannot export the session keys");
	return keyd_tls_install_keys(c->p, r, gnutls_cipher_get_name(cipher));
}

int keyd_tls_install_keys(const struct keyd_tls_params *p, struct keyd_tls_result *r,
			  const char *cipher)
{
	if (setsockopt(p->fd, SOL_TCP, TCP_ULP, "tls", sizeof("tls")) < 0) {
		int e = errno;

		if (p->install == KEYD_TLS_INSTALL_KTLS_OR_SOFT && (e == ENOENT || e == EOPNOTSUPP)) {
			r->soft = true;
			return 0;
		}
		return fail(r, EIO,
			    "the kernel has no kTLS (TCP_ULP \"tls\": %s); load the tls module",
			    strerror(e));
	}
	if (setsockopt(p->fd, SOL_TLS, TLS_TX, &r->tx, (socklen_t)r->tx.len) < 0 ||
	    setsockopt(p->fd, SOL_TLS, TLS_RX, &r->rx, (socklen_t)r->rx.len) < 0)
		return fail(r, EIO,
			    "the kernel refuses the %s keys (%s); load the gcm and ghash modules",
			    cipher, strerror(errno));
	explicit_bzero(&r->tx, sizeof(r->tx));
	explicit_bzero(&r->rx, sizeof(r->rx));
	r->ktls = true;
	return 0;
}

static void peer_certificate(struct tls_ctx *c, gnutls_session_t s)
{
	const gnutls_datum_t *list;
	gnutls_x509_crt_t crt;
	unsigned n = 0;
	size_t dn_len;

	if (gnutls_certificate_type_get(s) != GNUTLS_CRT_X509)
		return;
	list = gnutls_certificate_get_peers(s, &n);
	if (!list || n == 0 || list[0].size > KEYD_TLS_DER_MAX)
		return;
	c->r->peer_der = malloc(list[0].size);
	if (!c->r->peer_der)
		return;
	memcpy(c->r->peer_der, list[0].data, list[0].size);
	c->r->peer_der_len = list[0].size;
	if (gnutls_x509_crt_init(&crt) < 0)
		return;
	dn_len = sizeof(c->r->peer_dn);
	if (gnutls_x509_crt_import(crt, &list[0], GNUTLS_X509_FMT_DER) < 0 ||
	    gnutls_x509_crt_get_dn(crt, c->r->peer_dn, &dn_len) < 0)
		c->r->peer_dn[0] = '\0';
	gnutls_x509_crt_deinit(crt);
}

int keyd_tls_handshake(const struct keyd_tls_params *p, struct keyd_tls_result *ret)
{
	struct tls_ctx c = { .p = p, .r = ret };
	gnutls_session_t s = NULL;
	gnutls_psk_client_credentials_t psk_client = NULL;
	gnutls_psk_server_credentials_t psk_server = NULL;
	gnutls_certificate_credentials_t x509 = NULL;
	_cleanup_secret_ struct keyd_secret psk_key = { 0 };
	const char *name;
	int g, e;

	memset(ret, 0, sizeof(*ret));
	/* SHA-384 PSKs: GnuTLS 3.7 computes every external PSK binder with SHA-256 (its
	 * lib/psk.c sets the credentials' binder_algo to SHA-256 and only 3.8's
	 * gnutls_psk_allocate_*_credentials2() change it), so they run on keyd's TLS 1.3
	 * core (tls13-agent.c). A server learns the hash from the binder length the client
	 * offers, peeked without reading. */
	if (p->auth == KEYD_TLS_AUTH_PSK && !p->server) {
		e = psk_client_pick(p, ret, &psk_key);
		if (e < 0)
			return e;
		if (psk_key.len == 48)
			return keyd_tls13_agent_client(p, &psk_key, ret);
	} else if (p->auth == KEYD_TLS_AUTH_PSK) {
		e = keyd_tls13_agent_peek(p->fd, p->timeout_ms);
		if (e < 0)
			return fail(ret, EIO, "no ClientHello from the peer: %s", strerror(-e));
		if (e == 1)
			return keyd_tls13_agent_server(p, ret);
	}
	g = gnutls_init(&s, (p->server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NO_TICKETS |
				 GNUTLS_NO_SIGNAL);
	if (g < 0)
		return fail(ret, ENOMEM, "GnuTLS: %s", gnutls_strerror(g));
	gnutls_session_set_ptr(s, &c);
	gnutls_transport_set_int(s, p->fd);
	gnutls_handshake_set_timeout(s, p->timeout_ms ? p->timeout_ms
						      : GNUTLS_DEFAULT_HANDSHAKE_TIMEOUT);

	switch (p->auth) {
	case KEYD_TLS_AUTH_PSK:
		e = p->server ? psk_server_setup(&c, s, &psk_server)
			      : psk_client_setup(&c, s, &psk_key, &psk_client);
		break;
	case KEYD_TLS_AUTH_X509:
		e = x509_setup(&c, s, &x509);
		break;
	case KEYD_TLS_AUTH_UNAUTH:
		e = p->server ? fail(ret, EINVAL, "an unauthenticated server is not supported")
			      : x509_setup(&c, s, &x509);
		break;
	default:
		e = fail(ret, EINVAL, "unknown authentication mode");
		break;
	}
	if (e < 0)
		goto out;

	do
		g = gnutls_handshake(s);
	while (g < 0 && !gnutls_error_is_fatal(g));
	if (g < 0) {
		e = status_from_gnutls(&c, s, g);
		goto out;
	}
	name = gnutls_ciphersuite_get(s);
	snprintf(ret->cipher, sizeof(ret->cipher), "%s", name ? name : "?");
	if (p->auth != KEYD_TLS_AUTH_PSK)
		peer_certificate(&c, s);
	e = install(&c, s);
out:
	/* Never gnutls_bye(): after kTLS the kernel owns the stream, and on failure the
	 * kernel consumer closes the socket. */
	gnutls_deinit(s);
	if (psk_client)
		gnutls_psk_free_client_credentials(psk_client);
	if (psk_server)
		gnutls_psk_free_server_credentials(psk_server);
	if (x509)
		gnutls_certificate_free_credentials(x509);
	return e;
}

void keyd_tls_result_done(struct keyd_tls_result *r)
{
	if (!r)
		return;
	free(r->peer_der);
	r->peer_der = NULL;
	r->peer_der_len = 0;
	explicit_bzero(&r->tx, sizeof(r->tx));
	explicit_bzero(&r->rx, sizeof(r->rx));
}

/* ---- software record layer (test mode) -------------------------------------------- */

static int soft_cipher(const struct keyd_tls_dir *d, gnutls_aead_cipher_hd_t *ret,
		       uint8_t nonce[12])
{
	const uint8_t *key, *salt, *iv, *seq;
	gnutls_cipher_algorithm_t alg;
	unsigned key_len;

	if (d->info.cipher_type == TLS_CIPHER_AES_GCM_128) {
		alg = GNUTLS_CIPHER_AES_128_GCM;
		key = d->gcm128.key, key_len = sizeof(d->gcm128.key);
		salt = d->gcm128.salt, iv = d->gcm128.iv, seq = d->gcm128.rec_seq;
	} else if (d->info.cipher_type == TLS_CIPHER_AES_GCM_256) {
		alg = GNUTLS_CIPHER_AES_256_GCM;
		key = d->gcm256.key, key_len = sizeof(d->gcm256.key);
		salt = d->gcm256.salt, iv = d->gcm256.iv, seq = d->gcm256.rec_seq;
	} else {
		return -EINVAL;
	}
	/* RFC 8446 5.3: the 12-byte IV XOR the sequence number, left-padded. */
	memcpy(nonce, salt, 4);
	memcpy(nonce + 4, iv, 8);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] ^= seq[i];
	if (gnutls_aead_cipher_init(ret, alg, &(gnutls_datum_t){ (void *)key, key_len }) < 0)
		return -EIO;
	return 0;
}

static void soft_seq_next(struct keyd_tls_dir *d)
{
	uint8_t *seq = d->info.cipher_type == TLS_CIPHER_AES_GCM_128 ? d->gcm128.rec_seq
								     : d->gcm256.rec_seq;

	for (int i = 7; i >= 0; i--)
		if (++seq[i] != 0)
			break;
}

static int read_exact(int fd, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, (uint8_t *)buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		done += (size_t)n;
	}
	return 0;
}

int keyd_tls_soft_send(int fd, struct keyd_tls_result *r, const void *data, size_t len)
{
	uint8_t rec[TLS_RECORD_HEADER + TLS_RECORD_MAX_PLAIN + 1 + TLS_GCM_TAG];
	uint8_t inner[TLS_RECORD_MAX_PLAIN + 1], nonce[12];
	gnutls_aead_cipher_hd_t h;
	size_t out_len, clen;
	int e;

	if (!r->soft || len > TLS_RECORD_MAX_PLAIN)
		return -EINVAL;
	memcpy(inner, data, len);
	inner[len] = TLS_CT_APPLICATION_DATA;
	clen = len + 1 + TLS_GCM_TAG;
	rec[0] = TLS_CT_APPLICATION_DATA, rec[1] = 3, rec[2] = 3;
	rec[3] = (uint8_t)(clen >> 8), rec[4] = (uint8_t)clen;
	e = soft_cipher(&r->tx, &h, nonce);
	if (e < 0)
		return e;
	out_len = sizeof(rec) - TLS_RECORD_HEADER;
	e = gnutls_aead_cipher_encrypt(h, nonce, sizeof(nonce), rec, TLS_RECORD_HEADER, TLS_GCM_TAG,
				       inner, len + 1, rec + TLS_RECORD_HEADER, &out_len);
	gnutls_aead_cipher_deinit(h);
	if (e < 0 || out_len != clen)
		return -EIO;
	soft_seq_next(&r->tx);
	return keyd_write_all(fd, rec, TLS_RECORD_HEADER + clen);
}

int keyd_tls_soft_recv(int fd, struct keyd_tls_result *r, void *buf, size_t size, size_t *ret_len)
{
	uint8_t hdr[TLS_RECORD_HEADER], body[TLS_RECORD_MAX_CIPHER], plain[TLS_RECORD_MAX_CIPHER];
	uint8_t nonce[12];
	gnutls_aead_cipher_hd_t h;
	size_t clen, plen = sizeof(plain);
	int e;

	if (!r->soft)
		return -EINVAL;
	e = read_exact(fd, hdr, sizeof(hdr));
	if (e < 0)
		return e;
	clen = (size_t)hdr[3] << 8 | hdr[4];
	if (hdr[0] != TLS_CT_APPLICATION_DATA || clen < TLS_GCM_TAG + 1 ||
	    clen > TLS_RECORD_MAX_CIPHER)
		return -EBADMSG;
	e = read_exact(fd, body, clen);
	if (e < 0)
		return e;
	e = soft_cipher(&r->rx, &h, nonce);
	if (e < 0)
		return e;
	e = gnutls_aead_cipher_decrypt(h, nonce, sizeof(nonce), hdr, sizeof(hdr), TLS_GCM_TAG, body,
				       clen, plain, &plen);
	gnutls_aead_cipher_deinit(h);
	if (e < 0) {
		log_debug("soft record: does not authenticate: %s", gnutls_strerror(e));
		return -EBADMSG; /* wrong keys: the record does not authenticate */
	}
	soft_seq_next(&r->rx);
	/* Strip the zero padding; the last non-zero byte is the content type. */
	while (plen > 0 && plain[plen - 1] == 0)
		plen--;
	if (plen == 0 || plain[plen - 1] != TLS_CT_APPLICATION_DATA)
		return -EBADMSG;
	plen--;
	if (plen > size)
		return -ENOBUFS;
	memcpy(buf, plain, plen);
	*ret_len = plen;
	return 0;
}
