/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Salted HMAC sessions whose cryptography keyd computes itself (TPM 2.0 Part 1,
 * 19.6 and 21; Part 3, 11.1), for the commands keyd sends most often on a kept
 * session: Sign in the daemon and Unseal in a provisioning pass. Internal to the
 * TPM core: only tpm.c includes this header (it carries tss2 types).
 *
 * Why not ESYS's sessions: libtss2-esys 3.x creates a new OpenSSL library context
 * for every hash, HMAC and random number it computes (esys_crypto_ossl.c), about
 * seven per command in a salted session with parameter encryption, each of which
 * rebuilds OpenSSL's name map and seeds a DRBG: several milliseconds of CPU per
 * command where the TPM (swtpm) takes a fraction of one. Here the same session
 * (salted with an ECDH to the SRK, AES-128-CFB parameter encryption, HMAC over
 * every command and response) costs a few hashes in the default library context.
 *
 * Commands go straight to the TCTI that ESYS uses, between ESYS calls (keyd is
 * single-threaded per connection). ESYS knows nothing of these sessions: they are
 * flushed here (tpm_session_flush) and never passed to an Esys_ call.
 *
 * Errors: functions return a TSS2_RC: the TPM's response code, a TCTI error, or
 * an ESAPI-layer code for what keyd found wrong (TSS2_ESYS_RC_RSP_AUTH_FAILED for
 * a response whose HMAC does not verify, _MALFORMED_RESPONSE for one that does
 * not parse, _GENERAL_FAILURE for a crypto failure here), so tpm.c describes them
 * like any other.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tcti.h>
#include <tss2/tss2_tpm2_types.h>

/* A session started by tpm_session_start(); handle 0 when there is none. */
struct tpm_session {
	TPM2_HANDLE handle;
	uint8_t key[TPM2_SHA256_DIGEST_SIZE]; /* sessionKey: secret, wiped on flush/forget */
	TPM2B_NONCE nonce_tpm;                /* the TPM's latest nonce */
};

/* TPM2_StartAuthSession of an HMAC session (type TPM2_SE_HMAC) salted to the
 * ECC P-256 storage key at srk whose public area is srk_pub, unbound, AES-128-CFB,
 * SHA-256. Counts the command in *commands. */
TSS2_RC tpm_session_start(TSS2_TCTI_CONTEXT *tcti, TPM2_HANDLE srk, const TPM2B_PUBLIC *srk_pub,
			  struct tpm_session *ret, unsigned *commands);

/* TPM2_FlushContext of the session (if any), then forget it. The result of the
 * flush does not matter to callers: a session the TPM lost (reset) is gone anyway. */
void tpm_session_flush(TSS2_TCTI_CONTEXT *tcti, struct tpm_session *s, unsigned *commands);
/* Wipe the session's record without telling the TPM (it ended it already). */
void tpm_session_forget(struct tpm_session *s);

/* A command with one handle in the authorisation area, authorised by the session
 * for an object with an empty auth value. */
struct tpm_session_cmd {
	TPM2_CC cc;
	TPM2_HANDLE handle;
	const TPM2B_NAME *name;  /* the handle's Name, for cpHash */
	const uint8_t *params;   /* the marshalled command parameters */
	size_t params_len;
	/* TPMA_SESSION_CONTINUESESSION, _DECRYPT (the first command parameter, a
	 * TPM2B, goes encrypted) and/or _ENCRYPT (the first response parameter, a
	 * TPM2B, comes back encrypted). */
	TPMA_SESSION attrs;
};

/* Send c in session s and check the response's HMAC; on success the response
 * parameters (decrypted) are in rsp[0 .. *rsp_len) and s holds the TPM's new nonce.
 * Without continueSession the TPM ends the session with the command: s is
 * forgotten then. After any failure the caller should flush s (its state is not
 * worth trusting). rsp is wiped on failure. */
TSS2_RC tpm_session_run(TSS2_TCTI_CONTEXT *tcti, struct tpm_session *s,
			const struct tpm_session_cmd *c, uint8_t *rsp, size_t rsp_size,
			size_t *rsp_len, unsigned *commands);

/* Plain commands sent the same way, for the batch unseal path. TPM2_Load of a
 * marshalled TPM2B_PRIVATE and TPM2B_PUBLIC (as a TSS2 file stores them) under
 * parent, whose auth is empty, in a password session (nothing secret crosses: the
 * private part is encrypted to the parent): the object's handle. Esys_Load would
 * hash the public area through ESYS's crypto backend; the caller computes the Name. */
TSS2_RC tpm_session_load(TSS2_TCTI_CONTEXT *tcti, TPM2_HANDLE parent, const uint8_t *priv,
			 size_t priv_len, const uint8_t *pub, size_t pub_len, TPM2_HANDLE *ret,
			 unsigned *commands);
/* TPM2_FlushContext of a handle loaded with tpm_session_load (0: nothing). */
void tpm_session_flush_handle(TSS2_TCTI_CONTEXT *tcti, TPM2_HANDLE h, unsigned *commands);
