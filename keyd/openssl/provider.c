/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * keyd.so: provider entry point, context, error reasons and the connection to
 * keyd. See provider.h for the layout and the rules for code loaded into other
 * programs. The only exported symbol is OSSL_provider_init (keyd.sym).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/provider.h>
#include <openssl/x509.h>

#include "macro.h"
#include "provider.h"

/* ---- errors ------------------------------------------------------------------------- */

static const OSSL_ITEM reason_strings[] = {
	{ KEYD_OSSL_R_NOT_RUNNING, "keyd is not reachable" },
	{ KEYD_OSSL_R_PERMISSION, "keyd's policy does not grant this key to the caller" },
	{ KEYD_OSSL_R_NO_SUCH_KEY, "no such key in keyd's store" },
	{ KEYD_OSSL_R_SIGN_FAILED, "keyd could not sign" },
	{ KEYD_OSSL_R_UNSUPPORTED, "signature parameters keyd does not support" },
	{ KEYD_OSSL_R_BAD_URI, "not a keyd:<name> URI" },
	{ KEYD_OSSL_R_BAD_KEY, "keyd returned no usable public key" },
	{ KEYD_OSSL_R_INTERNAL, "internal error in the keyd provider" },
	{ 0, NULL },
};

void keyd_ossl_error(struct keyd_ossl_prov *p, int reason, const char *fmt, ...)
{
	va_list ap;

	if (!p || !p->new_error || !p->vset_error)
		return;
	p->new_error(p->handle);
	if (p->set_error_debug)
		p->set_error_debug(p->handle, NULL, 0, "keyd");
	va_start(ap, fmt);
	p->vset_error(p->handle, (uint32_t)reason, fmt, ap);
	va_end(ap);
}

void keyd_ossl_client_error(struct keyd_ossl_prov *p, int r, const char *key, const char *what,
			    const char *message)
{
	const char *m = message && message[0] ? message : strerror(-r);

	switch (-r) {
	case EACCES:
	case EPERM:
		keyd_ossl_error(p, KEYD_OSSL_R_PERMISSION, "%s key '%s': %s", what, key, m);
		break;
	case ENOENT:
		keyd_ossl_error(p, KEYD_OSSL_R_NO_SUCH_KEY, "%s key '%s': %s", what, key, m);
		break;
	case EINVAL:
	case EOPNOTSUPP:
		keyd_ossl_error(p, KEYD_OSSL_R_UNSUPPORTED, "%s key '%s': %s", what, key, m);
		break;
	case ETIMEDOUT:
		keyd_ossl_error(p, KEYD_OSSL_R_NOT_RUNNING,
				"%s key '%s': keyd did not answer in time; is it stuck? "
				"(systemctl status keyd)", what, key);
		break;
	default:
		keyd_ossl_error(p, KEYD_OSSL_R_SIGN_FAILED, "%s key '%s': %s", what, key, m);
		break;
	}
}

/* ---- the library context of our own --------------------------------------------------- */

/* Made on first use, not in OSSL_provider_init: a program that loads keyd.so
 * from openssl.cnf and never touches an EC or RSA key does not pay for it (the
 * first fetch in a new library context builds its name map: about 0.4 ms of a
 * 3 ms openssl process on the development machine, OpenSSL 3.0). */
static void libctx_free(struct keyd_ossl_prov *p)
{
	EVP_KEYMGMT_free(p->km_ec);
	EVP_KEYMGMT_free(p->km_rsa);
	if (p->deflt)
		OSSL_PROVIDER_unload(p->deflt);
	OSSL_LIB_CTX_free(p->libctx);
	p->km_ec = p->km_rsa = NULL;
	p->deflt = NULL;
	p->libctx = NULL;
}

static int libctx_make(struct keyd_ossl_prov *p)
{
	p->libctx = OSSL_LIB_CTX_new();
	if (p->libctx)
		p->deflt = OSSL_PROVIDER_load(p->libctx, "default");
	if (p->deflt) {
		p->km_ec = EVP_KEYMGMT_fetch(p->libctx, "EC", NULL);
		p->km_rsa = EVP_KEYMGMT_fetch(p->libctx, "RSA", NULL);
	}
	if (p->libctx && p->deflt && p->km_ec && p->km_rsa)
		return 1;
	libctx_free(p);
	return -1;
}

OSSL_LIB_CTX *keyd_ossl_libctx(struct keyd_ossl_prov *p)
{
	int state = __atomic_load_n(&p->libctx_state, __ATOMIC_ACQUIRE);

	if (state == 0) {
		pthread_mutex_lock(&p->libctx_lock);
		state = p->libctx_state;
		if (state == 0) {
			state = libctx_make(p);
			__atomic_store_n(&p->libctx_state, state, __ATOMIC_RELEASE);
		}
		pthread_mutex_unlock(&p->libctx_lock);
	}
	if (state > 0)
		return p->libctx;
	keyd_ossl_error(p, KEYD_OSSL_R_INTERNAL,
			"cannot load OpenSSL's default provider for the keyd provider");
	return NULL;
}

EVP_KEYMGMT *keyd_ossl_default_keymgmt(struct keyd_ossl_prov *p, bool is_ec)
{
	if (!p || !keyd_ossl_libctx(p))
		return NULL;
	return is_ec ? p->km_ec : p->km_rsa;
}

/* ---- the connection to keyd ---------------------------------------------------------- */

/* Errors of the connection itself (keyd restarted, or closed an idle
 * connection): worth one reconnect. */
static bool is_connection_error(int r)
{
	return r == -EPIPE || r == -ECONNRESET || r == -ENOTCONN || r == -ECONNABORTED;
}

static int connect_locked(struct keyd_ossl_prov *p, const char *key)
{
	const char *path = keyd_client_socket_path(NULL);
	int r;

	/* After fork() parent and child would share one connection and read each
	 * other's replies: the child drops its copy (the parent's stays open). */
	if (p->client && p->client_pid != getpid())
		p->client = keyd_client_free(p->client);
	if (p->client)
		return 0;
	/* On a unix socket connect() either succeeds or fails at once (no listener:
	 * ENOENT or ECONNREFUSED); it waits only for a full backlog, and that wait
	 * and every later exchange are bounded by the same timeout. */
	r = keyd_client_connect(NULL, KEYD_CLIENT_SIGN_TIMEOUT_MS, &p->client);
	if (r >= 0) {
		p->client_pid = getpid();
		return 0;
	}
	p->client = NULL;
	if (r == -EACCES || r == -EPERM)
		keyd_ossl_error(p, KEYD_OSSL_R_PERMISSION,
				"key '%s': no permission to connect to keyd's socket '%s'", key,
				path);
	else
		keyd_ossl_error(p, KEYD_OSSL_R_NOT_RUNNING,
				"key '%s': cannot connect to keyd at '%s': %s; start keyd "
				"(systemctl start keyd) or set KEYD_SOCKET", key, path,
				strerror(-r));
	return r;
}

/* The signature is copied out before the lock is released: a reply lives in the
 * client's buffer only until its next call. */
int keyd_ossl_sign(struct keyd_ossl_key *k, uint32_t scheme, uint32_t hash, const uint8_t *digest,
		   size_t digest_len, uint8_t *sig, size_t sig_size, size_t *ret_sig_len)
{
	struct keyd_ossl_prov *p = k->prov;
	int r = 0;

	pthread_mutex_lock(&p->lock);
	for (int attempt = 0; attempt < 2; attempt++) {
		r = connect_locked(p, k->name);
		if (r < 0)
			goto out_raised;
		r = keyd_client_sign(p->client, k->name, scheme, hash, digest, digest_len, sig,
				     sig_size, ret_sig_len);
		if (r >= 0 || !is_connection_error(r))
			break;
		p->client = keyd_client_free(p->client);
	}
	if (r < 0) {
		keyd_ossl_client_error(p, r, k->name, "sign with",
				       p->client ? keyd_client_last_error(p->client) : NULL);
		/* After a timeout or a protocol error the connection's state is unknown. */
		if (r == -ETIMEDOUT || r == -EPROTO)
			p->client = keyd_client_free(p->client);
	}
out_raised:
	pthread_mutex_unlock(&p->lock);
	return r >= 0;
}

static int get_pubkey(struct keyd_ossl_prov *p, const char *name,
		      struct keyd_client_pubkey **ret)
{
	int r = 0;

	pthread_mutex_lock(&p->lock);
	for (int attempt = 0; attempt < 2; attempt++) {
		r = connect_locked(p, name);
		if (r < 0)
			goto out_raised;
		r = keyd_client_get_pubkey(p->client, name, ret);
		if (r >= 0 || !is_connection_error(r))
			break;
		p->client = keyd_client_free(p->client);
	}
	if (r < 0) {
		keyd_ossl_client_error(p, r, name, "read",
				       p->client ? keyd_client_last_error(p->client) : NULL);
		if (r == -ETIMEDOUT || r == -EPROTO)
			p->client = keyd_client_free(p->client);
	}
out_raised:
	pthread_mutex_unlock(&p->lock);
	return r;
}

/* ---- keys ------------------------------------------------------------------------------ */

struct keyd_ossl_key *keyd_ossl_key_ref(struct keyd_ossl_key *k)
{
	if (k)
		__atomic_add_fetch(&k->refs, 1, __ATOMIC_RELAXED);
	return k;
}

void keyd_ossl_key_unref(struct keyd_ossl_key *k)
{
	if (!k || __atomic_sub_fetch(&k->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

struct keyd_ossl_key *keyd_ossl_key_fetch(struct keyd_ossl_prov *p, const char *name,
					  struct keyd_client_pubkey **ret_pubkey)
{
	struct keyd_client_pubkey *pk = NULL;
	struct keyd_ossl_key *k = NULL;

	if (get_pubkey(p, name, &pk) < 0)
		return NULL;
	k = calloc(1, sizeof(*k));
	if (!k)
		goto fail_mem;
	k->prov = p;
	k->refs = 1;
	snprintf(k->name, sizeof(k->name), "%s", name);
	k->pkey = keyd_ossl_pubkey_from_spki(p, pk->spki, pk->spki_len);
	k->selection = OSSL_KEYMGMT_SELECT_PUBLIC_KEY | OSSL_KEYMGMT_SELECT_ALL_PARAMETERS;
	if (!k->pkey) {
		keyd_ossl_error(p, KEYD_OSSL_R_BAD_KEY,
				"key '%s': keyd's SubjectPublicKeyInfo does not parse", name);
		goto fail;
	}
	if (EVP_PKEY_is_a(k->pkey, "EC"))
		k->is_ec = true;
	else if (!EVP_PKEY_is_a(k->pkey, "RSA")) {
		keyd_ossl_error(p, KEYD_OSSL_R_BAD_KEY, "key '%s' is neither EC nor RSA", name);
		goto fail;
	}
	if (ret_pubkey)
		*ret_pubkey = pk;
	else
		keyd_client_pubkey_free(pk);
	return k;

fail_mem:
	keyd_ossl_error(p, KEYD_OSSL_R_INTERNAL, "out of memory");
fail:
	keyd_client_pubkey_free(pk);
	keyd_ossl_key_unref(k);
	return NULL;
}

/* ---- the provider ----------------------------------------------------------------------- */

static const OSSL_ALGORITHM store_algs[] = {
	{ KEYD_OSSL_URI_SCHEME, "provider=keyd", keyd_ossl_store_functions,
	  "keyd:<name>: TPM-resident keys held by keyd" },
	{ NULL, NULL, NULL, NULL },
};

/* The names are the default provider's, so EVP_PKEY_is_a("EC") and friends hold. */
static const OSSL_ALGORITHM keymgmt_algs[] = {
	{ "EC:id-ecPublicKey:1.2.840.10045.2.1", "provider=keyd", keyd_ossl_keymgmt_ec_functions,
	  "keyd EC keys (public part; private key in the TPM)" },
	{ "RSA:rsaEncryption:1.2.840.113549.1.1.1", "provider=keyd",
	  keyd_ossl_keymgmt_rsa_functions, "keyd RSA keys (public part; private key in the TPM)" },
	{ NULL, NULL, NULL, NULL },
};

static const OSSL_ALGORITHM signature_algs[] = {
	{ "ECDSA", "provider=keyd", keyd_ossl_signature_ecdsa_functions,
	  "ECDSA by keyd with a TPM-resident key" },
	{ "RSA:rsaEncryption:1.2.840.113549.1.1.1", "provider=keyd",
	  keyd_ossl_signature_rsa_functions,
	  "RSA PKCS#1 v1.5 and PSS by keyd with a TPM-resident key" },
	{ NULL, NULL, NULL, NULL },
};

static const OSSL_ALGORITHM *prov_query(void *provctx, int operation_id, int *no_cache)
{
	(void)provctx;
	*no_cache = 0;
	switch (operation_id) {
	case OSSL_OP_STORE:
		return store_algs;
	case OSSL_OP_KEYMGMT:
		return keymgmt_algs;
	case OSSL_OP_SIGNATURE:
		return signature_algs;
	default:
		return NULL;
	}
}

static const OSSL_PARAM *prov_gettable_params(void *provctx)
{
	static const OSSL_PARAM params[] = {
		OSSL_PARAM_DEFN(OSSL_PROV_PARAM_NAME, OSSL_PARAM_UTF8_PTR, NULL, 0),
		OSSL_PARAM_DEFN(OSSL_PROV_PARAM_VERSION, OSSL_PARAM_UTF8_PTR, NULL, 0),
		OSSL_PARAM_DEFN(OSSL_PROV_PARAM_BUILDINFO, OSSL_PARAM_UTF8_PTR, NULL, 0),
		OSSL_PARAM_DEFN(OSSL_PROV_PARAM_STATUS, OSSL_PARAM_INTEGER, NULL, 0),
		OSSL_PARAM_END,
	};

	(void)provctx;
	return params;
}

static int prov_get_params(void *provctx, OSSL_PARAM params[])
{
	OSSL_PARAM *q;

	(void)provctx;
	q = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_NAME);
	if (q && !OSSL_PARAM_set_utf8_ptr(q, "keyd: TPM-resident keys through keyd"))
		return 0;
	q = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_VERSION);
	if (q && !OSSL_PARAM_set_utf8_ptr(q, KEYD_VERSION))
		return 0;
	q = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_BUILDINFO);
	if (q && !OSSL_PARAM_set_utf8_ptr(q, "keyd " KEYD_VERSION))
		return 0;
	q = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_STATUS);
	if (q && !OSSL_PARAM_set_int(q, 1))
		return 0;
	return 1;
}

static const OSSL_ITEM *prov_get_reason_strings(void *provctx)
{
	(void)provctx;
	return reason_strings;
}

/* ---- TLS groups ---------------------------------------------------------------------- */

/* libssl offers an EC group only when the "EC" key management it fetches comes
 * from a provider that declares the group (ssl/t1_lib.c add_provider_groups).
 * With keyd.so loaded first that is this provider, so it declares the NIST
 * curves; the keys are made by the default provider behind keymgmt.c, ECDH is
 * the default provider's. Values as the default provider declares them: TLS
 * group ids 23-25 (RFC 8446 4.2.7), security bits per SP 800-57. */
struct tls_group {
	const char *name;
	const char *internal;
	unsigned int id;
	unsigned int secbits;
};

static const struct tls_group tls_groups[] = {
	{ "secp256r1", "prime256v1", 23, 128 }, { "P-256", "prime256v1", 23, 128 },
	{ "secp384r1", "secp384r1", 24, 192 },  { "P-384", "secp384r1", 24, 192 },
	{ "secp521r1", "secp521r1", 25, 256 },  { "P-521", "secp521r1", 25, 256 },
};

static int prov_get_capabilities(void *provctx, const char *capability, OSSL_CALLBACK *cb,
				 void *arg)
{
	(void)provctx;
	if (strcasecmp(capability, "TLS-GROUP") != 0)
		return 1;
	for (size_t i = 0; i < sizeof(tls_groups) / sizeof(tls_groups[0]); i++) {
		const struct tls_group *g = &tls_groups[i];
		unsigned int id = g->id, secbits = g->secbits;
		int min_tls = 0x0301 /* TLS 1.0 */, max_tls = 0, min_dtls = 0xfeff /* DTLS 1.0 */;
		int max_dtls = 0, is_kem = 0;
		OSSL_PARAM params[] = {
			OSSL_PARAM_utf8_string(OSSL_CAPABILITY_TLS_GROUP_NAME, (char *)g->name, 0),
			OSSL_PARAM_utf8_string(OSSL_CAPABILITY_TLS_GROUP_NAME_INTERNAL,
					       (char *)g->internal, 0),
			OSSL_PARAM_utf8_string(OSSL_CAPABILITY_TLS_GROUP_ALG, "EC", 0),
			OSSL_PARAM_uint(OSSL_CAPABILITY_TLS_GROUP_ID, &id),
			OSSL_PARAM_uint(OSSL_CAPABILITY_TLS_GROUP_SECURITY_BITS, &secbits),
			OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MIN_TLS, &min_tls),
			OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MAX_TLS, &max_tls),
			OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MIN_DTLS, &min_dtls),
			OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MAX_DTLS, &max_dtls),
			OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_IS_KEM, &is_kem),
			OSSL_PARAM_END,
		};

		if (!cb(params, arg))
			return 0;
	}
	return 1;
}

static void prov_teardown(void *provctx)
{
	struct keyd_ossl_prov *p = provctx;

	if (!p)
		return;
	keyd_client_free(p->client);
	pthread_mutex_destroy(&p->lock);
	pthread_mutex_destroy(&p->libctx_lock);
	libctx_free(p);
	free(p);
}

static const OSSL_DISPATCH prov_functions[] = {
	{ OSSL_FUNC_PROVIDER_TEARDOWN, (void (*)(void))prov_teardown },
	{ OSSL_FUNC_PROVIDER_GETTABLE_PARAMS, (void (*)(void))prov_gettable_params },
	{ OSSL_FUNC_PROVIDER_GET_PARAMS, (void (*)(void))prov_get_params },
	{ OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))prov_query },
	{ OSSL_FUNC_PROVIDER_GET_REASON_STRINGS, (void (*)(void))prov_get_reason_strings },
	{ OSSL_FUNC_PROVIDER_GET_CAPABILITIES, (void (*)(void))prov_get_capabilities },
	{ 0, NULL },
};

/* The one exported symbol (keyd.sym). */
int OSSL_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
		       const OSSL_DISPATCH **out, void **provctx);
__attribute__((visibility("default"))) int
OSSL_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
		   const OSSL_DISPATCH **out, void **provctx)
{
	struct keyd_ossl_prov *p;

	p = calloc(1, sizeof(*p));
	if (!p)
		return 0;
	p->handle = handle;
	for (; in && in->function_id != 0; in++)
		switch (in->function_id) {
		case OSSL_FUNC_CORE_NEW_ERROR:
			p->new_error = OSSL_FUNC_core_new_error(in);
			break;
		case OSSL_FUNC_CORE_SET_ERROR_DEBUG:
			p->set_error_debug = OSSL_FUNC_core_set_error_debug(in);
			break;
		case OSSL_FUNC_CORE_VSET_ERROR:
			p->vset_error = OSSL_FUNC_core_vset_error(in);
			break;
		default:
			break;
		}
	if (pthread_mutex_init(&p->lock, NULL) != 0) {
		free(p);
		return 0;
	}
	if (pthread_mutex_init(&p->libctx_lock, NULL) != 0) {
		pthread_mutex_destroy(&p->lock);
		free(p);
		return 0;
	}
	*out = prov_functions;
	*provctx = p;
	return 1;
}
