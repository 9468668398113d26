/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * REQUEST-KEY (request-key.h). Runs on the server's one thread, like every
 * request: the kept TPM connection below has exactly one user.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "reqkey-payload.h"
#include "reqkey.h"
#include "request-key.h"
#include "store.h"

/* The TPM connection and SRK pin outlive a request: a salted session still
 * costs a few commands per unseal, but the connection and pin check do not
 * repeat. Dropped when the configuration names another TPM or store. */
static struct keyd_reqkey_source kept;
static char kept_tcti[KEYD_CONFIG_TCTI_MAX + 1];
static char kept_store[KEYD_CONFIG_PATH_MAX + 1];

/* How long a derived PSK may be served from memory (reqkey-payload.h says when
 * it is not). Long enough for a host connecting to its subsystems after boot or
 * a reconnect storm, short enough that plaintext does not stay. */
#define CACHE_LIFETIME_SEC 300
static keyd_reqkey_cache *cache;

void keyd_request_key_release(void)
{
	keyd_reqkey_source_done(&kept);
	kept.cache = NULL;
	cache = keyd_reqkey_cache_free(cache);
	kept_tcti[0] = kept_store[0] = '\0';
}

static void keep_for(const struct keyd_config *config)
{
	if (streq(kept_tcti, config->tcti) && streq(kept_store, config->store))
		return;
	keyd_request_key_release();
	snprintf(kept_tcti, sizeof(kept_tcti), "%s", config->tcti);
	snprintf(kept_store, sizeof(kept_store), "%s", config->store);
}

static int reply_error(uint32_t id, int error, const char *message, uint8_t **ret,
		       size_t *ret_len)
{
	return keyd_proto_encode_error(id, error, message, ret, ret_len);
}

int keyd_request_key_answer(const struct keyd_config *config, const struct keyd_peer *peer,
			    const struct keyd_proto_msg *req, uint8_t **ret, size_t *ret_len)
{
	_cleanup_secret_ struct keyd_secret payload = {};
	struct keyd_proto_error perr = {};
	struct keyd_reqkey_request r_req;
	struct keyd_proto_msg m;
	char type[KEYD_REQKEY_TYPE_MAX + 1], callout[KEYD_REQKEY_CALLOUT_MAX + 1] = "";
	char reason[1024] = "", text[1200], quoted[1024];
	_cleanup_free_ char *desc = NULL;
	keyd_store *store = NULL;
	uint32_t uid = 0;
	int r;

	if (peer->uid != 0) {
		log_notice("peer pid=%d uid=%u: REQUEST-KEY refused: only root (keyd-request-key) "
			   "may ask on behalf of a requester", (int)peer->pid, (unsigned)peer->uid);
		return reply_error(req->id, EACCES,
				   "permission denied: REQUEST-KEY is for keyd-request-key (root)",
				   ret, ret_len);
	}
	desc = malloc(KEYD_REQKEY_DESC_MAX + 1);
	if (!desc)
		return reply_error(req->id, ENOMEM, "out of memory", ret, ret_len);
	/* The decoder enforced presence and bounds; these copies cannot fail but for a
	 * string longer than our buffers, which the table forbids. */
	if (keyd_proto_get_string(req, KEYD_TAG_KEY_TYPE, type, sizeof(type)) < 0 ||
	    keyd_proto_get_string(req, KEYD_TAG_DESCRIPTION, desc, KEYD_REQKEY_DESC_MAX + 1) < 0 ||
	    keyd_proto_get_u32(req, KEYD_TAG_UID, &uid) < 0)
		return reply_error(req->id, EBADMSG, "bad REQUEST-KEY fields", ret, ret_len);
	if (keyd_proto_count(req, KEYD_TAG_CALLOUT) > 0 &&
	    keyd_proto_get_string(req, KEYD_TAG_CALLOUT, callout, sizeof(callout)) < 0)
		return reply_error(req->id, EBADMSG, "bad callout field", ret, ret_len);

	keyd_reqkey_quote(desc, 200, quoted, sizeof(quoted));
	r = keyd_reqkey_parse(type, desc, callout, &r_req, reason, sizeof(reason));
	if (r < 0) {
		log_notice("REQUEST-KEY %s '%s': %s", type, quoted, reason);
		snprintf(text, sizeof(text), "%s", reason);
		return reply_error(req->id, EKEYREJECTED, text, ret, ret_len);
	}

	keep_for(config);
	r = keyd_store_open(config->store, KEYD_STORE_READONLY, &store, reason, sizeof(reason));
	if (r == -ENOENT) {
		snprintf(text, sizeof(text), "no store at '%s'", config->store);
		return reply_error(req->id, ENOKEY, text, ret, ret_len);
	}
	if (r < 0) {
		log_error("REQUEST-KEY %s '%s': cannot open the store: %s", type, quoted, reason);
		snprintf(text, sizeof(text), "cannot open the store: %s", reason);
		return reply_error(req->id, -r, text, ret, ret_len);
	}
	if (!cache && keyd_reqkey_cache_new(CACHE_LIFETIME_SEC, &cache) < 0)
		cache = NULL; /* no cache: every request unseals */
	kept.store = store;
	kept.tcti = kept_tcti;
	kept.cache = cache;
	r = keyd_reqkey_payload(&kept, &r_req, &payload, reason, sizeof(reason));
	kept.store = NULL;
	keyd_store_close(store);
	if (r < 0) {
		if (r == -ENOKEY)
			log_debug("REQUEST-KEY %s '%s': %s", type, quoted, reason);
		else
			log_error("REQUEST-KEY %s '%s' for uid %u: %s", type, quoted,
				  (unsigned)uid, reason);
		snprintf(text, sizeof(text), "%s", reason[0] ? reason : strerror(-r));
		return reply_error(req->id, -r, text, ret, ret_len);
	}

	keyd_proto_msg_init(&m, KEYD_PROTO_REQUEST_KEY_REPLY, req->id);
	keyd_proto_add_bytes(&m, KEYD_TAG_PAYLOAD, payload.data, payload.len);
	if (r_req.timeout)
		keyd_proto_add_u32(&m, KEYD_TAG_TIMEOUT, r_req.timeout);
	r = keyd_proto_encode(&m, ret, ret_len, &perr);
	explicit_bzero(&m, sizeof(m));
	if (r < 0)
		return reply_error(req->id, EIO, "internal error in keyd: the reply could not be "
				   "encoded", ret, ret_len);
	log_debug("REQUEST-KEY %s '%s' for uid %u: answered", type, quoted, (unsigned)uid);
	return 0;
}
