/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * TLS 1.3 handshake messages of a PSK-only client (RFC 8446 section 4):
 * the ClientHello it sends and strict, bounded parsers for everything the
 * server may send in a psk_dhe_ke handshake: ServerHello/HelloRetryRequest,
 * EncryptedExtensions, Finished, and alerts.
 *
 * Parsers take a message body (after the 4-byte handshake header), never
 * copy, and on failure return a negative errno and set *alert to the alert
 * the client must send (RFC 8446 section 6.2).
 */
#ifndef TLS13_MSG_H
#define TLS13_MSG_H

#include "tls13_crypto.h"

enum tls13_hs_type {
	TLS13_HS_CLIENT_HELLO = 1,
	TLS13_HS_SERVER_HELLO = 2,
	TLS13_HS_NEW_SESSION_TICKET = 4,
	TLS13_HS_ENCRYPTED_EXTENSIONS = 8,
	TLS13_HS_CERTIFICATE = 11,
	TLS13_HS_CERTIFICATE_REQUEST = 13,
	TLS13_HS_FINISHED = 20,
	TLS13_HS_KEY_UPDATE = 24,
	TLS13_HS_MESSAGE_HASH = 254,
};

enum tls13_ext_type {
	TLS13_EXT_SERVER_NAME = 0,
	TLS13_EXT_SUPPORTED_GROUPS = 10,
	TLS13_EXT_SIGNATURE_ALGORITHMS = 13,
	TLS13_EXT_PRE_SHARED_KEY = 41,
	TLS13_EXT_EARLY_DATA = 42,
	TLS13_EXT_SUPPORTED_VERSIONS = 43,
	TLS13_EXT_COOKIE = 44,
	TLS13_EXT_PSK_KEY_EXCHANGE_MODES = 45,
	TLS13_EXT_KEY_SHARE = 51,
};

enum tls13_alert_desc {
	TLS13_ALERT_CLOSE_NOTIFY = 0,
	TLS13_ALERT_UNEXPECTED_MESSAGE = 10,
	TLS13_ALERT_BAD_RECORD_MAC = 20,
	TLS13_ALERT_RECORD_OVERFLOW = 22,
	TLS13_ALERT_HANDSHAKE_FAILURE = 40,
	TLS13_ALERT_ILLEGAL_PARAMETER = 47,
	TLS13_ALERT_DECODE_ERROR = 50,
	TLS13_ALERT_DECRYPT_ERROR = 51,
	TLS13_ALERT_PROTOCOL_VERSION = 70,
	TLS13_ALERT_INTERNAL_ERROR = 80,
	TLS13_ALERT_MISSING_EXTENSION = 109,
	TLS13_ALERT_UNSUPPORTED_EXTENSION = 110,
	TLS13_ALERT_UNKNOWN_PSK_IDENTITY = 115,
};

#define TLS13_HS_HEADER 4
#define TLS13_RANDOM_LEN 32
/* A PSK identity is opaque<1..2^16-1>; an NVMe identity is < 256 bytes, allow some room. */
#define TLS13_MAX_IDENTITY 1024
/* cookie is opaque<1..2^16-1>; servers use far less. Bounded to keep the context small. */
#define TLS13_MAX_COOKIE 4096
/* Largest handshake message the client accepts from the server: in a PSK handshake
 * the server sends ServerHello, EncryptedExtensions and Finished only.
 */
#define TLS13_MAX_SERVER_MSG 8192
/* Extensions in one server message (RFC 8446 gives no limit; we accept few types anyway). */
#define TLS13_MAX_EXTENSIONS 32
#define TLS13_MAX_SHARES 2

/* The special ServerHello.random that marks a HelloRetryRequest (RFC 8446 4.1.3). */
extern const u8 tls13_hrr_random[TLS13_RANDOM_LEN];

struct tls13_key_share {
	u16 group;
	const u8 *pub;
	size_t pub_len;
};

struct tls13_client_hello {
	const u8 *random;			/* 32 bytes */
	u16 cipher_suite;			/* the one suite the PSK hash allows */
	const u16 *groups;			/* supported_groups, in preference order */
	unsigned int n_groups;
	const struct tls13_key_share *shares;	/* key_share entries */
	unsigned int n_shares;
	const u8 *identity;			/* PSK identity */
	size_t identity_len;
	size_t binder_len;			/* hash length of the PSK */
	const u8 *cookie;			/* echoed HRR cookie, or NULL */
	size_t cookie_len;
};

/*
 * Build a complete ClientHello handshake message (with header) whose single
 * PSK binder is zero-filled. *ret_truncated_len is the length of the
 * truncated ClientHello the binder is computed over (RFC 8446 4.2.11.2):
 * the binder value itself goes at out[*ret_len - binder_len].
 */
int tls13_msg_build_client_hello(const struct tls13_client_hello *ch, u8 *out, size_t cap,
				 size_t *ret_len, size_t *ret_truncated_len);

struct tls13_server_hello {
	bool hrr;
	u16 cipher_suite;
	/* ServerHello: key_share entry; HelloRetryRequest: selected_group (share_len 0). */
	bool has_key_share;
	u16 group;
	const u8 *share;
	size_t share_len;
	bool has_psk;
	u16 selected_identity;
	const u8 *cookie;
	size_t cookie_len;
};

/*
 * Parse a ServerHello or HelloRetryRequest body. The structure is checked
 * completely (legacy fields, supported_versions = TLS 1.3, no duplicate or
 * unexpected extension); whether the values match what the client offered is
 * the caller's check.
 */
int tls13_msg_parse_server_hello(const u8 *body, size_t len, struct tls13_server_hello *sh,
				 u8 *alert);

/* EncryptedExtensions: only supported_groups is acceptable to this client. */
int tls13_msg_parse_encrypted_extensions(const u8 *body, size_t len, u8 *alert);

/* Finished: exactly hash-length bytes of verify_data, checked in constant time. */
int tls13_msg_check_finished(const u8 *body, size_t len, const u8 *expected, size_t hlen,
			     u8 *alert);

/* Alert record body: exactly level and description. */
int tls13_msg_parse_alert(const u8 *body, size_t len, u8 *ret_level, u8 *ret_desc, u8 *alert);

#endif /* TLS13_MSG_H */
