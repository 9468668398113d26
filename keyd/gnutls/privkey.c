/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TPM-resident keys as GnuTLS private keys (keyd-gnutls.h): external-key
 * callbacks (gnutls_privkey_import_ext4) whose sign-hash callback asks keyd's
 * signing service (SIGN over the socket, libkeyd-client) for the signature.
 *
 * What GnuTLS hands the sign-hash callback (gnutls/abstract.h and GnuTLS 3.7's
 * privkey.c): the digest of the data for ECDSA and RSA-PSS, with the signature
 * algorithm; for RSA PKCS#1 v1.5 the DER DigestInfo (RFC 8017 section 9.2) with
 * GNUTLS_SIGN_RSA_RAW. keyd wants the bare digest and the hash, and applies the
 * PKCS#1 encoding in the TPM, so a DigestInfo is taken apart here against the
 * fixed prefixes of RFC 8017 section 9.2, note 1.
 *
 * Every signature opens its own connection: a TLS handshake makes one signature,
 * keyd may restart between handshakes, and nothing is shared between threads.
 */
#include <errno.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "error.h"
#include "keyd-gnutls.h"
#include "keyring.h"
#include "log.h"
#include "macro.h"
#include "parse.h"

#define REF_PREFIX "keyd:"

DEFINE_TRIVIAL_CLEANUP_FUNC(keyd_client *, keyd_client_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct keyd_client_pubkey *, keyd_client_pubkey_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(gnutls_pubkey_t, gnutls_pubkey_deinit)

/* The userdata of one imported key. */
struct key_ctx {
	char name[KEYD_GNUTLS_KEY_NAME_MAX + 1];
	char *socket; /* NULL: libkeyd-client's default */
	gnutls_pk_algorithm_t pk;
	unsigned bits;
	gnutls_ecc_curve_t curve; /* ECDSA keys */
};

static struct key_ctx *key_ctx_free(struct key_ctx *k)
{
	if (!k)
		return NULL;
	free(k->socket);
	free(k);
	return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct key_ctx *, key_ctx_free)

/* What the key can do: each GnuTLS signature algorithm offered, for which key,
 * and how keyd is asked for it. A curve of GNUTLS_ECC_CURVE_INVALID fits any
 * curve (the TLS 1.2 and certificate ECDSA algorithms are not bound to one).
 * Only SHA-256 and SHA-384: the TCG PC Client TPM profile requires SHA-256 and
 * many TPMs have no SHA-512, so offering it would fail mid-handshake. */
struct sig_alg {
	gnutls_sign_algorithm_t algo;
	gnutls_pk_algorithm_t pk;
	gnutls_ecc_curve_t curve;
	uint32_t scheme; /* enum keyd_proto_scheme */
	uint32_t hash;   /* enum keyd_proto_hash */
};

static const struct sig_alg sig_algs[] = {
	{ GNUTLS_SIGN_ECDSA_SECP256R1_SHA256, GNUTLS_PK_ECDSA, GNUTLS_ECC_CURVE_SECP256R1,
	  KEYD_PROTO_SCHEME_ECDSA, KEYD_PROTO_HASH_SHA256 },
	{ GNUTLS_SIGN_ECDSA_SECP384R1_SHA384, GNUTLS_PK_ECDSA, GNUTLS_ECC_CURVE_SECP384R1,
	  KEYD_PROTO_SCHEME_ECDSA, KEYD_PROTO_HASH_SHA384 },
	{ GNUTLS_SIGN_ECDSA_SHA256, GNUTLS_PK_ECDSA, GNUTLS_ECC_CURVE_INVALID,
	  KEYD_PROTO_SCHEME_ECDSA, KEYD_PROTO_HASH_SHA256 },
	{ GNUTLS_SIGN_ECDSA_SHA384, GNUTLS_PK_ECDSA, GNUTLS_ECC_CURVE_INVALID,
	  KEYD_PROTO_SCHEME_ECDSA, KEYD_PROTO_HASH_SHA384 },
	/* rsae: RSA-PSS with a key whose certificate says rsaEncryption, which is
	 * what keyd-ctl csr makes (RFC 8446 section 4.2.3). */
	{ GNUTLS_SIGN_RSA_PSS_RSAE_SHA256, GNUTLS_PK_RSA, GNUTLS_ECC_CURVE_INVALID,
	  KEYD_PROTO_SCHEME_RSA_PSS, KEYD_PROTO_HASH_SHA256 },
	{ GNUTLS_SIGN_RSA_PSS_RSAE_SHA384, GNUTLS_PK_RSA, GNUTLS_ECC_CURVE_INVALID,
	  KEYD_PROTO_SCHEME_RSA_PSS, KEYD_PROTO_HASH_SHA384 },
	{ GNUTLS_SIGN_RSA_SHA256, GNUTLS_PK_RSA, GNUTLS_ECC_CURVE_INVALID,
	  KEYD_PROTO_SCHEME_RSA_PKCS1, KEYD_PROTO_HASH_SHA256 },
	{ GNUTLS_SIGN_RSA_SHA384, GNUTLS_PK_RSA, GNUTLS_ECC_CURVE_INVALID,
	  KEYD_PROTO_SCHEME_RSA_PKCS1, KEYD_PROTO_HASH_SHA384 },
};

static const struct sig_alg *sig_alg_find(const struct key_ctx *k, gnutls_sign_algorithm_t algo)
{
	for (size_t i = 0; i < ELEMENTSOF(sig_algs); i++) {
		const struct sig_alg *a = &sig_algs[i];

		if (a->algo != algo || a->pk != k->pk)
			continue;
		if (a->curve != GNUTLS_ECC_CURVE_INVALID && a->curve != k->curve)
			continue;
		return a;
	}
	return NULL;
}

/* DigestInfo prefixes (RFC 8017 section 9.2, note 1): SEQUENCE { SEQUENCE { OID,
 * NULL }, OCTET STRING (digest) }, followed by the digest. */
static const struct digest_info {
	uint32_t hash;
	uint8_t prefix[19];
} digest_infos[] = {
	{ KEYD_PROTO_HASH_SHA256,
	  { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
	    0x01, 0x05, 0x00, 0x04, 0x20 } },
	{ KEYD_PROTO_HASH_SHA384,
	  { 0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
	    0x02, 0x05, 0x00, 0x04, 0x30 } },
};

/* Split a DigestInfo into hash and digest. -EINVAL when it is none of the
 * offered hashes (SHA-512, the MD5+SHA-1 of TLS 1.0, ...). */
static int digest_info_split(const gnutls_datum_t *in, uint32_t *ret_hash,
			     const uint8_t **ret_digest, size_t *ret_len)
{
	for (size_t i = 0; i < ELEMENTSOF(digest_infos); i++) {
		const struct digest_info *d = &digest_infos[i];
		size_t dlen = keyd_proto_hash_size(d->hash);

		if (in->size != sizeof(d->prefix) + dlen ||
		    memcmp(in->data, d->prefix, sizeof(d->prefix)) != 0)
			continue;
		*ret_hash = d->hash;
		*ret_digest = in->data + sizeof(d->prefix);
		*ret_len = dlen;
		return 0;
	}
	return -EINVAL;
}

static int connect_keyd(const struct key_ctx *k, keyd_client **ret)
{
	const char *path = keyd_client_socket_path(k->socket);
	int r;

	/* The connect timeout also bounds each send and receive: the signing one. */
	r = keyd_client_connect(k->socket, KEYD_CLIENT_SIGN_TIMEOUT_MS, ret);
	if (r >= 0)
		return 0;
	switch (r) {
	case -ENOENT:
	case -ECONNREFUSED:
		return keyd_gnutls_error_set(keyd_gnutls_error_from_errno(r,
								      KEYD_GNUTLS_ORIGIN_CONNECT),
					     "key '%s': keyd is not running (nothing listens on "
					     "'%s'); start keyd", k->name, path);
	case -EACCES:
	case -EPERM:
		return keyd_gnutls_error_set(GNUTLS_E_INSUFFICIENT_CREDENTIALS,
					     "key '%s': permission denied on keyd's socket '%s'",
					     k->name, path);
	case -ETIMEDOUT:
		return keyd_gnutls_error_set(GNUTLS_E_TIMEDOUT,
					     "key '%s': keyd did not accept the connection on '%s' "
					     "in time", k->name, path);
	default:
		return keyd_gnutls_error_set(keyd_gnutls_error_from_errno(r,
								      KEYD_GNUTLS_ORIGIN_CONNECT),
					     "key '%s': cannot connect to keyd on '%s': %s",
					     k->name, path, strerror(-r));
	}
}

/* A failed SIGN or GET-PUBKEY: keyd's own message when it sent one. */
static int reply_error(const struct key_ctx *k, keyd_client *c, int r, const char *what)
{
	const char *msg = keyd_client_last_error(c);

	return keyd_gnutls_error_set(keyd_gnutls_error_from_errno(r, KEYD_GNUTLS_ORIGIN_REPLY),
				     "key '%s': keyd refused to %s: %s", k->name, what,
				     msg[0] ? msg : strerror(-r));
}

/* ---- the callbacks --------------------------------------------------------------------- */

static int key_sign_hash(gnutls_privkey_t key, gnutls_sign_algorithm_t algo, void *userdata,
			 unsigned flags, const gnutls_datum_t *hash, gnutls_datum_t *signature)
{
	const struct key_ctx *k = userdata;
	_cleanup_(keyd_client_freep) keyd_client *c = NULL;
	uint8_t sig[KEYD_CLIENT_SIGNATURE_MAX];
	const uint8_t *digest = NULL;
	size_t digest_len = 0, sig_len = 0;
	uint32_t scheme, h;
	int r;

	(void)key;
	keyd_gnutls_error_clear();
	if (!hash || !signature)
		return keyd_gnutls_error_set(GNUTLS_E_INVALID_REQUEST, "key '%s': no data to sign",
					     k->name);
	if (flags & GNUTLS_PRIVKEY_SIGN_FLAG_TLS1_RSA)
		return keyd_gnutls_error_set(GNUTLS_E_UNSUPPORTED_SIGNATURE_ALGORITHM,
					     "key '%s': the MD5+SHA-1 signatures of TLS "
					     "1.0/1.1 are not supported", k->name);

	if (algo == GNUTLS_SIGN_RSA_RAW) {
		if (k->pk != GNUTLS_PK_RSA || digest_info_split(hash, &h, &digest, &digest_len) < 0)
			return keyd_gnutls_error_set(GNUTLS_E_UNSUPPORTED_SIGNATURE_ALGORITHM,
						     "key '%s': only RSA PKCS#1 signatures over "
						     "SHA-256 or SHA-384 are supported", k->name);
		scheme = KEYD_PROTO_SCHEME_RSA_PKCS1;
	} else {
		const struct sig_alg *a = sig_alg_find(k, algo);
		uint32_t di_hash;

		if (!a)
			return keyd_gnutls_error_set(GNUTLS_E_UNSUPPORTED_SIGNATURE_ALGORITHM,
						     "key '%s' cannot make %s signatures", k->name,
						     gnutls_sign_get_name(algo) ?: "unknown");
		scheme = a->scheme;
		h = a->hash;
		digest = hash->data;
		digest_len = hash->size;
		/* PKCS#1 may arrive as a DigestInfo too; it must be for the same hash. */
		if (scheme == KEYD_PROTO_SCHEME_RSA_PKCS1 &&
		    hash->size != keyd_proto_hash_size(h) &&
		    (digest_info_split(hash, &di_hash, &digest, &digest_len) < 0 || di_hash != h))
			digest_len = 0;
		if (digest_len != keyd_proto_hash_size(h))
			return keyd_gnutls_error_set(GNUTLS_E_INVALID_REQUEST,
						     "key '%s': %u bytes are not a %s digest",
						     k->name, hash->size,
						     gnutls_sign_get_name(algo));
	}

	r = connect_keyd(k, &c);
	if (r < 0)
		return r;
	r = keyd_client_sign(c, k->name, scheme, h, digest, digest_len, sig, sizeof(sig),
			     &sig_len);
	if (r < 0)
		return reply_error(k, c, r, "sign");
	signature->data = gnutls_malloc(sig_len);
	if (!signature->data)
		return keyd_gnutls_error_set(GNUTLS_E_MEMORY_ERROR, "out of memory");
	memcpy(signature->data, sig, sig_len);
	signature->size = (unsigned)sig_len;
	return 0;
}

static int key_info(gnutls_privkey_t key, unsigned flags, void *userdata)
{
	const struct key_ctx *k = userdata;

	(void)key;
	if (flags & GNUTLS_PRIVKEY_INFO_HAVE_SIGN_ALGO)
		return sig_alg_find(k, GNUTLS_FLAGS_TO_SIGN_ALGO(flags)) ? 1 : 0;
	if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO)
		return k->pk;
	if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO_BITS)
		return (int)k->bits;
	if (flags & GNUTLS_PRIVKEY_INFO_SIGN_ALGO)
		return 0; /* no single preferred algorithm: GnuTLS negotiates among the above */
	return -1;
}

static void key_deinit(gnutls_privkey_t key, void *userdata)
{
	(void)key;
	key_ctx_free(userdata);
}

/* ---- import ---------------------------------------------------------------------------- */

/* The algorithm, size and curve of the key, from its SubjectPublicKeyInfo. */
static int key_ctx_set_public(struct key_ctx *k, const struct keyd_client_pubkey *pub)
{
	_cleanup_(gnutls_pubkey_deinitp) gnutls_pubkey_t pk = NULL;
	gnutls_datum_t x = { 0 }, y = { 0 };
	int g;

	if (pub->spki_len == 0 || pub->spki_len > KEYD_GNUTLS_DER_MAX)
		return keyd_gnutls_error_set(GNUTLS_E_PK_SIGN_FAILED,
					     "key '%s': keyd sent no usable public key", k->name);
	g = gnutls_pubkey_init(&pk);
	if (g < 0)
		return keyd_gnutls_error_set(g, "out of memory");
	g = gnutls_pubkey_import(pk, &(gnutls_datum_t){ pub->spki, (unsigned)pub->spki_len },
				 GNUTLS_X509_FMT_DER);
	if (g < 0)
		return keyd_gnutls_error_set(g, "key '%s': keyd's public key does not parse: %s",
					     k->name, gnutls_strerror(g));
	g = gnutls_pubkey_get_pk_algorithm(pk, &k->bits);
	if (g == GNUTLS_PK_RSA) {
		k->pk = GNUTLS_PK_RSA;
		return 0;
	}
	if (g == GNUTLS_PK_ECDSA) {
		k->pk = GNUTLS_PK_ECDSA;
		g = gnutls_pubkey_export_ecc_raw(pk, &k->curve, &x, &y);
		gnutls_free(x.data);
		gnutls_free(y.data);
		if (g < 0)
			return keyd_gnutls_error_set(g, "key '%s': cannot read the curve: %s",
						     k->name, gnutls_strerror(g));
		if (k->curve == GNUTLS_ECC_CURVE_SECP256R1 ||
		    k->curve == GNUTLS_ECC_CURVE_SECP384R1)
			return 0;
	}
	return keyd_gnutls_error_set(GNUTLS_E_UNSUPPORTED_SIGNATURE_ALGORITHM,
				     "key '%s': keyd's key is neither RSA nor ECDSA P-256/P-384",
				     k->name);
}

static int privkey_import(gnutls_privkey_t pkey, const char *keyname, const char *socket_path,
			  unsigned flags, struct keyd_client_pubkey **ret_pub)
{
	_cleanup_(key_ctx_freep) struct key_ctx *k = NULL;
	_cleanup_(keyd_client_freep) keyd_client *c = NULL;
	_cleanup_(keyd_client_pubkey_freep) struct keyd_client_pubkey *pub = NULL;
	int r, g;

	if (!pkey || !keyname || flags != 0)
		return keyd_gnutls_error_set(GNUTLS_E_INVALID_REQUEST,
					     "keyd_gnutls_privkey_import: bad arguments");
	if (keyd_name_is_valid(keyname) <= 0)
		return keyd_gnutls_error_set(GNUTLS_E_INVALID_REQUEST,
					     "'%.80s' is not a keyd key name ([A-Za-z0-9._-], at "
					     "most 64)", keyname);
	k = calloc(1, sizeof(*k));
	if (!k)
		return keyd_gnutls_error_set(GNUTLS_E_MEMORY_ERROR, "out of memory");
	snprintf(k->name, sizeof(k->name), "%s", keyname); /* length checked above */
	if (socket_path) {
		k->socket = strdup(socket_path);
		if (!k->socket)
			return keyd_gnutls_error_set(GNUTLS_E_MEMORY_ERROR, "out of memory");
	}

	r = connect_keyd(k, &c);
	if (r < 0)
		return r;
	r = keyd_client_get_pubkey(c, k->name, &pub);
	if (r < 0)
		return reply_error(k, c, r, "give out the public key");
	r = key_ctx_set_public(k, pub);
	if (r < 0)
		return r;

	g = gnutls_privkey_import_ext4(pkey, k, NULL, key_sign_hash, NULL, key_deinit, key_info,
				       GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE);
	if (g < 0)
		return keyd_gnutls_error_set(g, "key '%s': GnuTLS refuses the external key: %s",
					     k->name, gnutls_strerror(g));
	TAKE_PTR(k); /* pkey owns it now: key_deinit() */
	if (ret_pub)
		*ret_pub = TAKE_PTR(pub);
	return 0;
}

_public_ int keyd_gnutls_privkey_import(gnutls_privkey_t pkey, const char *keyname,
					const char *socket_path, unsigned flags)
{
	keyd_gnutls_error_clear();
	return privkey_import(pkey, keyname, socket_path, flags, NULL);
}

/* ---- references in keyrings -------------------------------------------------------------- */

/* 1 and the name when serial is a "user" key holding "keyd:NAME", 0 when it is a
 * readable key holding something else, GNUTLS_E_* when it cannot be read. */
static int read_ref(int32_t serial, char name[static KEYD_GNUTLS_KEY_NAME_MAX + 1])
{
	_cleanup_secret_ struct keyd_secret payload = { 0 };
	struct keyd_keyring_info info;
	size_t plen = strlen(REF_PREFIX);
	int r;

	r = keyd_keyring_describe(serial, &info);
	if (r < 0)
		return keyd_gnutls_error_set(keyd_gnutls_error_from_errno(r,
								      KEYD_GNUTLS_ORIGIN_KEYRING),
					     "key %d: cannot describe it: %s", (int)serial,
					     strerror(-r));
	if (!streq(info.type, "user"))
		return 0;
	r = keyd_keyring_read(serial, plen + KEYD_GNUTLS_KEY_NAME_MAX, &payload);
	if (r == -EFBIG)
		return 0; /* longer than any reference: DER key material, say */
	if (r < 0)
		return keyd_gnutls_error_set(keyd_gnutls_error_from_errno(r,
								      KEYD_GNUTLS_ORIGIN_KEYRING),
					     "key %d: cannot read it: %s", (int)serial,
					     strerror(-r));
	if (payload.len <= plen || memcmp(payload.data, REF_PREFIX, plen) != 0)
		return 0;
	memcpy(name, payload.data + plen, payload.len - plen);
	name[payload.len - plen] = '\0';
	return keyd_name_is_valid(name) > 0 ? 1 : 0;
}

_public_ int keyd_gnutls_serial_is_ref(int32_t serial)
{
	char name[KEYD_GNUTLS_KEY_NAME_MAX + 1];

	keyd_gnutls_error_clear();
	return read_ref(serial, name);
}

_public_ int keyd_gnutls_privkey_import_ref(gnutls_privkey_t pkey, int32_t serial,
					    const char *socket_path, unsigned flags)
{
	char name[KEYD_GNUTLS_KEY_NAME_MAX + 1];
	int r;

	keyd_gnutls_error_clear();
	r = read_ref(serial, name);
	if (r < 0)
		return r;
	if (r == 0)
		return keyd_gnutls_error_set(GNUTLS_E_KEYFILE_ERROR,
					     "key %d is not a reference to a keyd key (a user key "
					     "holding 'keyd:NAME')", (int)serial);
	return privkey_import(pkey, name, socket_path, flags, NULL);
}

/* ---- key and certificate together -------------------------------------------------------- */

/* Import the key (by name, or by the reference in ref_serial when name is NULL)
 * and add it to cred with the certificates: the given DER ones, or keyd's when
 * n_certs is 0. The leaf must carry the key's public key: compared here, so no
 * test signature is needed (see GNUTLS_CERTIFICATE_SKIP_KEY_CERT_MATCH). */
static int set_key(gnutls_certificate_credentials_t cred, const char *keyname, int32_t ref_serial,
		   const char *socket_path, unsigned flags, const gnutls_datum_t *certs,
		   size_t n_certs)
{
	_cleanup_(keyd_client_pubkey_freep) struct keyd_client_pubkey *pub = NULL;
	gnutls_pcert_st pcerts[KEYD_CLIENT_CERTS_MAX];
	char name[KEYD_GNUTLS_KEY_NAME_MAX + 1];
	gnutls_privkey_t pkey = NULL;
	gnutls_datum_t leaf_spki = { 0 };
	size_t n = 0;
	int r, g;

	if (!cred || (n_certs > 0 && !certs) || n_certs > KEYD_CLIENT_CERTS_MAX)
		return keyd_gnutls_error_set(GNUTLS_E_INVALID_REQUEST,
					     "keyd_gnutls_certificate_set_key: bad arguments");
	if (!keyname) {
		r = read_ref(ref_serial, name);
		if (r < 0)
			return r;
		if (r == 0)
			return keyd_gnutls_error_set(GNUTLS_E_KEYFILE_ERROR,
						     "key %d is not a reference to a keyd key "
						     "(a user key holding 'keyd:NAME')",
						     (int)ref_serial);
		keyname = name;
	}
	g = gnutls_privkey_init(&pkey);
	if (g < 0)
		return keyd_gnutls_error_set(g, "out of memory");
	r = privkey_import(pkey, keyname, socket_path, flags, &pub);
	if (r < 0)
		goto fail;
	if (n_certs == 0 && pub->n_certs == 0) {
		r = keyd_gnutls_error_set(GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE,
					  "key '%s' has no certificate in keyd; enroll one with "
					  "keyd-ctl cert add", keyname);
		goto fail;
	}
	if (n_certs == 0)
		n_certs = pub->n_certs;
	for (n = 0; n < n_certs; n++) {
		gnutls_datum_t d = { NULL, 0 };

		if (certs)
			d = certs[n];
		else
			d = (gnutls_datum_t){ pub->certs[n], (unsigned)pub->cert_lens[n] };

		g = gnutls_pcert_import_x509_raw(&pcerts[n], &d, GNUTLS_X509_FMT_DER, 0);
		if (g < 0) {
			r = keyd_gnutls_error_set(g, "key '%s': certificate %zu does not parse: %s",
						  keyname, n, gnutls_strerror(g));
			goto fail;
		}
	}
	g = gnutls_pubkey_export2(pcerts[0].pubkey, GNUTLS_X509_FMT_DER, &leaf_spki);
	if (g < 0 || leaf_spki.size != pub->spki_len ||
	    memcmp(leaf_spki.data, pub->spki, pub->spki_len) != 0) {
		gnutls_free(leaf_spki.data);
		r = keyd_gnutls_error_set(GNUTLS_E_CERTIFICATE_KEY_MISMATCH,
					  "key '%s': the certificate is not for this key; "
					  "enroll the right one with keyd-ctl cert add", keyname);
		goto fail;
	}
	gnutls_free(leaf_spki.data);
	/* On success cred owns the certificates and the key. */
	g = gnutls_certificate_set_key(cred, NULL, 0, pcerts, (int)n, pkey);
	if (g < 0)
		/* GnuTLS may already hold them (its rule: cred is unusable after a failure);
		 * leaking them beats a double free. */
		return keyd_gnutls_error_set(g, "key '%s': GnuTLS refuses the key and "
					     "certificate: %s", keyname, gnutls_strerror(g));
	return 0;
fail:
	for (size_t i = 0; i < n; i++)
		gnutls_pcert_deinit(&pcerts[i]);
	gnutls_privkey_deinit(pkey);
	return r;
}

_public_ int keyd_gnutls_certificate_set_key(gnutls_certificate_credentials_t cred,
					     const char *keyname, const char *socket_path,
					     unsigned flags)
{
	keyd_gnutls_error_clear();
	if (!keyname)
		return keyd_gnutls_error_set(GNUTLS_E_INVALID_REQUEST,
					     "keyd_gnutls_certificate_set_key: no key name");
	return set_key(cred, keyname, 0, socket_path, flags, NULL, 0);
}

_public_ int keyd_gnutls_certificate_set_key_ref(gnutls_certificate_credentials_t cred,
						 const gnutls_datum_t *certs, size_t n_certs,
						 int32_t key_serial, const char *socket_path,
						 unsigned flags)
{
	keyd_gnutls_error_clear();
	return set_key(cred, NULL, key_serial, socket_path, flags, certs, n_certs);
}
