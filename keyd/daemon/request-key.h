/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * REQUEST-KEY on keyd's socket (docs/protocol.md): the payload for an upcall
 * that keyd-request-key is answering. Served to root peers only: the message
 * claims a requester's uid and gid, which only the kernel's helper (run as
 * root) may speak for, and the policy decision, which needs the destination
 * keyring only the upcall knows, is made by keyd-request-key before it asks.
 * A root peer could read the store and use the TPM itself; keyd saves it the
 * TPM connection and the unsealing session.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "peer.h"
#include "proto.h"

/* Answer req: *ret is an encoded REQUEST-KEY-REPLY (holding key material) or an
 * ERROR (ENOKEY nothing to give, EKEYREJECTED not keyd's or not for this peer,
 * EAGAIN/ENODEV/EBUSY transient, other errno from the store or the TPM), to be
 * sent and released with keyd_proto_buffer_free(). Logs refusals and failures.
 * -errno only when no reply could be encoded at all. The TPM connection is kept
 * for the next request while config's tcti and store stay the same. */
int keyd_request_key_answer(const struct keyd_config *config, const struct keyd_peer *peer,
			    const struct keyd_proto_msg *req, uint8_t **ret, size_t *ret_len);

/* Close the kept TPM connection (at exit, or after a reload). */
void keyd_request_key_release(void);
