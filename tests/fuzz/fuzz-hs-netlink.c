/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz the handshake accept-reply parser with raw netlink attribute bytes (what
 * handshake/netlink.c hands it after the generic-netlink header). Whatever
 * parses must satisfy the limits the rest of the agent relies on.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hsmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct keyd_hs_request req;
	const char *reason = NULL;
	uint8_t *copy;
	int r;

	/* An exact-size heap copy, so ASan sees any read past the end. */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	r = keyd_hsmsg_accept_parse(copy, size, &req, &reason);
	if (r >= 0) {
		if (req.sockfd < 0 || req.n_peerids > KEYD_HS_PEERIDS_MAX ||
		    req.n_certs > KEYD_HS_CERTS_MAX ||
		    strnlen(req.peername, sizeof(req.peername)) > KEYD_HS_PEERNAME_MAX)
			abort();
		if (req.auth_mode != KEYD_HS_AUTH_UNAUTH && req.auth_mode != KEYD_HS_AUTH_PSK &&
		    req.auth_mode != KEYD_HS_AUTH_X509)
			abort();
	} else if (!reason && r != -EINVAL) {
		abort(); /* every refusal names its reason */
	}
	free(copy);
	return 0;
}
