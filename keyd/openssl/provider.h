/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * keyd.so, the OpenSSL 3 provider: internal interface between its files.
 *   provider.c   OSSL_provider_init, the provider context, error reasons, the
 *                connection to keyd (libkeyd-client, linked in statically)
 *   store.c      OSSL_STORE loader for keyd:<name> URIs
 *   keymgmt.c    key management for the public parts of EC and RSA keys
 *   signature.c  ECDSA, RSA PKCS#1 v1.5 and RSA-PSS signatures, done by keyd
 *   pubkey.c     keyd's SubjectPublicKeyInfo as an EVP_PKEY in prov->libctx
 *
 * This code runs inside other programs: it never exits, aborts, logs above
 * debug or installs signal handlers, and it reports failures through the core's
 * error queue with the reasons below. Any number of threads may use one
 * provider context; the keyd connection is shared under a mutex.
 */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/evp.h>

#include "client.h"

#define KEYD_OSSL_NAME_MAX 64
#define KEYD_OSSL_URI_SCHEME "keyd"

/* Reasons (OSSL_FUNC_provider_get_reason_strings); keep in step with provider.c. */
enum {
	KEYD_OSSL_R_NOT_RUNNING = 1, /* cannot reach keyd's socket */
	KEYD_OSSL_R_PERMISSION,      /* keyd's policy grants this uid no use of the key */
	KEYD_OSSL_R_NO_SUCH_KEY,
	KEYD_OSSL_R_SIGN_FAILED,     /* keyd or the TPM failed */
	KEYD_OSSL_R_UNSUPPORTED,     /* a digest, padding or salt length keyd cannot do */
	KEYD_OSSL_R_BAD_URI,
	KEYD_OSSL_R_BAD_KEY,         /* keyd's answer does not hold a usable public key */
	KEYD_OSSL_R_INTERNAL,
};

struct keyd_ossl_prov {
	const OSSL_CORE_HANDLE *handle;
	/* A library context of our own with the default provider, for parsing the
	 * public key and hashing: never the caller's, so nothing here can recurse
	 * into this provider. Made on first use: read it through keyd_ossl_libctx(). */
	OSSL_LIB_CTX *libctx;
	OSSL_PROVIDER *deflt;
	pthread_mutex_t libctx_lock; /* guards making it */
	int libctx_state;            /* atomic: 0 not yet, 1 made, -1 failed */
	OSSL_FUNC_core_new_error_fn *new_error;
	OSSL_FUNC_core_set_error_debug_fn *set_error_debug;
	OSSL_FUNC_core_vset_error_fn *vset_error;
	/* The default provider's key management in libctx, for parameter lists
	 * (keyd_ossl_default_keymgmt()). */
	EVP_KEYMGMT *km_ec, *km_rsa;

	pthread_mutex_t lock; /* guards client and client_pid */
	keyd_client *client;
	pid_t client_pid; /* the process that connected: a forked child reconnects */
};

/* A key of this provider's EC or RSA key management. Two kinds:
 *  - a keyd key: name set, pkey its public part; the private key is in the TPM
 *    and every signature goes to keyd;
 *  - a plain key: name empty, pkey any key (public, key pair or parameters).
 *    OpenSSL fetches key management by algorithm name, and when keyd.so is
 *    loaded before the default provider its "EC" and "RSA" are the ones found
 *    first: for certificates' public keys, ephemeral TLS keys and anything else
 *    the program does with EC and RSA keys. Those are plain keys, kept in
 *    prov->libctx and handled by the default provider there.
 * Reference-counted: the store, keymgmt and signature contexts may share one. */
struct keyd_ossl_key {
	struct keyd_ossl_prov *prov;
	int refs; /* atomic */
	char name[KEYD_OSSL_NAME_MAX + 1];
	EVP_PKEY *pkey; /* in prov->libctx; NULL for a key still empty (keymgmt new) */
	bool is_ec;
	int selection; /* what pkey holds: OSSL_KEYMGMT_SELECT_* bits */
};

void keyd_ossl_error(struct keyd_ossl_prov *p, int reason, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Map a keyd_client error to a reason and raise it, with keyd's message. */
void keyd_ossl_client_error(struct keyd_ossl_prov *p, int r, const char *key, const char *what,
			    const char *message);

/* The provider's own library context, made on the first call; NULL (error
 * raised) if the default provider cannot be loaded into it. */
OSSL_LIB_CTX *keyd_ossl_libctx(struct keyd_ossl_prov *p);
/* The default provider's EC or RSA key management there; NULL likewise. */
EVP_KEYMGMT *keyd_ossl_default_keymgmt(struct keyd_ossl_prov *p, bool is_ec);

/* EVP_PKEY_fromdata with the default provider's EC or RSA in the provider's
 * own library context (keymgmt.c); NULL on failure. */
EVP_PKEY *keyd_ossl_default_fromdata(struct keyd_ossl_prov *p, bool is_ec, int selection,
				     const OSSL_PARAM params[]);

/* Fetch the key's public part from keyd (GET-PUBKEY) into a new key (refs 1).
 * On failure the error is raised and NULL returned. If ret_pubkey is not NULL it
 * receives the reply (certificates) for the caller to free. */
struct keyd_ossl_key *keyd_ossl_key_fetch(struct keyd_ossl_prov *p, const char *name,
					  struct keyd_client_pubkey **ret_pubkey);
struct keyd_ossl_key *keyd_ossl_key_ref(struct keyd_ossl_key *k);
void keyd_ossl_key_unref(struct keyd_ossl_key *k); /* accepts NULL */

/* An SPKI as a public EVP_PKEY in p->libctx; NULL if it does not parse (no
 * error raised: the caller says which key). */
EVP_PKEY *keyd_ossl_pubkey_from_spki(struct keyd_ossl_prov *p, const uint8_t *der, size_t len);

/* SIGN through keyd: 1 ok, 0 with the error raised. */
int keyd_ossl_sign(struct keyd_ossl_key *k, uint32_t scheme, uint32_t hash, const uint8_t *digest,
		   size_t digest_len, uint8_t *sig, size_t sig_size, size_t *ret_sig_len);

extern const OSSL_DISPATCH keyd_ossl_store_functions[];
extern const OSSL_DISPATCH keyd_ossl_keymgmt_ec_functions[];
extern const OSSL_DISPATCH keyd_ossl_keymgmt_rsa_functions[];
extern const OSSL_DISPATCH keyd_ossl_signature_ecdsa_functions[];
extern const OSSL_DISPATCH keyd_ossl_signature_rsa_functions[];
