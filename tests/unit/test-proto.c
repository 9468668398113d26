/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for keyd/core/proto.c: golden encodings (the byte layout of
 * docs/protocol.md, written out by hand in hex) and one case or more for every
 * rejection class, good and bad side by side.
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

#include "macro.h"
#include "parse.h"
#include "proto.h"

#define HDR(type, id, len) "4b455944" "0001" type id len

/* hex -> bytes, into a static buffer (each test uses one message at a time) */
static size_t unhex(const char *hex, uint8_t *out, size_t size)
{
	size_t n = 0;

	assert_int_equal(keyd_hex_decode(hex, out, size, &n), 0);
	return n;
}

static char *tohex(const uint8_t *p, size_t len)
{
	char *s = malloc(2 * len + 1);

	assert_non_null(s);
	keyd_hex_encode(p, len, s);
	return s;
}

static void expect_golden(struct keyd_proto_msg *m, const char *hex)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	_cleanup_free_ char *got = NULL;
	struct keyd_proto_error e;

	assert_int_equal(keyd_proto_encode(m, &buf, &len, &e), 0);
	got = tohex(buf, len);
	assert_string_equal(got, hex);
	keyd_proto_buffer_free(buf, len);
}

static void test_golden_status(void **state)
{
	static const char hex[] = HDR("0001", "00000001", "00000000");
	struct keyd_proto_msg m, d;
	uint8_t buf[64];
	size_t n;

	(void)state;
	keyd_proto_msg_init(&m, KEYD_PROTO_STATUS, 1);
	expect_golden(&m, hex);
	n = unhex(hex, buf, sizeof(buf));
	assert_int_equal(keyd_proto_decode(buf, n, KEYD_PROTO_EXPECT_REQUEST, &d, NULL), 0);
	assert_int_equal(d.type, KEYD_PROTO_STATUS);
	assert_int_equal(d.id, 1);
	assert_int_equal(d.n_fields, 0);
}

static const char sign_hex[] =
	HDR("0010", "0000002a", "0000003c")
	"0030" "0004" "686f7374"                  /* key-name "host" */
	"0031" "0004" "00000001"                  /* scheme RSASSA-PKCS1-v1_5 */
	"0032" "0004" "00000001"                  /* hash SHA-256 */
	"0033" "0020"                             /* digest, 32 bytes */
	"abababababababababababababababababababababababababababababababab";

static void test_golden_sign(void **state)
{
	uint8_t digest[32], buf[256];
	const uint8_t *v;
	struct keyd_proto_msg m, d;
	char name[65];
	uint32_t u;
	size_t n, vlen;

	(void)state;
	memset(digest, 0xab, sizeof(digest));
	/* Added out of order: the encoder sorts by tag. */
	keyd_proto_msg_init(&m, KEYD_PROTO_SIGN, 42);
	assert_int_equal(keyd_proto_add_bytes(&m, KEYD_TAG_DIGEST, digest, sizeof(digest)), 0);
	assert_int_equal(keyd_proto_add_u32(&m, KEYD_TAG_HASH, KEYD_PROTO_HASH_SHA256), 0);
	assert_int_equal(keyd_proto_add_string(&m, KEYD_TAG_KEY_NAME, "host"), 0);
	assert_int_equal(keyd_proto_add_u32(&m, KEYD_TAG_SCHEME, KEYD_PROTO_SCHEME_RSA_PKCS1), 0);
	expect_golden(&m, sign_hex);

	n = unhex(sign_hex, buf, sizeof(buf));
	assert_int_equal(keyd_proto_decode(buf, n, KEYD_PROTO_EXPECT_REQUEST, &d, NULL), 0);
	assert_int_equal(d.type, KEYD_PROTO_SIGN);
	assert_int_equal(d.id, 42);
	assert_int_equal(keyd_proto_get_string(&d, KEYD_TAG_KEY_NAME, name, sizeof(name)), 0);
	assert_string_equal(name, "host");
	assert_int_equal(keyd_proto_get_string(&d, KEYD_TAG_KEY_NAME, name, 4), -ENOBUFS);
	assert_int_equal(keyd_proto_get_u32(&d, KEYD_TAG_SCHEME, &u), 0);
	assert_int_equal(u, KEYD_PROTO_SCHEME_RSA_PKCS1);
	assert_int_equal(keyd_proto_get_bytes(&d, KEYD_TAG_DIGEST, 0, &v, &vlen), 0);
	assert_int_equal(vlen, 32);
	assert_memory_equal(v, digest, 32);
	assert_int_equal(keyd_proto_get_u32(&d, KEYD_TAG_UID, &u), -ENOENT);
	/* A request is not a reply. */
	assert_int_equal(keyd_proto_decode(buf, n, KEYD_PROTO_EXPECT_REPLY, &d, NULL), -EBADMSG);
}

static void test_golden_error(void **state)
{
	static const char hex[] = HDR("ffff", "00000007", "00000017")
		"0001" "0004" "00000002"
		"0002" "000b" "6e6f2073756368206b6579"; /* "no such key" */
	uint8_t *buf = NULL;
	size_t len = 0;
	_cleanup_free_ char *got = NULL;

	(void)state;
	assert_int_equal(keyd_proto_encode_error(7, -ENOENT, "no such key", &buf, &len), 0);
	got = tohex(buf, len);
	assert_string_equal(got, hex);
	keyd_proto_buffer_free(buf, len);
}

static void test_golden_pubkey_reply(void **state)
{
	static const char hex[] = HDR("8011", "00000003", "00000013")
		"0035" "0003" "300100"   /* spki */
		"0036" "0002" "3000"     /* first cert (leaf) */
		"0036" "0002" "3001";    /* second cert: order kept */
	struct keyd_proto_msg m, d;
	uint8_t buf[128];
	const uint8_t *v;
	size_t n, vlen;

	(void)state;
	keyd_proto_msg_init(&m, KEYD_PROTO_GET_PUBKEY_REPLY, 3);
	keyd_proto_add_bytes(&m, KEYD_TAG_CERT, "\x30\x00", 2);
	keyd_proto_add_bytes(&m, KEYD_TAG_SPKI, "\x30\x01\x00", 3);
	keyd_proto_add_bytes(&m, KEYD_TAG_CERT, "\x30\x01", 2);
	expect_golden(&m, hex);
	n = unhex(hex, buf, sizeof(buf));
	assert_int_equal(keyd_proto_decode(buf, n, KEYD_PROTO_EXPECT_REPLY, &d, NULL), 0);
	assert_int_equal(keyd_proto_count(&d, KEYD_TAG_CERT), 2);
	assert_int_equal(keyd_proto_get_bytes(&d, KEYD_TAG_CERT, 1, &v, &vlen), 0);
	assert_memory_equal(v, "\x30\x01", 2);
	assert_int_equal(keyd_proto_get_bytes(&d, KEYD_TAG_CERT, 2, &v, &vlen), -ENOENT);
}

static void test_golden_request_key(void **state)
{
	static const char hex[] = HDR("0020", "00000009", "0000002c")
		"0040" "0003" "70736b"                   /* key-type "psk" */
		"0041" "000b" "4e564d6530523031e282ac"   /* description, UTF-8 (U+20AC) */
		"0042" "0004" "000003e8"                 /* uid 1000 */
		"0043" "0004" "00000064"                 /* gid 100 */
		"0044" "0002" "6869";                    /* callout "hi" */
	struct keyd_proto_msg m;

	(void)state;
	keyd_proto_msg_init(&m, KEYD_PROTO_REQUEST_KEY, 9);
	keyd_proto_add_string(&m, KEYD_TAG_KEY_TYPE, "psk");
	keyd_proto_add_string(&m, KEYD_TAG_DESCRIPTION, "NVMe0R01\xe2\x82\xac");
	keyd_proto_add_u32(&m, KEYD_TAG_UID, 1000);
	keyd_proto_add_u32(&m, KEYD_TAG_GID, 100);
	keyd_proto_add_string(&m, KEYD_TAG_CALLOUT, "hi");
	expect_golden(&m, hex);
}

static void test_golden_status_reply(void **state)
{
	static const char hex[] = HDR("8001", "00000005", "0000002e")
		"0010" "0005" "302e312e30"       /* daemon-version "0.1.0" */
		"0011" "0004" "00000001"         /* proto-max 1 */
		"0012" "0008" "0000000000000e10" /* uptime 3600 */
		"0013" "0005" "7265616479"       /* state "ready" */
		"0014" "0004" "00000003";        /* keyring-count 3 */
	struct keyd_proto_msg m, d;
	uint8_t buf[128];
	uint64_t up;
	size_t n;

	(void)state;
	keyd_proto_msg_init(&m, KEYD_PROTO_STATUS_REPLY, 5);
	keyd_proto_add_u32(&m, KEYD_TAG_KEYRING_COUNT, 3);
	keyd_proto_add_string(&m, KEYD_TAG_STATE, "ready");
	keyd_proto_add_u64(&m, KEYD_TAG_UPTIME, 3600);
	keyd_proto_add_u32(&m, KEYD_TAG_PROTO_MAX, KEYD_PROTO_VERSION);
	keyd_proto_add_string(&m, KEYD_TAG_DAEMON_VERSION, "0.1.0");
	expect_golden(&m, hex);
	n = unhex(hex, buf, sizeof(buf));
	assert_int_equal(keyd_proto_decode(buf, n, KEYD_PROTO_EXPECT_REPLY, &d, NULL), 0);
	assert_int_equal(keyd_proto_get_u64(&d, KEYD_TAG_UPTIME, &up), 0);
	assert_int_equal(up, 3600);
}

/* ---- rejections ------------------------------------------------------------------ */

static void expect_reject_bytes(const uint8_t *buf, size_t n, enum keyd_proto_expect expect,
				int err, enum keyd_proto_reject reason, uint16_t tag)
{
	struct keyd_proto_msg d;
	struct keyd_proto_error e;
	char text[128];

	assert_int_equal(keyd_proto_decode(buf, n, expect, &d, &e), err);
	if (e.reason != reason) {
		keyd_proto_error_format(&e, text, sizeof(text));
		fail_msg("expected '%s', got '%s'", keyd_proto_reject_to_string(reason), text);
	}
	assert_int_equal(e.tag, tag);
}

static void expect_reject(const char *hex, int err, enum keyd_proto_reject reason, uint16_t tag)
{
	uint8_t buf[1024];
	size_t n = unhex(hex, buf, sizeof(buf));

	expect_reject_bytes(buf, n, KEYD_PROTO_EXPECT_ANY, err, reason, tag);
}

#define SIGN_HEAD(len) HDR("0010", "00000001", len)
#define NAME_HOST "0030" "0004" "686f7374"
#define SCHEME_1 "0031" "0004" "00000001"
#define HASH_1 "0032" "0004" "00000001"
#define DIGEST_32 "0033" "0020" \
	"0000000000000000000000000000000000000000000000000000000000000000"

static void test_reject_framing(void **state)
{
	uint8_t buf[KEYD_PROTO_MESSAGE_MAX + 8];
	size_t n;

	(void)state;
	/* truncated: short header, short payload, short TLV header, short TLV value */
	expect_reject("4b4559440001000100000001000000", -EBADMSG, KEYD_PROTO_TRUNCATED, 0);
	expect_reject(HDR("0001", "00000001", "00000008") "00300004", -EBADMSG,
		      KEYD_PROTO_TRUNCATED, 0);
	expect_reject(SIGN_HEAD("00000002") "0030", -EBADMSG, KEYD_PROTO_TRUNCATED, 0);
	expect_reject(SIGN_HEAD("00000006") "00300005" "6869", -EBADMSG, KEYD_PROTO_TRUNCATED,
		      KEYD_TAG_KEY_NAME);
	/* oversized: a payload length above 64 KiB, trailing bytes */
	expect_reject(HDR("0001", "00000001", "00010001"), -EMSGSIZE, KEYD_PROTO_OVERSIZED, 0);
	expect_reject(HDR("0001", "00000001", "00000000") "00", -EMSGSIZE, KEYD_PROTO_OVERSIZED,
		      0);
	/* exactly the maximum is fine in framing terms (then fails on content) */
	memset(buf, 0, sizeof(buf));
	n = unhex(HDR("8011", "00000001", "00010000"), buf, sizeof(buf));
	assert_int_equal(n, KEYD_PROTO_HEADER_SIZE);
	expect_reject_bytes(buf, KEYD_PROTO_MESSAGE_MAX, KEYD_PROTO_EXPECT_ANY, -EBADMSG,
			    KEYD_PROTO_UNKNOWN_TAG, 0);
	/* magic, version */
	expect_reject("4b455945" "0001" "0001" "00000001" "00000000", -EBADMSG,
		      KEYD_PROTO_BAD_MAGIC, 0);
	expect_reject("4b455944" "0002" "0001" "00000001" "00000000", -EPROTONOSUPPORT,
		      KEYD_PROTO_BAD_VERSION, 0);
	/* The id survives a rejection, for the ERROR reply. */
	{
		struct keyd_proto_msg d;
		struct keyd_proto_error e;
		n = unhex("4b455944" "0002" "0001" "0000abcd" "00000000", buf, sizeof(buf));
		assert_int_equal(keyd_proto_decode(buf, n, KEYD_PROTO_EXPECT_ANY, &d, &e),
				 -EPROTONOSUPPORT);
		assert_int_equal(e.id, 0xabcd);
	}
	expect_reject("4b455944" "0000" "0001" "00000001" "00000000", -EPROTONOSUPPORT,
		      KEYD_PROTO_BAD_VERSION, 0);
	/* unknown types: an unassigned request, an unassigned reply, zero */
	expect_reject(HDR("0004", "00000001", "00000000"), -EOPNOTSUPP, KEYD_PROTO_UNKNOWN_TYPE, 0);
	expect_reject(HDR("8004", "00000001", "00000000"), -EOPNOTSUPP, KEYD_PROTO_UNKNOWN_TYPE, 0);
	expect_reject(HDR("0000", "00000001", "00000000"), -EOPNOTSUPP, KEYD_PROTO_UNKNOWN_TYPE, 0);
	/* direction */
	n = unhex(HDR("8001", "00000001", "00000000"), buf, sizeof(buf));
	expect_reject_bytes(buf, n, KEYD_PROTO_EXPECT_REQUEST, -EBADMSG,
			    KEYD_PROTO_WRONG_DIRECTION, 0);
	n = unhex(HDR("0003", "00000001", "00000000"), buf, sizeof(buf));
	expect_reject_bytes(buf, n, KEYD_PROTO_EXPECT_REPLY, -EBADMSG,
			    KEYD_PROTO_WRONG_DIRECTION, 0);
}

static void test_reject_fields(void **state)
{
	char hex[1024];

	(void)state;
	/* unknown tag: not in the registry; in the registry but not in this type */
	expect_reject(SIGN_HEAD("00000008") "00990004" "00000000", -EBADMSG,
		      KEYD_PROTO_UNKNOWN_TAG, 0x0099);
	expect_reject(HDR("0001", "00000001", "00000008") "00010004" "00000001", -EBADMSG,
		      KEYD_PROTO_UNKNOWN_TAG, KEYD_TAG_ERRNO);
	/* duplicate tag, adjacent and not */
	expect_reject(HDR("0011", "00000001", "00000010") NAME_HOST NAME_HOST, -EBADMSG,
		      KEYD_PROTO_DUPLICATE_TAG, KEYD_TAG_KEY_NAME);
	expect_reject(SIGN_HEAD("00000018") NAME_HOST SCHEME_1 NAME_HOST, -EBADMSG,
		      KEYD_PROTO_DUPLICATE_TAG, KEYD_TAG_KEY_NAME);
	/* repeated tag above its count: 9 certificates */
	snprintf(hex, sizeof(hex), "%s%s", HDR("8011", "00000001", "00000032"), "00350001" "30");
	for (int i = 0; i < 9; i++)
		strcat(hex, "00360001" "30");
	expect_reject(hex, -EBADMSG, KEYD_PROTO_DUPLICATE_TAG, KEYD_TAG_CERT);
	/* out of order */
	expect_reject(SIGN_HEAD("0000003c") SCHEME_1 NAME_HOST HASH_1 DIGEST_32, -EBADMSG,
		      KEYD_PROTO_BAD_ORDER, KEYD_TAG_KEY_NAME);
	/* missing required */
	expect_reject(SIGN_HEAD("00000018") NAME_HOST SCHEME_1 HASH_1, -EBADMSG,
		      KEYD_PROTO_MISSING_TAG, KEYD_TAG_DIGEST);
	expect_reject(HDR("ffff", "00000001", "00000000"), -EBADMSG, KEYD_PROTO_MISSING_TAG,
		      KEYD_TAG_ERRNO);
	/* wrong length for fixed-size fields, lengths out of bounds */
	expect_reject(SIGN_HEAD("0000003b") NAME_HOST "00310003" "000001" HASH_1 DIGEST_32,
		      -EBADMSG, KEYD_PROTO_BAD_LENGTH, KEYD_TAG_SCHEME);
	expect_reject(HDR("8003", "00000001", "0000000c") "00240008" "0000000000000001"
		      "", 0, KEYD_PROTO_OK, 0);
	expect_reject(HDR("8003", "00000001", "00000008") "00240004" "00000001", -EBADMSG,
		      KEYD_PROTO_BAD_LENGTH, KEYD_TAG_GENERATION);
	expect_reject(SIGN_HEAD("0000003b") NAME_HOST SCHEME_1 HASH_1 "0033001f"
		      "00000000000000000000000000000000000000000000000000000000000000", -EBADMSG,
		      KEYD_PROTO_BAD_LENGTH, KEYD_TAG_DIGEST);
	expect_reject(HDR("0011", "00000001", "00000004") "00300000", -EBADMSG,
		      KEYD_PROTO_BAD_LENGTH, KEYD_TAG_KEY_NAME);
	/* numbers out of range; fields that disagree */
	expect_reject(SIGN_HEAD("0000003c") NAME_HOST "00310004" "00000004" HASH_1 DIGEST_32,
		      -EBADMSG, KEYD_PROTO_BAD_VALUE, KEYD_TAG_SCHEME);
	expect_reject(SIGN_HEAD("0000003c") NAME_HOST SCHEME_1 "00320004" "00000000" DIGEST_32,
		      -EBADMSG, KEYD_PROTO_BAD_VALUE, KEYD_TAG_HASH);
	expect_reject(SIGN_HEAD("0000003c") NAME_HOST SCHEME_1 "00320004" "00000002" DIGEST_32,
		      -EBADMSG, KEYD_PROTO_BAD_VALUE, KEYD_TAG_DIGEST); /* sha384 wants 48 */
	expect_reject(HDR("0002", "00000001", "00000008") "00210004" "00000002", -EBADMSG,
		      KEYD_PROTO_BAD_VALUE, KEYD_TAG_FLAGS);
	expect_reject(HDR("ffff", "00000001", "00000008") "00010004" "00000000", -EBADMSG,
		      KEYD_PROTO_BAD_VALUE, KEYD_TAG_ERRNO);
}

static void test_reject_strings(void **state)
{
	static const struct {
		const char *value;
		bool ok;
	} cases[] = {
		{ "686f7374", true },           /* host */
		{ "d0bad0bbd18ed187", true },   /* ключ: 2-byte sequences */
		{ "e282ac", true },             /* U+20AC */
		{ "f09f9491", true },           /* U+1F511 */
		{ "f48fbfbf", true },           /* U+10FFFF, the last */
		{ "68006f", false },            /* NUL */
		{ "c0af", false },              /* overlong '/' */
		{ "e080af", false },            /* overlong, 3 bytes */
		{ "f08080af", false },          /* overlong, 4 bytes */
		{ "eda080", false },            /* surrogate U+D800 */
		{ "f4908080", false },          /* above U+10FFFF */
		{ "f5808080", false },          /* never a lead byte */
		{ "e282", false },              /* cut short */
		{ "80", false },                /* lone continuation */
		{ "c328", false },              /* bad continuation */
		{ "fe", false },
	};
	uint8_t buf[256];
	char hex[256];

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		size_t vlen = strlen(cases[i].value) / 2, n;
		struct keyd_proto_msg d;
		struct keyd_proto_error e;

		snprintf(hex, sizeof(hex), HDR("0011", "00000001", "%08zx") "0030%04zx%s",
			 vlen + 4, vlen, cases[i].value);
		n = unhex(hex, buf, sizeof(buf));
		int r = keyd_proto_decode(buf, n, KEYD_PROTO_EXPECT_REQUEST, &d, &e);

		if (cases[i].ok) {
			assert_int_equal(r, 0);
		} else {
			assert_int_equal(r, -EBADMSG);
			assert_int_equal(e.reason, KEYD_PROTO_BAD_STRING);
			assert_int_equal(e.tag, KEYD_TAG_KEY_NAME);
		}
	}
}

/* ---- the encoder refuses what the decoder would ------------------------------------- */

static void test_encoder_refuses(void **state)
{
	static uint8_t cert[16384];
	struct keyd_proto_msg m;
	struct keyd_proto_error e;
	uint8_t *buf = NULL;
	size_t len = 0;
	char text[128];

	(void)state;
	keyd_proto_msg_init(&m, KEYD_PROTO_SIGN, 1);
	keyd_proto_add_string(&m, KEYD_TAG_KEY_NAME, "k");
	assert_int_equal(keyd_proto_encode(&m, &buf, &len, &e), -EINVAL);
	assert_int_equal(e.reason, KEYD_PROTO_MISSING_TAG);
	keyd_proto_error_format(&e, text, sizeof(text));
	assert_string_equal(text, "missing tag: tag 0x0031 (scheme) in SIGN");
	assert_null(buf);

	/* Sticky builder errors. */
	keyd_proto_msg_init(&m, KEYD_PROTO_GET_PUBKEY_REPLY, 1);
	for (int i = 0; i < KEYD_PROTO_FIELDS_MAX; i++)
		assert_int_equal(keyd_proto_add_bytes(&m, KEYD_TAG_CERT, "x", 1), 0);
	assert_int_equal(keyd_proto_add_bytes(&m, KEYD_TAG_SPKI, "x", 1), -ENOBUFS);
	assert_int_equal(keyd_proto_encode(&m, &buf, &len, &e), -ENOBUFS);
	keyd_proto_msg_init(&m, KEYD_PROTO_GET_PUBKEY_REPLY, 1);
	assert_int_equal(keyd_proto_add_bytes(&m, KEYD_TAG_SPKI, cert, 70000), -EMSGSIZE);
	assert_int_equal(keyd_proto_add_string(&m, KEYD_TAG_SPKI, NULL), -EINVAL);

	/* Above 64 KiB in all. */
	keyd_proto_msg_init(&m, KEYD_PROTO_GET_PUBKEY_REPLY, 1);
	keyd_proto_add_bytes(&m, KEYD_TAG_SPKI, "x", 1);
	for (int i = 0; i < 5; i++)
		keyd_proto_add_bytes(&m, KEYD_TAG_CERT, cert, sizeof(cert));
	assert_int_equal(keyd_proto_encode(&m, &buf, &len, &e), -EMSGSIZE);

	/* A wrong message text does not stop an error reply. */
	assert_int_equal(keyd_proto_encode_error(1, EPERM, "bad \xff text", &buf, &len), 0);
	assert_int_equal(len, KEYD_PROTO_HEADER_SIZE + 8);
	keyd_proto_buffer_free(buf, len);
}

static void test_error_message_cut(void **state)
{
	char msg[1100];
	uint8_t *buf = NULL;
	size_t len = 0;
	struct keyd_proto_msg d;
	const uint8_t *v;
	size_t vlen;

	(void)state;
	/* 1023 ASCII bytes then a 3-byte character that straddles the limit. */
	memset(msg, 'a', 1023);
	memcpy(msg + 1023, "\xe2\x82\xac", 3);
	msg[1026] = '\0';
	assert_int_equal(keyd_proto_encode_error(1, 13, msg, &buf, &len), 0);
	assert_int_equal(keyd_proto_decode(buf, len, KEYD_PROTO_EXPECT_REPLY, &d, NULL), 0);
	assert_int_equal(keyd_proto_get_bytes(&d, KEYD_TAG_MESSAGE, 0, &v, &vlen), 0);
	assert_int_equal(vlen, 1023);
	keyd_proto_buffer_free(buf, len);
}

static void test_frame_size(void **state)
{
	uint8_t buf[128];
	size_t n, size = 0;
	struct keyd_proto_error e;

	(void)state;
	n = unhex(sign_hex, buf, sizeof(buf));
	assert_int_equal(keyd_proto_frame_size(buf, 10, &size, &e), -EAGAIN);
	assert_int_equal(keyd_proto_frame_size(buf, KEYD_PROTO_HEADER_SIZE, &size, &e), 0);
	assert_int_equal(size, 16 + 60);
	(void)n;
	n = unhex(HDR("0001", "00000001", "00100000"), buf, sizeof(buf));
	assert_int_equal(keyd_proto_frame_size(buf, n, &size, &e), -EMSGSIZE);
	assert_int_equal(e.reason, KEYD_PROTO_OVERSIZED);
	buf[0] = 'X';
	assert_int_equal(keyd_proto_frame_size(buf, n, &size, &e), -EBADMSG);
	assert_int_equal(e.reason, KEYD_PROTO_BAD_MAGIC);
}

static void test_names(void **state)
{
	(void)state;
	for (int r = 0; r < _KEYD_PROTO_REJECT_MAX; r++)
		assert_non_null(keyd_proto_reject_to_string(r));
	assert_null(keyd_proto_reject_to_string(_KEYD_PROTO_REJECT_MAX));
	assert_string_equal(keyd_proto_type_to_string(KEYD_PROTO_REQUEST_KEY), "REQUEST-KEY");
	assert_null(keyd_proto_type_to_string(0x1234));
	assert_string_equal(keyd_proto_tag_to_string(KEYD_TAG_DIGEST), "digest");
	assert_int_equal(keyd_proto_hash_size(KEYD_PROTO_HASH_SHA384), 48);
	assert_int_equal(keyd_proto_hash_size(9), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_status),
		cmocka_unit_test(test_golden_sign),
		cmocka_unit_test(test_golden_error),
		cmocka_unit_test(test_golden_pubkey_reply),
		cmocka_unit_test(test_golden_request_key),
		cmocka_unit_test(test_golden_status_reply),
		cmocka_unit_test(test_reject_framing),
		cmocka_unit_test(test_reject_fields),
		cmocka_unit_test(test_reject_strings),
		cmocka_unit_test(test_encoder_refuses),
		cmocka_unit_test(test_error_message_cut),
		cmocka_unit_test(test_frame_size),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
