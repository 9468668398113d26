/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Provisioning: from a policy, the store and the TPM, build the kernel keyrings.
 *
 * Each created ring is built as a new generation: a fresh keyring with the
 * ring's description is filled in a private staging keyring, sealed as the
 * policy says, then linked into its destinations - linking a keyring into a
 * keyring that holds one with the same description replaces it in one step -
 * and the previous generation is unlinked. A failure of a whole ring leaves its
 * previous generation in place. Kernel rings (".nvme") cannot be replaced: keys
 * are added or updated in place (add_key on an existing type+description
 * updates its payload) and keys keyd added earlier that the policy no longer
 * selects are unlinked.
 *
 * A failure for one entry (a PSK whose PCR policy no longer matches, a
 * certificate the kernel cannot parse) is recorded in the state and the rest is
 * provisioned: keyd_provision_run() then returns KEYD_PROVISION_PARTIAL.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "json.h"
#include "policy.h"
#include "store.h"
#include "tpm.h"

typedef struct keyd_provision_state keyd_provision_state;

enum {
	KEYD_PROVISION_OK = 0,
	KEYD_PROVISION_PARTIAL = 1, /* some entries failed; each is recorded in the state */
};

/* Run one provisioning pass. previous (may be NULL) is the state of the last pass
 * of this process (its generations are unlinked once the new ones are linked);
 * when NULL, generations found in the kernel from an earlier process (same
 * descriptions, linked in the policy's destinations) are adopted as previous.
 * *ret_state describes what is in the kernel now, also after a failure (then it
 * holds the rings that kept their previous generation). Returns KEYD_PROVISION_OK,
 * KEYD_PROVISION_PARTIAL, or -errno when nothing could be done (no TPM, store
 * unreadable). */
int keyd_provision_run(keyd_store *store, keyd_tpm *tpm, const keyd_policy *policy,
		       const keyd_provision_state *previous, keyd_provision_state **ret_state);
keyd_provision_state *keyd_provision_state_free(keyd_provision_state *s);

/* What status reports: rings (policy name, description, serial, generation,
 * seal state, links), each key (serial, type, description, source entry in the
 * store) and problems (entry, -errno, message naming cause and remedy). */
void keyd_provision_state_to_json(const keyd_provision_state *s, struct keyd_json *j);
/* The problems, one line each, for logging: NULL-terminated, free with strv_free. */
int keyd_provision_state_problems(const keyd_provision_state *s, char ***ret_lines);

/* Added by the provisioning engineer (keep the above as they are): */

/* Warnings, one line each (NULL-terminated, strv_free): things that worked but
 * not as the policy prefers, e.g. a keyd keyring used in place of a missing
 * kernel ".nvme" (if-absent = create). Never silent, never a failure. */
int keyd_provision_state_warnings(const keyd_provision_state *s, char ***ret_lines);
/* The TPM error that stopped every sealed entry of the pass (-ENODEV no TPM,
 * -EXDEV SRK mismatch, -EBUSY lockout, -EIO ...), 0 when there was none; the
 * rings that needed the TPM kept their previous generation. For exit codes. */
int keyd_provision_state_tpm_error(const keyd_provision_state *s);
/* TPM commands sent during the pass, and PSKs unsealed (for tests and benchmarks). */
unsigned keyd_provision_state_tpm_commands(const keyd_provision_state *s);
unsigned keyd_provision_state_unsealed(const keyd_provision_state *s);
/* Rings provisioned (new generation linked, or kernel ring updated) and rings
 * that kept their previous generation (or have none) because of a failure. */
size_t keyd_provision_state_rings_ok(const keyd_provision_state *s);
size_t keyd_provision_state_rings_failed(const keyd_provision_state *s);
/* The rings and their keys for a person, a few lines per ring (no problems:
 * those are logged). */
void keyd_provision_state_print(const keyd_provision_state *s, FILE *f);
