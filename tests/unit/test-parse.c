/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for keyd/base/parse.c and json.c. */
#include <setjmp.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"
#include "parse.h"

static void test_parse_u32(void **state)
{
	uint32_t v;

	(void)state;
	assert_int_equal(keyd_parse_u32("42", 10, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(keyd_parse_u32("0x81000001", 0, &v), 0);
	assert_int_equal(v, 0x81000001u);
	assert_int_equal(keyd_parse_u32("4294967296", 10, &v), -ERANGE);
	assert_int_equal(keyd_parse_u32("-1", 10, &v), -EINVAL);
	assert_int_equal(keyd_parse_u32(" 1", 10, &v), -EINVAL);
	assert_int_equal(keyd_parse_u32("1x", 10, &v), -EINVAL);
	assert_int_equal(keyd_parse_u32("", 10, &v), -EINVAL);
}

static void test_hex(void **state)
{
	uint8_t buf[4];
	char out[9];
	size_t n;

	(void)state;
	keyd_hex_encode((const uint8_t[]){ 0xde, 0xad, 0x00, 0x0f }, 4, out);
	assert_string_equal(out, "dead000f");
	assert_int_equal(keyd_hex_decode("DEAD000f", buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 4);
	assert_memory_equal(buf, "\xde\xad\x00\x0f", 4);
	assert_int_equal(keyd_hex_decode("abc", buf, sizeof(buf), &n), -EINVAL);
	assert_int_equal(keyd_hex_decode("zz", buf, sizeof(buf), &n), -EINVAL);
	assert_int_equal(keyd_hex_decode("0011223344", buf, sizeof(buf), &n), -ENOBUFS);
}

/* RFC 4648 section 10 test vectors. */
static void test_base64(void **state)
{
	static const char *const vec[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	char out[16];
	uint8_t dec[16];
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		keyd_base64_encode(vec[i][0], strlen(vec[i][0]), out);
		assert_string_equal(out, vec[i][1]);
		assert_int_equal(keyd_base64_decode(vec[i][1], strlen(vec[i][1]), dec, sizeof(dec), &n), 0);
		assert_int_equal(n, strlen(vec[i][0]));
		assert_memory_equal(dec, vec[i][0], n);
	}
	assert_int_equal(keyd_base64_decode("Zm9", 3, dec, sizeof(dec), &n), -EINVAL);
	assert_int_equal(keyd_base64_decode("Zm=v", 4, dec, sizeof(dec), &n), -EINVAL);
	assert_int_equal(keyd_base64_decode("Zh==", 4, dec, sizeof(dec), &n), -EINVAL); /* non-canonical */
	assert_int_equal(keyd_base64_decode("Zm 9", 4, dec, sizeof(dec), &n), -EINVAL);
	assert_int_equal(keyd_base64_decode("Zm9vYmFy", 8, dec, 5, &n), -ENOBUFS);
}

static void test_names(void **state)
{
	(void)state;
	assert_true(keyd_name_is_valid("host-key_1.v2"));
	assert_false(keyd_name_is_valid(""));
	assert_false(keyd_name_is_valid(".hidden"));
	assert_false(keyd_name_is_valid("a/b"));
	assert_false(keyd_name_is_valid("-opt"));
	assert_false(keyd_name_is_valid("sp ace"));
	assert_false(keyd_name_is_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

static void test_json(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct keyd_json j;

	(void)state;
	keyd_json_init(&j, f);
	keyd_json_begin_object(&j);
	keyd_json_kv_string(&j, "a", "q\"\n\x01\xff");
	keyd_json_key(&j, "l");
	keyd_json_begin_array(&j);
	keyd_json_int(&j, -1);
	keyd_json_bool(&j, true);
	keyd_json_begin_object(&j);
	keyd_json_end_object(&j);
	keyd_json_end_array(&j);
	keyd_json_kv_uint(&j, "n", 7);
	keyd_json_end_object(&j);
	assert_int_equal(keyd_json_finish(&j), 0);
	fclose(f);
	assert_string_equal(buf, "{\"a\":\"q\\\"\\n\\u0001\\ufffd\",\"l\":[-1,true,{}],\"n\":7}\n");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_u32), cmocka_unit_test(test_hex),
		cmocka_unit_test(test_base64), cmocka_unit_test(test_names),
		cmocka_unit_test(test_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
