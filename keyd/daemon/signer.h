/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * keyd's signing service (signer.c): SIGN and GET-PUBKEY (docs/protocol.md) for
 * peers the policy's [signing] grants allow. It owns one TPM connection, kept
 * open between requests, and a small set of keys held ready (their saved TPM
 * contexts, tpm.h keyd_tpm_sign_held()), so a burst of signatures costs one
 * ContextLoad, Sign and FlushContext each and nothing stays loaded in the TPM.
 * Called from the server's single thread: requests are serialised, and so is
 * TPM access.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "peer.h"
#include "policy.h"
#include "proto.h"

typedef struct keyd_signer keyd_signer;

int keyd_signer_new(keyd_signer **ret);
keyd_signer *keyd_signer_free(keyd_signer *sg); /* accepts NULL; closes the TPM connection */

/* Answer req (SIGN or GET-PUBKEY) from peer, with the configuration and policy in
 * force. On success *ret_out is the encoded reply (release it with
 * keyd_proto_buffer_free()). On failure -errno and, in text, the message for the
 * ERROR reply (cause and remedy; it is also logged here):
 *   -EACCES no grant for this peer and key; -ENOENT no such key (or a name that
 *   is not a store name); -EINVAL a scheme that does not fit the key;
 *   -EIO/-ENODEV/-EBUSY/... the store or the TPM failed. */
int keyd_signer_handle(keyd_signer *sg, const struct keyd_config *config,
		       const keyd_policy *policy, const struct keyd_peer *peer,
		       const struct keyd_proto_msg *req, uint8_t **ret_out, size_t *ret_len,
		       char *text, size_t text_size);

/* The number of TPM commands the signer has sent (benchmarks, tests), and drop
 * the TPM connection and held keys (after a reload the TCTI or store may have
 * changed; the next request reconnects). */
unsigned keyd_signer_tpm_commands(const keyd_signer *sg);
void keyd_signer_reset(keyd_signer *sg);
/* Called from the event loop: after KEYD_SIGNER_IDLE_SEC without a signature,
 * close the TPM connection, which flushes the kept session (on a TPM without a
 * resource manager it holds one of the few session slots) and drops the held
 * keys. Accepts NULL. */
#define KEYD_SIGNER_IDLE_SEC 30
void keyd_signer_release_idle(keyd_signer *sg);
