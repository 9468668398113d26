/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A strict, bounded DER reader and a DER writer (ITU-T X.690), libc only.
 * Used for TSS2 key files and for ECDSA signature values. Definite lengths only,
 * minimal length encodings only, at most 4 length octets, no indefinite forms.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Reader: a view into a buffer; never copies, never reads past len. */
struct keyd_der {
	const uint8_t *p;
	size_t len;
};

/* Read one TLV whose tag octet equals tag (single-octet tags only). On success
 * ret_content views the value and d advances past the element.
 * -EBADMSG on malformed input, -ENOMSG when the next tag differs (d untouched). */
int keyd_der_read(struct keyd_der *d, uint8_t tag, struct keyd_der *ret_content);
/* Peek at the next tag; -ENODATA at the end. */
int keyd_der_peek(const struct keyd_der *d, uint8_t *ret_tag);
/* INTEGER helpers: reject non-minimal encodings. u32 accepts values that fit in
 * 32 bits, including the negative two's-complement form of 0x8xxxxxxx when
 * allow_negative_u32 (old writers encoded 0x81000001 as a negative number). */
int keyd_der_read_u32(struct keyd_der *d, bool allow_negative_u32, uint32_t *ret);
/* Unsigned big integer: returns the magnitude without leading zero (for ECDSA r, s). */
int keyd_der_read_uint(struct keyd_der *d, struct keyd_der *ret_magnitude);
static inline bool keyd_der_empty(const struct keyd_der *d) { return d->len == 0; }

#define KEYD_DER_BOOLEAN 0x01
#define KEYD_DER_INTEGER 0x02
#define KEYD_DER_BIT_STRING 0x03
#define KEYD_DER_OCTET_STRING 0x04
#define KEYD_DER_NULL 0x05
#define KEYD_DER_OID 0x06
#define KEYD_DER_UTF8STRING 0x0c
#define KEYD_DER_SEQUENCE 0x30
#define KEYD_DER_SET 0x31
#define KEYD_DER_CONTEXT(n) (0xa0 | (n)) /* constructed, context-specific */

/* Writer: a growable heap buffer. Errors are sticky: check keyd_derw_finish(). */
struct keyd_derw {
	uint8_t *buf;
	size_t len, cap;
	int error;
	size_t stack[8]; /* offsets of open constructed elements */
	unsigned depth;
};

void keyd_derw_init(struct keyd_derw *w);
void keyd_derw_free(struct keyd_derw *w);          /* erases the buffer */
void keyd_derw_begin(struct keyd_derw *w, uint8_t tag); /* open SEQUENCE / [n] */
void keyd_derw_end(struct keyd_derw *w);
void keyd_derw_raw(struct keyd_derw *w, uint8_t tag, const void *data, size_t len);
void keyd_derw_u32(struct keyd_derw *w, uint32_t v); /* always positive */
void keyd_derw_uint(struct keyd_derw *w, const uint8_t *be, size_t len); /* unsigned big-endian magnitude */
void keyd_derw_bool(struct keyd_derw *w, bool v);
/* OID from dotted text, e.g. "2.23.133.10.1.3". */
void keyd_derw_oid(struct keyd_derw *w, const char *dotted);
/* Hands over the buffer (caller frees); -errno if any step failed. */
int keyd_derw_finish(struct keyd_derw *w, uint8_t **ret, size_t *ret_len);

/* Compare an encoded OID value (content octets) with dotted text. */
bool keyd_der_oid_equal(const struct keyd_der *oid_content, const char *dotted);
/* Format OID content octets as dotted text into buf; -EBADMSG on bad encoding. */
int keyd_der_oid_to_string(const struct keyd_der *oid_content, char *buf, size_t size);

/* ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } from big-endian r and s. */
int keyd_der_ecdsa_sig_encode(const uint8_t *r, size_t rlen, const uint8_t *s, size_t slen,
			      uint8_t **ret, size_t *ret_len);

/* PEM (RFC 7468): armor a DER blob under label; parse the first block with that
 * label (-ENOENT if none, -EBADMSG if garbled, -EMEDIUMTYPE if the first block
 * has another label: ret_found_label then says which). */
int keyd_pem_encode(const char *label, const uint8_t *der, size_t len, char **ret);
int keyd_pem_decode(const char *text, size_t len, const char *label, uint8_t **ret_der,
		    size_t *ret_len, char *ret_found_label, size_t found_label_size);
