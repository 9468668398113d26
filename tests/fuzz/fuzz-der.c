/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for keyd/base/der.c: walks the input as nested DER with
 * every reader entry point (checking no view ever leaves the input), decodes
 * it as PEM, and checks the round trips that must hold: PEM decode, encode,
 * decode; OID content to text and back; ECDSA-Sig-Value encode and read. The
 * input is also read as a SubjectPublicKeyInfo (spki.c): its views stay inside.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "der.h"
#include "spki.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define WALK_DEPTH_MAX 16

static const uint8_t *lo, *hi; /* the input, for bounds checks */

static void check_view(const struct keyd_der *v)
{
	if (v->len && (v->p < lo || v->p > hi || (size_t)(hi - v->p) < v->len))
		abort();
}

static void check_oid(const struct keyd_der *c)
{
	char text[512];
	struct keyd_derw w;
	uint8_t *out = NULL;
	size_t len = 0;

	if (keyd_der_oid_to_string(c, text, sizeof(text)) < 0)
		return;
	if (keyd_der_oid_equal(c, text))
		return;
	/* Text that does not compare equal must be text keyd cannot encode
	 * (arcs beyond 32 bits, too many arcs). */
	keyd_derw_init(&w);
	keyd_derw_oid(&w, text);
	if (keyd_derw_finish(&w, &out, &len) == 0)
		abort();
}

static void walk(struct keyd_der d, unsigned depth)
{
	while (!keyd_der_empty(&d)) {
		struct keyd_der c, copy, m;
		uint8_t tag;
		uint32_t v;

		if (keyd_der_peek(&d, &tag) < 0)
			abort();
		copy = d;
		(void)keyd_der_read_u32(&copy, true, &v);
		check_view(&copy);
		copy = d;
		(void)keyd_der_read_u32(&copy, false, &v);
		copy = d;
		if (keyd_der_read_uint(&copy, &m) == 0) {
			check_view(&m);
			if (m.len > 0 && m.p[0] == 0)
				abort(); /* the magnitude keeps no leading zero */
		}
		copy = d;
		if (keyd_der_read(&copy, (uint8_t)(tag ^ 1), &c) != -ENOMSG ||
		    copy.p != d.p || copy.len != d.len)
			abort(); /* another tag: -ENOMSG and the view untouched */
		if (keyd_der_read(&d, tag, &c) < 0)
			return;
		check_view(&c);
		check_view(&d);
		if (tag == KEYD_DER_OID)
			check_oid(&c);
		if ((tag & 0x20) && depth < WALK_DEPTH_MAX)
			walk(c, depth + 1);
	}
}

static void pem_roundtrip(const uint8_t *data, size_t size, const char *label)
{
	uint8_t *der = NULL, *der2 = NULL;
	size_t len = 0, len2 = 0;
	char found[80], *pem = NULL;
	int r;

	r = keyd_pem_decode((const char *)data, size, label, &der, &len, found, sizeof(found));
	if (r == -EMEDIUMTYPE && strlen(found) >= sizeof(found))
		abort();
	if (r < 0)
		return;
	if (len == 0 || keyd_pem_encode(label, der, len, &pem) < 0)
		abort();
	if (keyd_pem_decode(pem, strlen(pem), label, &der2, &len2, NULL, 0) < 0 || len2 != len ||
	    memcmp(der, der2, len) != 0)
		abort();
	free(der);
	free(der2);
	free(pem);
}

static void ecdsa_roundtrip(const uint8_t *data, size_t size)
{
	size_t rlen = size / 2, slen = size - size / 2;
	struct keyd_der d, seq, r, s;
	uint8_t *sig = NULL;
	size_t len = 0;

	if (rlen == 0 || rlen > 128 || slen > 128)
		return;
	if (keyd_der_ecdsa_sig_encode(data, rlen, data + rlen, slen, &sig, &len) < 0)
		abort();
	d = (struct keyd_der){ .p = sig, .len = len };
	if (keyd_der_read(&d, KEYD_DER_SEQUENCE, &seq) < 0 || !keyd_der_empty(&d) ||
	    keyd_der_read_uint(&seq, &r) < 0 || keyd_der_read_uint(&seq, &s) < 0 ||
	    !keyd_der_empty(&seq))
		abort();
	/* The magnitudes are the inputs without leading zeros. */
	while (rlen && data[0] == 0) {
		data++;
		rlen--;
	}
	if (r.len != rlen || memcmp(r.p, data, rlen) != 0)
		abort();
	(void)s;
	free(sig);
}

static void spki_views(const uint8_t *data, size_t size)
{
	struct keyd_spki s;

	if (keyd_spki_parse(data, size, &s) < 0)
		return;
	if (s.kind == KEYD_SPKI_EC) {
		if (!s.curve || s.point.len == 0)
			abort();
		check_view(&s.point);
	} else if (s.kind == KEYD_SPKI_RSA) {
		if (s.n.len == 0 || s.e.len == 0 || s.n.p[0] == 0 || s.e.p[0] == 0)
			abort();
		check_view(&s.n);
		check_view(&s.e);
	} else {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lo = data;
	hi = data + size;
	spki_views(data, size);
	walk((struct keyd_der){ .p = data, .len = size }, 0);
	pem_roundtrip(data, size, "TSS2 PRIVATE KEY");
	pem_roundtrip(data, size, "CERTIFICATE");
	ecdsa_roundtrip(data, size);
	return 0;
}
