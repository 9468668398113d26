/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The OSSL_STORE loader for keyd:<name>. Loading asks keyd for the key's public
 * part and certificates (GET-PUBKEY) and yields, in this order: the key (by
 * reference, so it stays with this provider's key management and signatures go
 * to keyd), then the certificate enrolled for it and its chain. The URI is
 * "keyd:" followed by a store key name ([A-Za-z0-9._-], 1..64, not starting
 * with '.'); anything else is refused before keyd is asked.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/params.h>
#include <openssl/store.h>

#include "provider.h"

struct store_ctx {
	struct keyd_ossl_prov *prov;
	char name[KEYD_OSSL_NAME_MAX + 1];
	struct keyd_ossl_key *key;
	struct keyd_client_pubkey *pubkey;
	size_t next; /* 0 the key, 1.. the certificates */
	bool failed;
};

static bool name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

/* keyd:<name>; the daemon checks the name again. */
static int uri_parse(const char *uri, char *name, size_t size)
{
	const char *n;
	size_t len;

	if (strncmp(uri, KEYD_OSSL_URI_SCHEME ":", strlen(KEYD_OSSL_URI_SCHEME) + 1) != 0)
		return -1;
	n = uri + strlen(KEYD_OSSL_URI_SCHEME) + 1;
	len = strlen(n);
	if (len == 0 || len > KEYD_OSSL_NAME_MAX || len >= size || n[0] == '.')
		return -1;
	for (size_t i = 0; i < len; i++)
		if (!name_char(n[i]))
			return -1;
	memcpy(name, n, len + 1);
	return 0;
}

static void *store_open(void *provctx, const char *uri)
{
	struct keyd_ossl_prov *p = provctx;
	struct store_ctx *s;

	s = calloc(1, sizeof(*s));
	if (!s) {
		keyd_ossl_error(p, KEYD_OSSL_R_INTERNAL, "out of memory");
		return NULL;
	}
	s->prov = p;
	if (uri_parse(uri, s->name, sizeof(s->name)) < 0) {
		/* Quoted only up to a bound: the URI comes from the user. */
		keyd_ossl_error(p, KEYD_OSSL_R_BAD_URI,
				"'%.80s': expected keyd:NAME with NAME of 1 to 64 characters "
				"[A-Za-z0-9._-], not starting with '.'", uri);
		free(s);
		return NULL;
	}
	return s;
}

static const OSSL_PARAM *store_settable_ctx_params(void *provctx)
{
	static const OSSL_PARAM params[] = {
		OSSL_PARAM_int(OSSL_STORE_PARAM_EXPECT, NULL),
		OSSL_PARAM_END,
	};

	(void)provctx;
	return params;
}

/* Nothing to set: a keyd: URI names one key; the core filters by expected type. */
static int store_set_ctx_params(void *loaderctx, const OSSL_PARAM params[])
{
	(void)loaderctx;
	(void)params;
	return 1;
}

static int store_load(void *loaderctx, OSSL_CALLBACK *object_cb, void *object_cbarg,
		      OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
	struct store_ctx *s = loaderctx;
	OSSL_PARAM params[4];
	int type, ok;

	(void)pw_cb; /* keyd's keys have no passphrase here: the policy decides */
	(void)pw_cbarg;
	if (s->failed)
		return 0;
	if (s->next == 0) {
		const char *data_type;

		s->key = keyd_ossl_key_fetch(s->prov, s->name, &s->pubkey);
		if (!s->key) {
			s->failed = true;
			return 0;
		}
		data_type = s->key->is_ec ? "EC" : "RSA";
		type = OSSL_OBJECT_PKEY;
		params[0] = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &type);
		params[1] = OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_TYPE,
							     (char *)data_type, 0);
		params[2] = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_REFERENCE,
							      &s->key, sizeof(s->key));
		params[3] = OSSL_PARAM_construct_end();
		s->next = 1;
		/* keymgmt's load takes its own reference. */
		return object_cb(params, object_cbarg);
	}
	if (s->next - 1 < s->pubkey->n_certs) {
		size_t i = s->next - 1;

		type = OSSL_OBJECT_CERT;
		params[0] = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &type);
		params[1] = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_DATA,
							      s->pubkey->certs[i],
							      s->pubkey->cert_lens[i]);
		params[2] = OSSL_PARAM_construct_end();
		s->next++;
		ok = object_cb(params, object_cbarg);
		return ok;
	}
	return 0;
}

static int store_eof(void *loaderctx)
{
	struct store_ctx *s = loaderctx;

	if (s->failed)
		return 1;
	if (s->next == 0)
		return 0;
	return s->next - 1 >= s->pubkey->n_certs;
}

static int store_close(void *loaderctx)
{
	struct store_ctx *s = loaderctx;

	if (!s)
		return 1;
	keyd_ossl_key_unref(s->key);
	keyd_client_pubkey_free(s->pubkey);
	free(s);
	return 1;
}

const OSSL_DISPATCH keyd_ossl_store_functions[] = {
	{ OSSL_FUNC_STORE_OPEN, (void (*)(void))store_open },
	{ OSSL_FUNC_STORE_SETTABLE_CTX_PARAMS, (void (*)(void))store_settable_ctx_params },
	{ OSSL_FUNC_STORE_SET_CTX_PARAMS, (void (*)(void))store_set_ctx_params },
	{ OSSL_FUNC_STORE_LOAD, (void (*)(void))store_load },
	{ OSSL_FUNC_STORE_EOF, (void (*)(void))store_eof },
	{ OSSL_FUNC_STORE_CLOSE, (void (*)(void))store_close },
	{ 0, NULL },
};
