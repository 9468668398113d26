/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for the in-kernel TLS 1.3 PSK client core
 * (kernel-patches/tls13-psk), built in userspace on the OpenSSL backend.
 *
 * Key schedule values are those of RFC 8448 "Example Handshake Traces for
 * TLS 1.3": section 3 (Simple 1-RTT Handshake, no PSK) and section 4
 * (Resumed 0-RTT Handshake, a PSK handshake with x25519). Section 4 uses a
 * resumption PSK, so its binder key has the label "res binder"; the core
 * uses "ext binder" for NVMe's external PSKs and both go through the same
 * code (tls13_ks_binder_key).
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

#include "server_sim.h"
#include "tls13_client.h"
#include "tls13_ks.h"
#include "tls13_msg.h"
#include "tls13_record.h"
#include "vectors-tls13.h"

/* Decode hex (whitespace ignored) into a static-size buffer. */
static size_t unhex(const char *s, u8 *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;

	for (; *s; s++) {
		int v;

		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else
			continue;
		if (hi < 0) {
			hi = v;
			continue;
		}
		assert_true(n < cap);
		out[n++] = (u8)(hi << 4 | v);
		hi = -1;
	}
	assert_int_equal(hi, -1);
	return n;
}

#define assert_hex(got, len, want)                                                                \
	do {                                                                                       \
		u8 want_[256];                                                                     \
		size_t wn_ = unhex(want, want_, sizeof(want_));                                    \
		assert_int_equal((len), wn_);                                                      \
		assert_memory_equal((got), want_, wn_);                                            \
	} while (0)

/* ---- RFC 8448 section 3: Simple 1-RTT Handshake (PSK = 0) -------------- */

#define S3_CLIENT_PRIV "49af42ba7f7994852d713ef2784bcbcaa7911de26adc5642cb634540e7ea5005"
#define S3_SERVER_PUB "c9828876112095fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f"
#define S3_CLIENT_HELLO                                                                            \
	"010000c00303cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece70000061301"   \
	"13031302010000910000000b0009000006736572766572ff01000100000a00140012001d00170018001901"   \
	"00010101020103010400230000003300260024001d002099381de560e4bd43d23d8e435a7dbafeb3c06e51"   \
	"c13cae4d5413691e529aaf2c002b0003020304000d0020001e040305030603020308040805080604010501"   \
	"060102010402050206020202002d00020101001c00024001"
#define S3_SERVER_HELLO                                                                            \
	"020000560303a6af06a4121860dc5e6e60249cd34c95930c8ac5cb1434dac155772ed3e269280013010000"   \
	"2e00330024001d0020c9828876112095fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f002b"   \
	"00020304"

static void test_rfc8448_s3_key_schedule(void **state)
{
	static const u8 zero_psk[32];
	u8 priv[32], pub[32], dhe[32], msgs[512], th[32], secret[32], key[16], iv[12];
	struct tls13_ecdh *e = NULL;
	struct tls13_ks ks;
	size_t n, dn;

	(void)state;
	/* RFC 8448 3, {server} extract secret "early": IKM 32 zero octets. */
	assert_int_equal(tls13_ks_init(&ks, TLS13_SHA256, zero_psk, 32), 0);
	assert_hex(ks.early, 32, "33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a");
	/* RFC 8448 3, {server} derive secret for handshake "tls13 derived". */
	assert_int_equal(tls13_derive_secret(TLS13_SHA256, ks.early, "derived", NULL, secret), 0);
	assert_hex(secret, 32, "6f2615a108c702c5678f54fc9dbab69716c076189c48250cebeac3576c3611ba");

	/* RFC 8448 3, {client} create an ephemeral x25519 key pair; ECDHE with the server's. */
	unhex(S3_CLIENT_PRIV, priv, sizeof(priv));
	assert_int_equal(tls13_ecdh_new(TLS13_GROUP_X25519, priv, &e), 0);
	assert_int_equal(tls13_ecdh_public(e, pub, sizeof(pub), &n), 0);
	assert_hex(pub, n, "99381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae4d5413691e529aaf2c");
	unhex(S3_SERVER_PUB, pub, sizeof(pub));
	assert_int_equal(tls13_ecdh_derive(e, pub, 32, dhe, sizeof(dhe), &dn), 0);
	tls13_ecdh_free(e);
	assert_hex(dhe, dn, "8bd4054fb55b9d63fdfbacf9f04b9f0d35e6d63f537563efd46272900f89492d");

	/* RFC 8448 3, {server} extract secret "handshake" and "master". */
	assert_int_equal(tls13_ks_handshake(&ks, dhe, dn), 0);
	assert_hex(ks.handshake, 32,
		   "1dc826e93606aa6fdc0aadc12f741b01046aa6b99f691ed221a9f0ca043fbeac");
	assert_hex(ks.master, 32, "18df06843d13a08bf2a449844c5f8a478001bc4d4c627984d5a41da8d0402919");

	/* RFC 8448 3, {server} derive secret "tls13 c hs traffic" / "tls13 s hs traffic"
	 * over ClientHello..ServerHello. */
	n = unhex(S3_CLIENT_HELLO, msgs, sizeof(msgs));
	n += unhex(S3_SERVER_HELLO, msgs + n, sizeof(msgs) - n);
	assert_int_equal(tls13_transcript_hash(TLS13_SHA256, msgs, n, th), 0);
	assert_int_equal(tls13_ks_hs_traffic(&ks, false, th, secret), 0);
	assert_hex(secret, 32, "b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21");
	/* RFC 8448 3, {client} derive write traffic keys for handshake data. */
	assert_int_equal(tls13_ks_traffic_keys(TLS13_SHA256, secret, 16, key, iv), 0);
	assert_hex(key, 16, "dbfaa693d1762c5b666af5d950258d01");
	assert_hex(iv, 12, "5bd3c71b836e0b76bb73265f");
	assert_int_equal(tls13_ks_hs_traffic(&ks, true, th, secret), 0);
	assert_hex(secret, 32, "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38");
	/* RFC 8448 3, {server} derive write traffic keys for handshake data. */
	assert_int_equal(tls13_ks_traffic_keys(TLS13_SHA256, secret, 16, key, iv), 0);
	assert_hex(key, 16, "3fce516009c21727d0f2e4e86ee403bc");
	assert_hex(iv, 12, "5d313eb2671276ee13000b30");
	tls13_ks_wipe(&ks);
}

/* ---- RFC 8448 section 4: Resumed 0-RTT Handshake (PSK + x25519) -------- */

#define S4_PSK "4ecd0eb6ec3b4d87f5d6028f922ca4c5851a277fd41311c9e62d2c9492e1c4f3"
#define S4_CLIENT_PRIV "bff91188283846dd6a2134ef7180ca2b0b14fb10dce707b5098c0dddc813b2df"
#define S4_SERVER_PUB "121761ee42c333e1b9e77b60dd57c2053cd94512ab47f115e86eff50942cea31"
/* The ClientHello up to (not including) its binders list. */
#define S4_TRUNCATED_CLIENT_HELLO \
	"010001fc03031bc3ceb6bbe39cff938355b5a50adb6db21b7a6af649d7b4bc419d7876487d950000061301" \
	"13031302010001cd0000000b0009000006736572766572ff01000100000a00140012001d00170018001901" \
	"000101010201030104003300260024001d0020e4ffb68ac05f8d96c99da26698346c6be16482badddafe05" \
	"1a66b4f18d668f0b002a0000002b0003020304000d0020001e040305030603020308040805080604010501" \
	"060102010402050206020202002d00020101001c0002400100150057000000000000000000000000000000" \
	"00000000000000000000000000000000000000000000000000000000000000000000000000000000000000" \
	"0000000000000000000000000000000000000000000000000000000000002900dd00b800b22c035d829359" \
	"ee5ff7af4ec900000000262a6494dc486d2c8a34cb33fa90bf1b0070ad3c498883c9367c09a2be785abc55" \
	"cd226097a3a982117283f82a03a143efd3ff5dd36d64e861be7fd61d2827db279cce145077d454a3664d4e" \
	"6da4d29ee03725a6a4dafcd0fc67d2aea70529513e3da2677fa5906c5b3f7d8f92f228bda40dda721470f9" \
	"fbf297b5aea617646fac5c03272e970727c621a79141ef5f7de6505e5bfbc388e93343694093934ae4d357" \
	"fad6aacb"
#define S4_BINDER "3add4fb2d8fdf822a0ca3cf7678ef5e88dae990141c5924d57bb6fa31b9e5f9d"
#define S4_SERVER_HELLO                                                                            \
	"0200005c03033ccfd2dec890222763472ae8136777c9d7358777bb66e91ea5122495f559ea2d0013010000"   \
	"3400290002000000330024001d0020121761ee42c333e1b9e77b60dd57c2053cd94512ab47f115e86eff50"   \
	"942cea31002b00020304"
#define S4_ENCRYPTED_EXTENSIONS                                                                    \
	"080000280026000a00140012001d00170018001901000101010201030104001c0002400100000000002a0000"
#define S4_SERVER_FINISHED                                                                         \
	"1400002048d3e0e1b3d907c6acff145e16090388c77b05c050b634ab1a88bbd0dd1a34b2"
#define S4_END_OF_EARLY_DATA "05000000"

static void test_rfc8448_s4_psk_key_schedule(void **state)
{
	u8 psk[32], priv[32], pub[32], dhe[32], th[32], secret[32], bk[32], out[32];
	u8 key[16], iv[12], c_hs[32], s_hs[32];
	u8 *msgs = calloc(1, 2048);
	struct tls13_ecdh *e = NULL;
	struct tls13_ks ks;
	size_t n, ch_len, dn;

	(void)state;
	assert_non_null(msgs);
	unhex(S4_PSK, psk, sizeof(psk));
	/* RFC 8448 4, {client} extract secret "early". */
	assert_int_equal(tls13_ks_init(&ks, TLS13_SHA256, psk, 32), 0);
	assert_hex(ks.early, 32, "9b2188e9b2fc6d64d71dc329900e20bb41915000f678aa839cbb797cb7d8332c");
	/* RFC 8448 4, {client} calculate PSK binder: PRK = binder key ("res binder"). */
	assert_int_equal(tls13_ks_binder_key(&ks, false, bk), 0);
	assert_hex(bk, 32, "69fe131a3bbad5d63c64eebcc30e395b9d8107726a13d074e389dbc8a4e47256");
	/* RFC 8448 4, binder: expanded = HKDF-Expand-Label(PRK, "finished", "", 32). */
	assert_int_equal(tls13_hkdf_expand_label(TLS13_SHA256, bk, "finished", NULL, 0, out, 32),
			 0);
	assert_hex(out, 32, "5588673e72cb59c87d220caffe94f2dea9a3b1609f7d50e90a48227db9ed7eaa");
	/* RFC 8448 4, binder hash over the truncated ClientHello (477 octets). */
	ch_len = unhex(S4_TRUNCATED_CLIENT_HELLO, msgs, 2048);
	assert_int_equal(ch_len, 477);
	assert_int_equal(tls13_transcript_hash(TLS13_SHA256, msgs, ch_len, th), 0);
	assert_hex(th, 32, "63224b2e4573f2d3454ca84b9d009a04f6be9e05711a8396473aefa01e924a14");
	/* RFC 8448 4, binder value ("finished"). */
	assert_int_equal(tls13_ks_finished(TLS13_SHA256, bk, th, out), 0);
	assert_hex(out, 32, S4_BINDER);
	/* Complete the ClientHello: binders<33..2^16-1> = { 32, binder }. */
	msgs[ch_len++] = 0x00;
	msgs[ch_len++] = 0x21;
	msgs[ch_len++] = 0x20;
	ch_len += unhex(S4_BINDER, msgs + ch_len, 32);
	n = ch_len;

	/* RFC 8448 4, {server} derive secret for handshake "tls13 derived". */
	assert_int_equal(tls13_derive_secret(TLS13_SHA256, ks.early, "derived", NULL, secret), 0);
	assert_hex(secret, 32, "5f1790bbd82c5e7d376ed2e1e52f8e6038c9346db61b43be9a52f77ef3998e80");
	/* RFC 8448 4, ECDHE of the client's x25519 key and the server's share. */
	unhex(S4_CLIENT_PRIV, priv, sizeof(priv));
	assert_int_equal(tls13_ecdh_new(TLS13_GROUP_X25519, priv, &e), 0);
	assert_int_equal(tls13_ecdh_public(e, pub, sizeof(pub), &dn), 0);
	assert_hex(pub, dn, "e4ffb68ac05f8d96c99da26698346c6be16482badddafe051a66b4f18d668f0b");
	unhex(S4_SERVER_PUB, pub, sizeof(pub));
	assert_int_equal(tls13_ecdh_derive(e, pub, 32, dhe, sizeof(dhe), &dn), 0);
	tls13_ecdh_free(e);
	assert_hex(dhe, dn, "f44194756ff9ec9d25180635d66ea6824c6ab3bf179977be37f723570e7ccb2e");
	/* RFC 8448 4, {server} extract secret "handshake"; "tls13 derived"; "master". */
	assert_int_equal(tls13_ks_handshake(&ks, dhe, dn), 0);
	assert_hex(ks.handshake, 32,
		   "005cb112fd8eb4ccc623bb88a07c64b3ede1605363fc7d0df8c7ce4ff0fb4ae6");
	assert_int_equal(tls13_derive_secret(TLS13_SHA256, ks.handshake, "derived", NULL, secret),
			 0);
	assert_hex(secret, 32, "e2f16030251df0874ba19b9aba257610bc6d531c1dd206df0ca6e84ae2a26742");
	assert_hex(ks.master, 32, "e2d32d4ed66dd37897a0e80c84107503ce58bf8aad4cb55a5002d77ecb890ece");

	/* RFC 8448 4, "tls13 c hs traffic" / "tls13 s hs traffic" over ClientHello..ServerHello. */
	n += unhex(S4_SERVER_HELLO, msgs + n, 2048 - n);
	assert_int_equal(tls13_transcript_hash(TLS13_SHA256, msgs, n, th), 0);
	assert_int_equal(tls13_ks_hs_traffic(&ks, false, th, c_hs), 0);
	assert_hex(c_hs, 32, "2faac08f851d35fea3604fcb4de82dc62c9b164a70974d0462e27f1ab278700f");
	assert_int_equal(tls13_ks_hs_traffic(&ks, true, th, s_hs), 0);
	assert_hex(s_hs, 32, "fe927ae271312e8bf0275b581c54eef020450dc4ecffaa05a1a35d27518e7803");
	/* RFC 8448 4, {server} derive write traffic keys for handshake data. */
	assert_int_equal(tls13_ks_traffic_keys(TLS13_SHA256, s_hs, 16, key, iv), 0);
	assert_hex(key, 16, "27c6bdc0a3dcea39a47326d79bc9e4ee");
	assert_hex(iv, 12, "9569ecdd4d0536705e9ef725");
	/* RFC 8448 4, {client} derive write traffic keys for handshake data. */
	assert_int_equal(tls13_ks_traffic_keys(TLS13_SHA256, c_hs, 16, key, iv), 0);
	assert_hex(key, 16, "b1530806f4adfeac83f1413032bbfa82");
	assert_hex(iv, 12, "eb50c16be7654abf99dd06d9");

	/* RFC 8448 4, {server} calculate finished "tls13 finished" over ..EncryptedExtensions. */
	n += unhex(S4_ENCRYPTED_EXTENSIONS, msgs + n, 2048 - n);
	assert_int_equal(tls13_transcript_hash(TLS13_SHA256, msgs, n, th), 0);
	assert_int_equal(tls13_ks_finished(TLS13_SHA256, s_hs, th, out), 0);
	assert_hex(out, 32, "48d3e0e1b3d907c6acff145e16090388c77b05c050b634ab1a88bbd0dd1a34b2");

	/* RFC 8448 4, "tls13 c ap traffic" / "tls13 s ap traffic" over ..server Finished. */
	n += unhex(S4_SERVER_FINISHED, msgs + n, 2048 - n);
	assert_int_equal(tls13_transcript_hash(TLS13_SHA256, msgs, n, th), 0);
	assert_int_equal(tls13_ks_ap_traffic(&ks, false, th, secret), 0);
	assert_hex(secret, 32, "2abbf2b8e381d23dbebe1dd2a7d16a8bf484cb4950d23fb7fb7fa8547062d9a1");
	/* RFC 8448 4, {client} derive write traffic keys for application data. */
	assert_int_equal(tls13_ks_traffic_keys(TLS13_SHA256, secret, 16, key, iv), 0);
	assert_hex(key, 16, "3cf122f301c6358ca7989553250efd72");
	assert_hex(iv, 12, "ab1aec26aa78b8fc1176b9ac");
	assert_int_equal(tls13_ks_ap_traffic(&ks, true, th, secret), 0);
	assert_hex(secret, 32, "cc21f1bf8feb7dd5fa505bd9c4b468a9984d554a993dc49e6d285598fb672691");
	/* RFC 8448 4, {server} derive write traffic keys for application data. */
	assert_int_equal(tls13_ks_traffic_keys(TLS13_SHA256, secret, 16, key, iv), 0);
	assert_hex(key, 16, "e857c690a34c5a9129d833619684f95e");
	assert_hex(iv, 12, "0685d6b561aab9ef1013faf9");

	/* RFC 8448 4, {client} calculate finished "tls13 finished" (after EndOfEarlyData,
	 * which this client never sends, but the computation is the same). */
	n += unhex(S4_END_OF_EARLY_DATA, msgs + n, 2048 - n);
	assert_int_equal(tls13_transcript_hash(TLS13_SHA256, msgs, n, th), 0);
	assert_int_equal(tls13_ks_finished(TLS13_SHA256, c_hs, th, out), 0);
	assert_hex(out, 32, "7230a9c952c25cd6138fc5e6628308c41c5335dd81b9f96bcea50fd32bda416d");

	/* The parser accepts the RFC's ServerHello (pre_shared_key, key_share, versions). */
	{
		struct tls13_server_hello sh;
		u8 sh_buf[128], alert = 0;
		size_t sn = unhex(S4_SERVER_HELLO, sh_buf, sizeof(sh_buf));

		assert_int_equal(tls13_msg_parse_server_hello(sh_buf + 4, sn - 4, &sh, &alert), 0);
		assert_false(sh.hrr);
		assert_int_equal(sh.cipher_suite, 0x1301);
		assert_true(sh.has_psk);
		assert_int_equal(sh.selected_identity, 0);
		assert_int_equal(sh.group, TLS13_GROUP_X25519);
		assert_int_equal(sh.share_len, 32);
		assert_memory_equal(sh.share, pub, 32);
	}
	tls13_ks_wipe(&ks);
	free(msgs);
}

/* RFC 8446 4.1.3: the HelloRetryRequest random is SHA-256("HelloRetryRequest"). */
static void test_hrr_random(void **state)
{
	u8 h[32];

	(void)state;
	assert_int_equal(tls13_transcript_hash(TLS13_SHA256, (const u8 *)"HelloRetryRequest", 17,
					       h), 0);
	assert_memory_equal(h, tls13_hrr_random, 32);
}

/* ---- the client against the test server --------------------------------- */

static const u8 test_identity[] = "NVMe0R01 nqn.test-host nqn.test-subsys";
static const u8 fixed_client_priv[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
static const u8 fixed_server_priv[32] = { 9, 8, 7, 6, 5, 4, 3, 2, 1 };
static const u8 fixed_random[32] = { 0xaa, 0xbb };

static struct tls13_client *new_client(enum tls13_hash_alg hash, const u8 *psk)
{
	struct tls13_client_config cfg = {
		.hash = hash,
		.psk = psk,
		.psk_len = tls13_hash_len(hash),
		.identity = test_identity,
		.identity_len = sizeof(test_identity) - 1,
		.fixed_random = fixed_random,
		.fixed_x25519 = fixed_client_priv,
	};
	struct tls13_client *c = NULL;

	assert_int_equal(tls13_client_new(&cfg, &c), 0);
	return c;
}

static void run_handshake(enum tls13_hash_alg hash)
{
	u8 psk[48], ch[TLS13_CLIENT_OUT_MAX], out[TLS13_CLIENT_OUT_MAX], sh[256], flight[512];
	u8 th[TLS13_MAX_HASH], s_ap[TLS13_MAX_HASH], key[32], iv[12];
	size_t hlen = tls13_hash_len(hash), ch_len, out_len, sh_len, fl_len, used;
	struct tls13_traffic tx, rx;
	struct tls13_client *c;
	struct tls13_sim sim;

	memset(psk, 0x42, sizeof(psk));
	c = new_client(hash, psk);
	assert_int_equal(tls13_client_start(c, ch, sizeof(ch), &ch_len), 0);
	tls13_sim_init(&sim, hash, psk);
	assert_int_equal(tls13_sim_server_hello(&sim, ch, ch_len, fixed_server_priv, sh,
						sizeof(sh), &sh_len), 0);
	assert_true(sim.binder_ok);
	assert_int_equal(tls13_sim_ee_finished(&sim, flight, sizeof(flight), &fl_len), 0);

	/* Byte by byte for the ServerHello: reassembly across feeds. */
	for (size_t i = 0; i < sh_len; i++) {
		assert_int_equal(tls13_client_feed(c, sh + i, 1, &used, out, sizeof(out),
						   &out_len), 0);
		assert_int_equal(used, 1);
		assert_int_equal(out_len, 0);
	}
	assert_int_equal(tls13_client_want(c), 5);
	assert_int_equal(tls13_client_feed(c, flight, fl_len, &used, out, sizeof(out), &out_len),
			 TLS13_CLIENT_DONE);
	assert_int_equal(used, fl_len);
	assert_int_equal(out_len, 5 + 4 + hlen + 1 + 16);
	assert_int_equal(tls13_sim_check_client_finished(&sim, out, out_len), 0);

	/* The client's application keys are the server's (transcript through server Finished). */
	assert_int_equal(tls13_client_traffic(c, &tx, &rx), 0);
	assert_int_equal(tx.cipher_suite, hash == TLS13_SHA384 ? 0x1302 : 0x1301);
	assert_int_equal(tls13_transcript_hash(hash, sim.transcript, sim.transcript_len, th), 0);
	assert_int_equal(tls13_ks_ap_traffic(&sim.ks, true, th, s_ap), 0);
	assert_memory_equal(rx.secret, s_ap, hlen);
	assert_int_equal(tls13_ks_traffic_keys(hash, s_ap, rx.key_len, key, iv), 0);
	assert_memory_equal(rx.key, key, rx.key_len);
	assert_memory_equal(rx.iv, iv, 12);
	assert_int_equal(tls13_client_alert_sent(c), -1);
	tls13_sim_done(&sim);
	tls13_client_free(c);
}

static void test_handshake_sha256(void **state)
{
	(void)state;
	run_handshake(TLS13_SHA256);
}

static void test_handshake_sha384(void **state)
{
	(void)state;
	run_handshake(TLS13_SHA384);
}

/* The ClientHello: one suite, pre_shared_key last, binder at the end and correct. */
static void test_client_hello_layout(void **state)
{
	u8 psk[32], rec[TLS13_CLIENT_OUT_MAX], th[32], bk[32], binder[32];
	size_t len, p, end, last = 0, trunc = 0;
	struct tls13_client *c;
	struct tls13_ks ks;

	(void)state;
	memset(psk, 7, sizeof(psk));
	c = new_client(TLS13_SHA256, psk);
	assert_int_equal(tls13_client_start(c, rec, sizeof(rec), &len), 0);
	assert_int_equal(rec[0], TLS13_CT_HANDSHAKE);
	assert_int_equal(tls13_get_u16(rec + 3), len - 5);
	assert_int_equal(rec[5], TLS13_HS_CLIENT_HELLO);
	assert_int_equal(tls13_get_u24(rec + 6), len - 9);
	p = 9 + 2 + 32;
	assert_int_equal(rec[p], 0);			/* empty legacy_session_id */
	p++;
	assert_int_equal(tls13_get_u16(rec + p), 2);	/* one cipher suite */
	assert_int_equal(tls13_get_u16(rec + p + 2), 0x1301);
	p += 4 + 2;
	end = p + 2 + tls13_get_u16(rec + p);
	assert_int_equal(end, len);
	for (p += 2; p < end; p += 4 + tls13_get_u16(rec + p + 2)) {
		last = tls13_get_u16(rec + p);
		if (last == TLS13_EXT_PRE_SHARED_KEY)
			trunc = p + 4 + 2 + tls13_get_u16(rec + p + 4) - 5;
		if (last == TLS13_EXT_PSK_KEY_EXCHANGE_MODES)
			assert_memory_equal(rec + p + 4, "\x01\x01", 2);	/* psk_dhe_ke */
	}
	assert_int_equal(p, end);
	assert_int_equal(last, TLS13_EXT_PRE_SHARED_KEY);
	/* The binder: "ext binder" key over the truncated ClientHello. */
	assert_int_equal(tls13_ks_init(&ks, TLS13_SHA256, psk, 32), 0);
	assert_int_equal(tls13_ks_binder_key(&ks, true, bk), 0);
	assert_int_equal(tls13_transcript_hash(TLS13_SHA256, rec + 5, trunc, th), 0);
	assert_int_equal(tls13_ks_finished(TLS13_SHA256, bk, th, binder), 0);
	assert_memory_equal(rec + len - 32, binder, 32);
	assert_memory_equal(rec + len - 35, "\x00\x21\x20", 3);
	tls13_client_free(c);
}

/* ---- parser rejects ------------------------------------------------------ */

/* A ServerHello body with the given extensions block. */
static size_t make_sh(u8 *b, const u8 *random, const char *exts_hex)
{
	u8 ext[512];
	size_t en = unhex(exts_hex, ext, sizeof(ext)), n = 0;

	b[n++] = 3;
	b[n++] = 3;
	memcpy(b + n, random, 32);
	n += 32;
	b[n++] = 0;
	b[n++] = 0x13;
	b[n++] = 0x01;
	b[n++] = 0;
	tls13_put_u16(b + n, (u16)en);
	n += 2;
	memcpy(b + n, ext, en);
	return n + en;
}

#define SV "002b00020304"
#define KS "00330024001d0020" "0101010101010101010101010101010101010101010101010101010101010101"
#define PSK "002900020000"

static void expect_sh(const char *exts, bool hrr, int err, u8 want_alert)
{
	static const u8 rnd[32] = { 1 };
	struct tls13_server_hello sh;
	u8 b[600], alert = 0;
	size_t n = make_sh(b, hrr ? tls13_hrr_random : rnd, exts);

	assert_int_equal(tls13_msg_parse_server_hello(b, n, &sh, &alert), err);
	if (err)
		assert_int_equal(alert, want_alert);
	else
		assert_int_equal(sh.hrr, hrr);
}

static void test_server_hello_parser(void **state)
{
	struct tls13_server_hello sh;
	u8 b[600], alert;
	size_t n;

	(void)state;
	expect_sh(SV KS PSK, false, 0, 0);
	/* Duplicate extension. */
	expect_sh(SV SV KS PSK, false, -EINVAL, TLS13_ALERT_ILLEGAL_PARAMETER);
	/* Never offered (server_name, early_data, 0xfe00). */
	expect_sh(SV KS PSK "00000000", false, -EOPNOTSUPP, TLS13_ALERT_UNSUPPORTED_EXTENSION);
	expect_sh(SV KS PSK "fe000000", false, -EOPNOTSUPP, TLS13_ALERT_UNSUPPORTED_EXTENSION);
	/* Offered, but not allowed in ServerHello. */
	expect_sh(SV KS PSK "000a00020017", false, -EINVAL, TLS13_ALERT_ILLEGAL_PARAMETER);
	expect_sh(SV KS PSK "002c000400020101", false, -EINVAL, TLS13_ALERT_ILLEGAL_PARAMETER);
	/* TLS 1.2: no supported_versions, or another version in it. */
	expect_sh(KS PSK, false, -EPROTONOSUPPORT, TLS13_ALERT_PROTOCOL_VERSION);
	expect_sh("002b00020303" KS PSK, false, -EPROTONOSUPPORT, TLS13_ALERT_ILLEGAL_PARAMETER);
	/* Bad inner lengths. */
	expect_sh("002b0003030400" KS PSK, false, -EBADMSG, TLS13_ALERT_DECODE_ERROR);
	expect_sh(SV "00330024001d0021" "01", false, -EBADMSG, TLS13_ALERT_DECODE_ERROR);
	expect_sh(SV KS "0029000100", false, -EBADMSG, TLS13_ALERT_DECODE_ERROR);
	expect_sh(SV KS "00290002", false, -EBADMSG, TLS13_ALERT_DECODE_ERROR);
	/* HelloRetryRequest: selected_group, cookie; no pre_shared_key. */
	expect_sh(SV "003300020017", true, 0, 0);
	expect_sh(SV "003300020017" "002c000400020102", true, 0, 0);
	expect_sh(SV "003300020017" PSK, true, -EINVAL, TLS13_ALERT_ILLEGAL_PARAMETER);
	expect_sh(SV "0033000400170000", true, -EBADMSG, TLS13_ALERT_DECODE_ERROR);
	expect_sh(SV "002c00020000", true, -EBADMSG, TLS13_ALERT_DECODE_ERROR);

	/* Legacy fields: version, session id echo, compression; trailing bytes; truncation. */
	n = make_sh(b, (const u8[32]){ 1 }, SV KS PSK);
	b[1] = 4;
	assert_int_equal(tls13_msg_parse_server_hello(b, n, &sh, &alert), -EPROTONOSUPPORT);
	b[1] = 3;
	b[37] = 1;
	assert_int_equal(tls13_msg_parse_server_hello(b, n, &sh, &alert), -EINVAL);
	assert_int_equal(alert, TLS13_ALERT_ILLEGAL_PARAMETER);
	b[37] = 0;
	b[n] = 0;
	assert_int_equal(tls13_msg_parse_server_hello(b, n + 1, &sh, &alert), -EBADMSG);
	for (size_t i = 0; i < n; i++)
		assert_true(tls13_msg_parse_server_hello(b, i, &sh, &alert) < 0);
	assert_int_equal(tls13_msg_parse_server_hello(b, n, &sh, &alert), 0);
}

static void test_other_parsers(void **state)
{
	static const u8 ee_ok[] = { 0, 8, 0, 10, 0, 4, 0, 2, 0, 0x17 };
	static const u8 ee_empty[] = { 0, 0 };
	static const u8 ee_unknown[] = { 0, 4, 0, 16, 0, 0 };		/* ALPN: never offered */
	static const u8 ee_keyshare[] = { 0, 4, 0, 51, 0, 0 };
	static const u8 ee_dup[] = { 0, 16, 0, 10, 0, 4, 0, 2, 0, 0x17, 0, 10, 0, 4, 0, 2, 0, 0x17 };
	static const u8 ee_odd[] = { 0, 7, 0, 10, 0, 3, 0, 1, 0x17 };
	static const u8 vd[32] = { 5 };
	u8 hdr[5] = { 22, 3, 3, 0x40, 0x00 }, type, alert, lvl, desc;

	(void)state;
	assert_int_equal(tls13_msg_parse_encrypted_extensions(ee_ok, sizeof(ee_ok), &alert), 0);
	assert_int_equal(tls13_msg_parse_encrypted_extensions(ee_empty, 2, &alert), 0);
	assert_int_equal(tls13_msg_parse_encrypted_extensions(ee_unknown, 6, &alert), -EOPNOTSUPP);
	assert_int_equal(alert, TLS13_ALERT_UNSUPPORTED_EXTENSION);
	assert_int_equal(tls13_msg_parse_encrypted_extensions(ee_keyshare, 6, &alert), -EINVAL);
	assert_int_equal(alert, TLS13_ALERT_ILLEGAL_PARAMETER);
	assert_int_equal(tls13_msg_parse_encrypted_extensions(ee_dup, sizeof(ee_dup), &alert),
			 -EINVAL);
	assert_int_equal(tls13_msg_parse_encrypted_extensions(ee_odd, sizeof(ee_odd), &alert),
			 -EBADMSG);
	assert_int_equal(tls13_msg_parse_encrypted_extensions(ee_ok, 1, &alert), -EBADMSG);

	assert_int_equal(tls13_msg_check_finished(vd, 32, vd, 32, &alert), 0);
	assert_int_equal(tls13_msg_check_finished(vd, 31, vd, 32, &alert), -EBADMSG);
	assert_int_equal(alert, TLS13_ALERT_DECODE_ERROR);
	assert_int_equal(tls13_msg_check_finished(vd, 32, (const u8[32]){ 6 }, 32, &alert),
			 -EKEYREJECTED);
	assert_int_equal(alert, TLS13_ALERT_DECRYPT_ERROR);

	assert_int_equal(tls13_msg_parse_alert((const u8[]){ 2, 51 }, 2, &lvl, &desc, &alert), 0);
	assert_int_equal(desc, 51);
	assert_int_equal(tls13_msg_parse_alert((const u8[]){ 2, 51, 0 }, 3, &lvl, &desc, &alert),
			 -EBADMSG);
	assert_int_equal(tls13_msg_parse_alert((const u8[]){ 3, 51 }, 2, &lvl, &desc, &alert),
			 -EINVAL);

	/* Record headers: 2^14 plaintext ok, 2^14 + 1 not; 2^14 + 256 ciphertext ok. */
	assert_int_equal(tls13_record_check_header(hdr, &type), 16384);
	hdr[4] = 1;
	assert_int_equal(tls13_record_check_header(hdr, &type), -EMSGSIZE);
	hdr[0] = 23;
	hdr[3] = 0x41;
	hdr[4] = 0x00;
	assert_int_equal(tls13_record_check_header(hdr, &type), 16384 + 256);
	hdr[4] = 1;
	assert_int_equal(tls13_record_check_header(hdr, &type), -EMSGSIZE);
	hdr[3] = 0;
	hdr[4] = 0;
	assert_int_equal(tls13_record_check_header(hdr, &type), -EBADMSG);
	hdr[4] = 5;
	hdr[2] = 1;
	assert_int_equal(tls13_record_check_header(hdr, &type), -EBADMSG);
	hdr[2] = 3;
	hdr[0] = 24;
	assert_int_equal(tls13_record_check_header(hdr, &type), -EPROTO);
}

/* Record protection: round trip, tampering, padding, sequence numbers. */
static void test_record_layer(void **state)
{
	static const u8 secret[32] = { 3 };
	struct tls13_rec_key w = { 0 }, r = { 0 };
	u8 rec[128], *inner, type;
	size_t len, ilen;

	(void)state;
	assert_int_equal(tls13_rec_key_set(&w, TLS13_SHA256, secret, 16), 0);
	assert_int_equal(tls13_rec_key_set(&r, TLS13_SHA256, secret, 16), 0);
	assert_int_equal(tls13_record_seal(&w, 22, (const u8 *)"hello", 5, rec, sizeof(rec),
					   &len), 0);
	assert_int_equal(len, 5 + 5 + 1 + 16);
	assert_int_equal(tls13_record_open(&r, rec, len, &inner, &ilen, &type), 0);
	assert_int_equal(type, 22);
	assert_int_equal(ilen, 5);
	assert_memory_equal(inner, "hello", 5);
	/* Replayed record: wrong sequence number, tag fails. */
	assert_int_equal(tls13_record_seal(&w, 22, (const u8 *)"x", 1, rec, sizeof(rec), &len), 0);
	rec[7] ^= 1;
	assert_int_equal(tls13_record_open(&r, rec, len, &inner, &ilen, &type), -EBADMSG);
	tls13_rec_key_clear(&w);
	tls13_rec_key_clear(&r);
}

/* ---- the client state machine rejects ------------------------------------ */

static int feed_all(struct tls13_client *c, const u8 *in, size_t len, u8 *out, size_t *out_len)
{
	size_t used;

	return tls13_client_feed(c, in, len, &used, out, TLS13_CLIENT_OUT_MAX, out_len);
}

static void test_client_rejects(void **state)
{
	u8 psk[32], other[32], ch[TLS13_CLIENT_OUT_MAX], out[TLS13_CLIENT_OUT_MAX], sh[256];
	u8 rec[512];
	size_t ch_len, sh_len, out_len, len;
	struct tls13_client *c;
	struct tls13_sim sim;

	(void)state;
	memset(psk, 1, sizeof(psk));
	memset(other, 2, sizeof(other));

	/* A plaintext alert from the server: reported, nothing sent back. */
	c = new_client(TLS13_SHA256, psk);
	assert_int_equal(tls13_client_start(c, ch, sizeof(ch), &ch_len), 0);
	assert_int_equal(feed_all(c, (const u8[]){ 21, 3, 3, 0, 2, 2, 51 }, 7, out, &out_len),
			 -EKEYREJECTED);
	assert_int_equal(tls13_client_alert_received(c), 51);
	assert_int_equal(out_len, 0);
	/* Every later call returns the same error. */
	assert_int_equal(feed_all(c, (const u8[]){ 22 }, 1, out, &out_len), -EKEYREJECTED);
	tls13_client_free(c);

	/* Application data before keys, unknown record type, huge record: alerts in clear. */
	c = new_client(TLS13_SHA256, psk);
	assert_int_equal(tls13_client_start(c, ch, sizeof(ch), &ch_len), 0);
	assert_int_equal(feed_all(c, (const u8[]){ 23, 3, 3, 0, 1, 0 }, 6, out, &out_len),
			 -EPROTO);
	assert_int_equal(tls13_client_alert_sent(c), TLS13_ALERT_UNEXPECTED_MESSAGE);
	assert_int_equal(out_len, 7);
	assert_memory_equal(out, "\x15\x03\x03\x00\x02\x02\x0a", 7);
	tls13_client_free(c);

	c = new_client(TLS13_SHA256, psk);
	assert_int_equal(tls13_client_start(c, ch, sizeof(ch), &ch_len), 0);
	assert_int_equal(feed_all(c, (const u8[]){ 22, 3, 3, 0x40, 1 }, 5, out, &out_len),
			 -EMSGSIZE);
	assert_int_equal(tls13_client_alert_sent(c), TLS13_ALERT_RECORD_OVERFLOW);
	tls13_client_free(c);

	/* A server with another PSK: its handshake keys differ, so its first protected record
	 * fails to open (bad_record_mac, sent protected). */
	c = new_client(TLS13_SHA256, psk);
	assert_int_equal(tls13_client_start(c, ch, sizeof(ch), &ch_len), 0);
	tls13_sim_init(&sim, TLS13_SHA256, other);
	assert_int_equal(tls13_sim_server_hello(&sim, ch, ch_len, fixed_server_priv, sh,
						sizeof(sh), &sh_len), 0);
	assert_false(sim.binder_ok);
	assert_int_equal(feed_all(c, sh, sh_len, out, &out_len), 0);
	assert_int_equal(tls13_sim_ee_finished(&sim, rec, sizeof(rec), &len), 0);
	assert_int_equal(feed_all(c, rec, len, out, &out_len), -EBADMSG);
	assert_int_equal(tls13_client_alert_sent(c), TLS13_ALERT_BAD_RECORD_MAC);
	assert_int_equal(out[0], TLS13_CT_APPLICATION_DATA);
	tls13_sim_done(&sim);
	tls13_client_free(c);

	/* A Certificate after ServerHello (PSK servers send none): unexpected_message. */
	c = new_client(TLS13_SHA256, psk);
	assert_int_equal(tls13_client_start(c, ch, sizeof(ch), &ch_len), 0);
	tls13_sim_init(&sim, TLS13_SHA256, psk);
	assert_int_equal(tls13_sim_server_hello(&sim, ch, ch_len, fixed_server_priv, sh,
						sizeof(sh), &sh_len), 0);
	assert_int_equal(feed_all(c, sh, sh_len, out, &out_len), 0);
	assert_int_equal(tls13_sim_protect(&sim, 22, (const u8[]){ 11, 0, 0, 0 }, 4, false, rec,
					   sizeof(rec), &len), 0);
	assert_int_equal(feed_all(c, rec, len, out, &out_len), -EPROTO);
	assert_int_equal(tls13_client_alert_sent(c), TLS13_ALERT_UNEXPECTED_MESSAGE);
	tls13_sim_done(&sim);
	tls13_client_free(c);

	/* A wrong server Finished: decrypt_error. */
	c = new_client(TLS13_SHA256, psk);
	assert_int_equal(tls13_client_start(c, ch, sizeof(ch), &ch_len), 0);
	tls13_sim_init(&sim, TLS13_SHA256, psk);
	assert_int_equal(tls13_sim_server_hello(&sim, ch, ch_len, fixed_server_priv, sh,
						sizeof(sh), &sh_len), 0);
	assert_int_equal(feed_all(c, sh, sh_len, out, &out_len), 0);
	{
		u8 msgs[6 + 36] = { 8, 0, 0, 2, 0, 0, 20, 0, 0, 32 };

		assert_int_equal(tls13_sim_protect(&sim, 22, msgs, sizeof(msgs), false, rec,
						   sizeof(rec), &len), 0);
	}
	assert_int_equal(feed_all(c, rec, len, out, &out_len), -EKEYREJECTED);
	assert_int_equal(tls13_client_alert_sent(c), TLS13_ALERT_DECRYPT_ERROR);
	tls13_sim_done(&sim);
	tls13_client_free(c);
}

/* HelloRetryRequest: a new ClientHello with the asked-for share and the cookie; a second
 * HRR, or one asking for a share already sent, is refused. */
static void test_client_hrr(void **state)
{
	u8 psk[32], ch[TLS13_CLIENT_OUT_MAX], out[TLS13_CLIENT_OUT_MAX], rec[256], body[200];
	size_t ch_len, out_len, n;
	struct tls13_client *c;

	(void)state;
	memset(psk, 1, sizeof(psk));
	n = make_sh(body + 4, tls13_hrr_random, SV "003300020017" "002c0006000401020304");
	body[0] = 2;
	tls13_put_u24(body + 1, (u32)n);
	rec[0] = 22;
	rec[1] = 3;
	rec[2] = 3;
	tls13_put_u16(rec + 3, (u16)(n + 4));
	memcpy(rec + 5, body, n + 4);

	c = new_client(TLS13_SHA256, psk);
	assert_int_equal(tls13_client_start(c, ch, sizeof(ch), &ch_len), 0);
	assert_int_equal(feed_all(c, rec, n + 9, out, &out_len), 0);
	assert_true(tls13_client_had_hrr(c));
	assert_true(out_len > 9);
	assert_int_equal(out[5], TLS13_HS_CLIENT_HELLO);
	/* Same random as ClientHello1 (RFC 8446 4.1.2). */
	assert_memory_equal(out + 11, ch + 11, 32);
	/* The P-256 share (0x0017, 65 bytes, 0x04...) and the cookie are in it. */
	assert_non_null(memmem(out, out_len, "\x00\x17\x00\x41\x04", 5));
	assert_non_null(memmem(out, out_len, "\x00\x2c\x00\x06\x00\x04\x01\x02\x03\x04", 10));
	/* A second HelloRetryRequest. */
	assert_int_equal(feed_all(c, rec, n + 9, out, &out_len), -EPROTO);
	assert_int_equal(tls13_client_alert_sent(c), TLS13_ALERT_UNEXPECTED_MESSAGE);
	tls13_client_free(c);

	/* HRR for x25519, which the first ClientHello already carried. */
	n = make_sh(body + 4, tls13_hrr_random, SV "00330002001d");
	tls13_put_u24(body + 1, (u32)n);
	tls13_put_u16(rec + 3, (u16)(n + 4));
	memcpy(rec + 5, body, n + 4);
	c = new_client(TLS13_SHA256, psk);
	assert_int_equal(tls13_client_start(c, ch, sizeof(ch), &ch_len), 0);
	assert_int_equal(feed_all(c, rec, n + 9, out, &out_len), -EINVAL);
	assert_int_equal(tls13_client_alert_sent(c), TLS13_ALERT_ILLEGAL_PARAMETER);
	tls13_client_free(c);
}

/*
 * Flights of tests/tls13/tls13-hostile.c the tests above do not cover; the VM test
 * kernel-tls13-hostile runs every one 100 times against the kernel build.
 */
static void test_client_hostile(void **state)
{
	static const struct {
		const char *hex;
		int err;
		int alert;	/* the alert sent, -1 for none */
	} flights[] = {
		/* close_notify, then a record: the handshake ends at the alert, nothing is sent. */
		{ "15030300020100" "1603030006080000020000", -ECONNABORTED, -1 },
		/* EncryptedExtensions where ServerHello belongs. */
		{ "1603030006080000020000", -EPROTO, TLS13_ALERT_UNEXPECTED_MESSAGE },
		/* An empty record; a third compatibility CCS; a message longer than any allowed. */
		{ "1603030000", -EBADMSG, TLS13_ALERT_DECODE_ERROR },
		{ "140303000101" "140303000101" "140303000101", -EPROTO,
		  TLS13_ALERT_UNEXPECTED_MESSAGE },
		{ "1603030004" "02ffffff", -EMSGSIZE, TLS13_ALERT_DECODE_ERROR },
		/* Not TLS. */
		{ "485454502f312e31", -EPROTO, TLS13_ALERT_UNEXPECTED_MESSAGE },
	};
	u8 psk[32], ch[TLS13_CLIENT_OUT_MAX], out[TLS13_CLIENT_OUT_MAX], in[512], sh[256];
	size_t ch_len, out_len, n, sh_len, i;
	struct tls13_client *c;
	struct tls13_sim sim;

	(void)state;
	memset(psk, 1, sizeof(psk));
	for (i = 0; i < ARRAY_SIZE(flights); i++) {
		n = unhex(flights[i].hex, in, sizeof(in));
		c = new_client(TLS13_SHA256, psk);
		assert_int_equal(tls13_client_start(c, ch, sizeof(ch), &ch_len), 0);
		assert_int_equal(feed_all(c, in, n, out, &out_len), flights[i].err);
		assert_int_equal(tls13_client_alert_sent(c), flights[i].alert);
		if (flights[i].alert < 0) {
			assert_int_equal(out_len, 0);
		} else {
			assert_int_equal(out_len, 7);
			assert_int_equal(out[6], flights[i].alert);
		}
		tls13_client_free(c);
	}

	/* HelloRetryRequest for secp384r1, never offered: illegal_parameter, -EINVAL from the
	 * core, which the kernel glue reports as -EIO (it passed -EINVAL through before).
	 */
	n = make_sh(in + 9, tls13_hrr_random, SV "003300020018");
	in[5] = TLS13_HS_SERVER_HELLO;
	tls13_put_u24(in + 6, (u32)n);
	assert_int_equal(tls13_record_write_plain(TLS13_CT_HANDSHAKE, in + 5, n + 4, in,
						  sizeof(in), &n), 0);
	c = new_client(TLS13_SHA256, psk);
	assert_int_equal(tls13_client_start(c, ch, sizeof(ch), &ch_len), 0);
	assert_int_equal(feed_all(c, in, n, out, &out_len), -EINVAL);
	assert_int_equal(tls13_client_alert_sent(c), TLS13_ALERT_ILLEGAL_PARAMETER);
	tls13_client_free(c);

	/* A second ServerHello, in a record of its own and in the same record: after the
	 * first the keys changed, so unexpected_message goes out protected.
	 */
	for (i = 0; i < 2; i++) {
		c = new_client(TLS13_SHA256, psk);
		assert_int_equal(tls13_client_start(c, ch, sizeof(ch), &ch_len), 0);
		tls13_sim_init(&sim, TLS13_SHA256, psk);
		assert_int_equal(tls13_sim_server_hello(&sim, ch, ch_len, fixed_server_priv, sh,
							sizeof(sh), &sh_len), 0);
		if (i == 0) {
			assert_int_equal(feed_all(c, sh, sh_len, out, &out_len), 0);
			assert_int_equal(feed_all(c, sh, sh_len, out, &out_len), -EPROTO);
		} else {
			n = sh_len - TLS13_RECORD_HEADER;
			memcpy(in + TLS13_RECORD_HEADER, sh + TLS13_RECORD_HEADER, n);
			memcpy(in + TLS13_RECORD_HEADER + n, sh + TLS13_RECORD_HEADER, n);
			assert_int_equal(tls13_record_write_plain(TLS13_CT_HANDSHAKE,
								  in + TLS13_RECORD_HEADER, 2 * n,
								  in, sizeof(in), &n), 0);
			assert_int_equal(feed_all(c, in, n, out, &out_len), -EPROTO);
		}
		assert_int_equal(tls13_client_alert_sent(c), TLS13_ALERT_UNEXPECTED_MESSAGE);
		assert_int_equal(out[0], TLS13_CT_APPLICATION_DATA);
		tls13_sim_done(&sim);
		tls13_client_free(c);
	}
}

/* ---- handshakes captured with real servers ------------------------------ */

/* The fixed inputs tests/lib/tls13-client.c uses with --fixed-keys. */
static const u8 capture_random[32] = "keyd-tls13-capture-random-000001";
static const u8 capture_priv[32] = {
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e,
	0x1f, 0x20,
};

/* Replay each capture: the client must send exactly the captured bytes (ClientHello,
 * second ClientHello, Finished) and complete on the captured server bytes; a flipped
 * bit in the server's flight must make it fail. */
static int replay_capture(const struct tls13_capture *cap, long flip, bool *ret_done)
{
	u8 psk[48], out[TLS13_CLIENT_OUT_MAX];
	u8 *buf = malloc(8192);
	struct tls13_client_config cfg = {
		.hash = cap->hash,
		.psk = psk,
		.psk_len = unhex(cap->psk_hex, psk, sizeof(psk)),
		.identity = (const u8 *)cap->identity,
		.identity_len = strlen(cap->identity),
		.fixed_random = capture_random,
		.fixed_x25519 = capture_priv,
		.fixed_p256 = capture_priv,
	};
	struct tls13_client *c = NULL;
	unsigned int i, next_client = 1;
	size_t len, out_len, used;
	long pos = 0;
	int r = 0;

	assert_non_null(buf);
	*ret_done = false;
	assert_int_equal(tls13_client_new(&cfg, &c), 0);
	assert_int_equal(tls13_client_start(c, out, sizeof(out), &out_len), 0);
	assert_false(cap->steps[0].server);
	len = unhex(cap->steps[0].hex, buf, 8192);
	assert_int_equal(out_len, len);
	assert_memory_equal(out, buf, len);
	for (i = 1; i < cap->n_steps && r >= 0 && !*ret_done; i++) {
		size_t off = 0;

		if (!cap->steps[i].server)
			continue;
		len = unhex(cap->steps[i].hex, buf, 8192);
		if (flip >= pos && flip < pos + (long)len)
			buf[flip - pos] ^= 0x01;
		pos += (long)len;
		while (off < len) {
			r = tls13_client_feed(c, buf + off, len - off, &used, out, sizeof(out),
					      &out_len);
			off += used;
			if (r < 0)
				break;
			if (out_len && flip < 0) {
				u8 want[512];
				size_t wn;

				/* Our next output must be the captured next client step. */
				while (next_client < cap->n_steps && cap->steps[next_client].server)
					next_client++;
				assert_true(next_client < cap->n_steps);
				wn = unhex(cap->steps[next_client].hex, want, sizeof(want));
				assert_int_equal(out_len, wn);
				assert_memory_equal(out, want, wn);
				next_client++;
			}
			if (r == TLS13_CLIENT_DONE) {
				*ret_done = true;
				/* Nothing after the server's Finished belongs to the handshake. */
				assert_int_equal(off, len);
				break;
			}
			if (used == 0)
				break;
		}
	}
	tls13_client_free(c);
	explicit_bzero(psk, sizeof(psk));
	free(buf);
	return r;
}

static void test_captured_handshakes(void **state)
{
	unsigned int i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(tls13_captures); i++) {
		const struct tls13_capture *cap = &tls13_captures[i];
		long total = 0, flip;
		unsigned int k;
		bool done;

		print_message("capture: %s\n", cap->name);
		assert_int_equal(replay_capture(cap, -1, &done), TLS13_CLIENT_DONE);
		assert_true(done);
		for (k = 0; k < cap->n_steps; k++)
			if (cap->steps[k].server)
				total += (long)strlen(cap->steps[k].hex) / 2;
		/* Every bit flip in the server's bytes must stop the handshake (headers, the
		 * ServerHello, the AEAD-protected records: all are covered). A flip in the
		 * HRR's cookie or CCS may still complete only if the server would accept it;
		 * here nothing after the flip is recomputed, so nothing may complete. */
		for (flip = 0; flip < total; flip++) {
			int r = replay_capture(cap, flip, &done);

			assert_false(done);
			assert_true(r <= 0);
		}
	}
}

static void test_config_rejects(void **state)
{
	static const u8 psk[48];
	struct tls13_client_config cfg = {
		.hash = TLS13_SHA384, .psk = psk, .psk_len = 32,
		.identity = test_identity, .identity_len = 5,
	};
	struct tls13_client *c = NULL;

	(void)state;
	/* A 32-byte PSK cannot be a SHA-384 PSK (the suite follows the hash). */
	assert_int_equal(tls13_client_new(&cfg, &c), -EINVAL);
	cfg.psk_len = 48;
	cfg.identity_len = 0;
	assert_int_equal(tls13_client_new(&cfg, &c), -EINVAL);
	cfg.identity_len = TLS13_MAX_IDENTITY + 1;
	assert_int_equal(tls13_client_new(&cfg, &c), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc8448_s3_key_schedule),
		cmocka_unit_test(test_rfc8448_s4_psk_key_schedule),
		cmocka_unit_test(test_hrr_random),
		cmocka_unit_test(test_client_hello_layout),
		cmocka_unit_test(test_handshake_sha256),
		cmocka_unit_test(test_handshake_sha384),
		cmocka_unit_test(test_server_hello_parser),
		cmocka_unit_test(test_other_parsers),
		cmocka_unit_test(test_record_layer),
		cmocka_unit_test(test_client_rejects),
		cmocka_unit_test(test_client_hrr),
		cmocka_unit_test(test_client_hostile),
		cmocka_unit_test(test_captured_handshakes),
		cmocka_unit_test(test_config_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
