/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A PSK entry of the store, as keyd-ctl (enrollment), provisioning and the
 * request-key helper all see it:
 *   psk/<id>.sealed  the configured key (32 or 48 raw bytes) sealed under the SRK,
 *                    TSS2 sealed data (OID 2.23.133.10.1.5) carrying the policy;
 *   psk/<id>.meta    NQNs, hh, identity version and encoding, the identity, the PCR
 *                    policy with the PCR values at sealing (not secret), PIN or not.
 * <id> is the first 16 hex digits of SHA-256(hostnqn "\n" subnqn "\n" version), so
 * the same pair with a v0 and a v1 identity are two entries.
 *
 * Nothing here logs above debug; failures come back as -errno with a one-line
 * reason where the prototype has one.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "psk.h"
#include "store.h"
#include "tpm.h"
#include "tss2key.h"

#define KEYD_PSK_ENTRY_ID_LEN 16
#define KEYD_PSK_ENTRY_FILE_MAX (KEYD_PSK_ENTRY_ID_LEN + 16)
#define KEYD_PSK_ENTRY_PCRS_MAX 128
#define KEYD_PSK_ENTRY_TIME_MAX 32

/* What psk/<id>.meta records. Not secret. */
struct keyd_psk_entry {
	char id[KEYD_PSK_ENTRY_ID_LEN + 1];
	char hostnqn[KEYD_PSK_NQN_MAX + 1];
	char subnqn[KEYD_PSK_NQN_MAX + 1];
	enum keyd_psk_hmac hmac;
	size_t key_len;
	enum keyd_psk_identity_version version;
	bool compat;
	char identity[KEYD_PSK_IDENTITY_MAX];
	struct keyd_pcr_policy policy;
	char pcrs[KEYD_PSK_ENTRY_PCRS_MAX];
	char created[KEYD_PSK_ENTRY_TIME_MAX];
};

/* The store id of a (hostnqn, subnqn, version) triple. -ENAMETOOLONG for NQNs
 * beyond their limits. */
int keyd_psk_entry_id(const char *hostnqn, const char *subnqn, enum keyd_psk_identity_version v,
		      char out[KEYD_PSK_ENTRY_ID_LEN + 1]);
bool keyd_psk_entry_id_is_valid(const char *s);
/* "<id>.<ext>" */
void keyd_psk_entry_file(char buf[KEYD_PSK_ENTRY_FILE_MAX], const char *id, const char *ext);

/* The metadata text of e, and its strict parser (cross-checks the id against the
 * NQNs and the identity against NQNs and version). -EBADMSG with reason. */
int keyd_psk_entry_meta_format(const struct keyd_psk_entry *e, char **ret, size_t *ret_len);
int keyd_psk_entry_meta_parse(const char *text, size_t len, struct keyd_psk_entry *ret,
			      char *reason, size_t reason_size);

/* Read and check psk/<id>.meta. -ENOENT no such entry; -EBADMSG damaged (reason
 * names the file and the field); other -errno from the store (reason holds
 * keyd_store_last_error()). */
int keyd_psk_entry_load(keyd_store *s, const char *id, struct keyd_psk_entry *ret, char *reason,
			size_t reason_size);
/* 1 if either file of id exists, 0 if none, -errno. */
int keyd_psk_entry_exists(keyd_store *s, const char *id);
/* The ids of the store's entries (the names of psk/ *.meta that are valid ids),
 * sorted; NULL-terminated, free with strv_free(). An absent section is empty.
 * ret_skipped (may be NULL) counts files of psk/ that are not keyd's. */
int keyd_psk_entry_list(keyd_store *s, char ***ret_ids, size_t *ret_skipped);

/* Find by NQN pair: the version given (version_set), otherwise v1 then v0.
 * 1 and the id when found, 0 when not, -errno. */
int keyd_psk_entry_find(keyd_store *s, const char *hostnqn, const char *subnqn, bool version_set,
			enum keyd_psk_identity_version version,
			char ret_id[KEYD_PSK_ENTRY_ID_LEN + 1]);
/* Find the entry whose recorded identity is exactly identity (what the kernel and
 * tlshd look PSKs up by). 1 and *ret when found, 0 when not, -errno. A damaged
 * candidate entry is -EBADMSG with reason. */
int keyd_psk_entry_find_by_identity(keyd_store *s, const char *identity,
				    struct keyd_psk_entry *ret, char *reason, size_t reason_size);

/* Read and parse psk/<id>.sealed. -EBADMSG (damaged or not sealed data) with reason. */
int keyd_psk_entry_read_sealed(keyd_store *s, const struct keyd_psk_entry *e,
			       struct keyd_tss2key *ret, char *reason, size_t reason_size);

/* Unseal the configured key of e with the TPM. The errors of keyd_tpm_unseal()
 * (-ESTALE with *ret_changed_mask, -EACCES wrong PIN, ...), and -EKEYREJECTED when
 * the unsealed key does not fit the metadata (length, or for v1 the identity
 * digest): the files do not belong together. ret is wiped on failure. */
int keyd_psk_entry_unseal(keyd_tpm *t, const struct keyd_psk_entry *e,
			  const struct keyd_tss2key *sealed, const char *pin,
			  struct keyd_psk_key *ret, uint32_t *ret_changed_mask);

/* The derivation parameters of e (pointers into e). */
struct keyd_psk_params keyd_psk_entry_params(const struct keyd_psk_entry *e);

/* The TLS PSK (the payload of the kernel's psk key) of the configured key k of e,
 * k->len bytes into out (which the caller wipes). */
int keyd_psk_entry_tls_psk(const struct keyd_psk_entry *e, const struct keyd_psk_key *k,
			   uint8_t out[KEYD_PSK_KEY_MAX]);

/* PCR numbers of mask as "7, 16" into buf ("?" for an empty mask). */
void keyd_psk_entry_pcr_names(uint32_t mask, char *buf, size_t size);
