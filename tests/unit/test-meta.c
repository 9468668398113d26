/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for keyd/core/meta.c: the grammar, its limits, and format/parse round trips. */
#include <setjmp.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "macro.h"
#include "meta.h"

static keyd_meta *parse_ok(const char *text)
{
	keyd_meta *m = NULL;
	char reason[128] = "";

	assert_int_equal(keyd_meta_parse(text, strlen(text), &m, reason, sizeof(reason)), 0);
	assert_string_equal(reason, "");
	return m;
}

static void parse_bad(const char *text, size_t len, const char *want_reason)
{
	keyd_meta *m = NULL;
	char reason[128] = "";

	assert_int_equal(keyd_meta_parse(text, len, &m, reason, sizeof(reason)), -EBADMSG);
	assert_null(m);
	if (!strstr(reason, want_reason))
		fail_msg("reason '%s' lacks '%s'", reason, want_reason);
}

static void test_parse_good(void **state)
{
	keyd_meta *m;
	const char *k, *v;
	uint64_t u;

	(void)state;
	m = parse_ok("# a psk\n"
		     "\n"
		     "host = nqn.2014-08.org.nvmexpress:uuid:1234\n"
		     "  hash=sha384  \n"
		     "\tempty =\n"
		     "handle = 0x81000001\n"
		     "count = 42\n"
		     "octal = 010\n"
		     "utf8 = caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91\n"
		     "eq = a=b = c"); /* no final newline */
	assert_int_equal(keyd_meta_count(m), 8);
	assert_string_equal(keyd_meta_get(m, "host"), "nqn.2014-08.org.nvmexpress:uuid:1234");
	assert_string_equal(keyd_meta_get(m, "hash"), "sha384");
	assert_string_equal(keyd_meta_get(m, "empty"), "");
	assert_string_equal(keyd_meta_get(m, "eq"), "a=b = c");
	assert_null(keyd_meta_get(m, "missing"));
	assert_int_equal(keyd_meta_get_u64(m, "handle", &u), 0);
	assert_int_equal(u, 0x81000001u);
	assert_int_equal(keyd_meta_get_u64(m, "count", &u), 0);
	assert_int_equal(u, 42);
	/* A leading zero is decimal, not octal. */
	assert_int_equal(keyd_meta_get_u64(m, "octal", &u), 0);
	assert_int_equal(u, 10);
	assert_int_equal(keyd_meta_get_u64(m, "hash", &u), -EINVAL);
	assert_int_equal(keyd_meta_get_u64(m, "missing", &u), -ENOENT);
	assert_int_equal(keyd_meta_entry(m, 0, &k, &v), 0);
	assert_string_equal(k, "host");
	assert_int_equal(keyd_meta_entry(m, 7, &k, &v), 0);
	assert_string_equal(k, "eq");
	assert_int_equal(keyd_meta_entry(m, 8, &k, &v), -ENOENT);
	keyd_meta_free(m);

	m = parse_ok("");
	assert_int_equal(keyd_meta_count(m), 0);
	keyd_meta_free(m);
}

static void test_parse_bad(void **state)
{
	char big[KEYD_META_LINE_MAX + 16];
	_cleanup_free_ char *many = NULL;
	size_t off = 0;

	(void)state;
	parse_bad("novalue\n", 8, "line 1: expected 'key = value'");
	parse_bad("a = 1\n\nB = 2\n", 13, "line 3: key must be");
	parse_bad("= 2\n", 4, "line 1: key");
	parse_bad("a b = 2\n", 8, "line 1: key");
	parse_bad("a = 1\na = 2\n", 12, "line 2: duplicate key");
	parse_bad("a = x\ty\n", 8, "line 1: control character");
	parse_bad("a = x\r\n", 7, "line 1: control character");
	parse_bad("a = x\x7f\n", 7, "line 1: control character");
	parse_bad("a = \xc2\x85\n", 7, "line 1: control character");   /* C1 NEL */
	parse_bad("a = \xc0\xaf\n", 7, "line 1: control character");   /* overlong '/' */
	parse_bad("a = \xed\xa0\x80\n", 8, "line 1: control character"); /* surrogate */
	parse_bad("a = \xf4\x90\x80\x80\n", 9, "line 1: control"); /* > U+10FFFF */
	parse_bad("a = \xe2\x82\n", 7, "line 1: control");          /* truncated */
	parse_bad("# \x01\n", 4, "line 1: control character or invalid UTF-8 in a comment");
	parse_bad("a = x\0y\n", 8, "line 1: NUL byte");
	parse_bad("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa = 1\n", 38, "line 1: key"); /* 33 chars */

	memset(big, 'x', sizeof(big));
	memcpy(big, "a = ", 4);
	big[KEYD_META_LINE_MAX + 1] = '\n';
	parse_bad(big, KEYD_META_LINE_MAX + 2, "line 1: line too long");

	many = malloc(KEYD_META_ENTRIES_MAX * 16 + 16);
	assert_non_null(many);
	for (int i = 0; i <= KEYD_META_ENTRIES_MAX; i++)
		off += (size_t)sprintf(many + off, "k%d = v\n", i);
	parse_bad(many, off, "line 129: too many entries");
	parse_bad(many, KEYD_META_TEXT_MAX + 1, "file too large");
}

static void test_set_format_roundtrip(void **state)
{
	keyd_meta *m = NULL, *m2 = NULL;
	_cleanup_free_ char *text = NULL, *text2 = NULL;
	char longv[KEYD_META_LINE_MAX + 1];
	size_t len, len2;

	(void)state;
	assert_int_equal(keyd_meta_new(&m), 0);
	assert_int_equal(keyd_meta_set(m, "name", "host key"), 0);
	assert_int_equal(keyd_meta_setf(m, "handle", "0x%08x", 0x81000001u), 0);
	assert_int_equal(keyd_meta_set(m, "empty", ""), 0);
	assert_int_equal(keyd_meta_set(m, "name", "replaced"), 0); /* keeps its position */
	assert_int_equal(keyd_meta_set(m, "Bad", "x"), -EINVAL);
	assert_int_equal(keyd_meta_set(m, "k", " leading"), -EINVAL);
	assert_int_equal(keyd_meta_set(m, "k", "trailing "), -EINVAL);
	assert_int_equal(keyd_meta_set(m, "k", "new\nline"), -EINVAL);
	memset(longv, 'v', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	assert_int_equal(keyd_meta_set(m, "k", longv), -E2BIG);
	longv[KEYD_META_LINE_MAX - 4] = '\0'; /* "k = " + value = exactly the limit */
	assert_int_equal(keyd_meta_set(m, "k", longv), 0);

	assert_int_equal(keyd_meta_format(m, &text, &len), 0);
	assert_int_equal(strlen(text), len);
	assert_true(startswith(text, "name = replaced\nhandle = 0x81000001\nempty =\nk = vvv"));

	assert_int_equal(keyd_meta_parse(text, len, &m2, NULL, 0), 0);
	assert_int_equal(keyd_meta_format(m2, &text2, &len2), 0);
	assert_int_equal(len, len2);
	assert_memory_equal(text, text2, len);
	keyd_meta_free(m);
	keyd_meta_free(m2);
}

static void test_entry_limit(void **state)
{
	keyd_meta *m = NULL;

	(void)state;
	assert_int_equal(keyd_meta_new(&m), 0);
	for (int i = 0; i < KEYD_META_ENTRIES_MAX; i++)
		assert_int_equal(keyd_meta_setf(m, "k", "%d", i) >= 0, 1);
	for (int i = 0; i < KEYD_META_ENTRIES_MAX; i++) {
		char k[16];

		snprintf(k, sizeof(k), "k%d", i);
		assert_int_equal(keyd_meta_set(m, k, "v"),
				 i == KEYD_META_ENTRIES_MAX - 1 ? -E2BIG : 0);
	}
	assert_null(keyd_meta_free(m));
	assert_null(keyd_meta_free(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_set_format_roundtrip),
		cmocka_unit_test(test_entry_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
