/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * keyd_cert_bundle_from_pem over arbitrary bytes: never reads past the input,
 * and whatever it returns is a list of whole DER SEQUENCEs.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cert-bundle.h"
#include "der.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct keyd_cert_der *certs = NULL;
	size_t n = 0, index = 0;
	/* A copy of exactly size bytes, so ASan sees any read past the end. */
	char *text = malloc(size ? size : 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	if (keyd_cert_bundle_from_pem(text, size, &certs, &n, &index) == 0) {
		if (n == 0 || n > KEYD_CERT_BUNDLE_MAX)
			abort();
		for (size_t i = 0; i < n; i++) {
			struct keyd_der d = { .p = certs[i].der, .len = certs[i].len }, c;

			if (keyd_der_read(&d, KEYD_DER_SEQUENCE, &c) < 0 || !keyd_der_empty(&d))
				abort();
		}
		keyd_cert_bundle_free(certs, n);
	}
	free(text);
	return 0;
}
