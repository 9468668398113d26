/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The client side of a TLS 1.3 handshake with an external PSK and (EC)DHE
 * (psk_dhe_ke), as NVMe/TCP uses it: no certificates, no 0-RTT, no tickets.
 *
 * The state machine does no I/O: the caller sends what it is given and
 * feeds what it receives. tls13_client_want() says how many bytes complete
 * the current record, so a caller can read exactly up to the end of the
 * handshake and leave everything after it (application records) in the
 * socket for kTLS.
 */
#ifndef TLS13_CLIENT_H
#define TLS13_CLIENT_H

#include "tls13_crypto.h"
#include "tls13_ks.h"

struct tls13_client;

struct tls13_client_config {
	/* The TLS PSK; its length must be the hash length: 32 for SHA-256
	 * (TLS_AES_128_GCM_SHA256), 48 for SHA-384 (TLS_AES_256_GCM_SHA384).
	 */
	enum tls13_hash_alg hash;
	const u8 *psk;
	size_t psk_len;
	const u8 *identity;
	size_t identity_len;
	/* Send a P-256 share next to the x25519 one in the first ClientHello
	 * (saves the HelloRetryRequest round trip with P-256-only servers).
	 */
	bool share_p256;
	/* Tests and fuzzing only: fixed ClientHello.random and ephemeral keys. */
	const u8 *fixed_random;
	const u8 *fixed_x25519;
	const u8 *fixed_p256;
};

/* Largest output of one tls13_client_start()/tls13_client_feed() call. */
#define TLS13_CLIENT_OUT_MAX 8192

enum {
	TLS13_CLIENT_CONTINUE = 0,
	TLS13_CLIENT_DONE = 1,
};

/* Traffic secrets and keys of one direction, for kTLS (or a userspace record layer). */
struct tls13_traffic {
	u16 cipher_suite;
	enum tls13_hash_alg hash;
	size_t key_len;
	u8 key[TLS13_MAX_KEY];
	u8 iv[TLS13_IV_LEN];
	u8 secret[TLS13_MAX_HASH];
	u64 seq;
};

/* Copies the PSK and identity; -EINVAL for a PSK whose length is not the hash length. */
int tls13_client_new(const struct tls13_client_config *cfg, struct tls13_client **ret);
/* Wipes everything. Accepts NULL. */
void tls13_client_free(struct tls13_client *c);

/* The first flight: the ClientHello record. */
int tls13_client_start(struct tls13_client *c, u8 *out, size_t cap, size_t *ret_len);

/*
 * Feed bytes received from the server. Consumes up to the end of the record
 * that completes the handshake and no further. Bytes to send (a second
 * ClientHello, the client Finished, or the alert on failure) are written to
 * out (cap >= TLS13_CLIENT_OUT_MAX). Returns TLS13_CLIENT_CONTINUE,
 * TLS13_CLIENT_DONE, or a negative errno:
 *   -EKEYREJECTED  the server refused the PSK (alert unknown_psk_identity,
 *                  decrypt_error or handshake_failure; illegal_parameter in
 *                  answer to the ClientHello; or no PSK selected), or its
 *                  Finished did not verify;
 *   -ECONNABORTED  the server sent another alert;
 *   -EBADMSG, -EINVAL, -EPROTO, -EMSGSIZE, -EOPNOTSUPP, -EPROTONOSUPPORT
 *                  the server sent something malformed or not allowed;
 *   -ENOMEM, -EIO  local failures.
 * After a failure every further call returns the same error.
 */
int tls13_client_feed(struct tls13_client *c, const u8 *in, size_t len, size_t *ret_consumed,
		      u8 *out, size_t cap, size_t *ret_out_len);

/* Bytes that complete the record being received (5 for a new header). */
size_t tls13_client_want(const struct tls13_client *c);

/* After TLS13_CLIENT_DONE: the application traffic keys, sequence numbers 0. */
int tls13_client_traffic(const struct tls13_client *c, struct tls13_traffic *tx,
			 struct tls13_traffic *rx);

/* Alert description sent / received, or -1. */
int tls13_client_alert_sent(const struct tls13_client *c);
int tls13_client_alert_received(const struct tls13_client *c);
/* Whether the server asked for a HelloRetryRequest. */
bool tls13_client_had_hrr(const struct tls13_client *c);

#endif /* TLS13_CLIENT_H */
