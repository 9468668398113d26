/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for keyd/core/reqkey.c: request-key descriptions, callout data, argv. */
#include <setjmp.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "reqkey.h"
#include "reqkey-args.h"

#define HOST "nqn.2014-08.org.example:host-1"
#define SUB "nqn.2014-08.org.example:sub-1"
/* A v1 identity from libnvme's test vectors (tests/unit/vectors-psk.h). */
#define DIGEST "iSbjiStwJ/1TrTvDlt2fjFmzvsytOJelidNnA+X5lEU="
#define V1 "NVMe1R01 nqn.psk-test-host nqn.psk-test-subsys " DIGEST

static int parse(const char *type, const char *desc, const char *callout,
		 struct keyd_reqkey_request *r)
{
	char reason[256];

	return keyd_reqkey_parse(type, desc, callout, r, reason, sizeof(reason));
}

static void test_psk_identities(void **state)
{
	struct keyd_reqkey_request r;

	(void)state;
	assert_int_equal(parse("psk", "NVMe0R01 " HOST " " SUB, "", &r), 0);
	assert_int_equal(r.kind, KEYD_REQKEY_PSK);
	assert_int_equal(r.parts.version, KEYD_PSK_IDENTITY_V0);
	assert_false(r.prefix);
	assert_string_equal(r.parts.hostnqn, HOST);
	assert_string_equal(r.parts.subnqn, SUB);

	assert_int_equal(parse("psk", V1, NULL, &r), 0);
	assert_false(r.prefix);
	assert_string_equal(r.identity, V1);
	assert_string_equal(r.parts.digest, DIGEST);

	/* The kernel looks PSKs up by the v1 prefix, without the digest. */
	assert_int_equal(parse("psk", "NVMe1R02 " HOST " " SUB, NULL, &r), 0);
	assert_true(r.prefix);
	assert_int_equal(r.parts.hmac, KEYD_PSK_HMAC_SHA384);

	/* The user-type alias for kernels without the psk type. */
	assert_int_equal(parse("user", "keyd:psk:" V1, NULL, &r), 0);
	assert_int_equal(r.kind, KEYD_REQKEY_USER_PSK);
	assert_string_equal(r.identity, V1);
	assert_true(keyd_reqkey_needs_tpm(&r));

	/* Not identities. */
	assert_int_equal(parse("psk", "NVMe0G01 " HOST " " SUB, NULL, &r), -EINVAL);
	assert_int_equal(parse("psk", "NVMe1R01 " HOST, NULL, &r), -EINVAL);
	assert_int_equal(parse("psk", "NVMe1R01 " HOST "  " SUB, NULL, &r), -EINVAL);
	assert_int_equal(parse("psk", "NVMe1R01 " HOST " " SUB " ", NULL, &r), -EINVAL);
	assert_int_equal(parse("psk", "NVMe1R01 " HOST " " SUB " x y", NULL, &r), -EINVAL);
	assert_int_equal(parse("psk", "NVMe2R01 " HOST " " SUB, NULL, &r), -EINVAL);
	assert_int_equal(parse("psk", "NVMe1R01 host " SUB, NULL, &r), -EINVAL);
	assert_int_equal(parse("psk", "keyd:psk:" V1, NULL, &r), -EINVAL);
	assert_int_equal(parse("user", V1, NULL, &r), -EINVAL);
	assert_int_equal(parse("logon", "keyd:psk:" V1, NULL, &r), -EINVAL);
	/* Nothing is left behind on failure. */
	assert_int_equal(r.identity[0], 0);
}

static void test_names(void **state)
{
	struct keyd_reqkey_request r;

	(void)state;
	assert_int_equal(parse("user", "keyd:cert:web-1", NULL, &r), 0);
	assert_int_equal(r.kind, KEYD_REQKEY_CERT);
	assert_string_equal(r.name, "web-1");
	assert_false(keyd_reqkey_needs_tpm(&r));
	assert_int_equal(parse("user", "keyd:ca:nfs.ca", NULL, &r), 0);
	assert_int_equal(r.kind, KEYD_REQKEY_CA);
	assert_string_equal(r.name, "nfs.ca");

	assert_int_equal(parse("user", "keyd:cert:", NULL, &r), -EINVAL);
	assert_int_equal(parse("user", "keyd:cert:.hidden", NULL, &r), -EINVAL);
	assert_int_equal(parse("user", "keyd:cert:../../etc/shadow", NULL, &r), -EINVAL);
	assert_int_equal(parse("user", "keyd:cert:a b", NULL, &r), -EINVAL);
	assert_int_equal(parse("user", "keyd:cert:$(reboot)", NULL, &r), -EINVAL);
	assert_int_equal(parse("user", "keyd:cert:a;rm", NULL, &r), -EINVAL);
	assert_int_equal(parse("user", "keyd:ca:\xc3\x28", NULL, &r), -EINVAL);
	assert_int_equal(parse("user", "keyd:other:x", NULL, &r), -EINVAL);
	assert_int_equal(parse("user", "keyd:cert:a", NULL, &r), 0);
}

static void test_limits_and_bytes(void **state)
{
	struct keyd_reqkey_request r;
	char *big = malloc(KEYD_REQKEY_DESC_MAX + 2);
	char name[KEYD_REQKEY_NAME_MAX + 20];

	(void)state;
	assert_non_null(big);
	memset(big, 'a', KEYD_REQKEY_DESC_MAX + 1);
	big[KEYD_REQKEY_DESC_MAX + 1] = '\0';
	assert_int_equal(parse("user", big, NULL, &r), -EMSGSIZE);
	big[KEYD_REQKEY_DESC_MAX] = '\0';
	assert_int_equal(parse("user", big, NULL, &r), -EINVAL); /* fits, but not keyd's */
	free(big);

	snprintf(name, sizeof(name), "keyd:cert:%065d", 0); /* 65-character name */
	assert_int_equal(parse("user", name, NULL, &r), -EINVAL);
	snprintf(name, sizeof(name), "keyd:cert:%064d", 0);
	assert_int_equal(parse("user", name, NULL, &r), 0);

	assert_int_equal(parse("user", "keyd:cert:a\nb", NULL, &r), -EBADMSG);
	assert_int_equal(parse("user", "keyd:cert:a\x1b[2J", NULL, &r), -EBADMSG);
	assert_int_equal(parse("user", "keyd:cert:a\x7f", NULL, &r), -EBADMSG);
	assert_int_equal(parse("user", "", NULL, &r), -EINVAL);
	assert_int_equal(parse("", "keyd:cert:a", NULL, &r), -EINVAL);
	assert_int_equal(parse("User", "keyd:cert:a", NULL, &r), -EINVAL);
	assert_int_equal(parse("abcdefghijabcdefghijabcdefghijab", "keyd:cert:a", NULL, &r),
			 -EINVAL);
	assert_int_equal(parse(NULL, "keyd:cert:a", NULL, &r), -EINVAL);
}

static void test_callout(void **state)
{
	struct keyd_reqkey_request r;
	char big[KEYD_REQKEY_CALLOUT_MAX + 2];

	(void)state;
	assert_int_equal(parse("user", "keyd:cert:a", "timeout=30", &r), 0);
	assert_int_equal(r.timeout, 30);
	assert_int_equal(parse("user", "keyd:cert:a", "timeout=315360000", &r), 0);
	assert_int_equal(parse("user", "keyd:cert:a", "timeout=315360001", &r), -EINVAL);
	assert_int_equal(parse("user", "keyd:cert:a", "timeout=0", &r), -EINVAL);
	assert_int_equal(parse("user", "keyd:cert:a", "timeout=0x10", &r), -EINVAL);
	assert_int_equal(parse("user", "keyd:cert:a", "timeout=+5", &r), -EINVAL);
	assert_int_equal(parse("user", "keyd:cert:a", "timeout=", &r), -EINVAL);
	assert_int_equal(parse("user", "keyd:cert:a", "timeout=1 timeout=2", &r), -EINVAL);
	assert_int_equal(parse("user", "keyd:cert:a", "timeout=1 ", &r), -EINVAL);
	assert_int_equal(parse("user", "keyd:cert:a", " timeout=1", &r), -EINVAL);
	assert_int_equal(parse("user", "keyd:cert:a", "x", &r), -EINVAL);
	assert_int_equal(parse("user", "keyd:cert:a", "timeout=1;reboot", &r), -EINVAL);
	assert_int_equal(parse("user", "keyd:cert:a", "timeout=1\n", &r), -EBADMSG);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(parse("user", "keyd:cert:a", big, &r), -EMSGSIZE);
}

static void test_args(void **state)
{
	char *ok[] = { "123", "user", "keyd:cert:a", "", "0", "0", "0", "0", "456" };
	char *bad[9];
	struct keyd_reqkey_args a;
	char reason[256];

	(void)state;
	assert_int_equal(keyd_reqkey_args_parse(9, ok, &a, reason, sizeof(reason)), 0);
	assert_int_equal(a.key, 123);
	assert_int_equal(a.session_ring, 456);
	assert_int_equal(a.thread_ring, 0);
	assert_string_equal(a.description, "keyd:cert:a");

	assert_int_equal(keyd_reqkey_args_parse(8, ok, &a, reason, sizeof(reason)), -EINVAL);
	assert_int_equal(keyd_reqkey_args_parse(10, ok, &a, reason, sizeof(reason)), -EINVAL);

	static const char *const bad_keys[] = { "0", "-1", "+1", "012", "2147483648", "1x",
						"", " 1", "0x10" };
	for (size_t i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++) {
		memcpy(bad, ok, sizeof(bad));
		bad[0] = (char *)bad_keys[i];
		assert_int_equal(keyd_reqkey_args_parse(9, bad, &a, reason, sizeof(reason)),
				 -EINVAL);
	}
	memcpy(bad, ok, sizeof(bad));
	bad[4] = "-1";
	assert_int_equal(keyd_reqkey_args_parse(9, bad, &a, reason, sizeof(reason)), -EINVAL);
	memcpy(bad, ok, sizeof(bad));
	bad[5] = "4294967296";
	assert_int_equal(keyd_reqkey_args_parse(9, bad, &a, reason, sizeof(reason)), -EINVAL);
	memcpy(bad, ok, sizeof(bad));
	bad[8] = "-3"; /* a special id is not a serial */
	assert_int_equal(keyd_reqkey_args_parse(9, bad, &a, reason, sizeof(reason)), -EINVAL);
}

static void test_quote(void **state)
{
	char buf[64];

	(void)state;
	assert_true(keyd_reqkey_text_is_plain("keyd:cert:a b;$(x)"));
	assert_true(keyd_reqkey_text_is_plain(""));
	assert_false(keyd_reqkey_text_is_plain("a\nb"));
	assert_false(keyd_reqkey_text_is_plain("\xc3\xa9"));
	assert_false(keyd_reqkey_text_is_plain(NULL));
	keyd_reqkey_quote("a\nb\xff", 10, buf, sizeof(buf));
	assert_string_equal(buf, "a\\x0ab\\xff");
	keyd_reqkey_quote("abcdef", 3, buf, sizeof(buf));
	assert_string_equal(buf, "abc...");
	keyd_reqkey_quote("abcdef", 100, buf, 4);
	assert_true(strlen(buf) < 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_psk_identities),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_limits_and_bytes),
		cmocka_unit_test(test_callout),
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_quote),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
