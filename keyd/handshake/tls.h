/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One TLS 1.3 handshake on a connected TCP socket, with GnuTLS, and the session
 * keys handed to kernel TLS (kTLS). tls.c is the only file that uses GnuTLS.
 *
 * Keys and trust come from kernel keyrings, read through core/keyring.c, the way
 * tlshd reads them (shared/reference/handshake.md): a PSK key's description is the
 * TLS identity and its payload the raw PSK; an x509 certificate and private key are
 * DER payloads of readable keys; trust anchors are DER certificates in user keys.
 * A private key that only a TPM holds comes as a reference ("keyd:NAME" in a user
 * key, signed through keyd) or as an asymmetric key of the kernel's TPM2 subtype
 * (kernel-patches/0004, signed by the kernel with KEYCTL_PKEY_SIGN).
 */
#pragma once

#include <linux/tls.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keyring.h"
#include "macro.h"
#include "psk.h"

enum keyd_tls_auth {
	KEYD_TLS_AUTH_UNAUTH, /* client only: verify the server, present nothing */
	KEYD_TLS_AUTH_PSK,
	KEYD_TLS_AUTH_X509,
};

/* Where the x509 private key comes from. The seam for TPM-resident keys: a key
 * that never leaves the TPM will be used through keyd's signing service
 * (libkeyd-client) with GnuTLS external-key callbacks; until that lands the
 * source is refused with -EOPNOTSUPP and a reason. */
enum keyd_tls_key_source {
	KEYD_TLS_KEY_KEYRING_DER, /* PKCS#8 or plain DER in a readable (user) key */
	KEYD_TLS_KEY_KEYD_SIGNER, /* not yet: signed through keyd's socket */
};

/* What the kernel does with the keys once the handshake is done. */
enum keyd_tls_install {
	KEYD_TLS_INSTALL_KTLS, /* TCP_ULP "tls" + TLS_TX/TLS_RX; failure fails the handshake */
	/* Test mode: kTLS when the kernel has it, otherwise keep the parameters for the
	 * software record layer below (proves them on kernels without kTLS). */
	KEYD_TLS_INSTALL_KTLS_OR_SOFT,
};

#define KEYD_TLS_TRUST_MAX 256   /* trust anchors taken from keyrings */
#define KEYD_TLS_KEYRINGS_MAX 16 /* keyrings searched for PSKs or trust */
#define KEYD_TLS_DER_MAX (64 * 1024)

struct keyd_tls_params {
	int fd;
	bool server;
	enum keyd_tls_auth auth;
	const char *peername; /* client: the name the server certificate must carry; NULL: none */
	uint32_t timeout_ms;  /* 0: GnuTLS's default */
	/* PSK client: the serials the kernel sent, tried in order (the first usable one). */
	const keyd_serial_t *psk_serials;
	size_t n_psk_serials;
	/* PSK server: keyrings searched for a "psk" (or "user") key described as the
	 * identity the client offers. */
	const keyd_serial_t *psk_keyrings;
	size_t n_psk_keyrings;
	/* x509: own certificate and key (0: none; a server needs both). */
	keyd_serial_t cert;
	keyd_serial_t privkey;
	enum keyd_tls_key_source key_source;
	/* x509 and unauth: keyrings whose user keys hold DER CA certificates. */
	const keyd_serial_t *trust_keyrings;
	size_t n_trust_keyrings;
	enum keyd_tls_install install;
};

/* The kTLS parameters of one direction (linux/tls.h). Secret: wiped by
 * keyd_tls_result_done(). */
struct keyd_tls_dir {
	union {
		struct tls_crypto_info info;
		struct tls12_crypto_info_aes_gcm_128 gcm128;
		struct tls12_crypto_info_aes_gcm_256 gcm256;
	};
	size_t len; /* sizeof the member in use */
};

struct keyd_tls_result {
	int status;          /* 0 or the positive errno the kernel is told */
	char reason[256];    /* why it failed, for the log; never holds secrets */
	char identity[KEYD_PSK_IDENTITY_MAX + 1]; /* PSK identity used ("" otherwise) */
	keyd_serial_t psk_serial;
	char cipher[48];     /* "TLS_AES_128_GCM_SHA256" */
	char peer_dn[256];   /* the verified peer certificate's subject, "" if none */
	uint8_t *peer_der;   /* the verified peer certificate (DER), for remote-auth */
	size_t peer_der_len;
	bool ktls;           /* installed in the kernel */
	bool soft;           /* KEYD_TLS_INSTALL_KTLS_OR_SOFT fell back to tx/rx below */
	struct keyd_tls_dir tx, rx;
};

/* Run the handshake. Returns 0 with ret->status = 0 on success, or a negative
 * errno with ret->status = that errno (positive) and ret->reason filled. The
 * status is what the kernel understands: EACCES (peer certificate refused),
 * EKEYREJECTED (the peer refused our PSK identity or key), ENOKEY (no key),
 * EINVAL, ENOMEM, EIO (network, timeout, kTLS). */
/* Load what GnuTLS reads lazily (its global state, the system-wide configuration that
 * priority strings consult) by compiling every priority string the handshakes use once,
 * so that a handshake after mlockall() needs no file. On failure *ret_reason names GnuTLS's
 * error. */
int keyd_tls_preload(const char **ret_reason);
int keyd_tls_handshake(const struct keyd_tls_params *p, struct keyd_tls_result *ret);
/* Wipe and free what the result holds. */
void keyd_tls_result_done(struct keyd_tls_result *r);

/* For tls13-agent.c, the handshakes that run on keyd's TLS 1.3 core (SHA-384 PSKs). */
/* Record the first failure in r (error: errno, either sign) and return -error. */
_printf_(3, 4) int keyd_tls_fail(struct keyd_tls_result *r, int error, const char *fmt, ...);
/* The PSK length an identity's hash needs (32 or 48), from the NVMe identity or, for other
 * identities, from the key length; -EINVAL when neither fits. */
int keyd_tls_psk_hash_len(const char *identity, size_t key_len);
/* Server: the psk (or user) key described as identity in p's PSK keyrings, read and checked
 * against the identity's hash. -ENOKEY when there is none. */
int keyd_tls_psk_find(const struct keyd_tls_params *p, const char *identity,
		      struct keyd_secret *ret, keyd_serial_t *ret_serial);
/* Hand r->tx and r->rx to kTLS on p->fd (or keep them for the software record layer under
 * KEYD_TLS_INSTALL_KTLS_OR_SOFT when the kernel has no kTLS); cipher names the suite in
 * messages. Wipes the keys once the kernel has them. */
int keyd_tls_install_keys(const struct keyd_tls_params *p, struct keyd_tls_result *r,
			  const char *cipher);

/* Test mode only: one TLS 1.3 application-data record with the parameters kept
 * in r (r->soft), so a test proves them against a real peer where the kernel has
 * no kTLS. Advances the record sequence. */
int keyd_tls_soft_send(int fd, struct keyd_tls_result *r, const void *data, size_t len);
int keyd_tls_soft_recv(int fd, struct keyd_tls_result *r, void *buf, size_t size, size_t *ret_len);
