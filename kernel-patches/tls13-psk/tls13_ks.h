/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The TLS 1.3 key schedule (RFC 8446 section 7) for a client that
 * authenticates with an external PSK and (EC)DHE (psk_dhe_ke), plus the
 * transcript hash. Built on tls13_crypto.h only.
 */
#ifndef TLS13_KS_H
#define TLS13_KS_H

#include "tls13_crypto.h"

/* Longest label we derive with ("c hs traffic" and friends are shorter). */
#define TLS13_MAX_LABEL 32
/* Longest context: a transcript hash. */
#define TLS13_MAX_CONTEXT TLS13_MAX_HASH

/* Key lengths of the two cipher suites NVMe/TCP uses (RFC 8446 B.4). */
#define TLS13_AES128_GCM_SHA256 0x1301
#define TLS13_AES256_GCM_SHA384 0x1302
#define TLS13_MAX_KEY 32
#define TLS13_IV_LEN 12

struct tls13_ks {
	enum tls13_hash_alg alg;
	size_t hlen;
	u8 early[TLS13_MAX_HASH];
	u8 handshake[TLS13_MAX_HASH];
	u8 master[TLS13_MAX_HASH];
};

/* HKDF-Extract (RFC 5869 2.2): out gets hash-length bytes. salt may be NULL (zeros). */
int tls13_hkdf_extract(enum tls13_hash_alg alg, const u8 *salt, size_t salt_len,
		       const u8 *ikm, size_t ikm_len, u8 *out);
/* HKDF-Expand-Label (RFC 8446 7.1); label without the "tls13 " prefix. */
int tls13_hkdf_expand_label(enum tls13_hash_alg alg, const u8 *secret, const char *label,
			    const u8 *ctx, size_t ctx_len, u8 *out, size_t out_len);
/* Derive-Secret (RFC 8446 7.1) given Transcript-Hash(Messages) already computed;
 * thash == NULL means the hash of the empty string.
 */
int tls13_derive_secret(enum tls13_hash_alg alg, const u8 *secret, const char *label,
			const u8 *thash, u8 *out);

/* Transcript-Hash over a buffer of concatenated handshake messages. */
int tls13_transcript_hash(enum tls13_hash_alg alg, const u8 *msgs, size_t len, u8 *out);
/* The synthetic message_hash message that replaces ClientHello1 after a
 * HelloRetryRequest (RFC 8446 4.4.1): out gets 4 + hash-length bytes.
 */
int tls13_transcript_message_hash(enum tls13_hash_alg alg, const u8 *ch1, size_t len, u8 *out,
				  size_t *ret_len);

/* Early Secret = HKDF-Extract(0, PSK). Resets the schedule. */
int tls13_ks_init(struct tls13_ks *ks, enum tls13_hash_alg alg, const u8 *psk, size_t psk_len);
/* binder_key = Derive-Secret(Early Secret, "ext binder" | "res binder", ""). */
int tls13_ks_binder_key(const struct tls13_ks *ks, bool external, u8 *out);
/* Handshake Secret from the (EC)DHE shared secret, then Master Secret. */
int tls13_ks_handshake(struct tls13_ks *ks, const u8 *dhe, size_t dhe_len);
/* Traffic secrets: "c hs traffic", "s hs traffic" from Handshake Secret with
 * the hash of ClientHello..ServerHello; "c ap traffic", "s ap traffic" from
 * Master Secret with the hash of ClientHello..server Finished.
 */
int tls13_ks_hs_traffic(const struct tls13_ks *ks, bool server, const u8 *thash, u8 *out);
int tls13_ks_ap_traffic(const struct tls13_ks *ks, bool server, const u8 *thash, u8 *out);
/* Finished (and binder) value: HMAC(HKDF-Expand-Label(base, "finished", "", H), thash). */
int tls13_ks_finished(enum tls13_hash_alg alg, const u8 *base_key, const u8 *thash, u8 *out);
/* [sender]_write_key and _iv (RFC 8446 7.3). */
int tls13_ks_traffic_keys(enum tls13_hash_alg alg, const u8 *secret, size_t key_len, u8 *key,
			  u8 *iv);
void tls13_ks_wipe(struct tls13_ks *ks);

#endif /* TLS13_KS_H */
