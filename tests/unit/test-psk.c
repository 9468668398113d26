/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for keyd/core/psk.c. The golden values are libnvme's public vectors
 * (tests/psk.c in linux-nvme/libnvme, see vectors-psk.h); the TLS PSK is checked
 * against a second computation through libcrypto's EVP_PKEY HKDF interface with a
 * hand-built HkdfLabel, a path that shares no code with psk.c.
 */
#include <setjmp.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>

#include "parse.h"
#include "psk.h"
#include "vectors-psk.h"

static const struct keyd_psk_params vec_params = {
	.hostnqn = VECTOR_PSK_HOSTNQN,
	.subnqn = VECTOR_PSK_SUBNQN,
	.version = KEYD_PSK_IDENTITY_V1,
};

static struct keyd_psk_key vec_key(enum keyd_psk_hmac hh, size_t len)
{
	struct keyd_psk_key k = { .hmac = hh, .len = len };

	memcpy(k.key, len == 48 ? vector_psk_k48 : vector_psk_k32, len);
	return k;
}

static void test_interchange_vectors(void **state)
{
	static const struct {
		const char *s;
		enum keyd_psk_hmac hh;
		size_t len;
	} v[] = {
		{ VECTOR_PSK_K32_HH00, KEYD_PSK_HMAC_NONE, 32 },
		{ VECTOR_PSK_K32_HH01, KEYD_PSK_HMAC_SHA256, 32 },
		{ VECTOR_PSK_K48_HH02, KEYD_PSK_HMAC_SHA384, 48 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct keyd_psk_key k, want = vec_key(v[i].hh, v[i].len);
		char out[KEYD_PSK_INTERCHANGE_MAX];

		assert_int_equal(keyd_psk_interchange_parse(v[i].s, &k), 0);
		assert_int_equal(k.hmac, v[i].hh);
		assert_int_equal(k.len, v[i].len);
		assert_memory_equal(k.key, want.key, v[i].len);
		assert_int_equal(keyd_psk_interchange_format(&want, out, sizeof(out)),
				 (int)strlen(v[i].s));
		assert_string_equal(out, v[i].s);
		assert_int_equal(strlen(out), v[i].len == 32 ? 65 : 89);
		/* Too small a buffer fails cleanly. */
		assert_int_equal(keyd_psk_interchange_format(&want, out, 20), -ENOBUFS);
	}
}

static void test_identity_vectors(void **state)
{
	static const struct {
		enum keyd_psk_hmac hh;
		size_t len;
		bool compat;
		const char *identity;
	} v[] = {
		{ KEYD_PSK_HMAC_SHA256, 32, false, VECTOR_PSK_ID_K32_HH01 },
		{ KEYD_PSK_HMAC_SHA384, 48, false, VECTOR_PSK_ID_K48_HH02 },
		{ KEYD_PSK_HMAC_SHA256, 32, true, VECTOR_PSK_ID_COMPAT_K32_HH01 },
		{ KEYD_PSK_HMAC_SHA384, 48, true, VECTOR_PSK_ID_COMPAT_K48_HH02 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct keyd_psk_key k = vec_key(v[i].hh, v[i].len);
		struct keyd_psk_params p = vec_params;
		char id[KEYD_PSK_IDENTITY_MAX];

		p.compat = v[i].compat;
		assert_int_equal(keyd_psk_identity(&k, &p, id, sizeof(id)), (int)strlen(v[i].identity));
		assert_string_equal(id, v[i].identity);
	}
}

static void test_identity_v0_and_hh00(void **state)
{
	struct keyd_psk_params p = vec_params;
	struct keyd_psk_key k;
	char id[KEYD_PSK_IDENTITY_MAX];

	(void)state;
	p.version = KEYD_PSK_IDENTITY_V0;
	k = vec_key(KEYD_PSK_HMAC_SHA256, 32);
	assert_true(keyd_psk_identity(&k, &p, id, sizeof(id)) > 0);
	assert_string_equal(id, "NVMe0R01 nqn.psk-test-host nqn.psk-test-subsys");
	k = vec_key(KEYD_PSK_HMAC_SHA384, 48);
	assert_true(keyd_psk_identity(&k, &p, id, sizeof(id)) > 0);
	assert_string_equal(id, "NVMe0R02 nqn.psk-test-host nqn.psk-test-subsys");

	/* libnvme: hh 00 keys take the identity hash from the key length. */
	k = vec_key(KEYD_PSK_HMAC_NONE, 48);
	assert_true(keyd_psk_identity(&k, &p, id, sizeof(id)) > 0);
	assert_string_equal(id, "NVMe0R02 nqn.psk-test-host nqn.psk-test-subsys");
	p.version = KEYD_PSK_IDENTITY_V1;
	k = vec_key(KEYD_PSK_HMAC_NONE, 32);
	assert_true(keyd_psk_identity(&k, &p, id, sizeof(id)) > 0);
	assert_true(strncmp(id, "NVMe1R01 nqn.psk-test-host nqn.psk-test-subsys ", 47) == 0);
	assert_int_equal(strlen(id), 47 + 44);
	/* hh 00: the retained key is the configured key. */
	{
		uint8_t r[48];

		assert_int_equal(keyd_psk_retained(&k, &p, r), 0);
		assert_memory_equal(r, vector_psk_k32, 32);
	}
	/* Output buffer too small. */
	assert_int_equal(keyd_psk_identity(&k, &p, id, 20), -ENOBUFS);
}

/* An independent TLS PSK: EVP_PKEY HKDF (extract-and-expand in one call) over a
 * label assembled here, with the identity taken from the public vector text. */
static void expected_tls_psk(const EVP_MD *md, const uint8_t *ikm, size_t len, bool compat,
			     const char *label, const char *ctx, uint8_t *out)
{
	uint8_t info[600];
	size_t n = 0, out_len = len;
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);

	if (compat) {
		info[n++] = (uint8_t)len;
		info[n++] = (uint8_t)(len >> 8);
	} else {
		info[n++] = (uint8_t)(len >> 8);
		info[n++] = (uint8_t)len;
		info[n++] = (uint8_t)strlen(label);
	}
	memcpy(info + n, label, strlen(label));
	n += strlen(label);
	if (!compat)
		info[n++] = (uint8_t)strlen(ctx);
	memcpy(info + n, ctx, strlen(ctx));
	n += strlen(ctx);

	assert_non_null(pctx);
	assert_int_equal(EVP_PKEY_derive_init(pctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_hkdf_md(pctx, md), 1);
	assert_int_equal(EVP_PKEY_CTX_set1_hkdf_key(pctx, ikm, (int)len), 1);
	assert_int_equal(EVP_PKEY_CTX_add1_hkdf_info(pctx, info, (int)n), 1);
	assert_int_equal(EVP_PKEY_derive(pctx, out, &out_len), 1);
	assert_int_equal(out_len, len);
	EVP_PKEY_CTX_free(pctx);
}

static void test_tls_psk(void **state)
{
	static const struct {
		enum keyd_psk_hmac hh;
		size_t len;
		bool compat;
		enum keyd_psk_identity_version version;
	} v[] = {
		{ KEYD_PSK_HMAC_SHA256, 32, false, KEYD_PSK_IDENTITY_V1 },
		{ KEYD_PSK_HMAC_SHA384, 48, false, KEYD_PSK_IDENTITY_V1 },
		{ KEYD_PSK_HMAC_SHA256, 32, true, KEYD_PSK_IDENTITY_V1 },
		{ KEYD_PSK_HMAC_SHA384, 48, true, KEYD_PSK_IDENTITY_V1 },
		{ KEYD_PSK_HMAC_SHA256, 32, false, KEYD_PSK_IDENTITY_V0 },
		{ KEYD_PSK_HMAC_NONE, 48, false, KEYD_PSK_IDENTITY_V1 },
		{ KEYD_PSK_HMAC_NONE, 32, true, KEYD_PSK_IDENTITY_V0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct keyd_psk_key k = vec_key(v[i].hh, v[i].len);
		struct keyd_psk_params p = vec_params;
		const EVP_MD *md = v[i].len == 48 ? EVP_sha384() : EVP_sha256();
		uint8_t retained[48], want[48], got[48];
		char id[KEYD_PSK_IDENTITY_MAX], ctx[KEYD_PSK_IDENTITY_MAX];

		p.compat = v[i].compat;
		p.version = v[i].version;
		/* Retained key: hh 00 uses the configured key, otherwise the HostNQN label. */
		if (v[i].hh == KEYD_PSK_HMAC_NONE)
			memcpy(retained, k.key, k.len);
		else
			expected_tls_psk(md, k.key, k.len, v[i].compat, "tls13 HostNQN",
					 VECTOR_PSK_HOSTNQN, retained);
		assert_int_equal(keyd_psk_retained(&k, &p, got), 0);
		assert_memory_equal(got, retained, k.len);

		assert_true(keyd_psk_identity(&k, &p, id, sizeof(id)) > 0);
		if (v[i].version == KEYD_PSK_IDENTITY_V1) {
			/* For the vector keys the identity is the public one (checked above). */
			snprintf(ctx, sizeof(ctx), "%.2s %s", id + 6, strrchr(id, ' ') + 1);
		} else
			snprintf(ctx, sizeof(ctx), "%s", id);
		expected_tls_psk(md, retained, k.len, v[i].compat, "tls13 nvme-tls-psk", ctx, want);
		assert_int_equal(keyd_psk_tls_psk(&k, &p, got), 0);
		assert_memory_equal(got, want, k.len);
	}
}

/* A copy of s with the character at pos replaced. */
static const char *edit(const char *s, size_t pos, char c)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), "%s", s);
	buf[pos] = c;
	return buf;
}

static void test_interchange_negative(void **state)
{
	struct keyd_psk_key k;
	char buf[256];
	const char *v32 = VECTOR_PSK_K32_HH01, *v48 = VECTOR_PSK_K48_HH02;
	size_t l32 = strlen(v32);

	(void)state;
	/* Bad CRC: the last base64 character carries CRC bits only. */
	assert_int_equal(keyd_psk_interchange_parse(edit(v32, l32 - 2, 'a'), &k), -EKEYREJECTED);
	/* A flipped key byte also fails the CRC. */
	assert_int_equal(keyd_psk_interchange_parse(edit(v32, 16, 'W'), &k), -EKEYREJECTED);
	/* The key is wiped on failure. */
	assert_int_equal(k.len, 0);
	/* Versions: only 1 exists. */
	assert_int_equal(keyd_psk_interchange_parse(edit(v32, 11, '2'), &k), -EPROTO);
	assert_int_equal(keyd_psk_interchange_parse(edit(v32, 11, 'x'), &k), -EINVAL);
	snprintf(buf, sizeof(buf), VECTOR_PSK_PREFIX "10:%s", v32 + 13);
	assert_int_equal(keyd_psk_interchange_parse(buf, &k), -EPROTO);
	/* hh */
	assert_int_equal(keyd_psk_interchange_parse(edit(v32, 14, '3'), &k), -EPROTO);
	assert_int_equal(keyd_psk_interchange_parse(edit(v32, 14, 'g'), &k), -EINVAL);
	assert_int_equal(keyd_psk_interchange_parse(edit(v32, 13, '1'), &k), -EPROTO);
	snprintf(buf, sizeof(buf), VECTOR_PSK_PREFIX "1:1:%s", v32 + 16);
	assert_int_equal(keyd_psk_interchange_parse(buf, &k), -EINVAL);
	/* Wrong length for hh: 48 bytes with hh 01, 32 bytes with hh 02. */
	assert_int_equal(keyd_psk_interchange_parse(edit(v48, 14, '1'), &k), -EMSGSIZE);
	assert_int_equal(keyd_psk_interchange_parse(edit(v32, 14, '2'), &k), -EMSGSIZE);
	/* Bad base64. */
	assert_int_equal(keyd_psk_interchange_parse(edit(v32, 20, '!'), &k), -EINVAL);
	assert_int_equal(keyd_psk_interchange_parse(edit(v32, 20, ' '), &k), -EINVAL);
	snprintf(buf, sizeof(buf), "%.*sAA:", (int)l32 - 1, v32); /* length not a multiple of 4 */
	assert_int_equal(keyd_psk_interchange_parse(buf, &k), -EINVAL);
	/* Missing trailing colon, data after it, empty key. */
	snprintf(buf, sizeof(buf), "%.*s", (int)l32 - 1, v32);
	assert_int_equal(keyd_psk_interchange_parse(buf, &k), -EINVAL);
	snprintf(buf, sizeof(buf), "%s\n", v32);
	assert_int_equal(keyd_psk_interchange_parse(buf, &k), -EINVAL);
	snprintf(buf, sizeof(buf), "%sx", v32);
	assert_int_equal(keyd_psk_interchange_parse(buf, &k), -EINVAL);
	assert_int_equal(keyd_psk_interchange_parse(VECTOR_PSK_PREFIX "1:01::", &k), -EINVAL);
	assert_int_equal(keyd_psk_interchange_parse(VECTOR_PSK_PREFIX "1:01:", &k), -EINVAL);
	assert_int_equal(keyd_psk_interchange_parse("", &k), -EINVAL);
	assert_int_equal(keyd_psk_interchange_parse("nvmetlskey-1:01:", &k), -EINVAL);
	/* Oversized: a 40-byte payload fits the string limit but no key size; a long
	 * string is refused before it is decoded. */
	snprintf(buf, sizeof(buf), VECTOR_PSK_PREFIX "1:00:%.56s:", v48 + 16);
	assert_int_equal(keyd_psk_interchange_parse(buf, &k), -EMSGSIZE);
	snprintf(buf, sizeof(buf), "%.*sAAAAAAAA:", (int)strlen(v48) - 1, v48);
	assert_int_equal(keyd_psk_interchange_parse(buf, &k), -EMSGSIZE);
	memset(buf, 'A', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	assert_int_equal(keyd_psk_interchange_parse(buf, &k), -EMSGSIZE);

	/* The formatter refuses keys that cannot exist. */
	k = vec_key(KEYD_PSK_HMAC_SHA256, 48);
	assert_int_equal(keyd_psk_interchange_format(&k, buf, sizeof(buf)), -EMSGSIZE);
	k = vec_key(KEYD_PSK_HMAC_NONE, 32);
	k.hmac = (enum keyd_psk_hmac)7;
	assert_int_equal(keyd_psk_interchange_format(&k, buf, sizeof(buf)), -EPROTO);
}

static void test_nqn(void **state)
{
	char nqn[KEYD_PSK_NQN_MAX + 2];
	struct keyd_psk_key k = vec_key(KEYD_PSK_HMAC_SHA256, 32);
	struct keyd_psk_params p = vec_params;
	char id[KEYD_PSK_IDENTITY_MAX];
	uint8_t out[48];

	(void)state;
	assert_int_equal(keyd_psk_nqn_is_valid("nqn.2014-08.org.nvmexpress:uuid:1b4e28ba"), 1);
	assert_int_equal(keyd_psk_nqn_is_valid("nqn."), -EINVAL);
	assert_int_equal(keyd_psk_nqn_is_valid("iqn.2014-08.host"), -EINVAL);
	assert_int_equal(keyd_psk_nqn_is_valid("nqn.host name"), -EINVAL);
	assert_int_equal(keyd_psk_nqn_is_valid("nqn.host\x7f"), -EINVAL);
	assert_int_equal(keyd_psk_nqn_is_valid("nqn.h\xc3\xa9"), -EINVAL);
	assert_int_equal(keyd_psk_nqn_is_valid(NULL), -EINVAL);
	memcpy(nqn, "nqn.", 4);
	memset(nqn + 4, 'a', KEYD_PSK_NQN_MAX - 4);
	nqn[KEYD_PSK_NQN_MAX] = '\0';
	assert_int_equal(keyd_psk_nqn_is_valid(nqn), 1); /* exactly 223 */
	p.hostnqn = nqn;
	assert_true(keyd_psk_identity(&k, &p, id, sizeof(id)) > 0);
	nqn[KEYD_PSK_NQN_MAX] = 'a';
	nqn[KEYD_PSK_NQN_MAX + 1] = '\0';
	assert_int_equal(keyd_psk_nqn_is_valid(nqn), -ENAMETOOLONG);
	assert_int_equal(keyd_psk_identity(&k, &p, id, sizeof(id)), -ENAMETOOLONG);
	assert_int_equal(keyd_psk_tls_psk(&k, &p, out), -ENAMETOOLONG);
	assert_int_equal(keyd_psk_retained(&k, &p, out), -ENAMETOOLONG);
	p = vec_params;
	p.subnqn = "not-an-nqn";
	assert_int_equal(keyd_psk_identity(&k, &p, id, sizeof(id)), -EINVAL);

	/* A v0 identity as HkdfLabel context must fit 255 bytes (RFC 8446); compat has no
	 * length byte and takes it. */
	nqn[KEYD_PSK_NQN_MAX] = '\0';
	p = vec_params;
	p.version = KEYD_PSK_IDENTITY_V0;
	p.hostnqn = nqn;
	p.subnqn = nqn;
	assert_int_equal(keyd_psk_tls_psk(&k, &p, out), -ENAMETOOLONG);
	p.compat = true;
	assert_int_equal(keyd_psk_tls_psk(&k, &p, out), 0);
}

static void test_identity_parse(void **state)
{
	struct keyd_psk_identity_parts id;
	char buf[1024];

	(void)state;
	assert_int_equal(keyd_psk_identity_parse(VECTOR_PSK_ID_K48_HH02, &id), 0);
	assert_int_equal(id.version, KEYD_PSK_IDENTITY_V1);
	assert_int_equal(id.kind, 'R');
	assert_int_equal(id.hmac, KEYD_PSK_HMAC_SHA384);
	assert_string_equal(id.hostnqn, VECTOR_PSK_HOSTNQN);
	assert_string_equal(id.subnqn, VECTOR_PSK_SUBNQN);
	assert_string_equal(id.digest, strrchr(VECTOR_PSK_ID_K48_HH02, ' ') + 1);

	assert_int_equal(keyd_psk_identity_parse("NVMe0R01 nqn.h nqn.s", &id), 0);
	assert_int_equal(id.version, KEYD_PSK_IDENTITY_V0);
	assert_int_equal(id.hmac, KEYD_PSK_HMAC_SHA256);
	assert_string_equal(id.digest, "");
	/* A v1 prefix without digest (what a lookup by NQN pair matches). */
	assert_int_equal(keyd_psk_identity_parse("NVMe1R02 nqn.h nqn.s", &id), 0);
	assert_int_equal(id.version, KEYD_PSK_IDENTITY_V1);
	assert_string_equal(id.digest, "");
	/* 'G': generated by the kernel (secure concatenation). */
	assert_int_equal(keyd_psk_identity_parse("NVMe0G02 nqn.h nqn.s", &id), 0);
	assert_int_equal(id.kind, 'G');
	snprintf(buf, sizeof(buf), "NVMe1G01 nqn.h nqn.s %s", strrchr(VECTOR_PSK_ID_K32_HH01, ' ') + 1);
	assert_int_equal(keyd_psk_identity_parse(buf, &id), 0);
	assert_int_equal(id.kind, 'G');

	/* Negative cases. */
	static const char *const bad[] = {
		"", "NVMe", "NVMe1R01", "NVMe1R01 ", "NVMe1R01 nqn.h", "NVMe1R01 nqn.h ",
		"NVMe2R01 nqn.h nqn.s", "NVMe1X01 nqn.h nqn.s", "NVMe1R00 nqn.h nqn.s",
		"NVMe1R03 nqn.h nqn.s", "NVMe1R1 nqn.h nqn.s", "nvme1R01 nqn.h nqn.s",
		"NVMe1R01  nqn.h nqn.s", "NVMe1R01 nqn.h  nqn.s", "NVMe1R01 nqn.h nqn.s ",
		"NVMe1R01\tnqn.h nqn.s", "NVMe1R01 host nqn.s", "NVMe1R01 nqn.h nqn.s a b",
		"NVMe0R01 nqn.h nqn.s iSbjiStwJ/1TrTvDlt2fjFmzvsytOJelidNnA+X5lEU=",
		"NVMe1R01 nqn.h nqn.s not-base64!", "NVMe1R01 nqn.h nqn.s Zm9v",
		/* a SHA-256-sized digest with hash 02 */
		"NVMe1R02 nqn.h nqn.s iSbjiStwJ/1TrTvDlt2fjFmzvsytOJelidNnA+X5lEU=",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = keyd_psk_identity_parse(bad[i], &id);

		if (r != -EINVAL)
			fail_msg("'%s': %d", bad[i], r);
		assert_string_equal(id.hostnqn, "");
	}
	/* NQN too long: -ENAMETOOLONG; the whole string over the bound: -EMSGSIZE. */
	snprintf(buf, sizeof(buf), "NVMe0R01 nqn.%0*d nqn.s", KEYD_PSK_NQN_MAX, 0);
	assert_int_equal(keyd_psk_identity_parse(buf, &id), -ENAMETOOLONG);
	memset(buf, 'a', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	memcpy(buf, "NVMe0R01 ", 9);
	assert_int_equal(keyd_psk_identity_parse(buf, &id), -EMSGSIZE);
}

static void test_tls_keys_line(void **state)
{
	struct keyd_psk_identity_parts id;
	struct keyd_psk_key k;
	bool entry;
	char buf[512];

	(void)state;
	snprintf(buf, sizeof(buf), "%s %s\n", VECTOR_PSK_ID_K48_HH02, VECTOR_PSK_K48_HH02);
	assert_int_equal(keyd_psk_tls_keys_line_parse(buf, &id, &k, &entry), 0);
	assert_true(entry);
	assert_string_equal(id.hostnqn, VECTOR_PSK_HOSTNQN);
	assert_int_equal(id.hmac, KEYD_PSK_HMAC_SHA384);
	assert_int_equal(k.hmac, KEYD_PSK_HMAC_SHA384);
	assert_int_equal(k.len, 48);
	assert_memory_equal(k.key, vector_psk_k48, 48);

	snprintf(buf, sizeof(buf), "%s %s\r\n", VECTOR_PSK_ID_K32_HH01, VECTOR_PSK_K32_HH01);
	assert_int_equal(keyd_psk_tls_keys_line_parse(buf, &id, &k, &entry), 0);
	assert_true(entry);
	snprintf(buf, sizeof(buf), "NVMe0R01 nqn.h nqn.s %s", VECTOR_PSK_K32_HH00);
	assert_int_equal(keyd_psk_tls_keys_line_parse(buf, &id, &k, &entry), 0);
	assert_int_equal(k.hmac, KEYD_PSK_HMAC_NONE);

	static const char *const skip[] = { "", "\n", "   \t", "# a comment", "  # indented\n" };
	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++) {
		entry = true;
		assert_int_equal(keyd_psk_tls_keys_line_parse(skip[i], &id, &k, &entry), 0);
		assert_false(entry);
	}

	/* Negative: no interchange, garbled interchange (bad CRC), leading blank, two lines. */
	assert_int_equal(keyd_psk_tls_keys_line_parse(VECTOR_PSK_ID_K32_HH01, &id, &k, &entry),
			 -EINVAL);
	assert_false(entry);
	snprintf(buf, sizeof(buf), "%s %s", VECTOR_PSK_ID_K32_HH01, VECTOR_PSK_K32_HH01);
	buf[strlen(buf) - 2] = 'a';
	assert_int_equal(keyd_psk_tls_keys_line_parse(buf, &id, &k, &entry), -EKEYREJECTED);
	assert_int_equal(k.len, 0);
	snprintf(buf, sizeof(buf), " %s %s", VECTOR_PSK_ID_K32_HH01, VECTOR_PSK_K32_HH01);
	assert_int_equal(keyd_psk_tls_keys_line_parse(buf, &id, &k, &entry), -EINVAL);
	snprintf(buf, sizeof(buf), "%s %s\nx", VECTOR_PSK_ID_K32_HH01, VECTOR_PSK_K32_HH01);
	assert_int_equal(keyd_psk_tls_keys_line_parse(buf, &id, &k, &entry), -EINVAL);
	snprintf(buf, sizeof(buf), "%s  %s", VECTOR_PSK_ID_K32_HH01, VECTOR_PSK_K32_HH01);
	assert_int_equal(keyd_psk_tls_keys_line_parse(buf, &id, &k, &entry), -EINVAL);
	snprintf(buf, sizeof(buf), "%s %s ", VECTOR_PSK_ID_K32_HH01, VECTOR_PSK_K32_HH01);
	assert_int_equal(keyd_psk_tls_keys_line_parse(buf, &id, &k, &entry), -EINVAL);
	{
		char big[2048];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		assert_int_equal(keyd_psk_tls_keys_line_parse(big, &id, &k, &entry), -EMSGSIZE);
	}
}

static void test_hmac_strings(void **state)
{
	(void)state;
	assert_string_equal(keyd_psk_hmac_to_string(KEYD_PSK_HMAC_SHA384), "sha384");
	assert_int_equal(keyd_psk_hmac_from_string("sha256"), KEYD_PSK_HMAC_SHA256);
	assert_int_equal(keyd_psk_hmac_from_string("none"), KEYD_PSK_HMAC_NONE);
	assert_int_equal(keyd_psk_hmac_from_string("sha512"), -EINVAL);
	assert_null(keyd_psk_hmac_to_string(_KEYD_PSK_HMAC_MAX));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interchange_vectors),
		cmocka_unit_test(test_identity_vectors),
		cmocka_unit_test(test_identity_v0_and_hh00),
		cmocka_unit_test(test_tls_psk),
		cmocka_unit_test(test_interchange_negative),
		cmocka_unit_test(test_nqn),
		cmocka_unit_test(test_identity_parse),
		cmocka_unit_test(test_tls_keys_line),
		cmocka_unit_test(test_hmac_strings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
