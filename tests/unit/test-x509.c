/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for keyd/core/x509.c. Every key and certificate is generated here
 * with libcrypto at run time; nothing is committed.
 */
#include <setjmp.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto.h"
#include "macro.h"
#include "parse.h"
#include "x509.h"

#define DAY 86400

struct pki {
	EVP_PKEY *ca_key, *int_key, *leaf_key, *other_key, *rsa_key;
	X509 *ca, *intermediate, *leaf, *expired, *non_ca, *future, *soon, *other_ca, *rsa_leaf;
};

static struct pki P;

static EVP_PKEY *gen_ec(const char *curve)
{
	EVP_PKEY *k = EVP_EC_gen(curve);
	assert_non_null(k);
	return k;
}

static EVP_PKEY *gen_rsa(unsigned bits)
{
	EVP_PKEY *k = EVP_RSA_gen(bits);
	assert_non_null(k);
	return k;
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	assert_non_null(e);
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

/* A certificate for key, signed by issuer_key (self-signed when issuer is NULL),
 * valid from now+from to now+to seconds. */
static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, bool ca,
		       long from, long to)
{
	static long serial = 1;
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"keyd test", -1, -1,
				   0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
	X509_NAME_free(n);
	X509_gmtime_adj(X509_getm_notBefore(x), from);
	X509_gmtime_adj(X509_getm_notAfter(x), to);
	assert_int_equal(X509_set_pubkey(x, key), 1);
	add_ext(x, issuer, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
	add_ext(x, issuer, NID_subject_key_identifier, "hash");
	if (issuer)
		add_ext(x, issuer, NID_authority_key_identifier, "keyid:always");
	if (ca)
		add_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
	assert_true(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0);
	return x;
}

static int setup(void **state)
{
	(void)state;
	P.ca_key = gen_ec("P-256");
	P.int_key = gen_ec("P-384");
	P.leaf_key = gen_ec("P-256");
	P.other_key = gen_ec("P-256");
	P.rsa_key = gen_rsa(2048);
	P.ca = make_cert("Test Root", P.ca_key, NULL, NULL, true, -DAY, 3650L * DAY);
	P.intermediate =
		make_cert("Test Intermediate", P.int_key, P.ca, P.ca_key, true, -DAY, 365L * DAY);
	P.leaf = make_cert("leaf.example", P.leaf_key, P.intermediate, P.int_key, false, -DAY,
			   90L * DAY);
	P.rsa_leaf = make_cert("rsa.example", P.rsa_key, P.intermediate, P.int_key, false, -DAY,
			       90L * DAY);
	P.expired = make_cert("Expired Root", P.other_key, NULL, NULL, true, -30L * DAY, -DAY);
	P.future = make_cert("Future Root", P.other_key, NULL, NULL, true, 10L * DAY, 100L * DAY);
	P.soon = make_cert("Soon Root", P.other_key, NULL, NULL, true, -DAY, 5L * DAY);
	P.non_ca = make_cert("Not A CA", P.other_key, NULL, NULL, false, -DAY, 100L * DAY);
	P.other_ca = make_cert("Other Root", P.other_key, NULL, NULL, true, -DAY, 100L * DAY);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	X509 *certs[] = { P.ca,	    P.intermediate, P.leaf,	P.expired, P.non_ca,
			  P.future, P.soon,	    P.other_ca, P.rsa_leaf };
	EVP_PKEY *keys[] = { P.ca_key, P.int_key, P.leaf_key, P.other_key, P.rsa_key };
	for (size_t i = 0; i < ELEMENTSOF(certs); i++)
		X509_free(certs[i]);
	for (size_t i = 0; i < ELEMENTSOF(keys); i++)
		EVP_PKEY_free(keys[i]);
	return 0;
}

static char *pem_of(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *s;
	long len;

	assert_int_equal(PEM_write_bio_X509(b, x), 1);
	len = BIO_get_mem_data(b, &data);
	s = strndup(data, (size_t)len);
	BIO_free(b);
	return s;
}

static void der_of(X509 *x, uint8_t **ret, size_t *ret_len)
{
	unsigned char *d = NULL;
	int n = i2d_X509(x, &d);

	assert_true(n > 0);
	*ret = malloc((size_t)n);
	memcpy(*ret, d, (size_t)n);
	*ret_len = (size_t)n;
	OPENSSL_free(d);
}

/* Parse one X509 into a keyd_x509_cert (through the DER path). */
static struct keyd_x509_cert *cert_of(X509 *x, size_t *n)
{
	struct keyd_x509_cert *c = NULL;
	struct keyd_x509_problem *p = NULL;
	size_t np = 0;
	uint8_t *der;
	size_t len;

	der_of(x, &der, &len);
	assert_int_equal(keyd_x509_bundle_parse(der, len, &c, n, &p, &np), 0);
	assert_int_equal(*n, 1);
	assert_int_equal(np, 0);
	assert_null(p);
	free(der);
	return c;
}

static void pubkey_of(EVP_PKEY *k, struct keyd_pubkey *pk)
{
	memset(pk, 0, sizeof(*pk));
	if (EVP_PKEY_get_base_id(k) == EVP_PKEY_EC) {
		uint8_t pt[1 + 2 * 66];
		size_t len;
		char group[32];

		assert_int_equal(EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME,
								group, sizeof(group), NULL),
				 1);
		assert_int_equal(EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pt,
								 sizeof(pt), &len),
				 1);
		assert_int_equal(pt[0], 0x04);
		pk->alg = streq(group, "prime256v1") ? KEYD_KEY_EC_P256 : KEYD_KEY_EC_P384;
		pk->ec.len = (len - 1) / 2;
		memcpy(pk->ec.x, pt + 1, pk->ec.len);
		memcpy(pk->ec.y, pt + 1 + pk->ec.len, pk->ec.len);
	} else {
		BIGNUM *n = NULL, *e = NULL;

		assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n), 1);
		assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e), 1);
		pk->alg = EVP_PKEY_get_bits(k) == 2048 ? KEYD_KEY_RSA2048 : KEYD_KEY_RSA3072;
		pk->rsa.n_len = (size_t)BN_bn2bin(n, pk->rsa.n);
		pk->rsa.e = (uint32_t)BN_get_word(e);
		BN_free(n);
		BN_free(e);
	}
}

static void test_bundle_garbled_block(void **state)
{
	_cleanup_free_ char *a = pem_of(P.ca), *b = pem_of(P.intermediate), *c = pem_of(P.leaf),
			    *d = pem_of(P.non_ca);
	struct keyd_x509_cert *certs = NULL;
	struct keyd_x509_problem *probs = NULL;
	size_t n = 0, np = 0;
	char *bundle, *garbled;
	size_t len;

	(void)state;
	/* Block 3 is a copy of block 2 with its base64 broken in the middle. */
	garbled = strdup(b);
	garbled[strlen(garbled) / 2] = '!';
	len = strlen(a) + strlen(b) + strlen(garbled) + strlen(c) + strlen(d) + 200;
	bundle = malloc(len);
	snprintf(bundle, len, "# comment text\n%s\nsome words between\n%s%s%s%s", a, b, garbled, c,
		 d);

	assert_int_equal(keyd_x509_bundle_parse((const uint8_t *)bundle, strlen(bundle), &certs, &n,
						&probs, &np),
			 0);
	assert_int_equal(n, 4);
	assert_int_equal(np, 1);
	assert_int_equal(probs[0].index, 3);
	assert_int_equal(probs[0].error, -EBADMSG);
	assert_non_null(strstr(probs[0].reason, "not a valid certificate"));
	assert_string_equal(certs[0].subject, "CN=Test Root,O=keyd test");
	assert_string_equal(certs[1].subject, "CN=Test Intermediate,O=keyd test");
	assert_string_equal(certs[1].issuer, "CN=Test Root,O=keyd test");
	assert_string_equal(certs[2].subject, "CN=leaf.example,O=keyd test");
	assert_string_equal(certs[3].subject, "CN=Not A CA,O=keyd test");
	assert_true(certs[0].is_ca);
	assert_true(certs[0].self_signed);
	assert_true(certs[1].is_ca);
	assert_false(certs[1].self_signed);
	assert_false(certs[2].is_ca);
	assert_false(certs[3].is_ca);
	assert_string_equal(certs[0].key_type, "ec-p256");
	assert_string_equal(certs[1].key_type, "ec-p384");
	keyd_x509_certs_free(certs, n);
	free(probs);
	free(bundle);
	free(garbled);
}

static void test_bundle_odd_blocks(void **state)
{
	_cleanup_free_ char *a = pem_of(P.ca), *b = pem_of(P.leaf);
	struct keyd_x509_cert *certs = NULL;
	struct keyd_x509_problem *probs = NULL;
	size_t n = 0, np = 0, len;
	char *bundle, *cut;

	(void)state;
	/* Block 1: another label; block 2: good; block 3: no END line before block 4. */
	cut = strdup(a);
	*strstr(cut, "-----END") = '\0';
	len = strlen(a) + strlen(b) + strlen(cut) + 200;
	bundle = malloc(len);
	snprintf(bundle, len, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n%s%s%s",
		 a, cut, b);
	assert_int_equal(keyd_x509_bundle_parse((const uint8_t *)bundle, strlen(bundle), &certs, &n,
						&probs, &np),
			 0);
	assert_int_equal(n, 2);
	assert_int_equal(np, 2);
	assert_int_equal(probs[0].index, 1);
	assert_int_equal(probs[0].error, -ENOTSUP);
	assert_int_equal(probs[1].index, 3);
	assert_int_equal(probs[1].error, -EBADMSG);
	assert_non_null(strstr(probs[1].reason, "END"));
	assert_string_equal(certs[1].subject, "CN=leaf.example,O=keyd test");
	keyd_x509_certs_free(certs, n);
	free(probs);
	free(bundle);
	free(cut);

	/* Nothing usable at all. */
	assert_int_equal(
		keyd_x509_bundle_parse((const uint8_t *)"hello", 5, &certs, &n, &probs, &np),
		-ENODATA);
	assert_int_equal(n, 0);
	assert_int_equal(np, 0);
	/* A garbled DER file: no certificate, one problem that says why. */
	assert_int_equal(keyd_x509_bundle_parse((const uint8_t *)"\x30\x03\x02\x01", 4, &certs, &n,
						&probs, &np),
			 -ENODATA);
	assert_int_equal(np, 1);
	assert_int_equal(probs[0].index, 1);
	free(probs);
}

static void test_der(void **state)
{
	struct keyd_x509_cert *c;
	uint8_t *der, md[32];
	char hex[65];
	size_t n, len;

	(void)state;
	c = cert_of(P.intermediate, &n);
	der_of(P.intermediate, &der, &len);
	assert_int_equal(c->der_len, len);
	assert_memory_equal(c->der, der, len);
	assert_int_equal(keyd_crypto_hash(KEYD_HASH_SHA256, der, len, md), 0);
	keyd_hex_encode(md, sizeof(md), hex);
	assert_string_equal(c->fingerprint, hex);
	assert_true(c->not_after > c->not_before);

	/* Trailing bytes after a DER certificate are refused. */
	{
		struct keyd_x509_cert *c2 = NULL;
		struct keyd_x509_problem *p = NULL;
		size_t n2, np;
		uint8_t *longer = malloc(len + 1);

		memcpy(longer, der, len);
		longer[len] = 0;
		assert_int_equal(keyd_x509_bundle_parse(longer, len + 1, &c2, &n2, &p, &np),
				 -ENODATA);
		assert_int_equal(np, 1);
		assert_non_null(strstr(p[0].reason, "trailing"));
		free(p);
		free(longer);
	}

	/* PEM round trip. */
	{
		char *pem = NULL;
		struct keyd_x509_cert *c2 = NULL;
		struct keyd_x509_problem *p = NULL;
		size_t n2, np;

		assert_int_equal(keyd_x509_cert_to_pem(c, &pem), 0);
		assert_non_null(strstr(pem, "-----BEGIN CERTIFICATE-----\n"));
		assert_int_equal(
			keyd_x509_bundle_parse((uint8_t *)pem, strlen(pem), &c2, &n2, &p, &np), 0);
		assert_int_equal(n2, 1);
		assert_string_equal(c2->fingerprint, c->fingerprint);
		keyd_x509_certs_free(c2, n2);
		free(pem);
	}
	free(der);
	keyd_x509_certs_free(c, n);
}

static void test_check_ca(void **state)
{
	struct {
		X509 *x;
		int want;
		const char *reason;
	} cases[] = {
		{ P.ca, 0, "" },
		{ P.intermediate, 0, "" },
		{ P.non_ca, -ENOTSUP, "not a CA (basic constraints)" },
		{ P.leaf, -ENOTSUP, "not a CA" },
		{ P.expired, -EKEYEXPIRED, "expired on " },
		{ P.future, -EKEYREJECTED, "not valid yet" },
		{ P.soon, 1, "expires on " },
	};
	char reason[256];

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		size_t n;
		struct keyd_x509_cert *c = cert_of(cases[i].x, &n);

		assert_int_equal(keyd_x509_check_ca(c, time(NULL), 30, reason, sizeof(reason)),
				 cases[i].want);
		assert_true(strncmp(reason, cases[i].reason, strlen(cases[i].reason)) == 0);
		keyd_x509_certs_free(c, n);
	}
}

static void test_pubkey_match(void **state)
{
	struct keyd_pubkey pk_leaf, pk_other, pk_rsa, pk_ca;
	struct keyd_x509_cert *leaf, *rsa;
	uint8_t *spki;
	size_t n1, n2, spki_len;
	char *pem;

	(void)state;
	pubkey_of(P.leaf_key, &pk_leaf);
	pubkey_of(P.other_key, &pk_other);
	pubkey_of(P.rsa_key, &pk_rsa);
	pubkey_of(P.int_key, &pk_ca);
	assert_int_equal(pk_ca.alg, KEYD_KEY_EC_P384);
	assert_int_equal(pk_rsa.alg, KEYD_KEY_RSA2048);
	leaf = cert_of(P.leaf, &n1);
	rsa = cert_of(P.rsa_leaf, &n2);

	assert_int_equal(keyd_x509_matches_pubkey(leaf, &pk_leaf), 1);
	assert_int_equal(keyd_x509_matches_pubkey(leaf, &pk_other), 0);
	assert_int_equal(keyd_x509_matches_pubkey(leaf, &pk_rsa), 0);
	assert_int_equal(keyd_x509_matches_pubkey(leaf, &pk_ca), 0);
	assert_int_equal(keyd_x509_matches_pubkey(rsa, &pk_rsa), 1);
	assert_int_equal(keyd_x509_matches_pubkey(rsa, &pk_leaf), 0);
	pk_rsa.rsa.n[10] ^= 1;
	assert_int_equal(keyd_x509_matches_pubkey(rsa, &pk_rsa), 0);
	pk_rsa.rsa.n[10] ^= 1;

	/* The SPKI keyd builds is the certificate's, byte for byte, for these keys. */
	assert_int_equal(keyd_x509_pubkey_to_spki(&pk_leaf, &spki, &spki_len), 0);
	{
		unsigned char *d = NULL;
		int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(P.leaf), &d);
		assert_int_equal((size_t)len, spki_len);
		assert_memory_equal(d, spki, spki_len);
		OPENSSL_free(d);
	}
	free(spki);
	assert_int_equal(keyd_x509_pubkey_to_pem(&pk_rsa, &pem), 0);
	assert_non_null(strstr(pem, "-----BEGIN PUBLIC KEY-----"));
	free(pem);

	/* A point that is not on the curve is refused. */
	pk_leaf.ec.y[5] ^= 1;
	assert_int_equal(keyd_x509_matches_pubkey(leaf, &pk_leaf), -EINVAL);

	keyd_x509_certs_free(leaf, n1);
	keyd_x509_certs_free(rsa, n2);
}

static void test_verify_chain(void **state)
{
	struct keyd_x509_cert *leaf, *inter, *ca, *other, *expired;
	size_t n[5];
	char reason[256];
	int64_t now = time(NULL);

	(void)state;
	leaf = cert_of(P.leaf, &n[0]);
	inter = cert_of(P.intermediate, &n[1]);
	ca = cert_of(P.ca, &n[2]);
	other = cert_of(P.other_ca, &n[3]);
	expired = cert_of(P.expired, &n[4]);

	assert_int_equal(keyd_x509_verify_chain(leaf, inter, 1, ca, 1, now, reason, sizeof(reason)),
			 0);
	/* Unknown CA. */
	assert_int_equal(
		keyd_x509_verify_chain(leaf, inter, 1, other, 1, now, reason, sizeof(reason)),
		-EKEYREJECTED);
	assert_non_null(strstr(reason, "issuer 'CN=Test Root,O=keyd test'"));
	/* Missing intermediate: names the intermediate as the issuer not found. */
	assert_int_equal(keyd_x509_verify_chain(leaf, NULL, 0, ca, 1, now, reason, sizeof(reason)),
			 -EKEYREJECTED);
	assert_non_null(strstr(reason, "issuer 'CN=Test Intermediate,O=keyd test'"));
	/* No trusted CA at all. */
	assert_int_equal(
		keyd_x509_verify_chain(leaf, inter, 1, NULL, 0, now, reason, sizeof(reason)),
		-EKEYREJECTED);
	/* The leaf is not valid in a year's time. */
	assert_int_equal(keyd_x509_verify_chain(leaf, inter, 1, ca, 1, now + 200L * DAY, reason,
						sizeof(reason)),
			 -EKEYREJECTED);
	assert_non_null(strstr(reason, "expired"));
	/* A self-signed certificate that is not trusted. */
	assert_int_equal(
		keyd_x509_verify_chain(expired, NULL, 0, ca, 1, now, reason, sizeof(reason)),
		-EKEYREJECTED);

	keyd_x509_certs_free(leaf, n[0]);
	keyd_x509_certs_free(inter, n[1]);
	keyd_x509_certs_free(ca, n[2]);
	keyd_x509_certs_free(other, n[3]);
	keyd_x509_certs_free(expired, n[4]);
}

/* The software stand-in for the TPM: sign the digest as the TPM would. */
static int soft_sign(void *userdata, enum keyd_sig_scheme scheme, enum keyd_hash_alg hash,
		     const uint8_t *digest, size_t digest_len, uint8_t **ret_sig,
		     size_t *ret_sig_len)
{
	EVP_PKEY *key = userdata;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
	size_t len = 0;

	assert_int_equal(digest_len, keyd_hash_alg_size(hash));
	assert_int_equal(EVP_PKEY_sign_init(ctx), 1);
	if (scheme == KEYD_SIG_RSA_PKCS1)
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING), 1);
	else
		assert_int_equal(scheme, KEYD_SIG_ECDSA);
	assert_int_equal(EVP_PKEY_CTX_set_signature_md(
				 ctx, hash == KEYD_HASH_SHA384 ? EVP_sha384() : EVP_sha256()),
			 1);
	assert_int_equal(EVP_PKEY_sign(ctx, NULL, &len, digest, digest_len), 1);
	*ret_sig = malloc(len);
	assert_int_equal(EVP_PKEY_sign(ctx, *ret_sig, &len, digest, digest_len), 1);
	*ret_sig_len = len;
	EVP_PKEY_CTX_free(ctx);
	return 0;
}

static void check_csr(EVP_PKEY *key, const char *subject, int sig_nid)
{
	char *const sans[] = { "DNS:host.example", "alt.example", "IP:192.0.2.7", NULL };
	struct keyd_pubkey pk;
	char reason[256], *pem = NULL;
	X509_REQ *req;
	BIO *b;
	GENERAL_NAMES *gens;
	STACK_OF(X509_EXTENSION) * exts;
	char buf[256];

	pubkey_of(key, &pk);
	assert_int_equal(keyd_x509_csr_build(&pk, subject, sans, soft_sign, key, &pem, reason,
					     sizeof(reason)),
			 0);
	b = BIO_new_mem_buf(pem, -1);
	req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
	assert_non_null(req);
	assert_int_equal(X509_REQ_verify(req, key), 1);
	assert_int_equal(X509_REQ_get_signature_nid(req), sig_nid);
	/* Order as written; escapes resolved. */
	assert_int_equal(X509_NAME_entry_count(X509_REQ_get_subject_name(req)), 3);
	assert_int_equal(OBJ_obj2nid(X509_NAME_ENTRY_get_object(
				 X509_NAME_get_entry(X509_REQ_get_subject_name(req), 0))),
			 NID_commonName);
	X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req), NID_commonName, buf, sizeof(buf));
	assert_string_equal(buf, "host.example");
	X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req), NID_organizationName, buf,
				  sizeof(buf));
	assert_string_equal(buf, "Example, Inc.");
	X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req), NID_organizationalUnitName, buf,
				  sizeof(buf));
	assert_string_equal(buf, "a/b");
	exts = X509_REQ_get_extensions(req);
	gens = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
	assert_non_null(gens);
	assert_int_equal(sk_GENERAL_NAME_num(gens), 3);
	assert_int_equal(sk_GENERAL_NAME_value(gens, 0)->type, GEN_DNS);
	assert_int_equal(sk_GENERAL_NAME_value(gens, 2)->type, GEN_IPADD);
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	BIO_free(b);
	free(pem);
}

static void test_csr(void **state)
{
	EVP_PKEY *p384 = gen_ec("P-384");

	(void)state;
	check_csr(P.leaf_key, "/CN=host.example/O=Example, Inc./OU=a\\/b", NID_ecdsa_with_SHA256);
	check_csr(p384, "CN=host.example,O=Example\\, Inc.,OU=a/b", NID_ecdsa_with_SHA384);
	check_csr(P.rsa_key, "CN=host.example, O=Example\\, Inc., OU=a/b",
		  NID_sha256WithRSAEncryption);
	EVP_PKEY_free(p384);
}

static void test_csr_refused(void **state)
{
	char *const bad_san[] = { "DNS:bad name", NULL };
	char *const bad_ip[] = { "IP:300.1.1.1", NULL };
	char *const bad_kind[] = { "email:a@b", NULL };
	struct keyd_pubkey pk;
	char reason[256], *pem = NULL;

	(void)state;
	pubkey_of(P.leaf_key, &pk);
	assert_int_equal(keyd_x509_csr_build(&pk, "/CN=x/XX=y", NULL, soft_sign, P.leaf_key, &pem,
					     reason, sizeof(reason)),
			 -EINVAL);
	assert_non_null(strstr(reason, "unknown attribute 'XX'"));
	assert_int_equal(keyd_x509_csr_build(&pk, "", NULL, soft_sign, P.leaf_key, &pem, reason,
					     sizeof(reason)),
			 -EINVAL);
	assert_int_equal(keyd_x509_csr_build(&pk, "CN=", NULL, soft_sign, P.leaf_key, &pem, reason,
					     sizeof(reason)),
			 -EINVAL);
	assert_int_equal(keyd_x509_csr_build(&pk, "CN", NULL, soft_sign, P.leaf_key, &pem, reason,
					     sizeof(reason)),
			 -EINVAL);
	assert_int_equal(keyd_x509_csr_build(&pk, "CN=x", bad_san, soft_sign, P.leaf_key, &pem,
					     reason, sizeof(reason)),
			 -EINVAL);
	assert_int_equal(keyd_x509_csr_build(&pk, "CN=x", bad_ip, soft_sign, P.leaf_key, &pem,
					     reason, sizeof(reason)),
			 -EINVAL);
	assert_int_equal(keyd_x509_csr_build(&pk, "CN=x", bad_kind, soft_sign, P.leaf_key, &pem,
					     reason, sizeof(reason)),
			 -EINVAL);
	/* A signer holding another key: the request does not verify and is not returned. */
	assert_int_equal(keyd_x509_csr_build(&pk, "CN=x", NULL, soft_sign, P.other_key, &pem,
					     reason, sizeof(reason)),
			 -EBADMSG);
	assert_null(pem);
	assert_non_null(strstr(reason, "does not verify"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bundle_garbled_block),
		cmocka_unit_test(test_bundle_odd_blocks),
		cmocka_unit_test(test_der),
		cmocka_unit_test(test_check_ca),
		cmocka_unit_test(test_pubkey_match),
		cmocka_unit_test(test_verify_chain),
		cmocka_unit_test(test_csr),
		cmocka_unit_test(test_csr_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
