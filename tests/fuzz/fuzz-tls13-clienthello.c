/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz keyd-handshaked's TLS 1.3 PSK server (keyd/handshake/tls13-server.c) with what a
 * client can send. The first input byte picks the mode:
 *
 *   0: the rest is a ClientHello body, parsed by tls13_server_parse_client_hello() alone
 *      (the handshake header is added, so every input reaches the parser's fields);
 *   1: the rest is the client's byte stream, fed to a server in chunks of varying size
 *      (record layer, reassembly, CCS and alerts, the parser, the lookup);
 *   2: the rest is a ClientHello body whose first binder, when it parses, is recomputed
 *      with the server's PSK, so the flow goes past the binder check into the key share,
 *      the ServerHello and the protected flight.
 *
 * The lookup knows every identity (SHA-384 key, or SHA-256 for identities of odd length).
 * Invariants: the server never completes (no valid client Finished can be guessed), never
 * consumes more than it is given, never writes more than TLS13_SERVER_OUT_MAX, and the
 * parser's truncated length and pointers stay inside the message.
 * FUZZ_TLS13_SEEDS=DIR writes seed inputs made from the core client's ClientHello.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls13-server.h"
#include "tls13_client.h"
#include "tls13_msg.h"
#include "tls13_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static const u8 fuzz_psk[48] = { 0x42, 0x17 };
static const u8 fuzz_server_priv[32] = { 0x55, 0x02 };
static const u8 fuzz_random[32] = { 0x01 };

static int fuzz_lookup(void *userdata, const u8 *identity, size_t len,
		       enum tls13_hash_alg *ret_hash, u8 *psk, size_t *ret_psk_len)
{
	(void)userdata;
	(void)identity;
	*ret_hash = len % 2 ? TLS13_SHA256 : TLS13_SHA384;
	*ret_psk_len = tls13_hash_len(*ret_hash);
	memcpy(psk, fuzz_psk, *ret_psk_len);
	return 1;
}

static struct tls13_server *fuzz_server(void)
{
	struct tls13_server_config cfg = {
		.lookup = fuzz_lookup,
		.fixed_random = fuzz_random,
		.fixed_x25519 = fuzz_server_priv,
		.fixed_p256 = fuzz_server_priv,
	};
	struct tls13_server *s = NULL;

	if (tls13_server_new(&cfg, &s) < 0)
		abort();
	return s;
}

static u8 msg[TLS13_HS_HEADER + TLS13_SERVER_MAX_CH];
static u8 rec[2 * TLS13_RECORD_HEADER + TLS13_HS_HEADER + TLS13_SERVER_MAX_CH];
static u8 out[TLS13_SERVER_OUT_MAX];

static size_t wrap_body(const uint8_t *data, size_t size)
{
	if (size > TLS13_SERVER_MAX_CH)
		size = TLS13_SERVER_MAX_CH;
	msg[0] = TLS13_HS_CLIENT_HELLO;
	tls13_put_u24(msg + 1, (u32)size);
	memcpy(msg + TLS13_HS_HEADER, data, size);
	return TLS13_HS_HEADER + size;
}

static void check_parse(size_t len)
{
	struct tls13_ch_info ch;
	u8 alert = 0;

	if (tls13_server_parse_client_hello(msg, len, &ch, &alert) < 0) {
		if (alert == 0)
			abort();
		return;
	}
	if (ch.n_offers > TLS13_SERVER_MAX_IDENTITIES)
		abort();
	if (ch.has_pre_shared_key &&
	    (ch.truncated_len >= len || ch.n_offers == 0 ||
	     ch.offers[0].binder + ch.offers[0].binder_len > msg + len))
		abort();
}

/* Feed the stream in chunks whose sizes come from the data itself. */
static void feed_stream(struct tls13_server *s, const u8 *in, size_t len)
{
	size_t done = 0, step = 1;

	while (done < len) {
		size_t n = len - done < step ? len - done : step, used = 0, o = 0;
		int r = tls13_server_feed(s, in + done, n, &used, out, sizeof(out), &o);

		if (used > n || o > sizeof(out) || r == TLS13_CLIENT_DONE)
			abort();
		if (r < 0)
			return;
		done += used;
		step = (step * 7 + in[done - 1 < len ? done - 1 : 0]) % 600 + 1;
	}
}

static void fuzz_bound(size_t len)
{
	struct tls13_ch_info ch;
	enum tls13_hash_alg hash;
	u8 alert, bk[TLS13_MAX_HASH], th[TLS13_MAX_HASH];
	struct tls13_ks ks;
	struct tls13_server *s;
	size_t rl = 0;

	if (tls13_server_parse_client_hello(msg, len, &ch, &alert) == 0 && ch.n_offers > 0) {
		hash = ch.offers[0].identity_len % 2 ? TLS13_SHA256 : TLS13_SHA384;
		if (ch.offers[0].binder_len == tls13_hash_len(hash) &&
		    tls13_ks_init(&ks, hash, fuzz_psk, tls13_hash_len(hash)) == 0 &&
		    tls13_ks_binder_key(&ks, true, bk) == 0 &&
		    tls13_transcript_hash(hash, msg, ch.truncated_len, th) == 0)
			tls13_ks_finished(hash, bk, th, (u8 *)ch.offers[0].binder);
		tls13_ks_wipe(&ks);
	}
	if (len > TLS13_MAX_PLAINTEXT) {
		/* Two records. */
		size_t first = TLS13_MAX_PLAINTEXT;

		tls13_record_write_plain(TLS13_CT_HANDSHAKE, msg, first, rec, sizeof(rec), &rl);
		tls13_record_write_plain(TLS13_CT_HANDSHAKE, msg + first, len - first, rec + rl,
					 sizeof(rec) - rl, &first);
		rl += first;
	} else if (tls13_record_write_plain(TLS13_CT_HANDSHAKE, msg, len, rec, sizeof(rec),
					    &rl) < 0) {
		return;
	}
	s = fuzz_server();
	feed_stream(s, rec, rl);
	tls13_server_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tls13_server *s;

	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		check_parse(wrap_body(data + 1, size - 1));
		break;
	case 1:
		s = fuzz_server();
		feed_stream(s, data + 1, size - 1);
		tls13_server_free(s);
		break;
	default:
		fuzz_bound(wrap_body(data + 1, size - 1));
		break;
	}
	return 0;
}

/* Seeds: the core client's ClientHello (SHA-384 and SHA-256, with and without a P-256
 * share) in each mode. */
static void write_seed(const char *dir, const char *name, u8 mode, const u8 *p, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f)
		return;
	fputc(mode, f);
	fwrite(p, 1, n, f);
	fclose(f);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const u8 id[] = "NVMe1R02 nqn.fuzz:host nqn.fuzz:subsys";
	const char *dir = getenv("FUZZ_TLS13_SEEDS");
	u8 ch[TLS13_CLIENT_OUT_MAX];
	char name[64];

	(void)argc;
	(void)argv;
	if (!dir)
		return 0;
	for (int v = 0; v < 4; v++) {
		struct tls13_client_config cfg = {
			.hash = v & 1 ? TLS13_SHA256 : TLS13_SHA384,
			.psk = fuzz_psk,
			.psk_len = v & 1 ? 32 : 48,
			.identity = id,
			.identity_len = sizeof(id) - 1 - (v & 1), /* odd length: SHA-256 */
			.share_p256 = v & 2,
			.fixed_random = fuzz_random,
			.fixed_x25519 = fuzz_server_priv,
			.fixed_p256 = fuzz_server_priv,
		};
		struct tls13_client *c = NULL;
		size_t n = 0;

		if (tls13_client_new(&cfg, &c) < 0 || tls13_client_start(c, ch, sizeof(ch), &n) < 0)
			abort();
		snprintf(name, sizeof(name), "body-%d", v);
		write_seed(dir, name, 0, ch + 9, n - 9);
		snprintf(name, sizeof(name), "stream-%d", v);
		write_seed(dir, name, 1, ch, n);
		snprintf(name, sizeof(name), "bound-%d", v);
		write_seed(dir, name, 2, ch + 9, n - 9);
		tls13_client_free(c);
	}
	return 0;
}
