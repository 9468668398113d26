/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libkeyd-gnutls: keyd's keys for GnuTLS programs (docs/gnutls.md).
 *
 *  - a TPM-resident private key as a gnutls_privkey_t: GnuTLS external-key
 *    callbacks that sign through keyd's socket (SIGN, GET-PUBKEY), so the key never
 *    leaves the TPM;
 *  - a trust list from the DER CA certificates of a kernel keyring;
 *  - a TLS PSK (identity and key) from a key serial, read the way a handshake
 *    agent reads it.
 *
 * Conventions:
 *  - Every function returns >= 0 on success and a negative GNUTLS_E_* code on
 *    failure (gnutls_strerror() names it); keyd_gnutls_last_error() then says why,
 *    in a sentence that names the key and, where keyd gave one, keyd's reason.
 *  - The library never logs, exits, aborts or installs signal handlers. Every
 *    wait on keyd is bounded: with keyd stopped a call fails at once (the socket is
 *    gone or refuses), with keyd hung it fails after the client timeouts of
 *    libkeyd-client (5 s to connect, 30 s per signature).
 *  - Thread safety: functions may be called from several threads; each call and
 *    each signature opens its own connection, and the last error is per thread.
 *    One gnutls_privkey_t is used as GnuTLS allows (one thread at a time).
 *  - Error codes, by cause:
 *      GNUTLS_E_INSUFFICIENT_CREDENTIALS       keyd refused: the caller's uid/gid has no
 *                                              [signing] grant for the key, or may not
 *                                              use keyd's socket; a key the caller may
 *                                              not read (EACCES)
 *      GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE   no such key (in keyd's store or keyring)
 *      GNUTLS_E_PK_SIGN_FAILED                 keyd is not running, or the TPM failed
 *      GNUTLS_E_TIMEDOUT                       keyd did not answer in time
 *      GNUTLS_E_UNSUPPORTED_SIGNATURE_ALGORITHM the key cannot make that signature
 *      GNUTLS_E_KEYFILE_ERROR                  a keyring key of the wrong type or content
 *      GNUTLS_E_INVALID_REQUEST                bad arguments
 *      GNUTLS_E_MEMORY_ERROR                   out of memory
 *
 * Key serials are the kernel's key_serial_t (int32_t); the special ids of
 * <keyutils.h> (KEY_SPEC_SESSION_KEYRING, ...) work too.
 */
#pragma once

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KEYD_GNUTLS_KEY_NAME_MAX 64 /* keyd's store names: [A-Za-z0-9._-]{1,64} */
#define KEYD_GNUTLS_TRUST_MAX 256   /* CA certificates taken from one keyring */
#define KEYD_GNUTLS_DER_MAX (64 * 1024)

/* The last failure of this thread, as a sentence ("" when there was none). Never
 * NULL; valid until the next call of this library in the same thread. Never holds
 * key material. */
const char *keyd_gnutls_last_error(void);

/* ---- TPM-resident private keys ----------------------------------------------------------- */

/* Make pkey (initialised by the caller with gnutls_privkey_init(), not yet holding
 * a key) sign with keyd's key keyname through the socket socket_path (NULL: the
 * environment's $KEYD_SOCKET, else /run/keyd/keyd.sock). keyd is asked for the
 * public key now (GET-PUBKEY): the caller must have a [signing] grant for the key
 * already, so a refusal shows here and not in the middle of a handshake. flags: 0.
 *
 * The key advertises exactly what it can do: ECDSA P-256 keys
 * ecdsa_secp256r1_sha256 and ECDSA with SHA-256/384 (TLS 1.2, certificates);
 * P-384 keys ecdsa_secp384r1_sha384 and the same; RSA keys RSA-PSS (rsae) and
 * PKCS#1 v1.5, each with SHA-256 and SHA-384. SHA-512 is not offered: many TPMs
 * implement no SHA-512.
 *
 * Ownership: pkey stays the caller's; the key name and socket path are copied, and
 * the copies are released by gnutls_privkey_deinit(pkey). Nothing else needs
 * freeing. On failure pkey is left as it was (still to be deinit'ed by the caller). */
int keyd_gnutls_privkey_import(gnutls_privkey_t pkey, const char *keyname,
			       const char *socket_path, unsigned flags);

/* The same for the key a keyring reference names: a "user" key whose payload is
 * "keyd:NAME" (keyd-policy(5) "key = NAME as ref"; described "keyd:key:NAME").
 * Returns GNUTLS_E_KEYFILE_ERROR for a key that is not such a reference.
 * Ownership as keyd_gnutls_privkey_import(). */
int keyd_gnutls_privkey_import_ref(gnutls_privkey_t pkey, int32_t serial,
				   const char *socket_path, unsigned flags);

/* 1 when serial is a reference as above, 0 when it is a readable key of some other
 * content (DER key material, ...), negative GNUTLS_E_* when it cannot be read. */
int keyd_gnutls_serial_is_ref(int32_t serial);

/* Convenience for a TLS peer: import keyname as above and add it to cred with its
 * certificate chain as keyd holds it (the certificate enrolled with keyd-ctl cert
 * add, leaf first). GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE when the key has no
 * certificate enrolled, GNUTLS_E_CERTIFICATE_KEY_MISMATCH when the leaf is not the
 * key's. The match is checked by comparing public keys; GnuTLS checks a new key
 * once more with a test signature (one TPM signature) unless cred has
 * GNUTLS_CERTIFICATE_SKIP_KEY_CERT_MATCH, which a caller may set to save it.
 * Ownership: cred stays the caller's and owns the key and certificates added to
 * it (released by gnutls_certificate_free_credentials()); after a failure cred
 * must not be used for more keys (GnuTLS's rule for gnutls_certificate_set_key). */
int keyd_gnutls_certificate_set_key(gnutls_certificate_credentials_t cred, const char *keyname,
				    const char *socket_path, unsigned flags);

/* The same with the key a keyring reference names (as keyd_gnutls_privkey_import_ref)
 * and the given certificates (DER, leaf first, 1..8; e.g. read from a keyring as a
 * handshake agent reads them); n_certs 0 takes keyd's. The caller keeps certs
 * (they are copied). */
int keyd_gnutls_certificate_set_key_ref(gnutls_certificate_credentials_t cred,
					const gnutls_datum_t *certs, size_t n_certs,
					int32_t key_serial, const char *socket_path,
					unsigned flags);

/* ---- trust from keyrings ----------------------------------------------------------------- */

/* Add to list every CA certificate (basicConstraints CA:TRUE) held as DER by a
 * "user" key linked directly in keyring ring (keyd-policy(5) "ca-set = NAME as
 * user"). Other keys in ring (asymmetric keys, which cannot be read, nested
 * keyrings, other data) are skipped; at most KEYD_GNUTLS_TRUST_MAX are taken.
 * Returns the number of certificates added, which may be 0: a caller that
 * verifies peers must then treat every peer as untrusted.
 * Ownership: list stays the caller's; the certificates added belong to it
 * (gnutls_x509_trust_list_add_cas() semantics) and are released by
 * gnutls_x509_trust_list_deinit(list, 1). On failure nothing was added. */
int keyd_gnutls_trust_list_from_keyring(gnutls_x509_trust_list_t list, int32_t ring);

/* ---- PSKs -------------------------------------------------------------------------------- */

/* Read the TLS PSK in key serial as a handshake agent does: a "psk" (or "user")
 * key whose description is the PSK identity and whose payload is the raw PSK. The
 * length must fit the identity: an NVMe identity "NVMe<v>R01 ..." needs 32 bytes
 * (SHA-256) and "..R02 ..." 48 (SHA-384); any other identity 32 or 48 bytes.
 * Note that GnuTLS 3.7 computes every external PSK binder with SHA-256, so a
 * 48-byte PSK reads fine but cannot complete a handshake with it.
 * Ownership: on success *ret_identity (NUL-terminated) and ret_key->data are
 * allocated with gnutls_malloc() and belong to the caller, who releases both with
 * keyd_gnutls_psk_free() (which wipes the key). On failure both are NULL. */
int keyd_gnutls_psk_from_serial(int32_t serial, char **ret_identity, gnutls_datum_t *ret_key);

/* Wipe and free what keyd_gnutls_psk_from_serial() returned; NULLs accepted. Sets
 * *identity to NULL and key to { NULL, 0 }. */
void keyd_gnutls_psk_free(char **identity, gnutls_datum_t *key);

#ifdef __cplusplus
}
#endif
