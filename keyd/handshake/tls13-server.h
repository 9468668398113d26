/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The server side of a TLS 1.3 handshake with an external PSK and (EC)DHE (psk_dhe_ke),
 * as an NVMe/TCP target needs it, built from the in-kernel client core's pieces
 * (kernel-patches/tls13-psk: key schedule, record layer, crypto interface) so that
 * keyd-handshaked can serve SHA-384 PSKs, which GnuTLS 3.7 cannot (docs/tlshd.md).
 *
 *   WAIT_CH -> (ServerHello, {EncryptedExtensions}, {Finished}) -> WAIT_FINISHED -> DONE
 *
 * No I/O, like the client: the caller feeds what it receives and sends what it is given;
 * tls13_server_want() says how many bytes complete the current record, so the caller can
 * stop reading exactly at the end of the client's Finished and leave application records
 * in the socket for kTLS. No HelloRetryRequest: a ClientHello without an x25519 or P-256
 * share is refused with handshake_failure (RFC 8446 4.1.1). No 0-RTT, no tickets, no
 * certificates.
 */
#pragma once

#include "tls13_crypto.h"
#include "tls13_ks.h"
#include "tls13_client.h" /* struct tls13_traffic, TLS13_CLIENT_CONTINUE/DONE */

/* Identities remembered from one ClientHello (more may be offered; only these are tried). */
#define TLS13_SERVER_MAX_IDENTITIES 8
/* Largest ClientHello accepted: it may span records, but one record's worth is plenty for
 * a PSK client (NVMe identities are < 256 bytes, two key shares). */
#define TLS13_SERVER_MAX_CH 16384
/* Largest output of one tls13_server_feed() call. */
#define TLS13_SERVER_OUT_MAX 1024

struct tls13_psk_offer {
	const u8 *identity;
	size_t identity_len;
	const u8 *binder;
	size_t binder_len;
};

/* A ClientHello as parsed by tls13_server_parse_client_hello(); pointers into the message. */
struct tls13_ch_info {
	const u8 *random;		/* 32 bytes */
	const u8 *session_id;		/* legacy_session_id, echoed in the ServerHello */
	size_t session_id_len;
	bool suite_sha256;		/* TLS_AES_128_GCM_SHA256 offered */
	bool suite_sha384;		/* TLS_AES_256_GCM_SHA384 offered */
	bool tls13;			/* supported_versions holds 0x0304 */
	bool psk_dhe_ke;		/* psk_key_exchange_modes holds psk_dhe_ke */
	bool early_data;
	const u8 *x25519;		/* key_share entry for x25519 (32 bytes) or NULL */
	const u8 *p256;			/* key_share entry for secp256r1 (65 bytes) or NULL */
	bool has_pre_shared_key;
	unsigned int n_offers;		/* identities offered (<= TLS13_SERVER_MAX_IDENTITIES kept) */
	struct tls13_psk_offer offers[TLS13_SERVER_MAX_IDENTITIES];
	size_t truncated_len;		/* bytes of the message the binders are computed over */
};

/*
 * Parse a complete ClientHello handshake message (with its 4-byte header). Strict and
 * bounded: every length is checked before use, every vector must fill its container, no
 * extension type twice, pre_shared_key last, as many binders as identities, binders 32..255
 * bytes. Unknown extensions are skipped (RFC 8446 4.2). On failure returns a negative errno
 * and sets *alert (decode_error, illegal_parameter, protocol_version, missing_extension).
 * What the server can accept (suite, share, mode) is the caller's check.
 */
int tls13_server_parse_client_hello(const u8 *msg, size_t len, struct tls13_ch_info *ch,
				    u8 *alert);

/*
 * Find the PSK for an offered identity: return 1 with the key in psk (hash-length bytes,
 * 32 for SHA-256, 48 for SHA-384) and its hash in *ret_hash, 0 when the identity is not
 * known, or a negative errno. The identity is peer input: raw bytes, not a C string.
 */
typedef int (*tls13_server_psk_fn)(void *userdata, const u8 *identity, size_t identity_len,
				   enum tls13_hash_alg *ret_hash, u8 *psk, size_t *ret_psk_len);

struct tls13_server_config {
	tls13_server_psk_fn lookup;
	void *userdata;
	/* Tests only: fixed ServerHello.random and ephemeral private keys. */
	const u8 *fixed_random;
	const u8 *fixed_x25519;
	const u8 *fixed_p256;
};

struct tls13_server;

int tls13_server_new(const struct tls13_server_config *cfg, struct tls13_server **ret);
/* Wipes everything. Accepts NULL. */
void tls13_server_free(struct tls13_server *s);

/*
 * Feed bytes received from the client; consumes up to the end of the record that
 * completes the handshake and no further. Bytes to send (the server's flight, or an alert
 * on failure) are written to out (cap >= TLS13_SERVER_OUT_MAX). Returns
 * TLS13_CLIENT_CONTINUE, TLS13_CLIENT_DONE or a negative errno:
 *   -ENOKEY        no offered identity is known (alert unknown_psk_identity);
 *   -EKEYREJECTED  the binder or the client's Finished does not verify (decrypt_error),
 *                  or the client refused our Finished with an alert;
 *   -ECONNABORTED  the client sent another alert;
 *   -EBADMSG, -EINVAL, -EPROTO, -EMSGSIZE, -EOPNOTSUPP, -EPROTONOSUPPORT
 *                  the client sent something malformed, unsupported or out of order;
 *   -ENOMEM, -EIO  local failures.
 * After a failure every further call returns the same error.
 */
int tls13_server_feed(struct tls13_server *s, const u8 *in, size_t len, size_t *ret_consumed,
		      u8 *out, size_t cap, size_t *ret_out_len);

/* Bytes that complete the record being received (5 for a new header). */
size_t tls13_server_want(const struct tls13_server *s);

/* After TLS13_CLIENT_DONE: the application traffic keys (tx: server -> client). */
int tls13_server_traffic(const struct tls13_server *s, struct tls13_traffic *tx,
			 struct tls13_traffic *rx);

/* The index of the identity chosen (valid once the ServerHello is out), or -1. */
int tls13_server_selected(const struct tls13_server *s);
/* The chosen identity (copied, bounded by TLS13_MAX_IDENTITY), or NULL. */
const u8 *tls13_server_identity(const struct tls13_server *s, size_t *ret_len);
/* The cipher suite chosen (0x1301 or 0x1302), or 0. */
u16 tls13_server_suite(const struct tls13_server *s);
/* Alert description sent / received, or -1. */
int tls13_server_alert_sent(const struct tls13_server *s);
int tls13_server_alert_received(const struct tls13_server *s);
