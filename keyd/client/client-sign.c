/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SIGN and GET-PUBKEY on libkeyd-client's connection (docs/protocol.md). Kept
 * apart from client.c so the signing consumers' needs stay in one file; it uses
 * only the public client API.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "macro.h"

int keyd_client_sign(keyd_client *c, const char *key_name, uint32_t scheme, uint32_t hash,
		     const void *digest, size_t digest_len, void *sig, size_t sig_size,
		     size_t *ret_sig_len)
{
	struct keyd_proto_msg req, rep;
	const uint8_t *s;
	size_t s_len;
	int r;

	if (!key_name || !digest || !sig || !ret_sig_len)
		return -EINVAL;
	/* The daemon would refuse it too; do not spend a round trip on it. */
	if (keyd_proto_hash_size(hash) == 0 || digest_len != keyd_proto_hash_size(hash))
		return -EINVAL;

	keyd_proto_msg_init(&req, KEYD_PROTO_SIGN, 0);
	keyd_proto_add_string(&req, KEYD_TAG_KEY_NAME, key_name);
	keyd_proto_add_u32(&req, KEYD_TAG_SCHEME, scheme);
	keyd_proto_add_u32(&req, KEYD_TAG_HASH, hash);
	keyd_proto_add_bytes(&req, KEYD_TAG_DIGEST, digest, digest_len);
	r = keyd_client_call(c, &req, &rep);
	if (r < 0)
		return r;
	/* Required by the decoder's table: present and within 1..1024 bytes. */
	r = keyd_proto_get_bytes(&rep, KEYD_TAG_SIGNATURE, 0, &s, &s_len);
	if (r < 0)
		return -EPROTO;
	if (s_len > sig_size)
		return -ENOBUFS;
	memcpy(sig, s, s_len);
	*ret_sig_len = s_len;
	return 0;
}

struct keyd_client_pubkey *keyd_client_pubkey_free(struct keyd_client_pubkey *p)
{
	if (!p)
		return NULL;
	free(p->spki);
	for (size_t i = 0; i < p->n_certs; i++)
		free(p->certs[i]);
	free(p);
	return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct keyd_client_pubkey *, keyd_client_pubkey_free)

static int copy_bytes(const uint8_t *v, size_t len, uint8_t **ret)
{
	uint8_t *p = malloc(len);

	if (!p)
		return -ENOMEM;
	memcpy(p, v, len);
	*ret = p;
	return 0;
}

int keyd_client_get_pubkey(keyd_client *c, const char *key_name, struct keyd_client_pubkey **ret)
{
	_cleanup_(keyd_client_pubkey_freep) struct keyd_client_pubkey *p = NULL;
	struct keyd_proto_msg req, rep;
	const uint8_t *v;
	size_t len, n;
	int r;

	if (!key_name || !ret)
		return -EINVAL;
	keyd_proto_msg_init(&req, KEYD_PROTO_GET_PUBKEY, 0);
	keyd_proto_add_string(&req, KEYD_TAG_KEY_NAME, key_name);
	r = keyd_client_call(c, &req, &rep);
	if (r < 0)
		return r;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	r = keyd_proto_get_bytes(&rep, KEYD_TAG_SPKI, 0, &v, &len);
	if (r < 0)
		return -EPROTO;
	r = copy_bytes(v, len, &p->spki);
	if (r < 0)
		return r;
	p->spki_len = len;
	n = keyd_proto_count(&rep, KEYD_TAG_CERT);
	if (n > KEYD_CLIENT_CERTS_MAX)
		return -EPROTO;
	for (size_t i = 0; i < n; i++) {
		r = keyd_proto_get_bytes(&rep, KEYD_TAG_CERT, i, &v, &len);
		if (r < 0)
			return -EPROTO;
		r = copy_bytes(v, len, &p->certs[i]);
		if (r < 0)
			return r;
		p->cert_lens[i] = len;
		p->n_certs = i + 1;
	}
	*ret = TAKE_PTR(p);
	return 0;
}
