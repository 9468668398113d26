/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The payload that answers a request_key() upcall (reqkey.h), made from the
 * store and the TPM: the same code serves keyd (REQUEST-KEY on its socket) and
 * keyd-request-key when keyd is not running (early boot, daemon stopped).
 *
 *   PSK, USER_PSK  the entry whose recorded identity is the one asked for (for a
 *                  v1 prefix: the v1 entry of the NQN pair whose identity starts
 *                  with it), unsealed, derived: the TLS PSK (32 or 48 bytes)
 *   CERT           keys/<name>.crt as DER
 *   CA             ca/<set>.pem as DER certificates, concatenated
 *
 * The TPM is opened only when a sealed entry has to be unsealed, and only once
 * per source (the daemon keeps a source across requests). Nothing here logs
 * above debug; failures return -errno with a one-line reason (no secret in it):
 *   -ENOKEY       nothing in the store for this request
 *   -EKEYREJECTED the entry exists but cannot be handed out this way (a PIN is
 *                 needed, the sealed and meta files do not belong together)
 *   -ESTALE       the PCRs differ from the sealing policy
 *   -EMSGSIZE     a CA set too large for a user key (32767 bytes)
 *   transient (keyd_reqkey_error_is_transient(), reqkey-args.h): -ENODEV no TPM, -EBUSY, ...
 *   other         the store's or the TPM's errors (tpm.h, store.h)
 */
#pragma once

#include <stdbool.h>

#include "macro.h"
#include "reqkey.h"
#include "store.h"
#include "tpm.h"

/*
 * A cache of derived TLS PSKs for a long-lived source (keyd): an unseal costs a
 * salted session and four or five TPM commands, tens of milliseconds, on every
 * upcall otherwise. An entry is used only while
 *   - it is younger than its lifetime (plaintext does not linger),
 *   - the store's sealed blob and identity are the ones it was derived from (a
 *     replaced or removed PSK is never served from the cache: the meta and the
 *     sealed file are read and fingerprinted on every request), and
 *   - for a PSK sealed to PCRs, the PCRs still match the policy (one PCR_Read;
 *     a boot state that moved on gets -ESTALE as from a real unseal).
 * PIN-sealed PSKs are never served at all (reqkey-payload.c). The memory is
 * locked (no swap) and excluded from core dumps, and wiped on expiry and free.
 */
typedef struct keyd_reqkey_cache keyd_reqkey_cache;
#define KEYD_REQKEY_CACHE_MAX 256
int keyd_reqkey_cache_new(unsigned lifetime_sec, keyd_reqkey_cache **ret);
keyd_reqkey_cache *keyd_reqkey_cache_free(keyd_reqkey_cache *c); /* wipes; accepts NULL */

struct keyd_reqkey_source {
	keyd_store *store;  /* borrowed */
	const char *tcti;   /* borrowed; NULL: $KEYD_TCTI, then the default */
	keyd_tpm *tpm;      /* owned, opened on first need */
	bool tpm_pinned;
	keyd_reqkey_cache *cache; /* borrowed, may be NULL (no caching) */
	unsigned unsealed;  /* counts, for tests and benchmarks */
	unsigned cache_hits;
};

/* Close the TPM connection of src (not its store or cache). Accepts a zeroed struct. */
void keyd_reqkey_source_done(struct keyd_reqkey_source *src);

/* The payload for req into *ret (secret memory: wipe with keyd_secret_wipe()). */
int keyd_reqkey_payload(struct keyd_reqkey_source *src, const struct keyd_reqkey_request *req,
			struct keyd_secret *ret, char *reason, size_t reason_size);
