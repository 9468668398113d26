/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * TLS 1.3 record layer (RFC 8446 section 5) for the handshake: plaintext
 * records and AEAD-protected records, with the bounds of section 5.1/5.2.
 */
#ifndef TLS13_RECORD_H
#define TLS13_RECORD_H

#include "tls13_crypto.h"
#include "tls13_ks.h"

enum tls13_content_type {
	TLS13_CT_CHANGE_CIPHER_SPEC = 20,
	TLS13_CT_ALERT = 21,
	TLS13_CT_HANDSHAKE = 22,
	TLS13_CT_APPLICATION_DATA = 23,
};

#define TLS13_RECORD_HEADER 5
/* TLSPlaintext.length <= 2^14; TLSCiphertext.length <= 2^14 + 256 (RFC 8446 5.1, 5.2). */
#define TLS13_MAX_PLAINTEXT 16384
#define TLS13_MAX_CIPHERTEXT (16384 + 256)
#define TLS13_MAX_RECORD (TLS13_RECORD_HEADER + TLS13_MAX_CIPHERTEXT)

/* One direction's protection state. */
struct tls13_rec_key {
	struct tls13_aead *aead;
	u8 iv[TLS13_IV_LEN];
	u64 seq;
};

/*
 * Check a received record header: known content type, legacy_record_version
 * 0x0303, length within the limit for its type and non-zero.
 * Returns the body length, or -EBADMSG (decode_error), -EMSGSIZE
 * (record_overflow), -EPROTO (unexpected_message).
 */
int tls13_record_check_header(const u8 *hdr, u8 *ret_type);

/* Write a plaintext record; out needs TLS13_RECORD_HEADER + len bytes. */
int tls13_record_write_plain(u8 type, const u8 *in, size_t len, u8 *out, size_t cap,
			     size_t *ret_len);

/* Protect one record (inner type, no padding); out needs 5 + len + 1 + 16 bytes. */
int tls13_record_seal(struct tls13_rec_key *k, u8 inner_type, const u8 *in, size_t len,
		      u8 *out, size_t cap, size_t *ret_len);

/*
 * Open a protected record (header + body, header already checked, outer type
 * application_data) in place: on success *ret_inner points into rec,
 * *ret_len is the content length without padding, *ret_type the inner type.
 * -EBADMSG: the tag does not verify (bad_record_mac); -EMSGSIZE: inner
 * plaintext too long (record_overflow); -EPROTO: no content type
 * (unexpected_message).
 */
int tls13_record_open(struct tls13_rec_key *k, u8 *rec, size_t rec_len, u8 **ret_inner,
		      size_t *ret_len, u8 *ret_type);

int tls13_rec_key_set(struct tls13_rec_key *k, enum tls13_hash_alg alg, const u8 *secret,
		      size_t key_len);
void tls13_rec_key_clear(struct tls13_rec_key *k);

#endif /* TLS13_RECORD_H */
