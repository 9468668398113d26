/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * keyd's signing service (signer.c): SIGN and GET-PUBKEY (docs/protocol.md) for
 * peers the policy's [signing] grants allow. It owns one TPM connection, kept
 * open between requests, and a small set of keys held ready (their saved TPM
 * contexts, tpm.h keyd_tpm_sign_held()); the key last used stays loaded while a
 * burst of signatures lasts (sign-hold-ms, keyd.conf(5)), so each of them costs
 * one TPM2_Sign, and is flushed when the burst ends.
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
#include "tpm.h"

typedef struct keyd_signer keyd_signer;

/* socket_path: the daemon's socket; the record of the loaded key goes next to it. */
int keyd_signer_new(const char *socket_path, keyd_signer **ret);
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
/* Called from the event loop: sign-hold-ms after the last signature, flush the
 * key left loaded; after KEYD_SIGNER_IDLE_SEC, also close the TPM connection
 * and drop the held contexts. Accepts NULL. */
#define KEYD_SIGNER_IDLE_SEC 30
void keyd_signer_release_idle(keyd_signer *sg);
/* Before a provisioning pass, through its TPM connection: when a previous keyd
 * was killed during a hold, flush the key its record names (only if the object at
 * that handle still has that key's Name) and remove the record. 1 flushed, 0
 * nothing to do, -ENODEV no TPM (the record stays for the next pass). */
int keyd_signer_recover(const char *socket_path, keyd_tpm *tpm);
/* Flush the key left loaded now (before a provisioning pass needs the TPM's
 * object slots). Accepts NULL. */
void keyd_signer_release_loaded(keyd_signer *sg);
/* Milliseconds until keyd_signer_release_idle() has something to do (the event
 * loop's poll timeout), 0 when due, -1 when nothing is held. Accepts NULL. */
int keyd_signer_timeout_ms(const keyd_signer *sg);
