/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Checked number parsing and small text helpers. libc only. Never atoi. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Whole string must be a number in range; base 0 accepts 0x prefix. -EINVAL, -ERANGE. */
int keyd_parse_u32(const char *s, int base, uint32_t *ret);
int keyd_parse_u64(const char *s, int base, uint64_t *ret);
int keyd_parse_i64(const char *s, int base, int64_t *ret);

/* Lower-case hex, NUL-terminated. out must hold 2*len+1 bytes. */
void keyd_hex_encode(const void *data, size_t len, char *out);
/* Accepts upper and lower case; -EINVAL on odd length or a non-hex digit, -ENOBUFS if too long. */
int keyd_hex_decode(const char *s, void *out, size_t out_size, size_t *ret_len);

/* Standard base64 with padding (RFC 4648 section 4). out holds 4*ceil(len/3)+1. */
size_t keyd_base64_encode(const void *data, size_t len, char *out);
/* Strict: padding required, no whitespace. -EINVAL on bad input, -ENOBUFS if out is small. */
int keyd_base64_decode(const char *s, size_t slen, void *out, size_t out_size, size_t *ret_len);

/* Name rules for store entries: [A-Za-z0-9._-], 1..64 chars, not starting with '.'. */
int keyd_name_is_valid(const char *name);
