/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include "cert-bundle.h"
#include "der.h"
#include "macro.h"

#define BEGIN_LINE "-----BEGIN CERTIFICATE-----"
#define END_LINE "-----END CERTIFICATE-----"

void keyd_cert_bundle_free(struct keyd_cert_der *certs, size_t n)
{
	for (size_t i = 0; certs && i < n; i++)
		free(certs[i].der);
	free(certs);
}

static const char *find(const char *p, const char *end, const char *needle)
{
	size_t n = strlen(needle);

	for (; p && (size_t)(end - p) >= n; p++) {
		p = memchr(p, needle[0], (size_t)(end - p));
		if (!p || (size_t)(end - p) < n)
			return NULL;
		if (memcmp(p, needle, n) == 0)
			return p;
	}
	return NULL;
}

/* The DER must be exactly one SEQUENCE (a Certificate), nothing after it. */
static bool der_is_one_sequence(const uint8_t *der, size_t len)
{
	struct keyd_der d = { .p = der, .len = len }, content;

	return keyd_der_read(&d, KEYD_DER_SEQUENCE, &content) >= 0 && keyd_der_empty(&d);
}

int keyd_cert_bundle_from_pem(const char *text, size_t len, struct keyd_cert_der **ret,
			      size_t *ret_n, size_t *ret_index)
{
	struct keyd_cert_der *certs = NULL;
	const char *p = text, *end = text + len;
	size_t n = 0;
	int r = 0;

	while ((p = find(p, end, BEGIN_LINE))) {
		const char *stop = find(p, end, END_LINE);
		struct keyd_cert_der *grown;
		uint8_t *der = NULL;
		size_t der_len = 0;

		if (n >= KEYD_CERT_BUNDLE_MAX) {
			r = -E2BIG;
			break;
		}
		if (!stop) {
			r = -EBADMSG;
			break;
		}
		stop += strlen(END_LINE);
		r = keyd_pem_decode(p, (size_t)(stop - p), "CERTIFICATE", &der, &der_len, NULL, 0);
		if (r >= 0 && !der_is_one_sequence(der, der_len))
			r = -EBADMSG;
		if (r < 0) {
			free(der);
			r = r == -ENOMEM ? r : -EBADMSG;
			break;
		}
		grown = reallocarray(certs, n + 1, sizeof(*certs));
		if (!grown) {
			free(der);
			r = -ENOMEM;
			break;
		}
		certs = grown;
		certs[n++] = (struct keyd_cert_der){ .der = der, .len = der_len };
		p = stop;
	}
	if (r < 0) {
		if (ret_index)
			*ret_index = n + 1;
		keyd_cert_bundle_free(certs, n);
		return r;
	}
	if (n == 0)
		return -ENODATA;
	*ret = certs;
	*ret_n = n;
	return 0;
}
