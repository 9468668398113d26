/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A small streaming JSON writer for --json output (RFC 8259). Strings are
 * escaped; invalid UTF-8 is replaced with U+FFFD so output always parses.
 *
 *   struct keyd_json j; keyd_json_init(&j, stdout);
 *   keyd_json_begin_object(&j);
 *   keyd_json_key(&j, "name"); keyd_json_string(&j, "host");
 *   keyd_json_end_object(&j); keyd_json_finish(&j);
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct keyd_json {
	FILE *f;
	unsigned depth;
	bool need_comma[32];
	bool after_key;
};

void keyd_json_init(struct keyd_json *j, FILE *f);
void keyd_json_begin_object(struct keyd_json *j);
void keyd_json_end_object(struct keyd_json *j);
void keyd_json_begin_array(struct keyd_json *j);
void keyd_json_end_array(struct keyd_json *j);
void keyd_json_key(struct keyd_json *j, const char *key);
void keyd_json_string(struct keyd_json *j, const char *s); /* NULL writes null */
void keyd_json_int(struct keyd_json *j, int64_t v);
void keyd_json_uint(struct keyd_json *j, uint64_t v);
void keyd_json_bool(struct keyd_json *j, bool v);
void keyd_json_null(struct keyd_json *j);
/* Shorthands for "key": value inside an object. */
void keyd_json_kv_string(struct keyd_json *j, const char *key, const char *s);
void keyd_json_kv_int(struct keyd_json *j, const char *key, int64_t v);
void keyd_json_kv_uint(struct keyd_json *j, const char *key, uint64_t v);
void keyd_json_kv_bool(struct keyd_json *j, const char *key, bool v);
/* Ends the document with a newline; 0 or -EIO if the stream failed. */
int keyd_json_finish(struct keyd_json *j);
