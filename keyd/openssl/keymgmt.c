/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Key management for EC and RSA keys (the two kinds are described at struct
 * keyd_ossl_key in provider.h). Everything that concerns the key values -
 * parameters, import, export, generation of plain keys - is done by the
 * default provider in the provider's own library context, on k->pkey, so what
 * this provider reports (group, bits, modulus, encoded point) is exactly what
 * the default provider would say. keyd's keys are made in the TPM with keyd-ctl
 * key create, never here; they export their public part only.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>

#include "provider.h"

#define SELECT_PUBLIC (OSSL_KEYMGMT_SELECT_PUBLIC_KEY | OSSL_KEYMGMT_SELECT_ALL_PARAMETERS)

static const char *alg_name(bool is_ec)
{
	return is_ec ? "EC" : "RSA";
}

/* A context for the default provider's EC or RSA in our own library context.
 * Never with a NULL library context: that is the caller's, where "EC" may be
 * this very key management. */
static EVP_PKEY_CTX *default_ctx(struct keyd_ossl_prov *p, bool is_ec)
{
	OSSL_LIB_CTX *libctx = keyd_ossl_libctx(p);

	return libctx ? EVP_PKEY_CTX_new_from_name(libctx, alg_name(is_ec), NULL) : NULL;
}

EVP_PKEY *keyd_ossl_default_fromdata(struct keyd_ossl_prov *p, bool is_ec, int selection,
				     const OSSL_PARAM params[])
{
	EVP_PKEY_CTX *ctx = default_ctx(p, is_ec);
	EVP_PKEY *pkey = NULL;

	if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, selection, (OSSL_PARAM *)params) != 1)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

static void *km_new(void *provctx, bool is_ec)
{
	struct keyd_ossl_prov *p = provctx;
	struct keyd_ossl_key *k = calloc(1, sizeof(*k));

	if (!k) {
		keyd_ossl_error(p, KEYD_OSSL_R_INTERNAL, "out of memory");
		return NULL;
	}
	k->prov = p;
	k->refs = 1;
	k->is_ec = is_ec;
	return k;
}

static void *km_new_ec(void *provctx)
{
	return km_new(provctx, true);
}

static void *km_new_rsa(void *provctx)
{
	return km_new(provctx, false);
}

static void km_free(void *keydata)
{
	keyd_ossl_key_unref(keydata);
}

/* The store hands over a pointer to its key (store.c); take a reference. */
static void *km_load(const void *reference, size_t reference_sz)
{
	struct keyd_ossl_key *k;

	if (!reference || reference_sz != sizeof(k))
		return NULL;
	memcpy(&k, reference, sizeof(k));
	return keyd_ossl_key_ref(k);
}

static int km_has(const void *keydata, int selection)
{
	const struct keyd_ossl_key *k = keydata;
	int have;

	if (!k)
		return 0;
	if (!k->pkey)
		return (selection & OSSL_KEYMGMT_SELECT_ALL) == 0;
	have = k->selection;
	/* keyd's private key is in the TPM, and signing with it works. */
	if (k->name[0])
		have |= OSSL_KEYMGMT_SELECT_PRIVATE_KEY;
	/* RSA has no domain parameters: asking for them is asking for nothing. */
	if (!k->is_ec)
		have |= OSSL_KEYMGMT_SELECT_ALL_PARAMETERS;
	return (selection & OSSL_KEYMGMT_SELECT_ALL & ~have) == 0;
}

static int km_match(const void *keydata1, const void *keydata2, int selection)
{
	const struct keyd_ossl_key *a = keydata1, *b = keydata2;

	if (!a || !b || !a->pkey || !b->pkey)
		return 0;
	if (!(selection & OSSL_KEYMGMT_SELECT_KEYPAIR))
		return EVP_PKEY_parameters_eq(a->pkey, b->pkey) == 1;
	/* A key pair is decided by its public half (for keyd's keys the only one
	 * there is here). */
	return EVP_PKEY_eq(a->pkey, b->pkey) == 1;
}

static int km_export(void *keydata, int selection, OSSL_CALLBACK *param_cb, void *cbarg)
{
	struct keyd_ossl_key *k = keydata;
	OSSL_PARAM *params = NULL;
	int ok;

	if (!k || !k->pkey)
		return 0;
	/* keyd's private key cannot leave the TPM. Refusing a request that
	 * includes it matters: OpenSSL may pick another provider's signature first
	 * and copy the key there with everything selected; a public-only copy would
	 * then fail to sign ("missing private key"), while a refusal makes it use
	 * this provider's signature. Comparing and encoding ask for less. */
	if (k->name[0] && (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY))
		return 0;
	selection &= k->selection;
	if (!(selection & OSSL_KEYMGMT_SELECT_ALL))
		return 0;
	if (EVP_PKEY_todata(k->pkey, selection, &params) != 1)
		return 0;
	ok = param_cb(params, cbarg);
	/* A plain key pair's private half may be in there. */
	for (OSSL_PARAM *q = params; q->key; q++)
		if (q->data)
			OPENSSL_cleanse(q->data, q->data_size);
	OSSL_PARAM_free(params);
	return ok;
}

static int km_import(void *keydata, int selection, const OSSL_PARAM params[])
{
	struct keyd_ossl_key *k = keydata;
	EVP_PKEY *pkey;

	if (!k || k->pkey || k->name[0] || !(selection & OSSL_KEYMGMT_SELECT_ALL))
		return 0;
	/* RSA keys have no domain parameters to import on their own. */
	if (!k->is_ec && !(selection & OSSL_KEYMGMT_SELECT_KEYPAIR))
		return 0;
	if (selection & OSSL_KEYMGMT_SELECT_KEYPAIR)
		selection |= OSSL_KEYMGMT_SELECT_ALL_PARAMETERS;
	pkey = keyd_ossl_default_fromdata(k->prov, k->is_ec, selection, params);
	if (!pkey)
		return 0;
	k->pkey = pkey;
	k->selection = selection & OSSL_KEYMGMT_SELECT_ALL;
	return 1;
}

static const OSSL_PARAM *types(bool is_ec, int selection)
{
	static const OSSL_PARAM ec[] = {
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
		OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
		OSSL_PARAM_BN(OSSL_PKEY_PARAM_PRIV_KEY, NULL, 0),
		OSSL_PARAM_END,
	};
	static const OSSL_PARAM rsa[] = {
		OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
		OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
		OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_D, NULL, 0),
		OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_FACTOR1, NULL, 0),
		OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_FACTOR2, NULL, 0),
		OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_EXPONENT1, NULL, 0),
		OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_EXPONENT2, NULL, 0),
		OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_COEFFICIENT1, NULL, 0),
		OSSL_PARAM_END,
	};

	if (!(selection & OSSL_KEYMGMT_SELECT_ALL))
		return NULL;
	return is_ec ? ec : rsa;
}

static const OSSL_PARAM *km_types_ec(int selection)
{
	return types(true, selection);
}

static const OSSL_PARAM *km_types_rsa(int selection)
{
	return types(false, selection);
}

static int km_get_params(void *keydata, OSSL_PARAM params[])
{
	struct keyd_ossl_key *k = keydata;

	if (!k || !k->pkey)
		return 0;
	return EVP_PKEY_get_params(k->pkey, params);
}

/* The default provider's parameter lists, as keyd's keys answer the same
 * parameters; none when its key management cannot be had. */
static const OSSL_PARAM *default_gettable_params(void *provctx, bool is_ec)
{
	EVP_KEYMGMT *km = keyd_ossl_default_keymgmt(provctx, is_ec);

	return km ? EVP_KEYMGMT_gettable_params(km) : NULL;
}

static const OSSL_PARAM *default_settable_params(void *provctx, bool is_ec)
{
	EVP_KEYMGMT *km = keyd_ossl_default_keymgmt(provctx, is_ec);

	return km ? EVP_KEYMGMT_settable_params(km) : NULL;
}

static const OSSL_PARAM *default_gen_settable_params(void *provctx, bool is_ec)
{
	EVP_KEYMGMT *km = keyd_ossl_default_keymgmt(provctx, is_ec);

	return km ? EVP_KEYMGMT_gen_settable_params(km) : NULL;
}

static const OSSL_PARAM *km_gettable_params_ec(void *provctx)
{
	return default_gettable_params(provctx, true);
}

static const OSSL_PARAM *km_gettable_params_rsa(void *provctx)
{
	return default_gettable_params(provctx, false);
}

/* The encoded point of a TLS key share, the point format: plain keys only. */
static int km_set_params(void *keydata, const OSSL_PARAM params[])
{
	struct keyd_ossl_key *k = keydata;

	if (!k || !k->pkey || k->name[0])
		return 0;
	if (EVP_PKEY_set_params(k->pkey, (OSSL_PARAM *)params) != 1)
		return 0;
	if (OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY))
		k->selection |= OSSL_KEYMGMT_SELECT_PUBLIC_KEY;
	return 1;
}

static const OSSL_PARAM *km_settable_params_ec(void *provctx)
{
	return default_settable_params(provctx, true);
}

static const OSSL_PARAM *km_settable_params_rsa(void *provctx)
{
	return default_settable_params(provctx, false);
}

static void *km_dup(const void *keydata_from, int selection)
{
	const struct keyd_ossl_key *from = keydata_from;
	struct keyd_ossl_key *k;

	if (!from)
		return NULL;
	k = km_new(from->prov, from->is_ec);
	if (!k)
		return NULL;
	memcpy(k->name, from->name, sizeof(k->name));
	k->selection = from->selection & selection;
	if (from->pkey) {
		k->pkey = EVP_PKEY_dup(from->pkey);
		if (!k->pkey) {
			keyd_ossl_key_unref(k);
			return NULL;
		}
	}
	return k;
}

static const char *km_query_ec(int operation_id)
{
	switch (operation_id) {
	case OSSL_OP_SIGNATURE:
		return "ECDSA";
	case OSSL_OP_KEYEXCH:
		return "ECDH";
	default:
		return NULL;
	}
}

static const char *km_query_rsa(int operation_id)
{
	return operation_id == OSSL_OP_SIGNATURE || operation_id == OSSL_OP_ASYM_CIPHER ? "RSA" :
											 NULL;
}

/* ---- generation of plain keys (TLS key shares and the like) ------------------------- */

struct gen_ctx {
	struct keyd_ossl_prov *prov;
	bool is_ec;
	EVP_PKEY_CTX *ctx;
};

static void km_gen_cleanup(void *genctx)
{
	struct gen_ctx *g = genctx;

	if (!g)
		return;
	EVP_PKEY_CTX_free(g->ctx);
	free(g);
}

static int km_gen_set_params(void *genctx, const OSSL_PARAM params[])
{
	struct gen_ctx *g = genctx;

	return !params || EVP_PKEY_CTX_set_params(g->ctx, params) == 1;
}

static void *km_gen_init(void *provctx, int selection, const OSSL_PARAM params[], bool is_ec)
{
	struct keyd_ossl_prov *p = provctx;
	struct gen_ctx *g = calloc(1, sizeof(*g));
	int ok;

	if (!g)
		return NULL;
	g->prov = p;
	g->is_ec = is_ec;
	g->ctx = default_ctx(p, is_ec);
	if (g->ctx && (selection & OSSL_KEYMGMT_SELECT_KEYPAIR))
		ok = EVP_PKEY_keygen_init(g->ctx) == 1;
	else
		ok = g->ctx && EVP_PKEY_paramgen_init(g->ctx) == 1;
	if (!ok || !km_gen_set_params(g, params)) {
		km_gen_cleanup(g);
		return NULL;
	}
	return g;
}

static void *km_gen_init_ec(void *provctx, int selection, const OSSL_PARAM params[])
{
	return km_gen_init(provctx, selection, params, true);
}

static void *km_gen_init_rsa(void *provctx, int selection, const OSSL_PARAM params[])
{
	return km_gen_init(provctx, selection, params, false);
}

/* A template carries domain parameters (the EC group). */
static int km_gen_set_template(void *genctx, void *templ)
{
	struct gen_ctx *g = genctx;
	struct keyd_ossl_key *t = templ;
	OSSL_PARAM *params = NULL;
	int ok;

	if (!t || !t->pkey)
		return 0;
	if (EVP_PKEY_todata(t->pkey, EVP_PKEY_KEY_PARAMETERS, &params) != 1)
		return 0;
	ok = EVP_PKEY_CTX_set_params(g->ctx, params) == 1;
	OSSL_PARAM_free(params);
	return ok;
}

static void *km_gen(void *genctx, OSSL_CALLBACK *cb, void *cbarg)
{
	struct gen_ctx *g = genctx;
	struct keyd_ossl_key *k;
	EVP_PKEY *pkey = NULL;

	(void)cb; /* progress callbacks are the default provider's business */
	(void)cbarg;
	if (EVP_PKEY_generate(g->ctx, &pkey) != 1)
		return NULL;
	k = km_new(g->prov, g->is_ec);
	if (!k) {
		EVP_PKEY_free(pkey);
		return NULL;
	}
	k->pkey = pkey;
	k->selection = OSSL_KEYMGMT_SELECT_ALL;
	return k;
}

static const OSSL_PARAM *km_gen_settable_params_ec(void *genctx, void *provctx)
{
	(void)genctx;
	return default_gen_settable_params(provctx, true);
}

static const OSSL_PARAM *km_gen_settable_params_rsa(void *genctx, void *provctx)
{
	(void)genctx;
	return default_gen_settable_params(provctx, false);
}

static int km_validate(const void *keydata, int selection, int checktype)
{
	const struct keyd_ossl_key *k = keydata;
	EVP_PKEY_CTX *ctx;
	int ok = 1;

	(void)checktype;
	if (!k || !k->pkey)
		return 0;
	ctx = EVP_PKEY_CTX_new_from_pkey(keyd_ossl_libctx(k->prov), k->pkey, NULL);
	if (!ctx)
		return 0;
	if (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY)
		ok = ok && EVP_PKEY_public_check(ctx) == 1;
	if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) && !k->name[0])
		ok = ok && EVP_PKEY_private_check(ctx) == 1;
	if ((selection & OSSL_KEYMGMT_SELECT_ALL_PARAMETERS) && k->is_ec)
		ok = ok && EVP_PKEY_param_check(ctx) == 1;
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

#define KM_COMMON                                                                                  \
	{ OSSL_FUNC_KEYMGMT_FREE, (void (*)(void))km_free },                                      \
	{ OSSL_FUNC_KEYMGMT_LOAD, (void (*)(void))km_load },                                      \
	{ OSSL_FUNC_KEYMGMT_HAS, (void (*)(void))km_has },                                        \
	{ OSSL_FUNC_KEYMGMT_MATCH, (void (*)(void))km_match },                                    \
	{ OSSL_FUNC_KEYMGMT_VALIDATE, (void (*)(void))km_validate },                              \
	{ OSSL_FUNC_KEYMGMT_EXPORT, (void (*)(void))km_export },                                  \
	{ OSSL_FUNC_KEYMGMT_IMPORT, (void (*)(void))km_import },                                  \
	{ OSSL_FUNC_KEYMGMT_DUP, (void (*)(void))km_dup },                                        \
	{ OSSL_FUNC_KEYMGMT_GET_PARAMS, (void (*)(void))km_get_params },                          \
	{ OSSL_FUNC_KEYMGMT_SET_PARAMS, (void (*)(void))km_set_params },                          \
	{ OSSL_FUNC_KEYMGMT_GEN_SET_PARAMS, (void (*)(void))km_gen_set_params },                  \
	{ OSSL_FUNC_KEYMGMT_GEN_SET_TEMPLATE, (void (*)(void))km_gen_set_template },              \
	{ OSSL_FUNC_KEYMGMT_GEN, (void (*)(void))km_gen },                                        \
	{ OSSL_FUNC_KEYMGMT_GEN_CLEANUP, (void (*)(void))km_gen_cleanup }

const OSSL_DISPATCH keyd_ossl_keymgmt_ec_functions[] = {
	{ OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))km_new_ec },
	KM_COMMON,
	{ OSSL_FUNC_KEYMGMT_GEN_INIT, (void (*)(void))km_gen_init_ec },
	{ OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS, (void (*)(void))km_gen_settable_params_ec },
	{ OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, (void (*)(void))km_gettable_params_ec },
	{ OSSL_FUNC_KEYMGMT_SETTABLE_PARAMS, (void (*)(void))km_settable_params_ec },
	{ OSSL_FUNC_KEYMGMT_EXPORT_TYPES, (void (*)(void))km_types_ec },
	{ OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (void (*)(void))km_types_ec },
	{ OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, (void (*)(void))km_query_ec },
	{ 0, NULL },
};

const OSSL_DISPATCH keyd_ossl_keymgmt_rsa_functions[] = {
	{ OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))km_new_rsa },
	KM_COMMON,
	{ OSSL_FUNC_KEYMGMT_GEN_INIT, (void (*)(void))km_gen_init_rsa },
	{ OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS, (void (*)(void))km_gen_settable_params_rsa },
	{ OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, (void (*)(void))km_gettable_params_rsa },
	{ OSSL_FUNC_KEYMGMT_SETTABLE_PARAMS, (void (*)(void))km_settable_params_rsa },
	{ OSSL_FUNC_KEYMGMT_EXPORT_TYPES, (void (*)(void))km_types_rsa },
	{ OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (void (*)(void))km_types_rsa },
	{ OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, (void (*)(void))km_query_rsa },
	{ 0, NULL },
};
