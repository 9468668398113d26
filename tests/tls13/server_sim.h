/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A minimal TLS 1.3 PSK server built from the client core's own key schedule
 * and record layer, for unit tests and the fuzzer's encrypted mode: it answers
 * one ClientHello with ServerHello, then protects whatever handshake bytes it
 * is given with the server handshake keys. Test code: not hardened.
 */
#pragma once

#include "tls13_ks.h"
#include "tls13_record.h"

struct tls13_sim {
	enum tls13_hash_alg hash;
	size_t hlen;
	u16 suite;
	size_t key_len;
	u8 psk[TLS13_MAX_HASH];
	struct tls13_ks ks;
	u8 transcript[32768];
	size_t transcript_len;
	u8 c_hs[TLS13_MAX_HASH];
	u8 s_hs[TLS13_MAX_HASH];
	struct tls13_rec_key wr;
	struct tls13_rec_key rd;
	bool binder_ok;
};

void tls13_sim_init(struct tls13_sim *s, enum tls13_hash_alg hash, const u8 *psk);
void tls13_sim_done(struct tls13_sim *s);
/* Answer the ClientHello record: ServerHello record into out. Checks the binder
 * (s->binder_ok). server_priv: fixed x25519 private key. */
int tls13_sim_server_hello(struct tls13_sim *s, const u8 *rec, size_t rec_len,
			   const u8 *server_priv, u8 *out, size_t cap, size_t *ret_len);
/* Protect handshake bytes as one record under the server handshake key; the bytes are
 * added to the transcript when add_to_transcript. */
int tls13_sim_protect(struct tls13_sim *s, u8 inner_type, const u8 *data, size_t len,
		      bool add_to_transcript, u8 *out, size_t cap, size_t *ret_len);
/* EncryptedExtensions (empty) and a correct Finished, as one protected record. */
int tls13_sim_ee_finished(struct tls13_sim *s, u8 *out, size_t cap, size_t *ret_len);
/* Open the client's Finished record and check it; 0 when it verifies. */
int tls13_sim_check_client_finished(struct tls13_sim *s, u8 *rec, size_t rec_len);
