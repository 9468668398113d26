/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz the in-kernel TLS 1.3 PSK client (kernel-patches/tls13-psk) with
 * everything a server can send. The client has sent its ClientHello (fixed
 * PSK, random and x25519 key); the first input byte picks the mode:
 *
 *   0: the input is the server's byte stream as is, cut into feeds of
 *      varying size (record layer, plaintext ServerHello/HRR, alerts, CCS;
 *      AEAD records fail their tag);
 *   1: a valid ServerHello is fed first, then the input is a list of
 *      (inner type, length, bytes) that are sealed with the server
 *      handshake key, so the protected parsers are reached
 *      (EncryptedExtensions, Finished, alerts, fragmentation);
 *   2: a valid ServerHello, then the input as EncryptedExtensions body
 *      followed by a correct Finished, so the handshake can complete.
 *
 * Invariants checked: the client never reports success except in mode 2,
 * never consumes more than it is given, and never writes more than
 * TLS13_CLIENT_OUT_MAX. Set FUZZ_TLS13_SEEDS=DIR to write seed inputs.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_sim.h"
#include "tls13_client.h"
#include "tls13_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static const u8 fuzz_psk[32] = { 0x11, 0x22, 0x33 };
static const u8 fuzz_identity[] = "NVMe0R01 nqn.fuzz-host nqn.fuzz-subsys";
static const u8 fuzz_random[32] = { 0x01 };
static const u8 fuzz_client_priv[32] = { 0x77, 0x01 };
static const u8 fuzz_server_priv[32] = { 0x55, 0x02 };

static u8 out[TLS13_CLIENT_OUT_MAX];

static struct tls13_client *fuzz_client(u8 *ch, size_t *ch_len)
{
	struct tls13_client_config cfg = {
		.hash = TLS13_SHA256,
		.psk = fuzz_psk,
		.psk_len = 32,
		.identity = fuzz_identity,
		.identity_len = sizeof(fuzz_identity) - 1,
		.fixed_random = fuzz_random,
		.fixed_x25519 = fuzz_client_priv,
		.fixed_p256 = fuzz_client_priv,
	};
	struct tls13_client *c = NULL;

	if (tls13_client_new(&cfg, &c) < 0 || tls13_client_start(c, ch, TLS13_CLIENT_OUT_MAX,
								   ch_len) < 0)
		abort();
	return c;
}

/* Feed everything; returns the last result. */
static int feed(struct tls13_client *c, const u8 *p, size_t n, size_t chunk)
{
	int r = 0;

	while (n > 0) {
		size_t used = 0, out_len = 0, step = n < chunk ? n : chunk;

		r = tls13_client_feed(c, p, step, &used, out, sizeof(out), &out_len);
		if (used > step || out_len > sizeof(out))
			abort();
		if (r != 0)
			return r;
		/* Stopped early to let a second ClientHello go out: go on after it. */
		if (used == 0)
			abort();
		p += used;
		n -= used;
	}
	return r;
}

static int fuzz_plain(const u8 *data, size_t size)
{
	u8 ch[TLS13_CLIENT_OUT_MAX];
	size_t ch_len, chunk;
	struct tls13_client *c = fuzz_client(ch, &ch_len);
	int r;

	/* The second byte picks the feed size: 1..255 bytes, or all at once. */
	chunk = size > 0 && data[0] ? data[0] : (size_t)-1;
	r = size > 0 ? feed(c, data + 1, size - 1, chunk) : 0;
	if (r == TLS13_CLIENT_DONE)
		abort();
	tls13_client_free(c);
	return 0;
}

/* Client + a valid ServerHello fed, for the protected modes. */
static struct tls13_client *fuzz_after_sh(struct tls13_sim *sim)
{
	u8 ch[TLS13_CLIENT_OUT_MAX], sh[256];
	size_t ch_len, sh_len;
	struct tls13_client *c = fuzz_client(ch, &ch_len);

	tls13_sim_init(sim, TLS13_SHA256, fuzz_psk);
	if (tls13_sim_server_hello(sim, ch, ch_len, fuzz_server_priv, sh, sizeof(sh), &sh_len) < 0 ||
	    !sim->binder_ok || feed(c, sh, sh_len, sh_len) != 0)
		abort();
	return c;
}

static int fuzz_protected(const u8 *data, size_t size)
{
	static u8 rec[TLS13_MAX_RECORD + 64];
	struct tls13_sim sim;
	struct tls13_client *c = fuzz_after_sh(&sim);
	int r = 0;

	while (size >= 3 && r == 0) {
		/* Inner type: mostly handshake, sometimes alert / CCS / application data / junk. */
		static const u8 types[8] = { 22, 22, 22, 22, 21, 20, 23, 0x42 };
		u8 type = types[data[0] & 7];
		size_t len = tls13_get_u16(data + 1), rec_len;

		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		if (len > TLS13_MAX_PLAINTEXT)
			len = TLS13_MAX_PLAINTEXT;
		if (tls13_sim_protect(&sim, type, data, len, false, rec, sizeof(rec), &rec_len) < 0)
			break;
		data += len;
		size -= len;
		r = feed(c, rec, rec_len, rec_len);
	}
	/* Without a valid Finished from the server the handshake cannot complete. */
	if (r == TLS13_CLIENT_DONE)
		abort();
	tls13_sim_done(&sim);
	tls13_client_free(c);
	return 0;
}

static int fuzz_encrypted_extensions(const u8 *data, size_t size)
{
	static u8 msgs[TLS13_HS_HEADER + 8192 + 64], rec[TLS13_MAX_RECORD + 64];
	struct tls13_sim sim;
	struct tls13_client *c;
	u8 th[TLS13_MAX_HASH];
	size_t n = 0, rec_len;
	int r;

	if (size > 8192)
		return 0;
	c = fuzz_after_sh(&sim);
	msgs[n++] = TLS13_HS_ENCRYPTED_EXTENSIONS;
	tls13_put_u24(msgs + n, (u32)size);
	n += 3;
	memcpy(msgs + n, data, size);
	n += size;
	/* A correct Finished over the transcript with this EncryptedExtensions. */
	memcpy(sim.transcript + sim.transcript_len, msgs, n);
	sim.transcript_len += n;
	if (tls13_transcript_hash(TLS13_SHA256, sim.transcript, sim.transcript_len, th) < 0 ||
	    tls13_ks_finished(TLS13_SHA256, sim.s_hs, th, msgs + n + 4) < 0)
		abort();
	msgs[n] = TLS13_HS_FINISHED;
	tls13_put_u24(msgs + n + 1, 32);
	n += 36;
	if (n <= TLS13_MAX_PLAINTEXT &&
	    tls13_sim_protect(&sim, 22, msgs, n, false, rec, sizeof(rec), &rec_len) == 0) {
		u8 alert = 0;
		bool ee_ok = tls13_msg_parse_encrypted_extensions(data, size, &alert) == 0;

		r = feed(c, rec, rec_len, rec_len);
		/* Success exactly when the EncryptedExtensions parse. */
		if ((r == TLS13_CLIENT_DONE) != ee_ok)
			abort();
	}
	tls13_sim_done(&sim);
	tls13_client_free(c);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		return fuzz_plain(data + 1, size - 1);
	case 1:
		return fuzz_protected(data + 1, size - 1);
	default:
		return fuzz_encrypted_extensions(data + 1, size - 1);
	}
}

static void write_seed(const char *dir, const char *name, const u8 *p, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	if (!f || fwrite(p, 1, n, f) != n)
		abort();
	fclose(f);
}

/* Seeds: a ServerHello record; a protected EE + Finished flight; an HRR; an EE. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("FUZZ_TLS13_SEEDS");
	u8 ch[TLS13_CLIENT_OUT_MAX], buf[1024];
	struct tls13_client *c;
	struct tls13_sim sim;
	size_t ch_len, n;

	(void)argc;
	(void)argv;
	if (!dir)
		return 0;
	c = fuzz_client(ch, &ch_len);
	tls13_sim_init(&sim, TLS13_SHA256, fuzz_psk);
	buf[0] = 0;
	buf[1] = 0;
	if (tls13_sim_server_hello(&sim, ch, ch_len, fuzz_server_priv, buf + 2, sizeof(buf) - 2,
				   &n) < 0)
		abort();
	write_seed(dir, "plain-server-hello", buf, n + 2);
	{
		static const u8 hrr_exts[] = { 0, 43, 0, 2, 3, 4, 0, 51, 0, 2, 0, 0x17,
					       0, 44, 0, 4, 0, 2, 0xab, 0xcd };
		size_t m = 0;

		buf[m++] = 0;
		buf[m++] = 7;
		buf[m++] = 22;
		buf[m++] = 3;
		buf[m++] = 3;
		tls13_put_u16(buf + m, (u16)(4 + 38 + 2 + sizeof(hrr_exts)));
		m += 2;
		buf[m++] = 2;
		tls13_put_u24(buf + m, 38 + 2 + sizeof(hrr_exts));
		m += 3;
		buf[m++] = 3;
		buf[m++] = 3;
		memcpy(buf + m, tls13_hrr_random, 32);
		m += 32;
		buf[m++] = 0;
		buf[m++] = 0x13;
		buf[m++] = 0x01;
		buf[m++] = 0;
		tls13_put_u16(buf + m, sizeof(hrr_exts));
		m += 2;
		memcpy(buf + m, hrr_exts, sizeof(hrr_exts));
		m += sizeof(hrr_exts);
		write_seed(dir, "plain-hello-retry-request", buf, m);
	}
	{
		/* mode 1: EE (supported_groups) then Finished-shaped bytes. */
		static const u8 seed[] = { 1, 0, 0, 14, 8, 0, 0, 10, 0, 8, 0, 10, 0, 4, 0, 2, 0,
					   0x1d, 0, 0, 36, 20, 0, 0, 32, 1, 2, 3, 4, 5, 6, 7, 8, 9,
					   10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23,
					   24, 25, 26, 27, 28, 29, 30, 31, 32 };
		static const u8 ee[] = { 2, 0, 8, 0, 10, 0, 4, 0, 2, 0, 0x17 };

		write_seed(dir, "protected-ee-finished", seed, sizeof(seed));
		write_seed(dir, "encrypted-extensions", ee, sizeof(ee));
	}
	tls13_sim_done(&sim);
	tls13_client_free(c);
	return 0;
}
