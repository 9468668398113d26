/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TSS2 PRIVATE KEY files (draft-bottomley-tpm2-keys), PEM and DER, strict and
 * bounded. No TSS headers: pubkey/privkey stay marshalled bytes (see tpm.h).
 *
 *   TPMKey ::= SEQUENCE {
 *     type OID, emptyAuth [0] BOOLEAN OPT, policy [1] SEQUENCE OF TPMPolicy OPT,
 *     secret [2] OCTET STRING OPT, authPolicy [3] ... OPT, description [4] UTF8String OPT,
 *     rsaParent [5] BOOLEAN OPT, parent INTEGER, pubkey OCTET STRING, privkey OCTET STRING }
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tpm.h"

#define KEYD_TSS2_OID_LOADABLE "2.23.133.10.1.3"
#define KEYD_TSS2_OID_IMPORTABLE "2.23.133.10.1.4"
#define KEYD_TSS2_OID_SEALED "2.23.133.10.1.5"
#define KEYD_TSS2_PEM_LABEL "TSS2 PRIVATE KEY"
#define KEYD_TSS2_FILE_MAX 16384 /* larger input is refused before parsing */
#define KEYD_TSS2_DESCRIPTION_MAX 256

enum keyd_tss2_type {
	KEYD_TSS2_LOADABLE,
	KEYD_TSS2_SEALED,
	_KEYD_TSS2_TYPE_MAX,
	_KEYD_TSS2_TYPE_INVALID = -EINVAL,
};

enum keyd_tss2_empty_auth {
	KEYD_TSS2_EMPTY_AUTH_ABSENT, /* field not present: auth needed */
	KEYD_TSS2_EMPTY_AUTH_FALSE,  /* present and FALSE: auth needed (writers omit it) */
	KEYD_TSS2_EMPTY_AUTH_TRUE,   /* no auth */
};

struct keyd_tss2key {
	enum keyd_tss2_type type;
	enum keyd_tss2_empty_auth empty_auth;
	bool rsa_parent;
	struct keyd_tpm_policy_step policy[KEYD_TPM_POLICY_STEPS_MAX];
	size_t n_policy;
	char description[KEYD_TSS2_DESCRIPTION_MAX + 1]; /* "" if absent */
	struct keyd_tpm_blob blob;                       /* parent, pubkey, privkey */
};

/*
 * Parse DER or PEM (detected). Errors, with a one-line reason in ret_reason
 * (may be NULL, size >= 128 recommended):
 *   -EBADMSG     truncated or garbled DER/PEM, trailing data, bad lengths
 *   -EMEDIUMTYPE PEM with another label (e.g. an ordinary "PRIVATE KEY")
 *   -EPROTO      a TPMKey with an OID keyd does not handle (importable keys, unknown OIDs)
 *   -E2BIG       a field larger than keyd's bounds
 *   -ENOTSUP     secret/authPolicy fields (keys needing features keyd does not have)
 */
int keyd_tss2key_parse(const uint8_t *data, size_t len, struct keyd_tss2key *ret, char *ret_reason,
		       size_t reason_size);
/* Encode as DER; parent written as a positive INTEGER; emptyAuth written only when TRUE. */
int keyd_tss2key_to_der(const struct keyd_tss2key *k, uint8_t **ret, size_t *ret_len);
/* Encode as PEM text (NUL-terminated). */
int keyd_tss2key_to_pem(const struct keyd_tss2key *k, char **ret);
