/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The payload from keyd when it runs: it keeps the TPM connection and derived
 * PSKs, and checks the description's grammar (reqkey.h), so this process needs
 * no cryptographic or TPM library (direct-exec.c for when keyd is not there).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "log.h"
#include "request-key.h"

int rk_fetch_daemon(const struct rk_options *o, const struct keyd_config *config,
		    const struct rk_upcall *u, struct keyd_secret *ret, uint32_t *ret_timeout,
		    int *ret_error, char *reason, size_t size)
{
	const char *socket = o->socket ? o->socket : config->socket;
	keyd_client *c = NULL;
	struct keyd_proto_msg m, reply;
	const uint8_t *payload;
	size_t len;
	int r;

	r = keyd_client_connect(socket, RK_DAEMON_TIMEOUT_MS, &c);
	if (r == -ENOENT || r == -ECONNREFUSED || r == -ENOTDIR) {
		log_debug("keyd is not running at '%s': answering from the store", socket);
		return 0;
	}
	if (r < 0) {
		/* A socket we cannot use (permissions, timeout) is not a reason to give up:
		 * the store and the TPM are still there. */
		log_debug("cannot connect to keyd at '%s' (%s): answering from the store", socket,
			  strerror(-r));
		return 0;
	}

	keyd_proto_msg_init(&m, KEYD_PROTO_REQUEST_KEY, 0);
	keyd_proto_add_string(&m, KEYD_TAG_KEY_TYPE, u->args.type);
	keyd_proto_add_string(&m, KEYD_TAG_DESCRIPTION, u->args.description);
	keyd_proto_add_u32(&m, KEYD_TAG_UID, u->args.uid);
	keyd_proto_add_u32(&m, KEYD_TAG_GID, u->args.gid);
	if (u->callout[0])
		keyd_proto_add_string(&m, KEYD_TAG_CALLOUT, u->callout);
	r = keyd_client_call(c, &m, &reply);
	if (r == -EOPNOTSUPP) {
		log_debug("keyd does not serve REQUEST-KEY: answering from the store");
		keyd_client_free(c);
		return 0;
	}
	if (r < 0) {
		snprintf(reason, size, "keyd: %s",
			 keyd_client_last_error(c)[0] ? keyd_client_last_error(c) : strerror(-r));
		*ret_error = r;
		keyd_client_free(c);
		return 1;
	}
	r = keyd_proto_get_bytes(&reply, KEYD_TAG_PAYLOAD, 0, &payload, &len);
	if (r >= 0) {
		ret->data = malloc(len);
		if (ret->data) {
			memcpy(ret->data, payload, len);
			ret->len = len;
		} else
			r = -ENOMEM;
	}
	if (r >= 0)
		(void)keyd_proto_get_u32(&reply, KEYD_TAG_TIMEOUT, ret_timeout);
	*ret_error = r < 0 ? r : 0;
	if (r < 0)
		snprintf(reason, size, "keyd's reply has no payload");
	keyd_client_free(c); /* wipes the reply */
	return 1;
}

