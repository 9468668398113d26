/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for keyd-handshaked's TLS 1.3 PSK server (keyd/handshake/tls13-server.c),
 * on the core's OpenSSL test backend: full handshakes against the core's own client
 * (SHA-256 and SHA-384, fed whole and byte by byte, both sides' traffic keys compared),
 * a hand-built ClientHello with only a P-256 share, the failures the agent turns into
 * statuses (wrong PSK -> decrypt_error and -EKEYREJECTED on both ends, unknown identity ->
 * unknown_psk_identity and -ENOKEY, suite not offered, a tampered client Finished), record
 * layer rules (ClientHello record version 0x0301, ClientHello split over records, CCS and
 * application data out of place, bytes after the ClientHello), and the ClientHello
 * parser's golden case, every truncation, and each reject with its alert.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tls13-server.h"
#include "tls13_client.h"
#include "tls13_ks.h"
#include "tls13_msg.h"
#include "tls13_record.h"

static const u8 id384[] = "NVMe1R02 nqn.2014-08.org.example:host nqn.2014-08.org.example:sub";
static const u8 id256[] = "NVMe1R01 nqn.2014-08.org.example:host nqn.2014-08.org.example:sub";
static u8 psk384[48], psk256[32];

/* The server's keyring: the two identities above. */
static int lookup(void *userdata, const u8 *identity, size_t len, enum tls13_hash_alg *ret_hash,
		  u8 *psk, size_t *ret_psk_len)
{
	int *calls = userdata;

	if (calls)
		(*calls)++;
	if (len == sizeof(id384) - 1 && !memcmp(identity, id384, len)) {
		*ret_hash = TLS13_SHA384;
		memcpy(psk, psk384, 48);
		*ret_psk_len = 48;
		return 1;
	}
	if (len == sizeof(id256) - 1 && !memcmp(identity, id256, len)) {
		*ret_hash = TLS13_SHA256;
		memcpy(psk, psk256, 32);
		*ret_psk_len = 32;
		return 1;
	}
	return 0;
}

static struct tls13_server *new_server(int *calls)
{
	struct tls13_server_config cfg = { .lookup = lookup, .userdata = calls };
	struct tls13_server *s = NULL;

	assert_int_equal(tls13_server_new(&cfg, &s), 0);
	return s;
}

static struct tls13_client *new_client(enum tls13_hash_alg hash, const u8 *psk, const u8 *id,
				       size_t id_len, bool p256)
{
	struct tls13_client_config cfg = {
		.hash = hash,
		.psk = psk,
		.psk_len = tls13_hash_len(hash),
		.identity = id,
		.identity_len = id_len,
		.share_p256 = p256,
	};
	struct tls13_client *c = NULL;

	assert_int_equal(tls13_client_new(&cfg, &c), 0);
	return c;
}

static int setup(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(psk384); i++)
		psk384[i] = (u8)(0x30 + i);
	for (size_t i = 0; i < sizeof(psk256); i++)
		psk256[i] = (u8)(0x90 + i);
	return 0;
}

/* Feed all of in to the server, step bytes at a time; returns the last result. */
static int server_feed(struct tls13_server *s, const u8 *in, size_t len, size_t step, u8 *out,
		       size_t *ret_out)
{
	size_t done = 0, total_out = 0;
	int r = 0;

	while (done < len) {
		size_t n = len - done < step ? len - done : step, used = 0, o = 0;

		r = tls13_server_feed(s, in + done, n, &used, out + total_out,
				      TLS13_SERVER_OUT_MAX, &o);
		total_out += o;
		if (r < 0 || r == TLS13_CLIENT_DONE) {
			done += used;
			break;
		}
		assert_int_equal(used, n);
		done += used;
	}
	*ret_out = total_out;
	return r;
}

static void full_handshake(enum tls13_hash_alg hash, size_t step, bool p256)
{
	const u8 *id = hash == TLS13_SHA384 ? id384 : id256;
	size_t id_len = (hash == TLS13_SHA384 ? sizeof(id384) : sizeof(id256)) - 1;
	u8 ch[TLS13_CLIENT_OUT_MAX], sflight[2 * TLS13_SERVER_OUT_MAX], cout[TLS13_CLIENT_OUT_MAX];
	struct tls13_traffic ctx, crx, stx, srx;
	size_t ch_len, sf_len, co_len, used, idl;
	struct tls13_client *c;
	struct tls13_server *s;
	int calls = 0;

	c = new_client(hash, hash == TLS13_SHA384 ? psk384 : psk256, id, id_len, p256);
	s = new_server(&calls);
	assert_int_equal(tls13_client_start(c, ch, sizeof(ch), &ch_len), 0);
	assert_int_equal(server_feed(s, ch, ch_len, step, sflight, &sf_len), 0);
	assert_int_equal(calls, 1);
	assert_true(sf_len > 0);
	assert_int_equal(tls13_server_selected(s), 0);
	assert_int_equal(tls13_server_suite(s), hash == TLS13_SHA384 ? 0x1302 : 0x1301);
	assert_memory_equal(tls13_server_identity(s, &idl), id, id_len);
	assert_int_equal(idl, id_len);

	assert_int_equal(tls13_client_feed(c, sflight, sf_len, &used, cout, sizeof(cout), &co_len),
			 TLS13_CLIENT_DONE);
	assert_int_equal(used, sf_len);
	assert_false(tls13_client_had_hrr(c));
	assert_int_equal(server_feed(s, cout, co_len, step, sflight, &sf_len), TLS13_CLIENT_DONE);
	assert_int_equal(sf_len, 0);
	/* Done: more input is neither read nor answered. */
	assert_int_equal(tls13_server_feed(s, cout, 1, &used, sflight, sizeof(sflight), &sf_len),
			 TLS13_CLIENT_DONE);
	assert_int_equal(used, 0);

	assert_int_equal(tls13_client_traffic(c, &ctx, &crx), 0);
	assert_int_equal(tls13_server_traffic(s, &stx, &srx), 0);
	assert_int_equal(stx.cipher_suite, ctx.cipher_suite);
	assert_int_equal(stx.key_len, hash == TLS13_SHA384 ? 32 : 16);
	assert_memory_equal(ctx.key, srx.key, ctx.key_len);
	assert_memory_equal(ctx.iv, srx.iv, 12);
	assert_memory_equal(crx.key, stx.key, crx.key_len);
	assert_memory_equal(crx.iv, stx.iv, 12);
	assert_memory_not_equal(ctx.key, crx.key, ctx.key_len);
	assert_int_equal(tls13_server_alert_sent(s), -1);
	tls13_client_free(c);
	tls13_server_free(s);
}

static void test_handshake_sha384(void **state)
{
	(void)state;
	full_handshake(TLS13_SHA384, 100000, false);
	full_handshake(TLS13_SHA384, 1, false);
	full_handshake(TLS13_SHA384, 7, true);
}

static void test_handshake_sha256(void **state)
{
	(void)state;
	full_handshake(TLS13_SHA256, 100000, false);
	full_handshake(TLS13_SHA256, 3, true);
}

/* Run client and server until one fails; returns the server's result. */
static int failing_handshake(struct tls13_client *c, struct tls13_server *s, int *ret_client)
{
	u8 ch[TLS13_CLIENT_OUT_MAX], sflight[TLS13_SERVER_OUT_MAX], cout[TLS13_CLIENT_OUT_MAX];
	size_t ch_len, sf_len, co_len, used;
	int r;

	assert_int_equal(tls13_client_start(c, ch, sizeof(ch), &ch_len), 0);
	r = tls13_server_feed(s, ch, ch_len, &used, sflight, sizeof(sflight), &sf_len);
	*ret_client = tls13_client_feed(c, sflight, sf_len, &used, cout, sizeof(cout), &co_len);
	if (r >= 0 && co_len)
		r = tls13_server_feed(s, cout, co_len, &used, sflight, sizeof(sflight), &sf_len);
	return r;
}

static void test_wrong_psk(void **state)
{
	u8 other[48];
	struct tls13_client *c;
	struct tls13_server *s;
	int cr;

	(void)state;
	memset(other, 0x5a, sizeof(other));
	c = new_client(TLS13_SHA384, other, id384, sizeof(id384) - 1, false);
	s = new_server(NULL);
	assert_int_equal(failing_handshake(c, s, &cr), -EKEYREJECTED);
	/* The binder does not verify: decrypt_error (RFC 8446 4.2.11), in the clear. */
	assert_int_equal(tls13_server_alert_sent(s), TLS13_ALERT_DECRYPT_ERROR);
	assert_int_equal(cr, -EKEYREJECTED);
	assert_int_equal(tls13_client_alert_received(c), TLS13_ALERT_DECRYPT_ERROR);
	tls13_client_free(c);
	tls13_server_free(s);
}

static void test_unknown_identity(void **state)
{
	static const u8 other[] = "NVMe1R02 nqn.other:host nqn.other:sub";
	struct tls13_client *c;
	struct tls13_server *s;
	int cr, calls = 0;

	(void)state;
	c = new_client(TLS13_SHA384, psk384, other, sizeof(other) - 1, false);
	s = new_server(&calls);
	assert_int_equal(failing_handshake(c, s, &cr), -ENOKEY);
	assert_int_equal(calls, 1);
	assert_int_equal(tls13_server_alert_sent(s), TLS13_ALERT_UNKNOWN_PSK_IDENTITY);
	assert_int_equal(tls13_server_selected(s), -1);
	assert_int_equal(cr, -EKEYREJECTED);
	tls13_client_free(c);
	tls13_server_free(s);
}

/* The server's key for this identity is SHA-384; a client with a SHA-256 key for it offers
 * TLS_AES_128_GCM_SHA256 only. */
static void test_suite_not_offered(void **state)
{
	struct tls13_client *c;
	struct tls13_server *s;
	int cr;

	(void)state;
	c = new_client(TLS13_SHA256, psk256, id384, sizeof(id384) - 1, false);
	s = new_server(NULL);
	assert_int_equal(failing_handshake(c, s, &cr), -EOPNOTSUPP);
	assert_int_equal(tls13_server_alert_sent(s), TLS13_ALERT_HANDSHAKE_FAILURE);
	assert_int_equal(cr, -EKEYREJECTED);
	tls13_client_free(c);
	tls13_server_free(s);
}

static void test_bad_client_finished(void **state)
{
	u8 ch[TLS13_CLIENT_OUT_MAX], sflight[TLS13_SERVER_OUT_MAX], cout[TLS13_CLIENT_OUT_MAX];
	size_t ch_len, sf_len, co_len, used;
	struct tls13_client *c;
	struct tls13_server *s;

	(void)state;
	c = new_client(TLS13_SHA384, psk384, id384, sizeof(id384) - 1, false);
	s = new_server(NULL);
	assert_int_equal(tls13_client_start(c, ch, sizeof(ch), &ch_len), 0);
	assert_int_equal(tls13_server_feed(s, ch, ch_len, &used, sflight, sizeof(sflight), &sf_len),
			 0);
	assert_int_equal(tls13_client_feed(c, sflight, sf_len, &used, cout, sizeof(cout), &co_len),
			 TLS13_CLIENT_DONE);
	cout[co_len - 1] ^= 1; /* the tag */
	assert_int_equal(tls13_server_feed(s, cout, co_len, &used, sflight, sizeof(sflight),
					   &sf_len), -EBADMSG);
	assert_int_equal(tls13_server_alert_sent(s), TLS13_ALERT_BAD_RECORD_MAC);
	/* The alert goes out protected (5 + 2 + 1 + 16 bytes) under the server's application
	 * key, which the client now reads with. */
	assert_int_equal(sf_len, 5 + 2 + 1 + 16);
	assert_int_equal(sflight[0], TLS13_CT_APPLICATION_DATA);
	/* Every later call returns the same error. */
	assert_int_equal(tls13_server_feed(s, cout, co_len, &used, sflight, sizeof(sflight),
					   &sf_len), -EBADMSG);
	tls13_client_free(c);
	tls13_server_free(s);
}

/* ---- a hand-built ClientHello ------------------------------------------------------ */

static size_t unhex(const char *h, u8 *out, size_t cap)
{
	size_t n = 0;

	for (; h[0] && h[1]; h += 2) {
		unsigned int v;

		assert_true(n < cap);
		assert_int_equal(sscanf(h, "%2x", &v), 1);
		out[n++] = (u8)v;
	}
	return n;
}

/* A ClientHello with the given extension block (hex, without its length). */
static size_t build_ch(const char *exts_hex, u8 *out, size_t cap)
{
	u8 exts[4096];
	size_t n = 0, elen = unhex(exts_hex, exts, sizeof(exts));

	assert_true(cap > 4 + 2 + 32 + 1 + 4 + 2 + 2 + elen);
	out[n++] = TLS13_HS_CLIENT_HELLO;
	n += 3;
	tls13_put_u16(out + n, 0x0303);
	n += 2;
	memset(out + n, 0x11, 32);
	n += 32;
	out[n++] = 0;		/* session id */
	tls13_put_u16(out + n, 4);
	tls13_put_u16(out + n + 2, 0x1302);
	tls13_put_u16(out + n + 4, 0x1301);
	n += 6;
	out[n++] = 1;
	out[n++] = 0;
	tls13_put_u16(out + n, (u16)elen);
	n += 2;
	memcpy(out + n, exts, elen);
	n += elen;
	tls13_put_u24(out + 1, (u32)(n - 4));
	return n;
}

#define EXT_VERSIONS "002b0003020304"
#define EXT_GROUPS "000a00040002001d"
#define EXT_SHARE_X25519 "003300260024001d0020" Z16 Z16
#define EXT_MODES "002d00020101"
/* identity "abc" (age 0) and one 48-byte binder */
#define Z16 "00000000000000000000000000000000"
#define Z48 Z16 Z16 Z16
#define EXT_PSK "0029003e" "0009000361626300000000" "003130" Z48
#define GOOD EXT_VERSIONS EXT_GROUPS EXT_SHARE_X25519 EXT_MODES EXT_PSK

static void expect_ch(const char *exts, int err, u8 want_alert)
{
	u8 msg[4096], alert = 0xff;
	struct tls13_ch_info ch;
	size_t len = build_ch(exts, msg, sizeof(msg));

	assert_int_equal(tls13_server_parse_client_hello(msg, len, &ch, &alert), err);
	if (err)
		assert_int_equal(alert, want_alert);
}

static void test_parser_golden(void **state)
{
	u8 msg[4096], alert;
	struct tls13_ch_info ch;
	size_t len;

	(void)state;
	len = build_ch(GOOD, msg, sizeof(msg));
	assert_int_equal(tls13_server_parse_client_hello(msg, len, &ch, &alert), 0);
	assert_true(ch.tls13 && ch.psk_dhe_ke && ch.has_pre_shared_key);
	assert_true(ch.suite_sha256 && ch.suite_sha384);
	assert_non_null(ch.x25519);
	assert_null(ch.p256);
	assert_false(ch.early_data);
	assert_int_equal(ch.session_id_len, 0);
	assert_int_equal(ch.n_offers, 1);
	assert_int_equal(ch.offers[0].identity_len, 3);
	assert_memory_equal(ch.offers[0].identity, "abc", 3);
	assert_int_equal(ch.offers[0].binder_len, 48);
	/* The truncated ClientHello ends before the binders vector: 2 + 1 + 48 bytes. */
	assert_int_equal(ch.truncated_len, len - 51);
	assert_ptr_equal(ch.offers[0].binder, msg + len - 48);

	/* Every truncation, with a consistent and an inconsistent header length. */
	for (size_t n = 0; n < len; n++) {
		u8 cut[4096];

		memcpy(cut, msg, n);
		assert_true(tls13_server_parse_client_hello(cut, n, &ch, &alert) < 0);
		if (n >= 4) {
			tls13_put_u24(cut + 1, (u32)(n - 4));
			assert_true(tls13_server_parse_client_hello(cut, n, &ch, &alert) < 0);
		}
	}
	/* Unknown extensions are skipped, anywhere before pre_shared_key. */
	expect_ch("fe0000021234" EXT_VERSIONS "000000050003000001" EXT_GROUPS EXT_SHARE_X25519
		  EXT_MODES EXT_PSK, 0, 0);
	/* A P-256 share is taken; groups without any usable share still parse. */
	expect_ch(EXT_VERSIONS EXT_GROUPS "00330047004500170041" "04" Z16 Z16 Z16 Z16 EXT_MODES
		  EXT_PSK, 0, 0);
	expect_ch(EXT_VERSIONS EXT_GROUPS "00330007000500180001ff" EXT_MODES EXT_PSK, 0, 0);
}

static void test_parser_rejects(void **state)
{
	(void)state;
	/* Duplicate extension. */
	expect_ch(EXT_VERSIONS EXT_VERSIONS EXT_GROUPS EXT_SHARE_X25519 EXT_MODES EXT_PSK,
		  -EINVAL, TLS13_ALERT_ILLEGAL_PARAMETER);
	/* pre_shared_key not last. */
	expect_ch(EXT_VERSIONS EXT_GROUPS EXT_SHARE_X25519 EXT_PSK EXT_MODES, -EINVAL,
		  TLS13_ALERT_ILLEGAL_PARAMETER);
	/* No supported_versions, or without 0x0304: TLS 1.2. */
	expect_ch(EXT_GROUPS EXT_SHARE_X25519 EXT_MODES EXT_PSK, -EPROTONOSUPPORT,
		  TLS13_ALERT_PROTOCOL_VERSION);
	expect_ch("002b0003020303" EXT_GROUPS EXT_SHARE_X25519 EXT_MODES EXT_PSK,
		  -EPROTONOSUPPORT, TLS13_ALERT_PROTOCOL_VERSION);
	/* Odd-length version list. */
	expect_ch("002b000403030401" EXT_GROUPS EXT_SHARE_X25519 EXT_MODES EXT_PSK, -EBADMSG,
		  TLS13_ALERT_DECODE_ERROR);
	/* pre_shared_key without psk_key_exchange_modes; supported_groups without key_share. */
	expect_ch(EXT_VERSIONS EXT_GROUPS EXT_SHARE_X25519 EXT_PSK, -EPROTO,
		  TLS13_ALERT_MISSING_EXTENSION);
	expect_ch(EXT_VERSIONS EXT_GROUPS EXT_MODES EXT_PSK, -EPROTO,
		  TLS13_ALERT_MISSING_EXTENSION);
	/* A cookie without a HelloRetryRequest. */
	expect_ch(EXT_VERSIONS "002c000400020101" EXT_GROUPS EXT_SHARE_X25519 EXT_MODES EXT_PSK,
		  -EINVAL, TLS13_ALERT_ILLEGAL_PARAMETER);
	/* x25519 share of 31 bytes; two shares for one group; P-256 not uncompressed. */
	expect_ch(EXT_VERSIONS EXT_GROUPS "003300250023001d001f" Z16
		  "010101010101010101010101010101" EXT_MODES EXT_PSK, -EINVAL,
		  TLS13_ALERT_ILLEGAL_PARAMETER);
	expect_ch(EXT_VERSIONS EXT_GROUPS "0033000e000c00180002aaaa00180002bbbb" EXT_MODES EXT_PSK,
		  -EINVAL, TLS13_ALERT_ILLEGAL_PARAMETER);
	expect_ch(EXT_VERSIONS EXT_GROUPS "003300080006001700020201" EXT_MODES EXT_PSK, -EINVAL,
		  TLS13_ALERT_ILLEGAL_PARAMETER);
	/* Two identities, one binder. */
	expect_ch(EXT_VERSIONS EXT_GROUPS EXT_SHARE_X25519 EXT_MODES
		  "00290047" "0012" "000361626300000000" "000364656600000000" "003130" Z48, -EINVAL,
		  TLS13_ALERT_ILLEGAL_PARAMETER);
	/* A 31-byte binder; an empty identity; a binders vector shorter than its contents. */
	expect_ch(EXT_VERSIONS EXT_GROUPS EXT_SHARE_X25519 EXT_MODES
		  "0029002d0009000361626300000000" "0020" "1f" Z16 "000000000000000000000000000000",
		  -EBADMSG,
		  TLS13_ALERT_DECODE_ERROR);
	expect_ch(EXT_VERSIONS EXT_GROUPS EXT_SHARE_X25519 EXT_MODES
		  "0029003b" "0006000000000000" "003130" Z48, -EBADMSG,
		  TLS13_ALERT_DECODE_ERROR);
	expect_ch(EXT_VERSIONS EXT_GROUPS EXT_SHARE_X25519 EXT_MODES
		  "0029003e" "0009000361626300000000" "003230" Z48, -EBADMSG,
		  TLS13_ALERT_DECODE_ERROR);
	/* early_data must be empty. */
	expect_ch(EXT_VERSIONS "002a000100" EXT_GROUPS EXT_SHARE_X25519 EXT_MODES EXT_PSK,
		  -EBADMSG, TLS13_ALERT_DECODE_ERROR);
	/* An extension longer than the block. */
	expect_ch(EXT_VERSIONS "fe0000ff00", -EBADMSG, TLS13_ALERT_DECODE_ERROR);
}

static void test_parser_legacy_fields(void **state)
{
	u8 msg[4096], alert;
	struct tls13_ch_info ch;
	size_t len;

	(void)state;
	len = build_ch(GOOD, msg, sizeof(msg));
	msg[4 + 1] = 1; /* legacy_version 0x0301 */
	assert_int_equal(tls13_server_parse_client_hello(msg, len, &ch, &alert), -EPROTONOSUPPORT);
	assert_int_equal(alert, TLS13_ALERT_PROTOCOL_VERSION);
	msg[4 + 1] = 3;
	msg[4 + 2 + 32 + 1 + 6 + 1] = 1; /* compression method 1 */
	assert_int_equal(tls13_server_parse_client_hello(msg, len, &ch, &alert), -EINVAL);
	assert_int_equal(alert, TLS13_ALERT_ILLEGAL_PARAMETER);
	msg[4 + 2 + 32 + 1 + 6 + 1] = 0;
	msg[4 + 2 + 32] = 33; /* session id longer than 32 */
	assert_true(tls13_server_parse_client_hello(msg, len, &ch, &alert) < 0);
	msg[4 + 2 + 32] = 0;
	msg[0] = TLS13_HS_SERVER_HELLO;
	assert_int_equal(tls13_server_parse_client_hello(msg, len, &ch, &alert), -EBADMSG);
}

/* ---- record layer and flow -------------------------------------------------------- */

/* The core client's ClientHello record for the SHA-384 identity. */
static size_t client_hello(u8 *out, size_t cap, struct tls13_client **ret)
{
	size_t n;

	*ret = new_client(TLS13_SHA384, psk384, id384, sizeof(id384) - 1, false);
	assert_true(cap >= TLS13_CLIENT_OUT_MAX);
	assert_int_equal(tls13_client_start(*ret, out, cap, &n), 0);
	return n;
}

static void test_records(void **state)
{
	u8 rec[2 * TLS13_CLIENT_OUT_MAX], out[TLS13_SERVER_OUT_MAX], split[2 * TLS13_CLIENT_OUT_MAX];
	static const u8 ccs[] = { 20, 3, 3, 0, 1, 1 }, app[] = { 23, 3, 3, 0, 1, 0 };
	size_t n, used, o, body;
	struct tls13_client *c;
	struct tls13_server *s;

	(void)state;
	/* legacy_record_version 0x0301 on the ClientHello record is accepted (RFC 8446 5.1). */
	n = client_hello(rec, sizeof(rec), &c);
	rec[2] = 1;
	s = new_server(NULL);
	assert_int_equal(tls13_server_feed(s, rec, n, &used, out, sizeof(out), &o), 0);
	assert_true(o > 0);
	tls13_server_free(s);
	tls13_client_free(c);

	/* The ClientHello split over two records. */
	n = client_hello(rec, sizeof(rec), &c);
	body = n - 5;
	memcpy(split, rec, 5 + 10);
	tls13_put_u16(split + 3, 10);
	split[15] = 22, split[16] = 3, split[17] = 3;
	tls13_put_u16(split + 18, (u16)(body - 10));
	memcpy(split + 20, rec + 15, body - 10);
	s = new_server(NULL);
	assert_int_equal(tls13_server_feed(s, split, n + 5, &used, out, sizeof(out), &o), 0);
	assert_int_equal(used, n + 5);
	assert_true(o > 0);
	tls13_server_free(s);

	/* Bytes after the ClientHello in its record. */
	memcpy(split, rec, n);
	split[n] = 0;
	tls13_put_u16(split + 3, (u16)(body + 1));
	s = new_server(NULL);
	assert_int_equal(tls13_server_feed(s, split, n + 1, &used, out, sizeof(out), &o), -EPROTO);
	assert_int_equal(tls13_server_alert_sent(s), TLS13_ALERT_UNEXPECTED_MESSAGE);
	/* The alert is a plaintext record: no keys yet. */
	assert_int_equal(o, 7);
	assert_int_equal(out[0], TLS13_CT_ALERT);
	assert_int_equal(out[6], TLS13_ALERT_UNEXPECTED_MESSAGE);
	tls13_server_free(s);
	tls13_client_free(c);

	/* CCS or application data before the ClientHello; an unknown record type; an
	 * oversized record header. */
	s = new_server(NULL);
	assert_int_equal(tls13_server_feed(s, ccs, sizeof(ccs), &used, out, sizeof(out), &o),
			 -EPROTO);
	tls13_server_free(s);
	s = new_server(NULL);
	assert_int_equal(tls13_server_feed(s, app, sizeof(app), &used, out, sizeof(out), &o),
			 -EPROTO);
	tls13_server_free(s);
	s = new_server(NULL);
	assert_int_equal(tls13_server_feed(s, (const u8[]){ 99, 3, 3, 0, 1, 0 }, 6, &used, out,
					   sizeof(out), &o), -EPROTO);
	tls13_server_free(s);
	s = new_server(NULL);
	assert_int_equal(tls13_server_feed(s, (const u8[]){ 22, 3, 3, 0x40, 1 }, 5, &used, out,
					   sizeof(out), &o), -EMSGSIZE);
	assert_int_equal(tls13_server_alert_sent(s), TLS13_ALERT_RECORD_OVERFLOW);
	tls13_server_free(s);
	/* Another handshake message first. */
	s = new_server(NULL);
	assert_int_equal(tls13_server_feed(s, (const u8[]){ 22, 3, 3, 0, 4, 2, 0, 0, 0 }, 9, &used,
					   out, sizeof(out), &o), -EPROTO);
	tls13_server_free(s);
	/* An alert from the client ends it. */
	s = new_server(NULL);
	assert_int_equal(tls13_server_feed(s, (const u8[]){ 21, 3, 3, 0, 2, 2, 40 }, 7, &used,
					   out, sizeof(out), &o), -ECONNABORTED);
	assert_int_equal(tls13_server_alert_received(s), 40);
	assert_int_equal(o, 0);
	tls13_server_free(s);
}

/* The compatibility CCS before the client Finished is dropped once; a second is not. */
static void test_ccs(void **state)
{
	u8 ch[TLS13_CLIENT_OUT_MAX], sflight[TLS13_SERVER_OUT_MAX], cout[TLS13_CLIENT_OUT_MAX];
	u8 two[TLS13_CLIENT_OUT_MAX + 12];
	static const u8 ccs[] = { 20, 3, 3, 0, 1, 1 };
	size_t ch_len, sf_len, co_len, used;
	struct tls13_client *c;
	struct tls13_server *s;

	(void)state;
	for (int twice = 0; twice < 2; twice++) {
		c = new_client(TLS13_SHA256, psk256, id256, sizeof(id256) - 1, false);
		s = new_server(NULL);
		assert_int_equal(tls13_client_start(c, ch, sizeof(ch), &ch_len), 0);
		assert_int_equal(tls13_server_feed(s, ch, ch_len, &used, sflight, sizeof(sflight),
						   &sf_len), 0);
		assert_int_equal(tls13_client_feed(c, sflight, sf_len, &used, cout, sizeof(cout),
						   &co_len), TLS13_CLIENT_DONE);
		memcpy(two, ccs, 6);
		memcpy(two + 6, ccs, 6);
		memcpy(two + 6 + 6 * twice, cout, co_len);
		assert_int_equal(tls13_server_feed(s, two, 6 + 6 * twice + co_len, &used, sflight,
						   sizeof(sflight), &sf_len),
				 twice ? -EPROTO : TLS13_CLIENT_DONE);
		tls13_client_free(c);
		tls13_server_free(s);
	}
}

/* A ClientHello whose only share is P-256, built and bound by hand: the server answers
 * with a P-256 share and the binder, computed as the client core does, verifies. */
static void test_p256_only(void **state)
{
	struct tls13_ecdh *e = NULL;
	u8 pub[TLS13_MAX_PUBLIC], random[32] = { 7 }, msg[2048], rec[2100], out[TLS13_SERVER_OUT_MAX];
	u8 bk[TLS13_MAX_HASH], th[TLS13_MAX_HASH];
	static const u16 groups[] = { TLS13_GROUP_P256 };
	struct tls13_key_share share = { .group = TLS13_GROUP_P256 };
	struct tls13_client_hello h = {
		.random = random,
		.cipher_suite = TLS13_AES256_GCM_SHA384,
		.groups = groups,
		.n_groups = 1,
		.shares = &share,
		.n_shares = 1,
		.identity = id384,
		.identity_len = sizeof(id384) - 1,
		.binder_len = 48,
	};
	struct tls13_ks ks;
	size_t len, trunc, rl, used, o;
	struct tls13_server *s;

	(void)state;
	assert_int_equal(tls13_ecdh_new(TLS13_GROUP_P256, NULL, &e), 0);
	assert_int_equal(tls13_ecdh_public(e, pub, sizeof(pub), &share.pub_len), 0);
	share.pub = pub;
	assert_int_equal(tls13_msg_build_client_hello(&h, msg, sizeof(msg), &len, &trunc), 0);
	assert_int_equal(tls13_ks_init(&ks, TLS13_SHA384, psk384, 48), 0);
	assert_int_equal(tls13_ks_binder_key(&ks, true, bk), 0);
	assert_int_equal(tls13_transcript_hash(TLS13_SHA384, msg, trunc, th), 0);
	assert_int_equal(tls13_ks_finished(TLS13_SHA384, bk, th, msg + len - 48), 0);
	assert_int_equal(tls13_record_write_plain(TLS13_CT_HANDSHAKE, msg, len, rec, sizeof(rec),
						  &rl), 0);
	s = new_server(NULL);
	assert_int_equal(tls13_server_feed(s, rec, rl, &used, out, sizeof(out), &o), 0);
	/* The ServerHello's key_share: group 0x0017, 65 bytes. */
	assert_true(o > 100);
	assert_non_null(memmem(out, o, "\x00\x33\x00\x45\x00\x17\x00\x41\x04", 9));
	tls13_server_free(s);

	/* No usable share at all: handshake_failure (no HelloRetryRequest). */
	share.group = 0x0018;
	assert_int_equal(tls13_msg_build_client_hello(&h, msg, sizeof(msg), &len, &trunc), 0);
	assert_int_equal(tls13_transcript_hash(TLS13_SHA384, msg, trunc, th), 0);
	assert_int_equal(tls13_ks_finished(TLS13_SHA384, bk, th, msg + len - 48), 0);
	assert_int_equal(tls13_record_write_plain(TLS13_CT_HANDSHAKE, msg, len, rec, sizeof(rec),
						  &rl), 0);
	s = new_server(NULL);
	assert_int_equal(tls13_server_feed(s, rec, rl, &used, out, sizeof(out), &o), -EOPNOTSUPP);
	assert_int_equal(tls13_server_alert_sent(s), TLS13_ALERT_HANDSHAKE_FAILURE);
	tls13_server_free(s);
	tls13_ks_wipe(&ks);
	tls13_ecdh_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_sha384),
		cmocka_unit_test(test_handshake_sha256),
		cmocka_unit_test(test_wrong_psk),
		cmocka_unit_test(test_unknown_identity),
		cmocka_unit_test(test_suite_not_offered),
		cmocka_unit_test(test_bad_client_finished),
		cmocka_unit_test(test_parser_golden),
		cmocka_unit_test(test_parser_rejects),
		cmocka_unit_test(test_parser_legacy_fields),
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_ccs),
		cmocka_unit_test(test_p256_only),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
