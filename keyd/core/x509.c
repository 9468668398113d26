/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Certificates at enrollment time and PKCS#10 requests signed by a TPM key, on
 * top of libcrypto's certificate API (X509, X509_REQ, X509_STORE).
 *
 * PEM bundles are split here, not by PEM_read_bio(): OpenSSL's reader stops at
 * the first garbled block, while an administrator enrolling a 140-certificate
 * bundle wants every good certificate kept and each bad block named. Each block
 * is armoured text (RFC 7468): "-----BEGIN CERTIFICATE-----", base64 lines,
 * "-----END CERTIFICATE-----"; its DER must be exactly one certificate.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto.h"
#include "macro.h"
#include "parse.h"
#include "x509.h"

/* A certificate larger than this is not one keyd will meet (the largest public
 * roots are about 2 KiB; 64 KiB leaves room for long extension lists). */
#define X509_CERT_DER_MAX (64 * 1024)
/* Bounds for requests. */
#define CSR_SUBJECT_MAX 1024
#define CSR_RDN_MAX	16
#define CSR_SAN_MAX	64
#define CSR_SAN_LEN_MAX 253 /* longest DNS name (RFC 1035) */

DEFINE_TRIVIAL_CLEANUP_FUNC(X509 *, X509_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(X509_REQ *, X509_REQ_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(X509_NAME *, X509_NAME_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(X509_STORE *, X509_STORE_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(X509_STORE_CTX *, X509_STORE_CTX_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(X509_ALGOR *, X509_ALGOR_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(ASN1_BIT_STRING *, ASN1_BIT_STRING_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY *, EVP_PKEY_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY_CTX *, EVP_PKEY_CTX_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(OSSL_PARAM_BLD *, OSSL_PARAM_BLD_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(OSSL_PARAM *, OSSL_PARAM_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(BIGNUM *, BN_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(BIO *, BIO_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(BASIC_CONSTRAINTS *, BASIC_CONSTRAINTS_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(GENERAL_NAMES *, GENERAL_NAMES_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(GENERAL_NAME *, GENERAL_NAME_free)

static void x509_stack_freep(STACK_OF(X509) * *p)
{
	if (*p)
		sk_X509_pop_free(*p, X509_free);
}

static void x509_ext_stack_freep(STACK_OF(X509_EXTENSION) * *p)
{
	if (*p)
		sk_X509_EXTENSION_pop_free(*p, X509_EXTENSION_free);
}

static void openssl_freep(void *p)
{
	OPENSSL_free(*(void **)p);
}

/* The reason libcrypto gave for the last failure, for messages; clears the queue. */
static void openssl_reason(char *buf, size_t size, const char *fallback)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	snprintf(buf, size, "%s", r ? r : fallback);
	ERR_clear_error();
}

static void set_reason(char *reason, size_t size, const char *fmt, ...) _printf_(3, 4);
static void set_reason(char *reason, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (!reason || size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(reason, size, fmt, ap);
	va_end(ap);
}

/* ---- certificate fields ------------------------------------------------------ */

/* RFC 2253 one-line name; UTF-8 kept as is (not \XX-escaped) so people can read
 * it, control characters escaped so it is safe in a terminal and a log. */
static void name_format(const X509_NAME *n, char *buf, size_t size)
{
	_cleanup_(BIO_freep) BIO *b = BIO_new(BIO_s_mem());
	unsigned long flags = XN_FLAG_RFC2253 & ~(unsigned long)ASN1_STRFLGS_ESC_MSB;
	char *data;
	long len;

	buf[0] = '\0';
	if (!b || X509_NAME_print_ex(b, n, 0, flags) < 0) {
		ERR_clear_error();
		return;
	}
	len = BIO_get_mem_data(b, &data);
	if (len <= 0)
		return;
	if ((size_t)len >= size) {
		/* Cut at a UTF-8 character boundary and mark the cut. */
		size_t cut = size - 4;
		while (cut > 0 && ((unsigned char)data[cut] & 0xc0) == 0x80)
			cut--;
		memcpy(buf, data, cut);
		memcpy(buf + cut, "...", 4);
		return;
	}
	memcpy(buf, data, (size_t)len);
	buf[len] = '\0';
}

static int asn1_time_to_epoch(const ASN1_TIME *t, int64_t *ret)
{
	struct tm tm = {};

	if (!t || ASN1_TIME_to_tm(t, &tm) != 1) {
		ERR_clear_error();
		return -EBADMSG;
	}
	*ret = (int64_t)timegm(&tm);
	return 0;
}

static void key_type_name(EVP_PKEY *pkey, char *buf, size_t size)
{
	char group[64] = "";

	buf[0] = '\0';
	if (!pkey)
		return;
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:
		snprintf(buf, size, "rsa%d", EVP_PKEY_get_bits(pkey));
		return;
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
						   sizeof(group), NULL) != 1) {
			ERR_clear_error();
			snprintf(buf, size, "ec");
		} else if (streq(group, "prime256v1") || streq(group, "P-256"))
			snprintf(buf, size, "ec-p256");
		else if (streq(group, "secp384r1") || streq(group, "P-384"))
			snprintf(buf, size, "ec-p384");
		else if (streq(group, "secp521r1") || streq(group, "P-521"))
			snprintf(buf, size, "ec-p521");
		else
			snprintf(buf, size, "ec-%.20s", group);
		return;
	default: {
		const char *n = EVP_PKEY_get0_type_name(pkey);
		snprintf(buf, size, "%s", n ? n : "unknown");
		return;
	}
	}
}

/* Fill c from one DER certificate. reason says what is wrong on failure. */
static int cert_from_der(const uint8_t *der, size_t len, struct keyd_x509_cert *c, char *reason,
			 size_t reason_size)
{
	_cleanup_(X509_freep) X509 *x = NULL;
	_cleanup_(BASIC_CONSTRAINTS_freep) BASIC_CONSTRAINTS *bc = NULL;
	uint8_t md[32];
	const uint8_t *p = der;
	char why[128];
	int crit = -1, r;

	*c = (struct keyd_x509_cert){};
	if (len == 0 || len > X509_CERT_DER_MAX) {
		set_reason(reason, reason_size, "%zu bytes of DER, more than a certificate can be",
			   len);
		return -EBADMSG;
	}
	x = d2i_X509(NULL, &p, (long)len);
	if (!x) {
		openssl_reason(why, sizeof(why), "not DER");
		set_reason(reason, reason_size, "ASN.1: %s", why);
		return -EBADMSG;
	}
	if ((size_t)(p - der) != len) {
		set_reason(reason, reason_size, "%zu bytes of trailing data after the certificate",
			   len - (size_t)(p - der));
		return -EBADMSG;
	}
	if (asn1_time_to_epoch(X509_get0_notBefore(x), &c->not_before) < 0 ||
	    asn1_time_to_epoch(X509_get0_notAfter(x), &c->not_after) < 0) {
		set_reason(reason, reason_size, "bad validity dates");
		return -EBADMSG;
	}
	/* X509_get_extension_flags() parses all extensions once and flags bad ones. */
	if (X509_get_extension_flags(x) & EXFLAG_INVALID) {
		ERR_clear_error();
		set_reason(reason, reason_size, "an extension is malformed");
		return -EBADMSG;
	}
	bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
	if (!bc && crit != -1) {
		ERR_clear_error();
		set_reason(reason, reason_size, "the basic constraints extension is malformed");
		return -EBADMSG;
	}
	c->is_ca = bc && bc->ca;
	c->self_signed = X509_self_signed(x, 0) == 1;
	ERR_clear_error();
	name_format(X509_get_subject_name(x), c->subject, sizeof(c->subject));
	name_format(X509_get_issuer_name(x), c->issuer, sizeof(c->issuer));
	key_type_name(X509_get0_pubkey(x), c->key_type, sizeof(c->key_type));
	ERR_clear_error();

	r = keyd_crypto_hash(KEYD_HASH_SHA256, der, len, md);
	if (r < 0) {
		set_reason(reason, reason_size, "cannot hash the certificate");
		return r;
	}
	keyd_hex_encode(md, sizeof(md), c->fingerprint);

	c->der = malloc(len);
	if (!c->der)
		return -ENOMEM;
	memcpy(c->der, der, len);
	c->der_len = len;
	return 0;
}

static X509 *cert_to_x509(const struct keyd_x509_cert *c)
{
	const uint8_t *p = c->der;
	X509 *x;

	if (!c->der || c->der_len == 0 || c->der_len > X509_CERT_DER_MAX)
		return NULL;
	x = d2i_X509(NULL, &p, (long)c->der_len);
	if (!x)
		ERR_clear_error();
	return x;
}

void keyd_x509_certs_free(struct keyd_x509_cert *certs, size_t n)
{
	if (!certs)
		return;
	for (size_t i = 0; i < n; i++)
		free(certs[i].der);
	free(certs);
}

/* ---- bundles ------------------------------------------------------------------- */

struct bundle {
	struct keyd_x509_cert *certs;
	size_t n, cap;
	struct keyd_x509_problem *problems;
	size_t n_problems, cap_problems;
};

static void bundle_done(struct bundle *b)
{
	keyd_x509_certs_free(b->certs, b->n);
	free(b->problems);
	*b = (struct bundle){};
}

static int bundle_add_problem(struct bundle *b, size_t index, int error, const char *fmt, ...)
	_printf_(4, 5);
static int bundle_add_problem(struct bundle *b, size_t index, int error, const char *fmt, ...)
{
	struct keyd_x509_problem *p;
	va_list ap;

	if (b->n_problems == b->cap_problems) {
		size_t cap = b->cap_problems ? 2 * b->cap_problems : 8;
		p = reallocarray(b->problems, cap, sizeof(*p));
		if (!p)
			return -ENOMEM;
		b->problems = p;
		b->cap_problems = cap;
	}
	p = &b->problems[b->n_problems++];
	*p = (struct keyd_x509_problem){ .index = index, .error = error };
	va_start(ap, fmt);
	vsnprintf(p->reason, sizeof(p->reason), fmt, ap);
	va_end(ap);
	return 0;
}

/* Parse one block's DER; a bad certificate becomes a problem, not a failure. */
static int bundle_add_der(struct bundle *b, size_t index, const uint8_t *der, size_t len)
{
	struct keyd_x509_cert c;
	char why[200];
	int r;

	r = cert_from_der(der, len, &c, why, sizeof(why));
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return bundle_add_problem(b, index, -EBADMSG, "not a valid certificate (%s)", why);
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 16;
		struct keyd_x509_cert *p = reallocarray(b->certs, cap, sizeof(*p));
		if (!p) {
			free(c.der);
			return -ENOMEM;
		}
		b->certs = p;
		b->cap = cap;
	}
	b->certs[b->n++] = c;
	return 0;
}

static const char *find_line(const char *p, const char *end, const char *what)
{
	size_t n = strlen(what);

	for (; p && p + n <= end; p++) {
		p = memchr(p, what[0], (size_t)(end - p));
		if (!p || p + n > end)
			return NULL;
		if (memcmp(p, what, n) == 0)
			return p;
	}
	return NULL;
}

/* One armoured block: text from just after the BEGIN line's label to the end of
 * the input. Sets *next past the END line (or to end when there is none). */
static int bundle_pem_block(struct bundle *b, size_t index, const char *begin, const char *end,
			    const char **next)
{
	static const char dashes[] = "-----";
	_cleanup_free_ char *b64 = NULL;
	_cleanup_free_ uint8_t *der = NULL;
	char label[64], end_line[96];
	const char *p = begin + strlen("-----BEGIN "), *q, *body, *stop;
	size_t n = 0, label_len, der_len;
	int r;

	/* The label runs to the closing dashes on the same line. */
	q = find_line(p, end, dashes);
	if (!q || memchr(p, '\n', (size_t)(q - p)) || (size_t)(q - p) >= sizeof(label)) {
		*next = p;
		return bundle_add_problem(b, index, -EBADMSG,
					  "not a valid certificate (bad BEGIN line)");
	}
	label_len = (size_t)(q - p);
	memcpy(label, p, label_len);
	label[label_len] = '\0';
	body = q + strlen(dashes);
	snprintf(end_line, sizeof(end_line), "-----END %s-----", label);

	/* The END line must come before the next BEGIN line, or the block is cut off. */
	stop = find_line(body, end, end_line);
	q = find_line(body, end, "-----BEGIN ");
	if (!stop || (q && q < stop)) {
		*next = q ? q : end;
		return bundle_add_problem(b, index, -EBADMSG,
					  "not a valid certificate (no '-----END %s-----' line)",
					  label);
	}
	*next = stop + strlen(end_line);

	if (!streq(label, "CERTIFICATE") && !streq(label, "X509 CERTIFICATE"))
		return bundle_add_problem(b, index, -ENOTSUP,
					  "a '%s' block, not a certificate; ignored", label);

	/* Base64 body: whitespace between characters is allowed (RFC 7468 section 3). */
	b64 = malloc((size_t)(stop - body) + 1);
	if (!b64)
		return -ENOMEM;
	for (p = body; p < stop; p++) {
		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			continue;
		if (*p == ':')
			return bundle_add_problem(b, index, -EBADMSG,
						  "not a valid certificate (PEM headers are not "
						  "allowed in a certificate block)");
		b64[n++] = *p;
	}
	der_len = n / 4 * 3;
	if (der_len > X509_CERT_DER_MAX)
		return bundle_add_problem(b, index, -EBADMSG,
					  "not a valid certificate (larger than %d bytes)",
					  X509_CERT_DER_MAX);
	der = malloc(der_len + 1);
	if (!der)
		return -ENOMEM;
	r = keyd_base64_decode(b64, n, der, der_len + 1, &der_len);
	if (r < 0)
		return bundle_add_problem(b, index, -EBADMSG,
					  "not a valid certificate (bad base64 text)");
	return bundle_add_der(b, index, der, der_len);
}

/*
 * On success and on -ENODATA all four outputs are set: with -ENODATA the list of
 * certificates is empty, and the problems (if any) say why, so a caller can name
 * the bad blocks of a bundle in which nothing was usable. The caller frees both
 * lists (keyd_x509_certs_free, free).
 */
int keyd_x509_bundle_parse(const uint8_t *data, size_t len, struct keyd_x509_cert **ret_certs,
			   size_t *ret_n, struct keyd_x509_problem **ret_problems,
			   size_t *ret_n_problems)
{
	_cleanup_(bundle_done) struct bundle b = {};
	const char *text = (const char *)data, *end = text + len, *p;
	size_t index = 0;
	int r;

	if (!data && len > 0)
		return -EINVAL;

	p = len > 0 ? find_line(text, end, "-----BEGIN ") : NULL;
	if (!p) {
		/* No armour: one DER certificate, or nothing keyd can use. */
		if (len == 0 || data[0] != 0x30)
			goto done;
		r = bundle_add_der(&b, 1, data, len);
		if (r < 0)
			return r;
		goto done;
	}
	while (p) {
		if (++index > KEYD_X509_BUNDLE_MAX) {
			r = bundle_add_problem(
				&b, index, -E2BIG,
				"more than %d blocks in one bundle; the rest ignored",
				KEYD_X509_BUNDLE_MAX);
			if (r < 0)
				return r;
			break;
		}
		r = bundle_pem_block(&b, index, p, end, &p);
		if (r < 0)
			return r;
		p = find_line(p, end, "-----BEGIN ");
	}
done:
	*ret_certs = b.n ? TAKE_PTR(b.certs) : NULL;
	*ret_n = b.n;
	*ret_problems = b.n_problems ? TAKE_PTR(b.problems) : NULL;
	*ret_n_problems = b.n_problems;
	r = b.n ? 0 : -ENODATA;
	b.n = b.n_problems = 0;
	return r;
}

/* ---- checks ----------------------------------------------------------------------- */

static void format_date(int64_t t, char *buf, size_t size)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (!gmtime_r(&tt, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, size, "@%lld", (long long)t);
}

int keyd_x509_check_ca(const struct keyd_x509_cert *c, int64_t now, int warn_days, char *reason,
		       size_t reason_size)
{
	char date[40];

	set_reason(reason, reason_size, "%s", "");
	if (!c->is_ca) {
		set_reason(reason, reason_size, "not a CA (basic constraints)");
		return -ENOTSUP;
	}
	if (now < c->not_before) {
		format_date(c->not_before, date, sizeof(date));
		set_reason(reason, reason_size, "not valid yet (not before %s)", date);
		return -EKEYREJECTED;
	}
	if (now > c->not_after) {
		format_date(c->not_after, date, sizeof(date));
		set_reason(reason, reason_size, "expired on %s", date);
		return -EKEYEXPIRED;
	}
	if (warn_days > 0 && c->not_after - now < (int64_t)warn_days * 86400) {
		format_date(c->not_after, date, sizeof(date));
		set_reason(reason, reason_size, "expires on %s, in %lld days", date,
			   (long long)((c->not_after - now) / 86400));
		return 1;
	}
	return 0;
}

/* ---- public keys ------------------------------------------------------------------- */

static int pubkey_to_evp(const struct keyd_pubkey *pk, EVP_PKEY **ret)
{
	_cleanup_(OSSL_PARAM_BLD_freep) OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	_cleanup_(OSSL_PARAM_freep) OSSL_PARAM *params = NULL;
	_cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;
	_cleanup_(BN_freep) BIGNUM *n = NULL, *e = NULL;
	uint8_t point[1 + 2 * 66];
	EVP_PKEY *pkey = NULL;
	const char *type;

	if (!bld)
		return -ENOMEM;
	switch (pk->alg) {
	case KEYD_KEY_EC_P256:
	case KEYD_KEY_EC_P384: {
		size_t field = pk->alg == KEYD_KEY_EC_P256 ? 32 : 48;

		if (pk->ec.len != field)
			return -EINVAL;
		/* SEC 1 uncompressed point: 0x04 || X || Y. */
		point[0] = 0x04;
		memcpy(point + 1, pk->ec.x, field);
		memcpy(point + 1 + field, pk->ec.y, field);
		type = "EC";
		if (!OSSL_PARAM_BLD_push_utf8_string(
			    bld, OSSL_PKEY_PARAM_GROUP_NAME,
			    pk->alg == KEYD_KEY_EC_P256 ? "P-256" : "P-384", 0) ||
		    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point,
						      1 + 2 * field))
			return -ENOMEM;
		break;
	}
	case KEYD_KEY_RSA2048:
	case KEYD_KEY_RSA3072:
		if (pk->rsa.n_len == 0 || pk->rsa.n_len > KEYD_PUBKEY_MAX || pk->rsa.e < 3 ||
		    !(pk->rsa.e & 1))
			return -EINVAL;
		n = BN_bin2bn(pk->rsa.n, (int)pk->rsa.n_len, NULL);
		e = BN_new();
		if (!n || !e || !BN_set_word(e, pk->rsa.e))
			return -ENOMEM;
		type = "RSA";
		if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
			return -ENOMEM;
		break;
	case _KEYD_KEY_ALG_MAX:
	case _KEYD_KEY_ALG_INVALID:
	default:
		return -EINVAL;
	}
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	if (!params || !ctx)
		return -ENOMEM;
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		/* A point not on the curve, or a modulus libcrypto refuses. */
		ERR_clear_error();
		return -EINVAL;
	}
	*ret = pkey;
	return 0;
}

int keyd_x509_pubkey_to_spki(const struct keyd_pubkey *pk, uint8_t **ret, size_t *ret_len)
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
	unsigned char *der = NULL;
	int r, len;

	r = pubkey_to_evp(pk, &pkey);
	if (r < 0)
		return r;
	len = i2d_PUBKEY(pkey, &der);
	if (len <= 0) {
		ERR_clear_error();
		return -ENOMEM;
	}
	/* Hand over a malloc() buffer so callers free it like everything else. */
	*ret = malloc((size_t)len);
	if (!*ret) {
		OPENSSL_free(der);
		return -ENOMEM;
	}
	memcpy(*ret, der, (size_t)len);
	OPENSSL_free(der);
	*ret_len = (size_t)len;
	return 0;
}

static int bio_to_string(BIO *b, char **ret)
{
	char *data, *s;
	long len = BIO_get_mem_data(b, &data);

	if (len <= 0)
		return -ENOMEM;
	s = malloc((size_t)len + 1);
	if (!s)
		return -ENOMEM;
	memcpy(s, data, (size_t)len);
	s[len] = '\0';
	*ret = s;
	return 0;
}

int keyd_x509_pubkey_to_pem(const struct keyd_pubkey *pk, char **ret)
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
	_cleanup_(BIO_freep) BIO *b = NULL;
	int r;

	r = pubkey_to_evp(pk, &pkey);
	if (r < 0)
		return r;
	b = BIO_new(BIO_s_mem());
	if (!b || PEM_write_bio_PUBKEY(b, pkey) != 1) {
		ERR_clear_error();
		return -ENOMEM;
	}
	return bio_to_string(b, ret);
}

int keyd_x509_cert_to_pem(const struct keyd_x509_cert *c, char **ret)
{
	_cleanup_(BIO_freep) BIO *b = NULL;

	if (!c->der || c->der_len == 0 || c->der_len > X509_CERT_DER_MAX)
		return -EINVAL;
	b = BIO_new(BIO_s_mem());
	if (!b || PEM_write_bio(b, "CERTIFICATE", "", c->der, (long)c->der_len) <= 0) {
		ERR_clear_error();
		return -ENOMEM;
	}
	return bio_to_string(b, ret);
}

/* Compares the keys, not their encodings: a certificate may carry the same key
 * with another (valid) SubjectPublicKeyInfo encoding than the one keyd builds. */
int keyd_x509_matches_pubkey(const struct keyd_x509_cert *c, const struct keyd_pubkey *pk)
{
	_cleanup_(X509_freep) X509 *x = cert_to_x509(c);
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *mine = NULL;
	EVP_PKEY *theirs;
	int r;

	if (!x)
		return -EBADMSG;
	r = pubkey_to_evp(pk, &mine);
	if (r < 0)
		return r;
	theirs = X509_get0_pubkey(x);
	if (!theirs) {
		ERR_clear_error();
		return 0;
	}
	r = EVP_PKEY_eq(theirs, mine);
	ERR_clear_error();
	return r == 1;
}

/* ---- chains -------------------------------------------------------------------------- */

static int stack_from_certs(const struct keyd_x509_cert *certs, size_t n, STACK_OF(X509) * *ret)
{
	_cleanup_(x509_stack_freep) STACK_OF(X509) *sk = sk_X509_new_null();

	if (!sk)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		X509 *x = cert_to_x509(&certs[i]);
		if (!x)
			return -EBADMSG;
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			return -ENOMEM;
		}
	}
	*ret = TAKE_PTR(sk);
	return 0;
}

int keyd_x509_verify_chain(const struct keyd_x509_cert *leaf,
			   const struct keyd_x509_cert *intermediates, size_t n_intermediates,
			   const struct keyd_x509_cert *trusted, size_t n_trusted, int64_t now,
			   char *reason, size_t reason_size)
{
	_cleanup_(X509_freep) X509 *x = cert_to_x509(leaf);
	_cleanup_(x509_stack_freep) STACK_OF(X509) *untrusted = NULL;
	_cleanup_(X509_STORE_freep) X509_STORE *store = X509_STORE_new();
	_cleanup_(X509_STORE_CTX_freep) X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	char subject[KEYD_X509_NAME_MAX], issuer[KEYD_X509_NAME_MAX];
	X509 *cur;
	int r, err;

	set_reason(reason, reason_size, "%s", "");
	if (!x) {
		set_reason(reason, reason_size, "the certificate is not valid DER");
		return -EKEYREJECTED;
	}
	if (!store || !ctx)
		return -ENOMEM;
	if (n_trusted == 0) {
		name_format(X509_get_issuer_name(x), issuer, sizeof(issuer));
		set_reason(reason, reason_size, "issuer '%s' not found: no CA is trusted", issuer);
		return -EKEYREJECTED;
	}
	for (size_t i = 0; i < n_trusted; i++) {
		_cleanup_(X509_freep) X509 *t = cert_to_x509(&trusted[i]);
		if (!t)
			return -EBADMSG;
		if (X509_STORE_add_cert(store, t) != 1) /* takes its own reference */
			ERR_clear_error();		/* a duplicate CA is not an error here */
	}
	r = stack_from_certs(intermediates, n_intermediates, &untrusted);
	if (r < 0)
		return r;
	if (X509_STORE_CTX_init(ctx, store, x, untrusted) != 1) {
		ERR_clear_error();
		return -ENOMEM;
	}
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), (time_t)now);

	r = X509_verify_cert(ctx);
	ERR_clear_error();
	if (r == 1)
		return 0;

	err = X509_STORE_CTX_get_error(ctx);
	cur = X509_STORE_CTX_get_current_cert(ctx);
	subject[0] = issuer[0] = '\0';
	if (cur) {
		name_format(X509_get_subject_name(cur), subject, sizeof(subject));
		name_format(X509_get_issuer_name(cur), issuer, sizeof(issuer));
	}
	switch (err) {
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		set_reason(reason, reason_size,
			   "issuer '%s' of '%s' not found among the trusted CAs", issuer, subject);
		break;
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
		set_reason(reason, reason_size, "'%s' is self-signed and not a trusted CA",
			   subject);
		break;
	default:
		set_reason(reason, reason_size, "'%s': %s", subject,
			   X509_verify_cert_error_string(err));
		break;
	}
	return -EKEYREJECTED;
}

/* ---- requests -------------------------------------------------------------------------- */

/* Split "/CN=a/O=b" or "CN=a,O=b" into X509_NAME entries in the order written.
 * A backslash escapes the next character (a '/' or ',' inside a value). */
static int subject_parse(const char *subject, X509_NAME **ret, char *reason, size_t reason_size)
{
	_cleanup_(X509_NAME_freep) X509_NAME *name = X509_NAME_new();
	char field[64], value[CSR_SUBJECT_MAX + 1];
	const char *p = subject;
	char sep;
	size_t n_rdn = 0;

	if (!name)
		return -ENOMEM;
	if (strlen(subject) > CSR_SUBJECT_MAX) {
		set_reason(reason, reason_size, "the subject is longer than %d characters",
			   CSR_SUBJECT_MAX);
		return -EINVAL;
	}
	if (*p == '/') {
		sep = '/';
		p++;
	} else
		sep = ',';
	if (*p == '\0') {
		set_reason(reason, reason_size, "the subject is empty");
		return -EINVAL;
	}
	while (*p) {
		size_t f = 0, v = 0;

		while (*p == ' ')
			p++;
		while (*p && *p != '=' && *p != sep) {
			if (f + 1 >= sizeof(field)) {
				set_reason(reason, reason_size,
					   "attribute name too long in the subject");
				return -EINVAL;
			}
			field[f++] = *p++;
		}
		while (f > 0 && field[f - 1] == ' ')
			f--;
		field[f] = '\0';
		if (*p != '=' || f == 0) {
			set_reason(reason, reason_size,
				   "expected ATTRIBUTE=value in the subject near '%.40s'", p);
			return -EINVAL;
		}
		p++;
		while (*p && *p != sep) {
			if (*p == '\\' && p[1])
				p++;
			value[v++] = *p++;
		}
		value[v] = '\0';
		if (*p == sep)
			p++;
		if (v == 0) {
			set_reason(reason, reason_size, "empty value for '%s' in the subject",
				   field);
			return -EINVAL;
		}
		if (++n_rdn > CSR_RDN_MAX) {
			set_reason(reason, reason_size, "more than %d attributes in the subject",
				   CSR_RDN_MAX);
			return -EINVAL;
		}
		if (OBJ_txt2nid(field) == NID_undef) {
			ERR_clear_error();
			set_reason(reason, reason_size, "unknown attribute '%s' in the subject",
				   field);
			return -EINVAL;
		}
		if (X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
					       (const unsigned char *)value, -1, -1, 0) != 1) {
			char why[128];
			openssl_reason(why, sizeof(why), "refused");
			set_reason(reason, reason_size, "subject attribute '%s': %s", field, why);
			return -EINVAL;
		}
	}
	*ret = TAKE_PTR(name);
	return 0;
}

static bool dns_name_is_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CSR_SAN_LEN_MAX || s[0] == '.' || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		/* '*' for wildcard names; letters, digits, hyphens and dots otherwise. */
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.' || c == '*' || c == '_'))
			return false;
	}
	return true;
}

static int sans_parse(char *const *sans, GENERAL_NAMES **ret, char *reason, size_t reason_size)
{
	_cleanup_(GENERAL_NAMES_freep) GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	size_t count = 0;

	if (!gens)
		return -ENOMEM;
	for (char *const *i = sans; *i; i++) {
		_cleanup_(GENERAL_NAME_freep) GENERAL_NAME *g = NULL;
		const char *value = *i;
		int type = GEN_DNS;

		if (++count > CSR_SAN_MAX) {
			set_reason(reason, reason_size, "more than %d subject alternative names",
				   CSR_SAN_MAX);
			return -EINVAL;
		}
		if (startswith(value, "DNS:"))
			value += 4;
		else if (startswith(value, "IP:")) {
			value += 3;
			type = GEN_IPADD;
		} else if (startswith(value, "URI:")) {
			value += 4;
			type = GEN_URI;
		} else if (strchr(value, ':')) {
			set_reason(reason, reason_size,
				   "subject alternative name '%.80s': use DNS:, IP: or URI:", *i);
			return -EINVAL;
		}
		if (strlen(value) > 1024 || (type == GEN_DNS && !dns_name_is_valid(value)) ||
		    *value == '\0') {
			set_reason(reason, reason_size, "'%.80s' is not a valid %s name", *i,
				   type == GEN_DNS ? "DNS" : "alternative");
			return -EINVAL;
		}
		g = a2i_GENERAL_NAME(NULL, NULL, NULL, type, value, 0);
		if (!g) {
			ERR_clear_error();
			set_reason(reason, reason_size, "'%.80s' is not a valid %s", *i,
				   type == GEN_IPADD ? "IP address" : "alternative name");
			return -EINVAL;
		}
		if (!sk_GENERAL_NAME_push(gens, g))
			return -ENOMEM;
		g = NULL;
	}
	*ret = TAKE_PTR(gens);
	return 0;
}

int keyd_x509_csr_build(const struct keyd_pubkey *pk, const char *subject, char *const *sans,
			keyd_x509_sign_fn sign, void *userdata, char **ret_pem, char *reason,
			size_t reason_size)
{
	_cleanup_(X509_REQ_freep) X509_REQ *req = X509_REQ_new();
	_cleanup_(X509_NAME_freep) X509_NAME *name = NULL;
	_cleanup_(GENERAL_NAMES_freep) GENERAL_NAMES *gens = NULL;
	_cleanup_(x509_ext_stack_freep) STACK_OF(X509_EXTENSION) *exts = NULL;
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
	_cleanup_(X509_ALGOR_freep) X509_ALGOR *algo = NULL;
	_cleanup_(ASN1_BIT_STRING_freep) ASN1_BIT_STRING *sigbits = NULL;
	_cleanup_(openssl_freep) unsigned char *tbs = NULL;
	_cleanup_free_ uint8_t *sig = NULL;
	_cleanup_(BIO_freep) BIO *b = NULL;
	uint8_t digest[KEYD_HASH_MAX];
	enum keyd_hash_alg hash;
	enum keyd_sig_scheme scheme;
	size_t sig_len = 0;
	int tbs_len, nid, ptype, r;

	set_reason(reason, reason_size, "%s", "");
	if (!pk || !subject || !sign || !ret_pem)
		return -EINVAL;
	if (!req)
		return -ENOMEM;

	switch (pk->alg) {
	case KEYD_KEY_EC_P256:
		hash = KEYD_HASH_SHA256;
		scheme = KEYD_SIG_ECDSA;
		nid = NID_ecdsa_with_SHA256;
		ptype = V_ASN1_UNDEF; /* RFC 5758 section 3.2: parameters absent */
		break;
	case KEYD_KEY_EC_P384:
		hash = KEYD_HASH_SHA384;
		scheme = KEYD_SIG_ECDSA;
		nid = NID_ecdsa_with_SHA384;
		ptype = V_ASN1_UNDEF;
		break;
	case KEYD_KEY_RSA2048:
	case KEYD_KEY_RSA3072:
		hash = KEYD_HASH_SHA256;
		scheme = KEYD_SIG_RSA_PKCS1;
		nid = NID_sha256WithRSAEncryption;
		ptype = V_ASN1_NULL; /* RFC 4055 section 5: parameters NULL */
		break;
	case _KEYD_KEY_ALG_MAX:
	case _KEYD_KEY_ALG_INVALID:
	default:
		set_reason(reason, reason_size, "unsupported key algorithm");
		return -EINVAL;
	}

	r = pubkey_to_evp(pk, &pkey);
	if (r < 0) {
		set_reason(reason, reason_size, "the public key is not valid");
		return r;
	}
	r = subject_parse(subject, &name, reason, reason_size);
	if (r < 0)
		return r;
	if (sans && sans[0]) {
		r = sans_parse(sans, &gens, reason, reason_size);
		if (r < 0)
			return r;
		if (!X509V3_add1_i2d(&exts, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) ||
		    X509_REQ_add_extensions(req, exts) != 1) {
			ERR_clear_error();
			return -ENOMEM;
		}
	}
	if (X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1 ||
	    X509_REQ_set_subject_name(req, name) != 1 || X509_REQ_set_pubkey(req, pkey) != 1) {
		ERR_clear_error();
		return -ENOMEM;
	}

	/* The signed part is CertificationRequestInfo (RFC 2986 section 4.1). */
	tbs_len = i2d_re_X509_REQ_tbs(req, &tbs);
	if (tbs_len <= 0) {
		ERR_clear_error();
		return -ENOMEM;
	}
	r = keyd_crypto_hash(hash, tbs, (size_t)tbs_len, digest);
	if (r < 0)
		return r;
	r = sign(userdata, scheme, hash, digest, keyd_hash_alg_size(hash), &sig, &sig_len);
	if (r < 0) {
		set_reason(reason, reason_size, "signing failed");
		return r;
	}
	if (!sig || sig_len == 0 || sig_len > 1024) {
		set_reason(reason, reason_size, "the signer returned no usable signature");
		return -EIO;
	}

	algo = X509_ALGOR_new();
	sigbits = ASN1_BIT_STRING_new();
	if (!algo || !sigbits || X509_ALGOR_set0(algo, OBJ_nid2obj(nid), ptype, NULL) != 1 ||
	    ASN1_BIT_STRING_set(sigbits, sig, (int)sig_len) != 1) {
		ERR_clear_error();
		return -ENOMEM;
	}
	/* A whole number of octets: no unused bits in the last one. */
	sigbits->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
	sigbits->flags |= ASN1_STRING_FLAG_BITS_LEFT;
	if (X509_REQ_set1_signature_algo(req, algo) != 1) {
		ERR_clear_error();
		return -ENOMEM;
	}
	X509_REQ_set0_signature(req, TAKE_PTR(sigbits));

	/* Never hand out a request that does not verify (a wrong key, a bad signer). */
	if (X509_REQ_verify(req, pkey) != 1) {
		char why[128];
		openssl_reason(why, sizeof(why), "bad signature");
		set_reason(reason, reason_size,
			   "the signed request does not verify with the public key (%s)", why);
		return -EBADMSG;
	}

	b = BIO_new(BIO_s_mem());
	if (!b || PEM_write_bio_X509_REQ(b, req) != 1) {
		ERR_clear_error();
		return -ENOMEM;
	}
	return bio_to_string(b, ret_pem);
}
