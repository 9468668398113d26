/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for keyd/core/sign-request.c: SIGN and GET-PUBKEY requests as
 * decoded from the wire (docs/protocol.md's SIGN example among them), good and
 * bad side by side. */
#include <setjmp.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto.h"
#include "sign-request.h"

/* docs/protocol.md: SIGN, request id 42, key "host", RSASSA-PKCS1-v1_5, SHA-256,
 * digest = 32 bytes of 0xab. */
static const uint8_t doc_sign[] = {
	0x4b, 0x45, 0x59, 0x44, 0x00, 0x01, 0x00, 0x10, 0x00, 0x00, 0x00, 0x2a,
	0x00, 0x00, 0x00, 0x3c, 0x00, 0x30, 0x00, 0x04, 'h', 'o', 's', 't',
	0x00, 0x31, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01, 0x00, 0x32, 0x00, 0x04,
	0x00, 0x00, 0x00, 0x01, 0x00, 0x33, 0x00, 0x20, 0xab, 0xab, 0xab, 0xab,
	0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab,
	0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab,
	0xab, 0xab, 0xab, 0xab,
};

static int build(uint16_t type, const char *key, uint32_t scheme, uint32_t hash, size_t dlen,
		 struct keyd_sign_request *ret, char *reason)
{
	static uint8_t *buf;
	static size_t len;
	static struct keyd_proto_msg m, d;
	uint8_t digest[64];
	int r;

	memset(digest, 0x5a, sizeof(digest));
	keyd_proto_buffer_free(buf, len);
	buf = NULL;
	keyd_proto_msg_init(&m, type, 7);
	keyd_proto_add_string(&m, KEYD_TAG_KEY_NAME, key);
	if (type == KEYD_PROTO_SIGN) {
		keyd_proto_add_u32(&m, KEYD_TAG_SCHEME, scheme);
		keyd_proto_add_u32(&m, KEYD_TAG_HASH, hash);
		keyd_proto_add_bytes(&m, KEYD_TAG_DIGEST, digest, dlen);
	}
	r = keyd_proto_encode(&m, &buf, &len, NULL);
	if (r < 0)
		return r;
	assert_int_equal(keyd_proto_decode(buf, len, KEYD_PROTO_EXPECT_REQUEST, &d, NULL), 0);
	return keyd_sign_request_parse(&d, ret, reason, 256);
}

static void test_doc_example(void **state)
{
	struct keyd_proto_msg m;
	struct keyd_sign_request q;
	char reason[256] = "";

	(void)state;
	assert_int_equal(keyd_proto_decode(doc_sign, sizeof(doc_sign), KEYD_PROTO_EXPECT_REQUEST,
					   &m, NULL), 0);
	assert_int_equal(keyd_sign_request_parse(&m, &q, reason, sizeof(reason)), 0);
	assert_int_equal(q.type, KEYD_PROTO_SIGN);
	assert_string_equal(q.key, "host");
	assert_int_equal(q.scheme, KEYD_SIG_RSA_PKCS1);
	assert_int_equal(q.hash, KEYD_HASH_SHA256);
	assert_int_equal(q.digest_len, 32);
	assert_ptr_equal(q.digest, doc_sign + 44);
}

static void test_good_and_bad(void **state)
{
	struct keyd_sign_request q;
	char reason[256];

	(void)state;
	assert_int_equal(build(KEYD_PROTO_SIGN, "host-ec.1", KEYD_PROTO_SCHEME_ECDSA,
			       KEYD_PROTO_HASH_SHA384, 48, &q, reason), 0);
	assert_int_equal(q.scheme, KEYD_SIG_ECDSA);
	assert_int_equal(q.hash, KEYD_HASH_SHA384);
	assert_int_equal(q.digest_len, 48);
	assert_int_equal(build(KEYD_PROTO_SIGN, "k", KEYD_PROTO_SCHEME_RSA_PSS,
			       KEYD_PROTO_HASH_SHA512, 64, &q, reason), 0);
	assert_int_equal(q.scheme, KEYD_SIG_RSA_PSS);
	assert_int_equal(build(KEYD_PROTO_GET_PUBKEY, "host", 0, 0, 0, &q, reason), 0);
	assert_int_equal(q.type, KEYD_PROTO_GET_PUBKEY);
	assert_string_equal(q.key, "host");

	/* Not store names: no such key can exist. */
	assert_int_equal(build(KEYD_PROTO_GET_PUBKEY, ".hidden", 0, 0, 0, &q, reason), -ENOENT);
	assert_non_null(strstr(reason, "not a store name"));
	assert_int_equal(build(KEYD_PROTO_SIGN, "../etc/passwd", KEYD_PROTO_SCHEME_ECDSA,
			       KEYD_PROTO_HASH_SHA256, 32, &q, reason), -ENOENT);
	assert_int_equal(build(KEYD_PROTO_GET_PUBKEY, "h\xc3\xa9", 0, 0, 0, &q, reason), -ENOENT);
	/* What the decoder's table refuses never gets here: the encoder refuses it. */
	assert_int_equal(build(KEYD_PROTO_SIGN, "k", 4, KEYD_PROTO_HASH_SHA256, 32, &q, reason),
			 -EINVAL);
	assert_int_equal(build(KEYD_PROTO_SIGN, "k", KEYD_PROTO_SCHEME_ECDSA,
			       KEYD_PROTO_HASH_SHA256, 48, &q, reason), -EINVAL);
}

static void test_other_types(void **state)
{
	struct keyd_proto_msg m;
	struct keyd_sign_request q;
	char reason[256];

	(void)state;
	keyd_proto_msg_init(&m, KEYD_PROTO_STATUS, 1);
	assert_int_equal(keyd_sign_request_parse(&m, &q, reason, sizeof(reason)), -EBADMSG);
	assert_non_null(strstr(reason, "not a SIGN or GET-PUBKEY"));
	/* A SIGN missing its fields (only possible when built by hand). */
	keyd_proto_msg_init(&m, KEYD_PROTO_SIGN, 1);
	keyd_proto_add_string(&m, KEYD_TAG_KEY_NAME, "k");
	assert_int_equal(keyd_sign_request_parse(&m, &q, NULL, 0), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doc_example),
		cmocka_unit_test(test_good_and_bad),
		cmocka_unit_test(test_other_types),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
