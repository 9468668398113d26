/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Metadata files a person can read: "key = value" lines, '#' comments.
 * Strict: keys [a-z0-9_.-]{1,32}, values printable UTF-8 without control
 * characters, at most 1024 bytes a line and 128 entries, no duplicate keys.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define KEYD_META_KEY_MAX 32
#define KEYD_META_LINE_MAX 1024       /* bytes, without the newline */
#define KEYD_META_ENTRIES_MAX 128
#define KEYD_META_TEXT_MAX (256 * 1024) /* a whole file, comments included */

typedef struct keyd_meta keyd_meta;

int keyd_meta_new(keyd_meta **ret);
/* -EBADMSG with "line N: reason" in ret_reason on any violation. */
int keyd_meta_parse(const char *text, size_t len, keyd_meta **ret, char *ret_reason,
		    size_t reason_size);
keyd_meta *keyd_meta_free(keyd_meta *m);
const char *keyd_meta_get(const keyd_meta *m, const char *key); /* NULL if absent */
int keyd_meta_get_u64(const keyd_meta *m, const char *key, uint64_t *ret); /* -ENOENT, -EINVAL */
/* Replaces an existing key. -EINVAL for a bad key or a value with control characters,
 * invalid UTF-8 or a leading/trailing space (it would not read back the same); -E2BIG
 * when the line would be too long or there are already 128 entries. */
int keyd_meta_set(keyd_meta *m, const char *key, const char *value);
int keyd_meta_setf(keyd_meta *m, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Serialise in insertion order; *ret is malloc'ed text. */
int keyd_meta_format(const keyd_meta *m, char **ret, size_t *ret_len);
size_t keyd_meta_count(const keyd_meta *m);
/* i-th entry in insertion order. */
int keyd_meta_entry(const keyd_meta *m, size_t i, const char **ret_key, const char **ret_value);
