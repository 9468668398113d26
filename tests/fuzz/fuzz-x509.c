/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for keyd/core/x509.c's bundle parser (the input of
 * "keyd-ctl ca add" and "cert add"): any bytes as a PEM bundle or a DER file.
 * Checks the invariants the callers rely on: every problem index is within the
 * blocks seen and increasing, every certificate has its DER, a fingerprint and
 * NUL-terminated names, and a certificate's PEM parses back to the same DER.
 * The CA checks run on each certificate as well.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct keyd_x509_cert *certs = NULL;
	struct keyd_x509_problem *problems = NULL;
	size_t n = 0, n_problems = 0, last = 0;
	char reason[256];
	int r;

	if (size > 256 * 1024)
		return 0;
	r = keyd_x509_bundle_parse(data, size, &certs, &n, &problems, &n_problems);
	if (r < 0 && r != -ENODATA)
		abort();
	if ((r == -ENODATA) != (n == 0))
		abort();
	for (size_t i = 0; i < n_problems; i++) {
		if (problems[i].index <= last || problems[i].error >= 0 ||
		    !memchr(problems[i].reason, 0, sizeof(problems[i].reason)))
			abort();
		last = problems[i].index;
	}
	for (size_t i = 0; i < n; i++) {
		struct keyd_x509_cert *again = NULL;
		struct keyd_x509_problem *p2 = NULL;
		size_t n2 = 0, np2 = 0;
		char *pem = NULL;

		if (!certs[i].der || certs[i].der_len == 0 || strlen(certs[i].fingerprint) != 64 ||
		    !memchr(certs[i].subject, 0, sizeof(certs[i].subject)) ||
		    !memchr(certs[i].issuer, 0, sizeof(certs[i].issuer)))
			abort();
		(void)keyd_x509_check_ca(&certs[i], 1700000000, 30, reason, sizeof(reason));
		if (keyd_x509_cert_to_pem(&certs[i], &pem) < 0)
			abort();
		if (keyd_x509_bundle_parse((const uint8_t *)pem, strlen(pem), &again, &n2, &p2,
					   &np2) < 0 ||
		    n2 != 1 || np2 != 0 || again[0].der_len != certs[i].der_len ||
		    memcmp(again[0].der, certs[i].der, certs[i].der_len) != 0)
			abort();
		keyd_x509_certs_free(again, n2);
		free(p2);
		free(pem);
	}
	keyd_x509_certs_free(certs, n);
	free(problems);
	return 0;
}
