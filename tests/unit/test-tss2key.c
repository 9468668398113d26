/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for keyd/core/tss2key.c. Every file is built here from synthetic
 * pub/priv bytes (no real key material): the golden forms first, then each
 * corruption class next to the case it breaks.
 */
#include <setjmp.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "der.h"
#include "macro.h"
#include "tss2key.h"

#define PUB_LEN 64   /* TPM2B: 2-byte size + 62 bytes */
#define PRIV_LEN 190 /* TPM2B: 2-byte size + 188 bytes; with PUB_LEN the DER needs 82 LL LL */

/* TPM 2.0 Part 2, 6.5.2: TPM_CC_PolicyPCR and TPM_CC_PolicyAuthValue. */
#define CC_POLICY_PCR 0x17fu
#define CC_POLICY_AUTH_VALUE 0x16bu

static void fill_tpm2b(uint8_t *b, size_t len, uint8_t seed)
{
	b[0] = (uint8_t)((len - 2) >> 8);
	b[1] = (uint8_t)(len - 2);
	for (size_t i = 2; i < len; i++)
		b[i] = (uint8_t)(seed + i * 13);
}

static void make_key(struct keyd_tss2key *k)
{
	*k = (struct keyd_tss2key){ .type = KEYD_TSS2_LOADABLE };
	fill_tpm2b(k->blob.pub, PUB_LEN, 0x10);
	k->blob.pub_len = PUB_LEN;
	fill_tpm2b(k->blob.priv, PRIV_LEN, 0x80);
	k->blob.priv_len = PRIV_LEN;
	k->blob.parent = KEYD_TPM_SRK_HANDLE;
}

static void assert_key_equal(const struct keyd_tss2key *a, const struct keyd_tss2key *b)
{
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->empty_auth, b->empty_auth);
	assert_int_equal(a->rsa_parent, b->rsa_parent);
	assert_int_equal(a->n_policy, b->n_policy);
	for (size_t i = 0; i < a->n_policy; i++) {
		assert_int_equal(a->policy[i].command_code, b->policy[i].command_code);
		assert_int_equal(a->policy[i].params_len, b->policy[i].params_len);
		assert_memory_equal(a->policy[i].params, b->policy[i].params,
				    a->policy[i].params_len);
	}
	assert_string_equal(a->description, b->description);
	assert_int_equal(a->blob.parent, b->blob.parent);
	assert_int_equal(a->blob.pub_len, b->blob.pub_len);
	assert_memory_equal(a->blob.pub, b->blob.pub, a->blob.pub_len);
	assert_int_equal(a->blob.priv_len, b->blob.priv_len);
	assert_memory_equal(a->blob.priv, b->blob.priv, a->blob.priv_len);
}

static bool mem_contains(const uint8_t *h, size_t hl, const void *n, size_t nl)
{
	for (size_t i = 0; i + nl <= hl; i++)
		if (memcmp(h + i, n, nl) == 0)
			return true;
	return false;
}

/*
 * A hand-built TPMKey, so each field can be made wrong in isolation. Raw fields
 * (when non-NULL) are written as given, full TLVs included.
 */
struct build {
	const char *oid;
	const uint8_t *fields; /* raw TLVs between the OID and the parent */
	size_t fields_len;
	const uint8_t *parent; /* raw INTEGER TLV; default 02 05 00 81 00 00 01 */
	size_t parent_len;
	const uint8_t *pub; /* OCTET STRING content; default synthetic TPM2B */
	size_t pub_len;
	const uint8_t *priv;
	size_t priv_len;
	const uint8_t *extra; /* raw TLVs after privkey, inside the SEQUENCE */
	size_t extra_len;
};

static uint8_t *build_der(const struct build *b, size_t *ret_len)
{
	static const uint8_t srk[] = { 0x02, 0x05, 0x00, 0x81, 0x00, 0x00, 0x01 };
	uint8_t pub[PUB_LEN], priv[PRIV_LEN], *body, *out = NULL;
	size_t n = 0, len = 0;
	struct keyd_derw w;

	fill_tpm2b(pub, sizeof(pub), 0x10);
	fill_tpm2b(priv, sizeof(priv), 0x80);
	keyd_derw_init(&w);
	keyd_derw_oid(&w, b->oid ? b->oid : KEYD_TSS2_OID_LOADABLE);
	assert_int_equal(keyd_derw_finish(&w, &out, &len), 0);
	body = malloc(len + b->fields_len + 16 + 2 * KEYD_TPM_BLOB_MAX + b->extra_len + 64);
	assert_non_null(body);
	memcpy(body, out, len);
	n = len;
	free(out);
	if (b->fields_len) {
		memcpy(body + n, b->fields, b->fields_len);
		n += b->fields_len;
	}
	memcpy(body + n, b->parent ? b->parent : srk, b->parent ? b->parent_len : sizeof(srk));
	n += b->parent ? b->parent_len : sizeof(srk);
	keyd_derw_init(&w);
	keyd_derw_raw(&w, KEYD_DER_OCTET_STRING, b->pub ? b->pub : pub,
		      b->pub ? b->pub_len : sizeof(pub));
	keyd_derw_raw(&w, KEYD_DER_OCTET_STRING, b->priv ? b->priv : priv,
		      b->priv ? b->priv_len : sizeof(priv));
	assert_int_equal(keyd_derw_finish(&w, &out, &len), 0);
	memcpy(body + n, out, len);
	n += len;
	free(out);
	if (b->extra_len) {
		memcpy(body + n, b->extra, b->extra_len);
		n += b->extra_len;
	}
	keyd_derw_init(&w);
	keyd_derw_raw(&w, KEYD_DER_SEQUENCE, body, n);
	free(body);
	assert_int_equal(keyd_derw_finish(&w, &out, ret_len), 0);
	return out;
}

/* Parse and check the errno; the reason must be one non-empty line that
 * contains `needle` (if given). */
static void expect_fail(const uint8_t *d, size_t len, int err, const char *needle)
{
	struct keyd_tss2key k;
	char reason[256];
	int r = keyd_tss2key_parse(d, len, &k, reason, sizeof(reason));

	if (r != err || (needle && !strstr(reason, needle)))
		print_error("got %d '%s', want %d '%s'\n", r, reason, err, needle ? needle : "");
	assert_int_equal(r, err);
	assert_true(reason[0] != '\0');
	assert_null(strchr(reason, '\n'));
	if (needle)
		assert_non_null(strstr(reason, needle));
}

static void expect_build_fail(const struct build *b, int err, const char *needle)
{
	size_t len;
	uint8_t *der = build_der(b, &len);

	expect_fail(der, len, err, needle);
	free(der);
}

static void parse_ok(const uint8_t *d, size_t len, struct keyd_tss2key *k)
{
	char reason[256];
	int r = keyd_tss2key_parse(d, len, k, reason, sizeof(reason));

	if (r != 0)
		print_error("parse failed: %d '%s'\n", r, reason);
	assert_int_equal(r, 0);
}

static void test_golden_roundtrip(void **state)
{
	struct keyd_tss2key k, back, again;
	uint8_t *der = NULL, *der2 = NULL;
	size_t len = 0, len2 = 0;
	char *pem = NULL;

	(void)state;
	make_key(&k);
	assert_int_equal(keyd_tss2key_to_der(&k, &der, &len), 0);
	/* SEQUENCE, the loadable OID, no optional field, then the positive SRK. */
	assert_int_equal(der[0], 0x30);
	assert_memory_equal(der + 4, "\x06\x06\x67\x81\x05\x0a\x01\x03"
			    "\x02\x05\x00\x81\x00\x00\x01\x04\x40\x00\x3e", 19);
	parse_ok(der, len, &back);
	assert_key_equal(&k, &back);
	assert_int_equal(back.empty_auth, KEYD_TSS2_EMPTY_AUTH_ABSENT);
	assert_string_equal(back.description, "");
	/* The writer is canonical: writing what was read gives the same bytes. */
	assert_int_equal(keyd_tss2key_to_der(&back, &der2, &len2), 0);
	assert_int_equal(len, len2);
	assert_memory_equal(der, der2, len);
	free(der2);

	/* PEM: label, and it reads back the same. */
	assert_int_equal(keyd_tss2key_to_pem(&k, &pem), 0);
	assert_true(startswith(pem, "-----BEGIN " KEYD_TSS2_PEM_LABEL "-----\n"));
	parse_ok((const uint8_t *)pem, strlen(pem), &again);
	assert_key_equal(&k, &again);
	free(pem);

	/* Sealed data, owner-hierarchy parent, every optional field keyd writes. */
	k.type = KEYD_TSS2_SEALED;
	k.blob.parent = KEYD_TPM_OWNER_HIERARCHY;
	k.empty_auth = KEYD_TSS2_EMPTY_AUTH_TRUE;
	k.rsa_parent = true;
	snprintf(k.description, sizeof(k.description), "keyd test \xe2\x9c\x93 psk");
	k.n_policy = 2;
	k.policy[0].command_code = CC_POLICY_PCR;
	memset(k.policy[0].params, 0xab, 38);
	k.policy[0].params_len = 38;
	k.policy[1].command_code = CC_POLICY_AUTH_VALUE;
	k.policy[1].params_len = 0;
	free(der);
	assert_int_equal(keyd_tss2key_to_der(&k, &der, &len), 0);
	assert_memory_equal(der + 4, "\x06\x06\x67\x81\x05\x0a\x01\x05", 8);
	assert_true(mem_contains(der, len, "\xa0\x03\x01\x01\xff", 5));
	assert_true(mem_contains(der, len, "\xa5\x03\x01\x01\xff", 5));
	assert_true(mem_contains(der, len, "\x02\x04\x40\x00\x00\x01\x04\x40", 8));
	/* TPMPolicy { [0] INTEGER 0x17f, [1] OCTET STRING ... } */
	assert_true(mem_contains(der, len, "\x30\x30\xa0\x04\x02\x02\x01\x7f\xa1\x28\x04\x26", 12));
	assert_true(mem_contains(der, len, "\x30\x0a\xa0\x04\x02\x02\x01\x6b\xa1\x02\x04\x00", 12));
	parse_ok(der, len, &back);
	assert_key_equal(&k, &back);
	assert_int_equal(keyd_tss2key_to_pem(&k, &pem), 0);
	parse_ok((const uint8_t *)pem, strlen(pem), &again);
	assert_key_equal(&k, &again);
	free(pem);
	free(der);
}

static void test_parent_sign_quirk(void **state)
{
	static const uint8_t neg[] = { 0x02, 0x04, 0x81, 0x00, 0x00, 0x01 };
	static const uint8_t owner[] = { 0x02, 0x04, 0x40, 0x00, 0x00, 0x01 };
	static const uint8_t nonmin_neg[] = { 0x02, 0x05, 0xff, 0x81, 0x00, 0x00, 0x01 };
	static const uint8_t nonmin_pos[] = { 0x02, 0x06, 0x00, 0x00, 0x81, 0x00, 0x00, 0x01 };
	static const uint8_t too_big[] = { 0x02, 0x05, 0x01, 0x81, 0x00, 0x00, 0x01 };
	static const uint8_t transient[] = { 0x02, 0x05, 0x00, 0x80, 0x00, 0x00, 0x01 };
	static const uint8_t not_int[] = { 0x04, 0x04, 0x81, 0x00, 0x00, 0x01 };
	struct keyd_tss2key k;
	uint8_t *der, *out = NULL;
	size_t len, out_len = 0;

	(void)state;
	/* Negative encoding (old tpm2-tss-engine) reads as 0x81000001 ... */
	der = build_der(&(struct build){ .parent = neg, .parent_len = sizeof(neg) }, &len);
	parse_ok(der, len, &k);
	assert_int_equal(k.blob.parent, 0x81000001u);
	free(der);
	/* ... and is written back positive. */
	assert_int_equal(keyd_tss2key_to_der(&k, &out, &out_len), 0);
	assert_true(mem_contains(out, out_len, "\x02\x05\x00\x81\x00\x00\x01", 7));
	assert_false(mem_contains(out, out_len, "\x02\x04\x81\x00\x00\x01", 6));
	free(out);

	der = build_der(&(struct build){ .parent = owner, .parent_len = sizeof(owner) }, &len);
	parse_ok(der, len, &k);
	assert_int_equal(k.blob.parent, KEYD_TPM_OWNER_HIERARCHY);
	free(der);

	expect_build_fail(&(struct build){ .parent = nonmin_neg, .parent_len = sizeof(nonmin_neg) },
			  -EBADMSG, "'parent' INTEGER");
	expect_build_fail(&(struct build){ .parent = nonmin_pos, .parent_len = sizeof(nonmin_pos) },
			  -EBADMSG, "not minimally");
	expect_build_fail(&(struct build){ .parent = too_big, .parent_len = sizeof(too_big) },
			  -EBADMSG, "32-bit");
	expect_build_fail(&(struct build){ .parent = transient, .parent_len = sizeof(transient) },
			  -EBADMSG, "0x80000001");
	expect_build_fail(&(struct build){ .parent = not_int, .parent_len = sizeof(not_int) },
			  -EBADMSG, "expected the 'parent' field");
}

static void test_empty_auth_states(void **state)
{
	static const uint8_t f[] = { 0xa0, 0x03, 0x01, 0x01, 0x00 };
	static const uint8_t t[] = { 0xa0, 0x03, 0x01, 0x01, 0xff };
	static const uint8_t ber_true[] = { 0xa0, 0x03, 0x01, 0x01, 0x01 };
	static const uint8_t long_bool[] = { 0xa0, 0x04, 0x01, 0x02, 0x00, 0xff };
	static const uint8_t extra_in_tag[] = { 0xa0, 0x05, 0x01, 0x01, 0xff, 0x05, 0x00 };
	static const uint8_t implicit[] = { 0x80, 0x01, 0xff };
	struct keyd_tss2key k;
	uint8_t *der, *out = NULL;
	size_t len, out_len = 0;

	(void)state;
	der = build_der(&(struct build){}, &len);
	parse_ok(der, len, &k);
	assert_int_equal(k.empty_auth, KEYD_TSS2_EMPTY_AUTH_ABSENT);
	free(der);

	der = build_der(&(struct build){ .fields = f, .fields_len = sizeof(f) }, &len);
	parse_ok(der, len, &k);
	assert_int_equal(k.empty_auth, KEYD_TSS2_EMPTY_AUTH_FALSE);
	free(der);
	/* The writer omits FALSE: it reads back as absent (same meaning). */
	assert_int_equal(keyd_tss2key_to_der(&k, &out, &out_len), 0);
	assert_false(mem_contains(out, out_len, f, sizeof(f)));
	parse_ok(out, out_len, &k);
	assert_int_equal(k.empty_auth, KEYD_TSS2_EMPTY_AUTH_ABSENT);
	free(out);

	der = build_der(&(struct build){ .fields = t, .fields_len = sizeof(t) }, &len);
	parse_ok(der, len, &k);
	assert_int_equal(k.empty_auth, KEYD_TSS2_EMPTY_AUTH_TRUE);
	free(der);
	assert_int_equal(keyd_tss2key_to_der(&k, &out, &out_len), 0);
	assert_true(mem_contains(out, out_len, t, sizeof(t)));
	free(out);

	/* tpm2-openssl writes TRUE as 01 (BER): read as TRUE, written back as FF. */
	der = build_der(&(struct build){ .fields = ber_true, .fields_len = sizeof(ber_true) }, &len);
	parse_ok(der, len, &k);
	assert_int_equal(k.empty_auth, KEYD_TSS2_EMPTY_AUTH_TRUE);
	free(der);
	assert_int_equal(keyd_tss2key_to_der(&k, &out, &out_len), 0);
	assert_true(mem_contains(out, out_len, t, sizeof(t)));
	free(out);
	expect_build_fail(&(struct build){ .fields = long_bool, .fields_len = sizeof(long_bool) },
			  -EBADMSG, "emptyAuth");
	expect_build_fail(&(struct build){ .fields = extra_in_tag,
					   .fields_len = sizeof(extra_in_tag) },
			  -EBADMSG, "inside emptyAuth");
	/* An IMPLICIT [0] is not the draft's EXPLICIT form. */
	expect_build_fail(&(struct build){ .fields = implicit, .fields_len = sizeof(implicit) },
			  -EBADMSG, "found tag 0x80");
}

/* [1] { SEQUENCE OF TPMPolicy } with n steps of params_len bytes each. */
static uint8_t *policy_field(size_t n, size_t params_len, uint32_t cc, size_t *ret_len)
{
	uint8_t params[300] = { 0 }, *out = NULL;
	struct keyd_derw w;

	keyd_derw_init(&w);
	keyd_derw_begin(&w, KEYD_DER_CONTEXT(1));
	keyd_derw_begin(&w, KEYD_DER_SEQUENCE);
	for (size_t i = 0; i < n; i++) {
		keyd_derw_begin(&w, KEYD_DER_SEQUENCE);
		keyd_derw_begin(&w, KEYD_DER_CONTEXT(0));
		keyd_derw_u32(&w, cc);
		keyd_derw_end(&w);
		keyd_derw_begin(&w, KEYD_DER_CONTEXT(1));
		keyd_derw_raw(&w, KEYD_DER_OCTET_STRING, params, params_len);
		keyd_derw_end(&w);
		keyd_derw_end(&w);
	}
	keyd_derw_end(&w);
	keyd_derw_end(&w);
	assert_int_equal(keyd_derw_finish(&w, &out, ret_len), 0);
	return out;
}

static void test_policy(void **state)
{
	static const uint8_t neg_cc[] = { 0xa1, 0x0e, 0x30, 0x0c, 0x30, 0x0a, 0xa0, 0x03, 0x02,
					  0x01, 0xff, 0xa1, 0x03, 0x04, 0x01, 0x00 };
	static const uint8_t no_params[] = { 0xa1, 0x09, 0x30, 0x07, 0x30, 0x05, 0xa0, 0x03, 0x02,
					     0x01, 0x01 };
	static const uint8_t empty_seq[] = { 0xa1, 0x02, 0x30, 0x00 };
	static const uint8_t bare_seq[] = { 0xa1, 0x02, 0x04, 0x00 };
	struct keyd_tss2key k;
	uint8_t *pol, *der;
	size_t plen, len;

	(void)state;
	pol = policy_field(KEYD_TPM_POLICY_STEPS_MAX, 256, CC_POLICY_PCR, &plen);
	der = build_der(&(struct build){ .fields = pol, .fields_len = plen }, &len);
	parse_ok(der, len, &k);
	assert_int_equal(k.n_policy, KEYD_TPM_POLICY_STEPS_MAX);
	assert_int_equal(k.policy[3].command_code, CC_POLICY_PCR);
	assert_int_equal(k.policy[3].params_len, 256);
	free(der);
	free(pol);

	pol = policy_field(KEYD_TPM_POLICY_STEPS_MAX + 1, 0, CC_POLICY_AUTH_VALUE, &plen);
	expect_build_fail(&(struct build){ .fields = pol, .fields_len = plen }, -E2BIG,
			  "more than 4 steps");
	free(pol);
	pol = policy_field(1, 257, CC_POLICY_PCR, &plen);
	expect_build_fail(&(struct build){ .fields = pol, .fields_len = plen }, -E2BIG,
			  "257 bytes");
	free(pol);

	expect_build_fail(&(struct build){ .fields = neg_cc, .fields_len = sizeof(neg_cc) },
			  -EBADMSG, "commandCode");
	expect_build_fail(&(struct build){ .fields = no_params, .fields_len = sizeof(no_params) },
			  -EBADMSG, "commandPolicy");
	expect_build_fail(&(struct build){ .fields = bare_seq, .fields_len = sizeof(bare_seq) },
			  -EBADMSG, "'policy'");
	/* An empty SEQUENCE OF is legal and means no policy. */
	der = build_der(&(struct build){ .fields = empty_seq, .fields_len = sizeof(empty_seq) },
			&len);
	parse_ok(der, len, &k);
	assert_int_equal(k.n_policy, 0);
	free(der);
}

static uint8_t *description_field(const void *s, size_t n, size_t *ret_len)
{
	struct keyd_derw w;
	uint8_t *out = NULL;

	keyd_derw_init(&w);
	keyd_derw_begin(&w, KEYD_DER_CONTEXT(4));
	keyd_derw_raw(&w, KEYD_DER_UTF8STRING, s, n);
	keyd_derw_end(&w);
	assert_int_equal(keyd_derw_finish(&w, &out, ret_len), 0);
	return out;
}

static void test_description(void **state)
{
	static const char *const bad[] = {
		"a\nb", "tab\there", "nul\0x", "\xc0\x80", "\xed\xa0\x80", "\xff", "\xe2\x9c",
		"\xf4\x90\x80\x80", "\xc2\x85" /* C1 NEL */, "\x7f",
	};
	static const size_t bad_len[] = { 3, 8, 5, 2, 3, 1, 2, 4, 2, 1 };
	struct keyd_tss2key k;
	char longest[KEYD_TSS2_DESCRIPTION_MAX + 1];
	uint8_t *f, *der;
	size_t flen, len;

	(void)state;
	f = description_field("h\xc3\xb4te \xf0\x9f\x94\x91", 10, &flen);
	der = build_der(&(struct build){ .fields = f, .fields_len = flen }, &len);
	parse_ok(der, len, &k);
	assert_string_equal(k.description, "h\xc3\xb4te \xf0\x9f\x94\x91");
	free(der);
	free(f);

	memset(longest, 'd', sizeof(longest));
	f = description_field(longest, KEYD_TSS2_DESCRIPTION_MAX, &flen);
	der = build_der(&(struct build){ .fields = f, .fields_len = flen }, &len);
	parse_ok(der, len, &k);
	assert_int_equal(strlen(k.description), KEYD_TSS2_DESCRIPTION_MAX);
	free(der);
	free(f);
	f = description_field(longest, KEYD_TSS2_DESCRIPTION_MAX + 1, &flen);
	expect_build_fail(&(struct build){ .fields = f, .fields_len = flen }, -E2BIG,
			  "description");
	free(f);
	f = description_field("", 0, &flen);
	expect_build_fail(&(struct build){ .fields = f, .fields_len = flen }, -EBADMSG, "empty");
	free(f);

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		f = description_field(bad[i], bad_len[i], &flen);
		expect_build_fail(&(struct build){ .fields = f, .fields_len = flen }, -EBADMSG,
				  "invalid UTF-8");
		free(f);
	}
	/* The writer refuses what the parser would. */
	make_key(&k);
	snprintf(k.description, sizeof(k.description), "bad\x01");
	{
		uint8_t *out = NULL;
		size_t out_len = 0;
		assert_int_equal(keyd_tss2key_to_der(&k, &out, &out_len), -EINVAL);
	}
}

static void test_types_and_unsupported_fields(void **state)
{
	static const uint8_t secret[] = { 0xa2, 0x04, 0x04, 0x02, 0x01, 0x02 };
	static const uint8_t auth_policy[] = { 0xa3, 0x02, 0x30, 0x00 };
	static const uint8_t future[] = { 0xa6, 0x02, 0x05, 0x00 };
	static const uint8_t out_of_order[] = { 0xa5, 0x03, 0x01, 0x01, 0xff,
						0xa0, 0x03, 0x01, 0x01, 0xff };
	static const uint8_t repeated[] = { 0xa0, 0x03, 0x01, 0x01, 0xff,
					    0xa0, 0x03, 0x01, 0x01, 0xff };
	static const uint8_t rsa_parent[] = { 0xa5, 0x03, 0x01, 0x01, 0xff };
	struct keyd_tss2key k;
	uint8_t *der;
	size_t len;

	(void)state;
	der = build_der(&(struct build){ .oid = KEYD_TSS2_OID_SEALED }, &len);
	parse_ok(der, len, &k);
	assert_int_equal(k.type, KEYD_TSS2_SEALED);
	free(der);
	der = build_der(&(struct build){ .fields = rsa_parent, .fields_len = sizeof(rsa_parent) },
			&len);
	parse_ok(der, len, &k);
	assert_true(k.rsa_parent);
	free(der);

	expect_build_fail(&(struct build){ .oid = KEYD_TSS2_OID_IMPORTABLE }, -EPROTO,
			  "2.23.133.10.1.4");
	expect_build_fail(&(struct build){ .oid = "1.2.840.113549.1.1.1" }, -EPROTO,
			  "unknown key type OID 1.2.840.113549.1.1.1");
	expect_build_fail(&(struct build){ .oid = "2.23.133.10.1.33" }, -EPROTO,
			  "2.23.133.10.1.33");
	expect_build_fail(&(struct build){ .fields = secret, .fields_len = sizeof(secret) },
			  -ENOTSUP, "'secret'");
	expect_build_fail(&(struct build){ .fields = auth_policy,
					   .fields_len = sizeof(auth_policy) },
			  -ENOTSUP, "'authPolicy'");
	expect_build_fail(&(struct build){ .fields = future, .fields_len = sizeof(future) },
			  -ENOTSUP, "[6]");
	expect_build_fail(&(struct build){ .fields = out_of_order,
					   .fields_len = sizeof(out_of_order) },
			  -EBADMSG, "out of order");
	expect_build_fail(&(struct build){ .fields = repeated, .fields_len = sizeof(repeated) },
			  -EBADMSG, "repeated");
}

static void test_truncation(void **state)
{
	struct keyd_tss2key k;
	uint8_t *der = NULL;
	size_t len = 0;
	char *pem = NULL, reason[256];

	(void)state;
	make_key(&k);
	k.empty_auth = KEYD_TSS2_EMPTY_AUTH_TRUE;
	k.n_policy = 1;
	k.policy[0].command_code = CC_POLICY_AUTH_VALUE;
	snprintf(k.description, sizeof(k.description), "truncate me");
	assert_int_equal(keyd_tss2key_to_der(&k, &der, &len), 0);
	assert_int_equal(keyd_tss2key_to_pem(&k, &pem), 0);

	/* DER cut at every offset: a copy of exactly i bytes, so ASan sees any over-read. */
	for (size_t i = 0; i < len; i++) {
		uint8_t *cut = malloc(i ? i : 1);
		assert_non_null(cut);
		memcpy(cut, der, i);
		expect_fail(cut, i, -EBADMSG, i ? "truncated" : "empty");
		free(cut);
	}
	/* PEM cut at every offset; only the final newline is optional. */
	for (size_t i = 0; i < strlen(pem); i++) {
		char *cut = malloc(i ? i : 1);
		int r;

		assert_non_null(cut);
		memcpy(cut, pem, i);
		r = keyd_tss2key_parse((const uint8_t *)cut, i, &k, reason, sizeof(reason));
		if (i + 1 == strlen(pem))
			assert_int_equal(r, 0);
		else
			assert_int_equal(r, -EBADMSG);
		free(cut);
	}

	/* The reason names the field and the sizes: cut privkey content, fix the
	 * outer length. The default privkey needs 190 bytes; keep 37. */
	{
		static const uint8_t priv_hdr_and_37[2 + 3 + 37] = { 0 };
		uint8_t *bad;
		size_t blen;
		struct build b = { .priv = NULL };
		uint8_t *full = build_der(&b, &blen);
		uint8_t *body;
		size_t body_len;
		struct keyd_derw w;

		/* Outer header is 30 82 xx xx; privkey TLV is the last 3 + 160 bytes. */
		body_len = blen - 4 - (3 + PRIV_LEN) + 3 + 37;
		body = malloc(body_len);
		assert_non_null(body);
		memcpy(body, full + 4, blen - 4 - (3 + PRIV_LEN) + 3); /* up to privkey content */
		memcpy(body + body_len - 37, priv_hdr_and_37, 37);
		keyd_derw_init(&w);
		keyd_derw_raw(&w, KEYD_DER_SEQUENCE, body, body_len);
		assert_int_equal(keyd_derw_finish(&w, &bad, &blen), 0);
		expect_fail(bad, blen, -EBADMSG, "the 'privkey' field at offset");
		expect_fail(bad, blen, -EBADMSG, "needs 190 bytes, 37 remain");
		free(bad);
		free(body);
		free(full);
	}
	free(der);
	free(pem);
}

static void test_garbled(void **state)
{
	struct keyd_tss2key k;
	uint8_t *der = NULL, *bad;
	size_t len = 0;

	(void)state;
	make_key(&k);
	assert_int_equal(keyd_tss2key_to_der(&k, &der, &len), 0);
	/* 30 82 LL LL | 06 06 ... | 02 05 ... | 04 40 ... | 04 81 a0 ... */
	bad = malloc(len + 8);
	assert_non_null(bad);

	/* Garbled tags. */
	memcpy(bad, der, len);
	bad[0] = 0x31;
	expect_fail(bad, len, -EBADMSG, NULL);
	memcpy(bad, der, len);
	bad[4] = 0x04;
	expect_fail(bad, len, -EBADMSG, "expected the 'type' field (tag 0x06) at offset 4");
	memcpy(bad, der, len);
	bad[19] = 0x03;
	expect_fail(bad, len, -EBADMSG, "expected the 'pubkey' field");
	memcpy(bad, der, len);
	bad[4 + 8 + 7 + 2 + PUB_LEN] = 0x30;
	expect_fail(bad, len, -EBADMSG, "expected the 'privkey' field");
	memcpy(bad, der, len);
	bad[4] = 0x1f; /* multi-octet tag form */
	expect_fail(bad, len, -EBADMSG, NULL);

	/* Oversized lengths: outer, and pubkey claiming more than is there. */
	memcpy(bad, der, len);
	bad[2] = 0x7f;
	expect_fail(bad, len, -EBADMSG, "truncated: the 'TPMKey' field at offset 0 needs");
	memcpy(bad, der, len);
	bad[20] = 0x7f;
	expect_fail(bad, len, -EBADMSG, "'pubkey'");
	/* 4 length octets claiming 2 GiB, and 5 length octets. */
	{
		uint8_t h4[] = { 0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x06, 0x00 };
		uint8_t h5[] = { 0x30, 0x85, 0x00, 0x00, 0x00, 0x00, 0x02, 0x06, 0x00 };
		expect_fail(h4, sizeof(h4), -EBADMSG, "needs 2147483647 bytes");
		expect_fail(h5, sizeof(h5), -EBADMSG, "5 length octets");
	}
	/* Non-minimal lengths: the outer length with a needless extra octet, the
	 * OID length in long form, indefinite length. */
	memcpy(bad, der, 2);
	bad[1] = 0x83;
	bad[2] = 0x00;
	memcpy(bad + 3, der + 2, len - 2);
	expect_fail(bad, len + 1, -EBADMSG, "non-minimal length");
	memcpy(bad, der, 5);
	bad[5] = 0x81;
	memcpy(bad + 6, der + 5, len - 5);
	bad[3]++; /* outer length grows by one */
	expect_fail(bad, len + 1, -EBADMSG, "the 'type' field at offset 4 has a non-minimal");
	{
		uint8_t indef[] = { 0x30, 0x80, 0x06, 0x00, 0x00, 0x00 };
		expect_fail(indef, sizeof(indef), -EBADMSG, "indefinite");
	}
	/* Malformed OID content. */
	memcpy(bad, der, len);
	bad[6] = 0x80;
	expect_fail(bad, len, -EBADMSG, "OID");

	/* Trailing data after the SEQUENCE, and an extra element inside it. */
	memcpy(bad, der, len);
	bad[len] = 0x00;
	expect_fail(bad, len + 1, -EBADMSG, "trailing data: 1 bytes after the TPMKey");
	expect_build_fail(&(struct build){ .extra = (const uint8_t *)"\x05\x00", .extra_len = 2 },
			  -EBADMSG, "after 'privkey'");
	free(bad);
	free(der);
}

static void test_tpm2b_sizes(void **state)
{
	uint8_t pub[KEYD_TPM_BLOB_MAX + 1];
	struct keyd_tss2key k;
	uint8_t *der;
	size_t len;

	(void)state;
	/* Inner size off by one either way. */
	fill_tpm2b(pub, PUB_LEN, 1);
	pub[1]++;
	expect_build_fail(&(struct build){ .pub = pub, .pub_len = PUB_LEN }, -EBADMSG,
			  "'pubkey' TPM2B at offset 21 says 63 bytes but the field holds 62");
	fill_tpm2b(pub, PRIV_LEN, 1);
	pub[1]--;
	expect_build_fail(&(struct build){ .priv = pub, .priv_len = PRIV_LEN }, -EBADMSG,
			  "'privkey' TPM2B");
	/* Too short for a TPM2B, and an empty TPM2B. */
	expect_build_fail(&(struct build){ .pub = (const uint8_t *)"\x00", .pub_len = 1 },
			  -EBADMSG, "too short");
	expect_build_fail(&(struct build){ .pub = (const uint8_t *)"\x00\x00", .pub_len = 2 },
			  -EBADMSG, "too short");
	/* The largest blob keyd holds, and one byte more. */
	fill_tpm2b(pub, KEYD_TPM_BLOB_MAX, 1);
	der = build_der(&(struct build){ .pub = pub, .pub_len = KEYD_TPM_BLOB_MAX }, &len);
	parse_ok(der, len, &k);
	assert_int_equal(k.blob.pub_len, KEYD_TPM_BLOB_MAX);
	free(der);
	fill_tpm2b(pub, KEYD_TPM_BLOB_MAX + 1, 1);
	expect_build_fail(&(struct build){ .pub = pub, .pub_len = KEYD_TPM_BLOB_MAX + 1 }, -E2BIG,
			  "at most 4096");

	/* The writer checks the same. */
	make_key(&k);
	k.blob.priv[1] ^= 1;
	{
		uint8_t *out = NULL;
		size_t out_len = 0;
		assert_int_equal(keyd_tss2key_to_der(&k, &out, &out_len), -EINVAL);
		make_key(&k);
		k.type = _KEYD_TSS2_TYPE_INVALID;
		assert_int_equal(keyd_tss2key_to_der(&k, &out, &out_len), -EINVAL);
		make_key(&k);
		k.blob.parent = 0x80000001u;
		assert_int_equal(keyd_tss2key_to_der(&k, &out, &out_len), -EINVAL);
	}
}

static void test_other_files(void **state)
{
	static const char *const ordinary[] = { "PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY",
						"ENCRYPTED PRIVATE KEY" };
	/* PKCS#8 shape: SEQUENCE { INTEGER 0, ... } (synthetic, not a key). */
	static const uint8_t pkcs8[] = { 0x30, 0x05, 0x02, 0x01, 0x00, 0x05, 0x00 };
	char *pem = NULL, want[128], *big;
	struct keyd_tss2key k;
	uint8_t *der = NULL;
	size_t len = 0;

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(ordinary); i++) {
		assert_int_equal(keyd_pem_encode(ordinary[i], pkcs8, sizeof(pkcs8), &pem), 0);
		snprintf(want, sizeof(want), "this is an ordinary '%s' PEM, not a TPM key file "
			 "(TSS2 PRIVATE KEY)", ordinary[i]);
		expect_fail((const uint8_t *)pem, strlen(pem), -EMEDIUMTYPE, want);
		free(pem);
	}
	assert_int_equal(keyd_pem_encode("CERTIFICATE", pkcs8, sizeof(pkcs8), &pem), 0);
	expect_fail((const uint8_t *)pem, strlen(pem), -EMEDIUMTYPE, "'CERTIFICATE' PEM");
	free(pem);
	expect_fail(pkcs8, sizeof(pkcs8), -EMEDIUMTYPE, "ordinary private key");
	expect_fail((const uint8_t *)"hello", 5, -EBADMSG, "neither DER");
	expect_fail((const uint8_t *)"", 0, -EBADMSG, "empty");

	/* Bad base64 inside a TSS2 block, and a missing END line. */
	make_key(&k);
	assert_int_equal(keyd_tss2key_to_pem(&k, &pem), 0);
	pem[40] = '!';
	expect_fail((const uint8_t *)pem, strlen(pem), -EBADMSG, "garbled");
	free(pem);
	assert_int_equal(keyd_tss2key_to_pem(&k, &pem), 0);
	*strstr(pem, "-----END") = '\0';
	expect_fail((const uint8_t *)pem, strlen(pem), -EBADMSG, "garbled");
	free(pem);
	/* Valid PEM around a broken TPMKey: the reason says where. */
	assert_int_equal(keyd_tss2key_to_der(&k, &der, &len), 0);
	der[len - 1] ^= 0; /* unchanged content, but trailing byte added below */
	{
		uint8_t *more = malloc(len + 1);
		assert_non_null(more);
		memcpy(more, der, len);
		more[len] = 0x00;
		assert_int_equal(keyd_pem_encode(KEYD_TSS2_PEM_LABEL, more, len + 1, &pem), 0);
		expect_fail((const uint8_t *)pem, strlen(pem), -EBADMSG, "decoded PEM data");
		free(pem);
		free(more);
	}
	free(der);

	/* Larger than a key file can be: refused before parsing. */
	big = malloc(KEYD_TSS2_FILE_MAX + 1);
	assert_non_null(big);
	memset(big, '\n', KEYD_TSS2_FILE_MAX + 1);
	expect_fail((const uint8_t *)big, KEYD_TSS2_FILE_MAX + 1, -E2BIG, "16384");
	free(big);
	/* No reason buffer is fine. */
	assert_int_equal(keyd_tss2key_parse(pkcs8, sizeof(pkcs8), &k, NULL, 0), -EMEDIUMTYPE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_roundtrip),
		cmocka_unit_test(test_parent_sign_quirk),
		cmocka_unit_test(test_empty_auth_states),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_description),
		cmocka_unit_test(test_types_and_unsupported_fields),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_garbled),
		cmocka_unit_test(test_tpm2b_sizes),
		cmocka_unit_test(test_other_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
