/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * keyd-request-key-direct: the payload from the store and the TPM, for upcalls
 * while keyd is not running (early boot, daemon stopped). This file is what
 * makes the program need the TPM and cryptographic libraries (reqkey-payload.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "reqkey-payload.h"
#include "reqkey.h"
#include "request-key.h"
#include "store.h"

int rk_direct(const struct rk_options *o, char **argv, const struct keyd_config *config,
	      const struct rk_upcall *u, struct keyd_secret *ret, uint32_t *ret_timeout,
	      const char **ret_via, char *reason, size_t reason_size)
{
	struct keyd_reqkey_source src = { .tcti = config->tcti };
	struct keyd_reqkey_request req;
	char why[512] = "";
	int r;

	(void)o;
	(void)argv;
	*ret_via = "store";
	r = keyd_reqkey_parse(u->args.type, u->args.description, u->callout, &req, reason,
			      reason_size);
	if (r < 0)
		return -EKEYREJECTED;
	*ret_timeout = req.timeout;

	r = keyd_store_open(config->store, KEYD_STORE_READONLY, &src.store, why, sizeof(why));
	if (r == -ENOENT) {
		snprintf(reason, reason_size, "no store at '%s'", config->store);
		return -ENOKEY;
	}
	if (r < 0) {
		snprintf(reason, reason_size, "cannot open the store: %s", why);
		return r;
	}
	r = keyd_reqkey_payload(&src, &req, ret, reason, reason_size);
	keyd_reqkey_source_done(&src);
	keyd_store_close(src.store);
	return r;
}
