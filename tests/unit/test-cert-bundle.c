/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for keyd/core/cert-bundle.c: PEM bundles from the store to DER,
 * golden and damaged cases side by side. The DER here is a minimal SEQUENCE, not
 * a real certificate: the module checks the framing, enrollment checked the rest.
 */
#define _GNU_SOURCE /* asprintf */
#include <setjmp.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cert-bundle.h"
#include "der.h"
#include "macro.h"

/* PEM of DER "30 03 02 01 <n>" (a SEQUENCE holding INTEGER n). */
static char *block(uint8_t n)
{
	const uint8_t der[] = { 0x30, 0x03, 0x02, 0x01, n };
	char *pem = NULL;

	assert_int_equal(keyd_pem_encode("CERTIFICATE", der, sizeof(der), &pem), 0);
	return pem;
}

static char *join(const char *a, const char *b, const char *c)
{
	char *s = NULL;

	assert_true(asprintf(&s, "%s%s%s", a, b, c) > 0);
	return s;
}

static void test_bundle_good(void **state)
{
	_cleanup_free_ char *b1 = block(1), *b2 = block(2), *text = NULL;
	struct keyd_cert_der *certs = NULL;
	size_t n = 0, index = 0;

	(void)state;
	/* Text between blocks (comments, subjects) is ignored, as in system bundles. */
	text = join(b1, "# a comment between certificates\n", b2);
	assert_int_equal(keyd_cert_bundle_from_pem(text, strlen(text), &certs, &n, &index), 0);
	assert_int_equal(n, 2);
	assert_int_equal(certs[0].len, 5);
	assert_int_equal(certs[0].der[4], 1);
	assert_int_equal(certs[1].der[4], 2);
	keyd_cert_bundle_free(certs, n);
}

static void test_bundle_bad(void **state)
{
	_cleanup_free_ char *b1 = block(1), *t1 = NULL, *t2 = NULL, *t3 = NULL;
	struct keyd_cert_der *certs = NULL;
	size_t n = 0, index = 0;
	char *p;

	(void)state;
	assert_int_equal(keyd_cert_bundle_from_pem("", 0, &certs, &n, &index), -ENODATA);
	assert_int_equal(keyd_cert_bundle_from_pem("no pem here\n", 12, &certs, &n, &index),
			 -ENODATA);
	/* A second block without its END line. */
	t1 = join(b1, "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n", "");
	assert_int_equal(keyd_cert_bundle_from_pem(t1, strlen(t1), &certs, &n, &index), -EBADMSG);
	assert_int_equal(index, 2);
	/* Garbled base64 in the first block. */
	t2 = strdup(b1);
	p = strstr(t2, "\n") + 1;
	*p = '*';
	assert_int_equal(keyd_cert_bundle_from_pem(t2, strlen(t2), &certs, &n, &index), -EBADMSG);
	assert_int_equal(index, 1);
	/* DER that is not one whole SEQUENCE (an INTEGER). */
	{
		const uint8_t der[] = { 0x02, 0x01, 0x05 };

		assert_int_equal(keyd_pem_encode("CERTIFICATE", der, sizeof(der), &t3), 0);
		assert_int_equal(keyd_cert_bundle_from_pem(t3, strlen(t3), &certs, &n, &index),
				 -EBADMSG);
	}
	/* The length is honoured: a bundle cut before its END line is damaged. */
	assert_int_equal(keyd_cert_bundle_from_pem(b1, strlen(b1) - 10, &certs, &n, &index),
			 -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bundle_good),
		cmocka_unit_test(test_bundle_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
