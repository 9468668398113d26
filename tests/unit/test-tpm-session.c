/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for keyd/core/tpm-session.c (the salted HMAC sessions keyd computes
 * itself) against a private swtpm (skipped with a message when swtpm is not
 * installed), through a TCTI that sits between keyd and swtpm's and, when armed,
 * flips one byte of the next response, as a man in the middle on the TPM bus would:
 *  - Sign (continueSession, decrypt) and Unseal (encrypt, no continueSession) with
 *    a byte of the response HMAC, of the response parameters (plain for Sign,
 *    encrypted for Unseal), of nonceTPM or of the session attributes changed are
 *    refused with TSS2_ESYS_RC_RSP_AUTH_FAILED; with the header's size or tag, or
 *    the parameterSize, changed with TSS2_ESYS_RC_MALFORMED_RESPONSE; rsp is all
 *    zero after each and *rsp_len 0;
 *  - after each, a fresh session runs the command untampered: the signature
 *    verifies with the key's public part, the unsealed value is the sealed one;
 *  - a StartAuthSession response with nonceTPM or the handle changed gives a
 *    session the TPM refuses at the next command; one with its size or nonce size
 *    changed is refused at once and leaves no session;
 *  - a Load response whose size was changed is refused and leaves no object;
 *  - no session or object is left loaded at the end.
 * The byte offsets come from the response layout of TPM 2.0 Part 1, 18.10
 * (header, parameterSize, parameters, then per session nonceTPM, sessionAttributes,
 * hmac) and Part 3, 11.1 (StartAuthSession: sessionHandle, nonceTPM).
 */
#include <setjmp.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "swtpm-fixture.h"
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_tctildr.h>

#include "crypto.h"
#include "tpm-session.h"
#include "tpm.h"

#define HDR 10 /* tag, size, response code */
#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Where the armed TCTI flips a byte of the next response. */
enum spot {
	SPOT_HMAC,       /* the last byte of the session's response HMAC */
	SPOT_PARAM,      /* a byte inside the response parameters' first TPM2B */
	SPOT_NONCE,      /* a byte of nonceTPM in the session's response */
	SPOT_ATTRS,      /* the session attributes (continueSession) */
	SPOT_SIZE,       /* the header's size field */
	SPOT_TAG,        /* the header's tag */
	SPOT_PSIZE,      /* the high byte of parameterSize */
	SPOT_SAS_NONCE,  /* StartAuthSession: a byte of nonceTPM */
	SPOT_SAS_HANDLE, /* StartAuthSession: the low byte of sessionHandle */
	SPOT_SAS_NSIZE,  /* StartAuthSession: nonceTPM's size */
};

static const char *const spot_name[] = {
	[SPOT_HMAC] = "response HMAC",
	[SPOT_PARAM] = "response parameter",
	[SPOT_NONCE] = "nonceTPM",
	[SPOT_ATTRS] = "session attributes",
	[SPOT_SIZE] = "header size",
	[SPOT_TAG] = "header tag",
	[SPOT_PSIZE] = "parameterSize",
	[SPOT_SAS_NONCE] = "StartAuthSession nonceTPM",
	[SPOT_SAS_HANDLE] = "StartAuthSession handle",
	[SPOT_SAS_NSIZE] = "StartAuthSession nonce size",
};

/* A TCTI forwarding to swtpm's; armed, it changes the next full response. */
struct tamper_tcti {
	TSS2_TCTI_CONTEXT_COMMON_V2 common; /* first: the TSS macros read it */
	TSS2_TCTI_CONTEXT *real;
	bool armed, fired;
	enum spot spot;
	uint8_t orig[4096]; /* the response as the TPM sent it */
	size_t orig_len;
};

static uint32_t be32_at(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The offset of the byte to flip in a successful response, or -1. */
static long spot_offset(enum spot spot, const uint8_t *r, size_t len)
{
	size_t psize, nonce_at, nsize;

	if (len < HDR + 4 || be32_at(r + 6) != 0)
		return -1;
	switch (spot) {
	case SPOT_SIZE:
		return 5;
	case SPOT_TAG:
		return 1;
	case SPOT_SAS_HANDLE:
		return HDR + 3;
	case SPOT_SAS_NSIZE:
		return HDR + 5;
	case SPOT_SAS_NONCE:
		return HDR + 4 + 2 + 7;
	case SPOT_PSIZE:
		return HDR;
	case SPOT_HMAC:
		return (long)len - 1;
	case SPOT_PARAM:
	case SPOT_NONCE:
	case SPOT_ATTRS:
		break;
	}
	/* Sign and Unseal answer with no handle: parameterSize comes first. */
	psize = be32_at(r + HDR);
	nonce_at = HDR + 4 + psize;
	if (nonce_at + 2 > len)
		return -1;
	nsize = (size_t)r[nonce_at] << 8 | r[nonce_at + 1];
	switch (spot) {
	case SPOT_PARAM:
		/* Past the first TPM2B's size: a byte of the signature's sigAlg-hash-r or
		 * of the (encrypted) sealed data. */
		return psize > 4 ? HDR + 4 + 4 : -1;
	case SPOT_NONCE:
		return (long)(nonce_at + 2 + nsize / 2);
	case SPOT_ATTRS:
		return (long)(nonce_at + 2 + nsize);
	case SPOT_HMAC:
	case SPOT_SIZE:
	case SPOT_TAG:
	case SPOT_PSIZE:
	case SPOT_SAS_NONCE:
	case SPOT_SAS_HANDLE:
	case SPOT_SAS_NSIZE:
		break;
	}
	return -1;
}

static TSS2_RC tamper_transmit(TSS2_TCTI_CONTEXT *ctx, size_t size, const uint8_t *cmd)
{
	struct tamper_tcti *w = (struct tamper_tcti *)ctx;

	return Tss2_Tcti_Transmit(w->real, size, cmd);
}

static TSS2_RC tamper_receive(TSS2_TCTI_CONTEXT *ctx, size_t *size, uint8_t *rsp, int32_t timeout)
{
	struct tamper_tcti *w = (struct tamper_tcti *)ctx;
	TSS2_RC rc = Tss2_Tcti_Receive(w->real, size, rsp, timeout);
	long at;

	if (rc != TSS2_RC_SUCCESS || !rsp || !w->armed)
		return rc;
	w->armed = false;
	assert_true(*size <= sizeof(w->orig));
	memcpy(w->orig, rsp, *size);
	w->orig_len = *size;
	at = spot_offset(w->spot, rsp, *size);
	if (at < 0)
		fail_msg("cannot place '%s' in a response of %zu bytes (code 0x%x)",
			 spot_name[w->spot], *size, be32_at(rsp + 6));
	/* The high bit for parameterSize (a size past the end), the low one elsewhere. */
	rsp[at] ^= w->spot == SPOT_PSIZE ? 0x80 : 0x01;
	w->fired = true;
	return rc;
}

static void tamper_arm(struct tamper_tcti *w, enum spot spot)
{
	w->spot = spot;
	w->armed = true;
	w->fired = false;
}

/* What every test starts from: swtpm's TCTI wrapped, the SRK's public area, a
 * signing key and a sealed secret made by keyd's TPM core. */
static struct {
	bool ready;
	TPM2B_PUBLIC srk_pub;
	struct keyd_tpm_blob key, sealed;
	TPM2B_NAME key_name, sealed_name;
	struct keyd_pubkey key_pub;
	uint8_t secret[32];
} fx;

static struct tamper_tcti w;

static TSS2_TCTI_CONTEXT *tcti(void)
{
	return (TSS2_TCTI_CONTEXT *)&w;
}

/* Name = nameAlg || SHA-256(TPMT_PUBLIC): the blob without its TPM2B size. */
static void blob_name(const struct keyd_tpm_blob *b, TPM2B_NAME *ret)
{
	assert_true(b->pub_len > 2);
	ret->size = 2 + 32;
	ret->name[0] = TPM2_ALG_SHA256 >> 8;
	ret->name[1] = TPM2_ALG_SHA256 & 0xff;
	assert_int_equal(keyd_crypto_hash(KEYD_HASH_SHA256, b->pub + 2, b->pub_len - 2,
					  ret->name + 2),
			 0);
}

/* TPM2_ReadPublic of the SRK, sent plainly (the test trusts its own swtpm). */
static void read_srk_public(TPM2B_PUBLIC *ret)
{
	uint8_t cmd[14] = { 0x80, 0x01, 0, 0, 0, 14, 0, 0, 0x01, 0x73 };
	uint8_t rsp[1024];
	size_t len = sizeof(rsp), off = HDR;

	cmd[10] = KEYD_TPM_SRK_HANDLE >> 24;
	cmd[11] = (KEYD_TPM_SRK_HANDLE >> 16) & 0xff;
	cmd[12] = (KEYD_TPM_SRK_HANDLE >> 8) & 0xff;
	cmd[13] = KEYD_TPM_SRK_HANDLE & 0xff;
	assert_int_equal(Tss2_Tcti_Transmit(tcti(), sizeof(cmd), cmd), TSS2_RC_SUCCESS);
	assert_int_equal(Tss2_Tcti_Receive(tcti(), &len, rsp, TSS2_TCTI_TIMEOUT_BLOCK),
			 TSS2_RC_SUCCESS);
	assert_true(len > HDR);
	assert_int_equal(be32_at(rsp + 6), 0);
	*ret = (TPM2B_PUBLIC){};
	assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Unmarshal(rsp, len, &off, ret), TSS2_RC_SUCCESS);
}

static void no_leftovers(void)
{
	static const char *const caps[] = { "handles-transient", "handles-loaded-session" };
	char cmd[128], line[128];
	FILE *f;

	if (!in_path("tpm2_getcap"))
		return;
	for (size_t i = 0; i < 2; i++) {
		snprintf(cmd, sizeof(cmd), "tpm2_getcap %s 2>&1", caps[i]);
		f = popen(cmd, "r");
		assert_non_null(f);
		if (fgets(line, sizeof(line), f))
			fail_msg("%s left in the TPM: %s", caps[i], line);
		assert_int_equal(pclose(f), 0);
	}
}

static int group_setup(void **state)
{
	struct keyd_pcr_policy policy = { .bank = KEYD_HASH_SHA256 };
	struct keyd_tpm_policy_step steps[KEYD_TPM_POLICY_STEPS_MAX];
	size_t n_steps = 0;
	keyd_tpm *t = NULL;

	(void)state;
	if (swtpm_fixture_start("session") < 0)
		return -1;
	if (swtpm_pid <= 0)
		return 0;
	/* keyd's own TPM core makes the SRK, the key and the sealed object, then lets
	 * go of swtpm (it serves one connection at a time). */
	if (keyd_tpm_open(swtpm_tcti, &t) < 0 || keyd_tpm_srk_ensure(t, NULL, NULL, NULL) < 0 ||
	    keyd_tpm_key_create(t, KEYD_KEY_EC_P256, &fx.key) < 0 ||
	    keyd_crypto_random(fx.secret, sizeof(fx.secret)) < 0 ||
	    keyd_tpm_seal(t, fx.secret, sizeof(fx.secret), &policy, NULL, &fx.sealed, steps,
			  &n_steps) < 0) {
		fprintf(stderr, "cannot prepare the TPM objects: %s\n",
			t ? keyd_tpm_last_error(t) : "no TPM handle");
		keyd_tpm_close(t);
		return -1;
	}
	keyd_tpm_close(t);
	if (n_steps != 0 || keyd_tpm_key_public(&fx.key, &fx.key_pub) < 0)
		return -1;
	blob_name(&fx.key, &fx.key_name);
	blob_name(&fx.sealed, &fx.sealed_name);
	fx.ready = true;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	explicit_bzero(fx.secret, sizeof(fx.secret));
	swtpm_fixture_stop();
	return 0;
}

static int test_setup(void **state)
{
	(void)state;
	if (!fx.ready)
		return 0;
	w = (struct tamper_tcti){};
	w.common.v1.magic = 0x6b657964746d7072ull; /* any value: only this file reads it */
	w.common.v1.version = 2;
	w.common.v1.transmit = tamper_transmit;
	w.common.v1.receive = tamper_receive;
	if (Tss2_TctiLdr_Initialize(swtpm_tcti, &w.real) != TSS2_RC_SUCCESS)
		return -1;
	read_srk_public(&fx.srk_pub);
	return 0;
}

static int test_teardown(void **state)
{
	(void)state;
	if (w.real)
		Tss2_TctiLdr_Finalize(&w.real);
	return 0;
}

static void need_tpm(void)
{
	if (!fx.ready)
		skip();
}

static void start(struct tpm_session *s)
{
	assert_int_equal(tpm_session_start(tcti(), KEYD_TPM_SRK_HANDLE, &fx.srk_pub, s, NULL),
			 TSS2_RC_SUCCESS);
	assert_int_not_equal(s->handle, 0);
}

static void assert_wiped(const uint8_t *rsp, size_t size, size_t len)
{
	assert_int_equal(len, 0);
	for (size_t i = 0; i < size; i++)
		if (rsp[i] != 0)
			fail_msg("rsp[%zu] = 0x%02x after a refused response", i, rsp[i]);
}

/* TPM2_Sign of the loaded key at h over digest in session s: rsp holds the
 * TPMT_SIGNATURE on success. The digest goes encrypted (decrypt). */
static TSS2_RC sign(struct tpm_session *s, TPM2_HANDLE h, const uint8_t digest[32], uint8_t *rsp,
		    size_t rsp_size, size_t *rsp_len)
{
	const TPM2B_DIGEST dig = { .size = 32 };
	const TPMT_SIG_SCHEME scheme = {
		.scheme = TPM2_ALG_ECDSA,
		.details.ecdsa.hashAlg = TPM2_ALG_SHA256,
	};
	const TPMT_TK_HASHCHECK validation = {
		.tag = TPM2_ST_HASHCHECK,
		.hierarchy = TPM2_RH_NULL,
	};
	TPM2B_DIGEST d = dig;
	uint8_t params[256];
	size_t off = 0;
	struct tpm_session_cmd c = {
		.cc = TPM2_CC_Sign,
		.handle = h,
		.name = &fx.key_name,
		.params = params,
		.attrs = TPMA_SESSION_DECRYPT | TPMA_SESSION_CONTINUESESSION,
	};

	memcpy(d.buffer, digest, 32);
	assert_int_equal(Tss2_MU_TPM2B_DIGEST_Marshal(&d, params, sizeof(params), &off), 0);
	assert_int_equal(Tss2_MU_TPMT_SIG_SCHEME_Marshal(&scheme, params, sizeof(params), &off), 0);
	assert_int_equal(Tss2_MU_TPMT_TK_HASHCHECK_Marshal(&validation, params, sizeof(params),
							   &off),
			 0);
	c.params_len = off;
	memset(rsp, 0xa5, rsp_size); /* so a wipe shows */
	*rsp_len = 12345;
	return tpm_session_run(tcti(), s, &c, rsp, rsp_size, rsp_len, NULL);
}

/* TPM2_Unseal of the loaded sealed object at h in s, without continueSession:
 * rsp holds the TPM2B_SENSITIVE_DATA (decrypted) on success. */
static TSS2_RC unseal(struct tpm_session *s, TPM2_HANDLE h, uint8_t *rsp, size_t rsp_size,
		      size_t *rsp_len)
{
	struct tpm_session_cmd c = {
		.cc = TPM2_CC_Unseal,
		.handle = h,
		.name = &fx.sealed_name,
		.attrs = TPMA_SESSION_ENCRYPT,
	};

	memset(rsp, 0xa5, rsp_size);
	*rsp_len = 12345;
	return tpm_session_run(tcti(), s, &c, rsp, rsp_size, rsp_len, NULL);
}

static TPM2_HANDLE load(const struct keyd_tpm_blob *b)
{
	TPM2_HANDLE h = 0;

	assert_int_equal(tpm_session_load(tcti(), KEYD_TPM_SRK_HANDLE, b->priv, b->priv_len,
					  b->pub, b->pub_len, &h, NULL),
			 TSS2_RC_SUCCESS);
	assert_int_not_equal(h, 0);
	return h;
}

/* The signature in rsp verifies over digest with the key's public part, and not
 * over another digest. */
static void check_signature(const uint8_t *rsp, size_t len, const uint8_t digest[32])
{
	TPMT_SIGNATURE sig = {};
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params;
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *pkey = NULL;
	ECDSA_SIG *es = ECDSA_SIG_new();
	uint8_t point[65], *der = NULL, other[32];
	size_t off = 0;
	int der_len;

	assert_int_equal(Tss2_MU_TPMT_SIGNATURE_Unmarshal(rsp, len, &off, &sig), TSS2_RC_SUCCESS);
	assert_int_equal(off, len);
	assert_int_equal(sig.sigAlg, TPM2_ALG_ECDSA);
	assert_non_null(es);
	assert_int_equal(ECDSA_SIG_set0(es,
					BN_bin2bn(sig.signature.ecdsa.signatureR.buffer,
						  sig.signature.ecdsa.signatureR.size, NULL),
					BN_bin2bn(sig.signature.ecdsa.signatureS.buffer,
						  sig.signature.ecdsa.signatureS.size, NULL)),
			 1);
	der_len = i2d_ECDSA_SIG(es, &der);
	assert_true(der_len > 0);

	assert_int_equal(fx.key_pub.ec.len, 32);
	point[0] = 0x04;
	memcpy(point + 1, fx.key_pub.ec.x, 32);
	memcpy(point + 33, fx.key_pub.ec.y, 32);
	assert_non_null(bld);
	assert_true(OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1",
						    0));
	assert_true(OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point,
						     sizeof(point)));
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	assert_non_null(params);
	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params), 1);
	EVP_PKEY_CTX_free(ctx);

	ctx = EVP_PKEY_CTX_new(pkey, NULL);
	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
	assert_int_equal(EVP_PKEY_verify(ctx, der, (size_t)der_len, digest, 32), 1);
	memcpy(other, digest, 32);
	other[0] ^= 1;
	assert_int_not_equal(EVP_PKEY_verify(ctx, der, (size_t)der_len, other, 32), 1);

	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
}

static void check_unsealed(const uint8_t *rsp, size_t len)
{
	assert_int_equal(len, 2 + sizeof(fx.secret));
	assert_int_equal((size_t)rsp[0] << 8 | rsp[1], sizeof(fx.secret));
	assert_memory_equal(rsp + 2, fx.secret, sizeof(fx.secret));
}

struct tamper_case {
	enum spot spot;
	TSS2_RC want;
};

static const struct tamper_case run_cases[] = {
	{ SPOT_HMAC, TSS2_ESYS_RC_RSP_AUTH_FAILED },
	{ SPOT_PARAM, TSS2_ESYS_RC_RSP_AUTH_FAILED },
	{ SPOT_NONCE, TSS2_ESYS_RC_RSP_AUTH_FAILED },
	{ SPOT_ATTRS, TSS2_ESYS_RC_RSP_AUTH_FAILED },
	{ SPOT_SIZE, TSS2_ESYS_RC_MALFORMED_RESPONSE },
	{ SPOT_TAG, TSS2_ESYS_RC_MALFORMED_RESPONSE },
	{ SPOT_PSIZE, TSS2_ESYS_RC_MALFORMED_RESPONSE },
};

static void test_sign_tampered(void **state)
{
	uint8_t digest[32], rsp[sizeof(TPMT_SIGNATURE) + 16];
	struct tpm_session s;
	TPM2_HANDLE key;
	size_t len;
	TSS2_RC rc;

	(void)state;
	need_tpm();
	assert_int_equal(keyd_crypto_hash(KEYD_HASH_SHA256, "tampered", 8, digest), 0);
	key = load(&fx.key);
	for (size_t i = 0; i < N_ELEMS(run_cases); i++) {
		start(&s);
		tamper_arm(&w, run_cases[i].spot);
		rc = sign(&s, key, digest, rsp, sizeof(rsp), &len);
		assert_true(w.fired);
		if (rc != run_cases[i].want)
			fail_msg("Sign with the %s changed: 0x%x, want 0x%x",
				 spot_name[run_cases[i].spot], rc, run_cases[i].want);
		assert_wiped(rsp, sizeof(rsp), len);
		tpm_session_flush(tcti(), &s, NULL);
		assert_int_equal(s.handle, 0);

		/* A fresh session, untampered: the signature is the key's. */
		start(&s);
		assert_int_equal(sign(&s, key, digest, rsp, sizeof(rsp), &len), TSS2_RC_SUCCESS);
		check_signature(rsp, len, digest);
		/* continueSession: the same session signs again. */
		assert_int_not_equal(s.handle, 0);
		assert_int_equal(sign(&s, key, digest, rsp, sizeof(rsp), &len), TSS2_RC_SUCCESS);
		check_signature(rsp, len, digest);
		tpm_session_flush(tcti(), &s, NULL);
	}
	tpm_session_flush_handle(tcti(), key, NULL);
	test_teardown(NULL);
	no_leftovers();
}

static void test_unseal_tampered(void **state)
{
	uint8_t rsp[sizeof(TPM2B_SENSITIVE_DATA) + 16];
	struct tpm_session s;
	TPM2_HANDLE obj;
	size_t len;
	TSS2_RC rc;

	(void)state;
	need_tpm();
	obj = load(&fx.sealed);
	for (size_t i = 0; i < N_ELEMS(run_cases); i++) {
		start(&s);
		tamper_arm(&w, run_cases[i].spot);
		rc = unseal(&s, obj, rsp, sizeof(rsp), &len);
		assert_true(w.fired);
		if (rc != run_cases[i].want)
			fail_msg("Unseal with the %s changed: 0x%x, want 0x%x",
				 spot_name[run_cases[i].spot], rc, run_cases[i].want);
		/* Nothing of the secret, encrypted or not, is handed back. */
		assert_wiped(rsp, sizeof(rsp), len);
		/* The TPM ended the session with the command (no continueSession); the
		 * caller flushes anyway, as tpm.c does after a failure. */
		tpm_session_flush(tcti(), &s, NULL);

		start(&s);
		assert_int_equal(unseal(&s, obj, rsp, sizeof(rsp), &len), TSS2_RC_SUCCESS);
		check_unsealed(rsp, len);
		/* Without continueSession the record is forgotten on success. */
		assert_int_equal(s.handle, 0);
		explicit_bzero(rsp, sizeof(rsp));
	}
	tpm_session_flush_handle(tcti(), obj, NULL);
	test_teardown(NULL);
	no_leftovers();
}

/* A response code from the TPM itself (not a TSS layer's). */
static bool tpm_refused(TSS2_RC rc)
{
	return rc != TSS2_RC_SUCCESS && (rc & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER;
}

static void test_start_tampered(void **state)
{
	uint8_t digest[32], rsp[sizeof(TPMT_SIGNATURE) + 16];
	uint8_t urs[sizeof(TPM2B_SENSITIVE_DATA) + 16];
	struct tpm_session s, zero = {};
	TPM2_HANDLE key, obj;
	size_t len;
	TSS2_RC rc;

	(void)state;
	need_tpm();
	assert_int_equal(keyd_crypto_hash(KEYD_HASH_SHA256, "start", 5, digest), 0);
	key = load(&fx.key);
	obj = load(&fx.sealed);

	/* nonceTPM changed: keyd's sessionKey is not the TPM's, so the TPM refuses the
	 * command's HMAC (both objects are noDA: no lockout counted). */
	for (int which = 0; which < 2; which++) {
		tamper_arm(&w, SPOT_SAS_NONCE);
		start(&s);
		assert_true(w.fired);
		rc = which == 0 ? sign(&s, key, digest, rsp, sizeof(rsp), &len) :
				  unseal(&s, obj, urs, sizeof(urs), &len);
		if (!tpm_refused(rc))
			fail_msg("%s after a changed StartAuthSession nonce: 0x%x, want the TPM's "
				 "refusal",
				 which == 0 ? "Sign" : "Unseal", rc);
		assert_int_equal(rc & ~(TPM2_RC_N_MASK), TPM2_RC_BAD_AUTH);
		if (which == 0)
			assert_wiped(rsp, sizeof(rsp), len);
		else
			assert_wiped(urs, sizeof(urs), len);
		tpm_session_flush(tcti(), &s, NULL);
	}

	/* The handle changed: the command names a session the TPM does not have; the
	 * one it started (the handle as sent) is flushed by the test. */
	tamper_arm(&w, SPOT_SAS_HANDLE);
	start(&s);
	assert_true(w.fired);
	assert_int_not_equal(s.handle, be32_at(w.orig + HDR));
	rc = sign(&s, key, digest, rsp, sizeof(rsp), &len);
	if (!tpm_refused(rc))
		fail_msg("Sign in a session with a changed handle: 0x%x, want the TPM's refusal",
			 rc);
	assert_wiped(rsp, sizeof(rsp), len);
	tpm_session_flush(tcti(), &s, NULL);
	tpm_session_flush_handle(tcti(), be32_at(w.orig + HDR), NULL);

	/* The size or nonceTPM's size changed: refused at once, no session recorded,
	 * and none left in the TPM (checked at the end); a command on the empty
	 * record is refused before anything is sent. */
	{
		static const enum spot bad[] = { SPOT_SIZE, SPOT_SAS_NSIZE };

		for (size_t i = 0; i < N_ELEMS(bad); i++) {
			s.handle = 0x02000000; /* so the wipe shows */
			tamper_arm(&w, bad[i]);
			rc = tpm_session_start(tcti(), KEYD_TPM_SRK_HANDLE, &fx.srk_pub, &s, NULL);
			assert_true(w.fired);
			if (rc != TSS2_ESYS_RC_MALFORMED_RESPONSE)
				fail_msg("StartAuthSession with the %s changed: 0x%x",
					 spot_name[bad[i]], rc);
			assert_memory_equal(&s, &zero, sizeof(s));
			assert_int_equal(sign(&s, key, digest, rsp, sizeof(rsp), &len),
					 TSS2_ESYS_RC_BAD_VALUE);
			assert_int_equal(len, 0);
		}
	}

	/* And a session started untampered works for both. */
	start(&s);
	assert_int_equal(sign(&s, key, digest, rsp, sizeof(rsp), &len), TSS2_RC_SUCCESS);
	check_signature(rsp, len, digest);
	tpm_session_flush(tcti(), &s, NULL);
	start(&s);
	assert_int_equal(unseal(&s, obj, urs, sizeof(urs), &len), TSS2_RC_SUCCESS);
	check_unsealed(urs, len);
	explicit_bzero(urs, sizeof(urs));

	tpm_session_flush_handle(tcti(), key, NULL);
	tpm_session_flush_handle(tcti(), obj, NULL);
	test_teardown(NULL);
	no_leftovers();
}

/* tpm_session_load with the Load response's size changed: refused, and the object
 * the TPM loaded is not left behind (checked by no_leftovers). */
static void test_load_tampered(void **state)
{
	TPM2_HANDLE h = 1;
	TSS2_RC rc;

	(void)state;
	need_tpm();
	tamper_arm(&w, SPOT_SIZE);
	rc = tpm_session_load(tcti(), KEYD_TPM_SRK_HANDLE, fx.sealed.priv, fx.sealed.priv_len,
			      fx.sealed.pub, fx.sealed.pub_len, &h, NULL);
	assert_true(w.fired);
	assert_int_equal(rc, TSS2_ESYS_RC_MALFORMED_RESPONSE);
	assert_int_equal(h, 0);
	h = load(&fx.sealed);
	tpm_session_flush_handle(tcti(), h, NULL);
	test_teardown(NULL);
	no_leftovers();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sign_tampered, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_unseal_tampered, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_start_tampered, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_load_tampered, test_setup, test_teardown),
	};

	if (!in_path("swtpm")) {
		fprintf(stderr, "swtpm is not installed: the TPM session tests are skipped\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
