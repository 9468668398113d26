/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for keyd/base/der.c: DER reader and writer, OIDs, ECDSA-Sig-Value, PEM.
 * Golden and negative cases side by side; all inputs are synthetic bytes. */
#include <setjmp.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "der.h"
#include "macro.h"

#define VIEW(...) ((struct keyd_der){ .p = (const uint8_t[]){ __VA_ARGS__ }, \
				     .len = sizeof((const uint8_t[]){ __VA_ARGS__ }) })

static void test_ecdsa_sig(void **state)
{
	/* r has its top bit set (needs a 00 in front), s has leading zeros to drop. */
	static const uint8_t r[] = { 0x80, 0x01 }, s[] = { 0x00, 0x00, 0x7f };
	static const uint8_t want[] = { 0x30, 0x08, 0x02, 0x03, 0x00, 0x80,
					0x01, 0x02, 0x01, 0x7f };
	uint8_t big[66], *sig = NULL;
	size_t len = 0;
	struct keyd_der d, seq, m;

	(void)state;
	assert_int_equal(keyd_der_ecdsa_sig_encode(r, sizeof(r), s, sizeof(s), &sig, &len), 0);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(sig, want, sizeof(want));
	free(sig);

	/* P-521 sized components: the SEQUENCE needs the long length form. */
	memset(big, 0xff, sizeof(big));
	assert_int_equal(keyd_der_ecdsa_sig_encode(big, sizeof(big), big, sizeof(big), &sig, &len),
			 0);
	assert_int_equal(len, 3 + 2 * (2 + 67));
	assert_int_equal(sig[0], 0x30);
	assert_int_equal(sig[1], 0x81);
	assert_int_equal(sig[2], 2 * (2 + 67));
	d = (struct keyd_der){ .p = sig, .len = len };
	assert_int_equal(keyd_der_read(&d, KEYD_DER_SEQUENCE, &seq), 0);
	assert_true(keyd_der_empty(&d));
	assert_int_equal(keyd_der_read_uint(&seq, &m), 0);
	assert_int_equal(m.len, 66);
	assert_memory_equal(m.p, big, 66);
	free(sig);

	/* All-zero component encodes as 0; empty or absurd components are refused. */
	assert_int_equal(keyd_der_ecdsa_sig_encode((const uint8_t[]){ 0 }, 1, s, sizeof(s), &sig,
						   &len), 0);
	assert_memory_equal(sig, "\x30\x06\x02\x01\x00\x02\x01\x7f", 8);
	free(sig);
	assert_int_equal(keyd_der_ecdsa_sig_encode(r, 0, s, sizeof(s), &sig, &len), -EINVAL);
	assert_int_equal(keyd_der_ecdsa_sig_encode(NULL, 2, s, sizeof(s), &sig, &len), -EINVAL);
	{
		uint8_t huge[129] = { 1 };
		assert_int_equal(keyd_der_ecdsa_sig_encode(huge, sizeof(huge), s, sizeof(s), &sig,
							   &len), -E2BIG);
	}
}

static void test_read_lengths(void **state)
{
	struct keyd_der d, c;
	uint8_t long_form[3 + 200];
	uint8_t tag;

	(void)state;
	/* Short form. */
	d = VIEW(0x04, 0x02, 0xaa, 0xbb, 0x05, 0x00);
	assert_int_equal(keyd_der_read(&d, KEYD_DER_OCTET_STRING, &c), 0);
	assert_int_equal(c.len, 2);
	assert_int_equal(c.p[0], 0xaa);
	assert_int_equal(keyd_der_peek(&d, &tag), 0);
	assert_int_equal(tag, KEYD_DER_NULL);
	/* A different tag: -ENOMSG and d untouched. */
	assert_int_equal(keyd_der_read(&d, KEYD_DER_INTEGER, &c), -ENOMSG);
	assert_int_equal(d.len, 2);
	assert_int_equal(keyd_der_read(&d, KEYD_DER_NULL, &c), 0);
	assert_int_equal(c.len, 0);
	assert_true(keyd_der_empty(&d));
	assert_int_equal(keyd_der_peek(&d, &tag), -ENODATA);
	assert_int_equal(keyd_der_read(&d, KEYD_DER_NULL, &c), -EBADMSG);

	/* Long form, minimal: 81 c8 for 200. */
	memset(long_form, 0x11, sizeof(long_form));
	long_form[0] = 0x04;
	long_form[1] = 0x81;
	long_form[2] = 200;
	d = (struct keyd_der){ .p = long_form, .len = sizeof(long_form) };
	assert_int_equal(keyd_der_read(&d, KEYD_DER_OCTET_STRING, &c), 0);
	assert_int_equal(c.len, 200);
	assert_true(keyd_der_empty(&d));
	/* Every truncation of it is malformed, never a read past the view. */
	for (size_t i = 0; i < sizeof(long_form); i++) {
		d = (struct keyd_der){ .p = long_form, .len = i };
		assert_int_equal(keyd_der_read(&d, KEYD_DER_OCTET_STRING, &c), -EBADMSG);
		assert_int_equal(d.len, i);
	}

	/* Non-minimal: long form for a short length, leading zero length octet. */
	d = VIEW(0x04, 0x81, 0x01, 0xaa);
	assert_int_equal(keyd_der_read(&d, KEYD_DER_OCTET_STRING, &c), -EBADMSG);
	d = VIEW(0x04, 0x82, 0x00, 0x01, 0xaa);
	assert_int_equal(keyd_der_read(&d, KEYD_DER_OCTET_STRING, &c), -EBADMSG);
	/* Indefinite length (BER), reserved 0xff, five length octets. */
	d = VIEW(0x30, 0x80, 0x05, 0x00, 0x00, 0x00);
	assert_int_equal(keyd_der_read(&d, KEYD_DER_SEQUENCE, &c), -EBADMSG);
	d = VIEW(0x04, 0xff, 0x00);
	assert_int_equal(keyd_der_read(&d, KEYD_DER_OCTET_STRING, &c), -EBADMSG);
	d = VIEW(0x04, 0x85, 0x01, 0x00, 0x00, 0x00, 0x00);
	assert_int_equal(keyd_der_read(&d, KEYD_DER_OCTET_STRING, &c), -EBADMSG);
	/* Oversized: 4 length octets claiming far more than there is. */
	d = VIEW(0x04, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x00);
	assert_int_equal(keyd_der_read(&d, KEYD_DER_OCTET_STRING, &c), -EBADMSG);
	d = VIEW(0x04, 0x84, 0xff, 0xff, 0xff, 0xff, 0x00);
	assert_int_equal(keyd_der_read(&d, KEYD_DER_OCTET_STRING, &c), -EBADMSG);
	/* Multi-octet tag form. */
	d = VIEW(0x1f, 0x01, 0x00);
	assert_int_equal(keyd_der_read(&d, 0x1f, &c), -EBADMSG);
	/* Tag alone. */
	d = VIEW(0x04);
	assert_int_equal(keyd_der_read(&d, KEYD_DER_OCTET_STRING, &c), -EBADMSG);
}

static void test_read_integers(void **state)
{
	struct keyd_der d, m;
	uint32_t v;

	(void)state;
	d = VIEW(0x02, 0x01, 0x00);
	assert_int_equal(keyd_der_read_u32(&d, false, &v), 0);
	assert_int_equal(v, 0);
	d = VIEW(0x02, 0x02, 0x00, 0x80);
	assert_int_equal(keyd_der_read_u32(&d, false, &v), 0);
	assert_int_equal(v, 0x80);
	/* The SRK handle written positively, and the negative form old engines wrote. */
	d = VIEW(0x02, 0x05, 0x00, 0x81, 0x00, 0x00, 0x01);
	assert_int_equal(keyd_der_read_u32(&d, false, &v), 0);
	assert_int_equal(v, 0x81000001u);
	d = VIEW(0x02, 0x04, 0x81, 0x00, 0x00, 0x01);
	assert_int_equal(keyd_der_read_u32(&d, true, &v), 0);
	assert_int_equal(v, 0x81000001u);
	d = VIEW(0x02, 0x04, 0x81, 0x00, 0x00, 0x01);
	assert_int_equal(keyd_der_read_u32(&d, false, &v), -ERANGE);
	assert_int_equal(d.len, 6); /* untouched on failure */
	d = VIEW(0x02, 0x01, 0xff); /* -1 = 0xffffffff as a 32-bit image */
	assert_int_equal(keyd_der_read_u32(&d, true, &v), 0);
	assert_int_equal(v, 0xffffffffu);
	/* Out of range. */
	d = VIEW(0x02, 0x05, 0x01, 0x00, 0x00, 0x00, 0x00);
	assert_int_equal(keyd_der_read_u32(&d, true, &v), -ERANGE);
	d = VIEW(0x02, 0x05, 0xff, 0x00, 0x00, 0x00, 0x00);
	assert_int_equal(keyd_der_read_u32(&d, true, &v), -ERANGE);
	/* Non-minimal and empty encodings. */
	d = VIEW(0x02, 0x02, 0x00, 0x01);
	assert_int_equal(keyd_der_read_u32(&d, false, &v), -EBADMSG);
	d = VIEW(0x02, 0x02, 0xff, 0x80);
	assert_int_equal(keyd_der_read_u32(&d, true, &v), -EBADMSG);
	d = VIEW(0x02, 0x05, 0xff, 0x81, 0x00, 0x00, 0x01);
	assert_int_equal(keyd_der_read_u32(&d, true, &v), -EBADMSG);
	d = VIEW(0x02, 0x00);
	assert_int_equal(keyd_der_read_u32(&d, false, &v), -EBADMSG);
	d = VIEW(0x04, 0x01, 0x00);
	assert_int_equal(keyd_der_read_u32(&d, false, &v), -ENOMSG);

	/* Unsigned big integers: magnitude without the sign octet. */
	d = VIEW(0x02, 0x03, 0x00, 0x80, 0x01);
	assert_int_equal(keyd_der_read_uint(&d, &m), 0);
	assert_int_equal(m.len, 2);
	assert_int_equal(m.p[0], 0x80);
	d = VIEW(0x02, 0x01, 0x00);
	assert_int_equal(keyd_der_read_uint(&d, &m), 0);
	assert_int_equal(m.len, 0);
	d = VIEW(0x02, 0x01, 0x80);
	assert_int_equal(keyd_der_read_uint(&d, &m), -ERANGE);
	d = VIEW(0x02, 0x03, 0x00, 0x00, 0x80);
	assert_int_equal(keyd_der_read_uint(&d, &m), -EBADMSG);
}

static void test_writer(void **state)
{
	struct keyd_derw w;
	uint8_t *out = NULL, content[300];
	size_t len = 0;
	struct keyd_der d, c, inner;
	uint32_t v;
	bool b;

	(void)state;
	memset(content, 0x5a, sizeof(content));
	keyd_derw_init(&w);
	keyd_derw_begin(&w, KEYD_DER_SEQUENCE);
	keyd_derw_u32(&w, 0x81000001u);
	keyd_derw_u32(&w, 0);
	keyd_derw_u32(&w, 0x7f);
	keyd_derw_bool(&w, true);
	keyd_derw_begin(&w, KEYD_DER_CONTEXT(1));
	keyd_derw_raw(&w, KEYD_DER_OCTET_STRING, content, sizeof(content)); /* 82 01 2c */
	keyd_derw_end(&w);
	keyd_derw_end(&w);
	assert_int_equal(keyd_derw_finish(&w, &out, &len), 0);

	/* 30 82 01 44 | 02 05 00 81 00 00 01 | 02 01 00 | 02 01 7f | 01 01 ff |
	 * a1 82 01 30 04 82 01 2c ... */
	assert_int_equal(len, 4 + 7 + 3 + 3 + 3 + 4 + 4 + 300);
	assert_memory_equal(out, "\x30\x82\x01\x44\x02\x05\x00\x81\x00\x00\x01\x02\x01\x00"
			    "\x02\x01\x7f\x01\x01\xff\xa1\x82\x01\x30\x04\x82\x01\x2c", 28);
	d = (struct keyd_der){ .p = out, .len = len };
	assert_int_equal(keyd_der_read(&d, KEYD_DER_SEQUENCE, &c), 0);
	assert_true(keyd_der_empty(&d));
	assert_int_equal(keyd_der_read_u32(&c, false, &v), 0);
	assert_int_equal(v, 0x81000001u);
	assert_int_equal(keyd_der_read_u32(&c, false, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(keyd_der_read_u32(&c, false, &v), 0);
	assert_int_equal(v, 0x7f);
	assert_int_equal(keyd_der_read(&c, KEYD_DER_BOOLEAN, &inner), 0);
	b = inner.len == 1 && inner.p[0] == 0xff;
	assert_true(b);
	assert_int_equal(keyd_der_read(&c, KEYD_DER_CONTEXT(1), &inner), 0);
	assert_int_equal(keyd_der_read(&inner, KEYD_DER_OCTET_STRING, &d), 0);
	assert_int_equal(d.len, 300);
	assert_memory_equal(d.p, content, 300);
	assert_true(keyd_der_empty(&c));
	free(out);

	/* Sticky errors: unbalanced end, unclosed begin, too deep, bad OID. */
	keyd_derw_init(&w);
	keyd_derw_end(&w);
	keyd_derw_u32(&w, 1);
	assert_int_equal(keyd_derw_finish(&w, &out, &len), -EINVAL);
	keyd_derw_init(&w);
	keyd_derw_begin(&w, KEYD_DER_SEQUENCE);
	assert_int_equal(keyd_derw_finish(&w, &out, &len), -EINVAL);
	keyd_derw_init(&w);
	for (int i = 0; i < 9; i++)
		keyd_derw_begin(&w, KEYD_DER_SEQUENCE);
	assert_int_equal(keyd_derw_finish(&w, &out, &len), -E2BIG);
	keyd_derw_init(&w);
	keyd_derw_oid(&w, "1.40.3");
	assert_int_equal(keyd_derw_finish(&w, &out, &len), -EINVAL);
	keyd_derw_init(&w);
	keyd_derw_raw(&w, 0x1f, "", 0);
	assert_int_equal(keyd_derw_finish(&w, &out, &len), -EINVAL);
	/* Free without finish. */
	keyd_derw_init(&w);
	keyd_derw_raw(&w, KEYD_DER_OCTET_STRING, content, 10);
	keyd_derw_free(&w);
	assert_null(w.buf);
}

static void test_oids(void **state)
{
	static const struct {
		const char *text;
		const char *der;
		size_t len;
	} vec[] = {
		{ "2.23.133.10.1.3", "\x67\x81\x05\x0a\x01\x03", 6 },
		{ "2.23.133.10.1.5", "\x67\x81\x05\x0a\x01\x05", 6 },
		{ "1.2.840.113549.1.1.1", "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01", 9 },
		{ "1.2.840.10045.3.1.7", "\x2a\x86\x48\xce\x3d\x03\x01\x07", 8 },
		{ "2.999.1", "\x88\x37\x01", 3 },
		{ "0.0", "\x00", 1 },
	};
	static const char *const bad_text[] = {
		"", "1", "3.1", "1.40", "1..2", "01.2", "1.2.", ".1.2", "1.2a", "1.4294967296",
	};
	char buf[64];

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(vec); i++) {
		struct keyd_derw w;
		uint8_t *out = NULL;
		size_t len = 0;
		struct keyd_der c = { .p = (const uint8_t *)vec[i].der, .len = vec[i].len };

		keyd_derw_init(&w);
		keyd_derw_oid(&w, vec[i].text);
		assert_int_equal(keyd_derw_finish(&w, &out, &len), 0);
		assert_int_equal(len, 2 + vec[i].len);
		assert_int_equal(out[0], KEYD_DER_OID);
		assert_memory_equal(out + 2, vec[i].der, vec[i].len);
		free(out);
		assert_true(keyd_der_oid_equal(&c, vec[i].text));
		assert_int_equal(keyd_der_oid_to_string(&c, buf, sizeof(buf)), 0);
		assert_string_equal(buf, vec[i].text);
	}
	for (size_t i = 0; i < ELEMENTSOF(bad_text); i++) {
		struct keyd_derw w;
		uint8_t *out = NULL;
		size_t len = 0;

		keyd_derw_init(&w);
		keyd_derw_oid(&w, bad_text[i]);
		assert_int_equal(keyd_derw_finish(&w, &out, &len), -EINVAL);
	}
	{
		struct keyd_der loadable = { .p = (const uint8_t *)"\x67\x81\x05\x0a\x01\x03", 6 };
		struct keyd_der c;

		assert_false(keyd_der_oid_equal(&loadable, "2.23.133.10.1.5"));
		assert_false(keyd_der_oid_equal(&loadable, "2.23.133.10.1"));
		assert_false(keyd_der_oid_equal(&loadable, "not an oid"));
		/* Non-minimal subidentifier, cut-off subidentifier, empty. */
		c = VIEW(0x67, 0x80, 0x81, 0x05);
		assert_int_equal(keyd_der_oid_to_string(&c, buf, sizeof(buf)), -EBADMSG);
		c = VIEW(0x67, 0x81);
		assert_int_equal(keyd_der_oid_to_string(&c, buf, sizeof(buf)), -EBADMSG);
		c = (struct keyd_der){ .p = (const uint8_t *)"", .len = 0 };
		assert_int_equal(keyd_der_oid_to_string(&c, buf, sizeof(buf)), -EBADMSG);
		/* Arc beyond 64 bits. */
		c = VIEW(0x2a, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x01);
		assert_int_equal(keyd_der_oid_to_string(&c, buf, sizeof(buf)), -EBADMSG);
		/* Buffer too small. */
		assert_int_equal(keyd_der_oid_to_string(&loadable, buf, 8), -ENOBUFS);
	}
}

/* Armor with keyd_pem_encode and check the shape RFC 7468 asks for. */
static char *armor(const char *label, const uint8_t *der, size_t len)
{
	char *pem = NULL;

	assert_int_equal(keyd_pem_encode(label, der, len, &pem), 0);
	return pem;
}

static char *concat3(const char *a, const char *b, const char *c)
{
	size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
	char *s = malloc(n);

	assert_non_null(s);
	snprintf(s, n, "%s%s%s", a, b, c);
	return s;
}

static void test_pem(void **state)
{
	uint8_t der[200], *out = NULL;
	size_t out_len = 0;
	char found[32];
	char *pem, *s, *line;

	(void)state;
	for (size_t i = 0; i < sizeof(der); i++)
		der[i] = (uint8_t)(i * 7 + 3);

	/* Golden: round trip, 64-column lines, exact boundaries. */
	pem = armor("TEST DATA", der, sizeof(der));
	assert_true(startswith(pem, "-----BEGIN TEST DATA-----\n"));
	line = strchr(pem, '\n') + 1;
	assert_int_equal(strchr(line, '\n') - line, 64);
	assert_non_null(strstr(pem, "\n-----END TEST DATA-----\n"));
	assert_int_equal(pem[strlen(pem) - 1], '\n');
	assert_int_equal(keyd_pem_decode(pem, strlen(pem), "TEST DATA", &out, &out_len, found,
					 sizeof(found)), 0);
	assert_int_equal(out_len, sizeof(der));
	assert_memory_equal(out, der, sizeof(der));
	free(out);

	/* Text before and after, CRLF line endings, blanks and tabs inside the block. */
	{
		size_t n = strlen(pem), o = 0;
		char *crlf = malloc(2 * n + 64);

		assert_non_null(crlf);
		o += (size_t)sprintf(crlf, "Subject: something\r\n\r\n");
		for (size_t i = 0; i < n; i++) {
			if (pem[i] == '\n')
				crlf[o++] = '\r';
			else if (i > 30 && pem[i - 1] == '\n' && pem[i] != '-')
				crlf[o++] = '\t'; /* indent base64 lines */
			crlf[o++] = pem[i];
		}
		o += (size_t)sprintf(crlf + o, "trailing words\r\n");
		assert_int_equal(keyd_pem_decode(crlf, o, "TEST DATA", &out, &out_len, NULL, 0), 0);
		assert_int_equal(out_len, sizeof(der));
		assert_memory_equal(out, der, sizeof(der));
		free(out);
		free(crlf);
	}
	/* No final newline is fine. */
	assert_int_equal(keyd_pem_decode(pem, strlen(pem) - 1, "TEST DATA", &out, &out_len, NULL,
					 0), 0);
	free(out);
	/* Every other truncation fails, without reading past len. */
	for (size_t i = 0; i + 1 < strlen(pem); i++) {
		char *cut = malloc(i ? i : 1);
		int r;

		assert_non_null(cut);
		memcpy(cut, pem, i);
		r = keyd_pem_decode(cut, i, "TEST DATA", &out, &out_len, NULL, 0);
		assert_true(r == -EBADMSG || r == -ENOENT);
		free(cut);
	}

	/* The first block with the label is used even after another block. */
	{
		char *other = armor("CERTIFICATE", der, 10);
		s = concat3(other, "between\n", pem);
		assert_int_equal(keyd_pem_decode(s, strlen(s), "TEST DATA", &out, &out_len, NULL,
						 0), 0);
		assert_int_equal(out_len, sizeof(der));
		free(out);
		free(s);
		/* Only another label: -EMEDIUMTYPE names it. */
		assert_int_equal(keyd_pem_decode(other, strlen(other), "TEST DATA", &out, &out_len,
						 found, sizeof(found)), -EMEDIUMTYPE);
		assert_string_equal(found, "CERTIFICATE");
		/* Label longer than the caller's buffer: cut, still terminated. */
		assert_int_equal(keyd_pem_decode(other, strlen(other), "TEST DATA", &out, &out_len,
						 found, 5), -EMEDIUMTYPE);
		assert_string_equal(found, "CERT");
		free(other);
	}
	/* No block at all. */
	s = concat3("just some text\n", "-----BEGIN", "\n");
	assert_int_equal(keyd_pem_decode(s, strlen(s), "TEST DATA", &out, &out_len, NULL, 0),
			 -ENOENT);
	free(s);

	/* END with another label. */
	s = strdup(pem);
	assert_non_null(s);
	memcpy(strstr(s, "-----END TEST DATA") + 9, "BEST", 4);
	assert_int_equal(keyd_pem_decode(s, strlen(s), "TEST DATA", &out, &out_len, NULL, 0),
			 -EBADMSG);
	free(s);
	/* Bad base64: a stray character, an RFC 1421 header, broken padding. */
	s = strdup(pem);
	assert_non_null(s);
	s[40] = '*';
	assert_int_equal(keyd_pem_decode(s, strlen(s), "TEST DATA", &out, &out_len, NULL, 0),
			 -EBADMSG);
	free(s);
	s = concat3("-----BEGIN TEST DATA-----\nProc-Type: 4,ENCRYPTED\n\n",
		    strchr(pem, '\n') + 1, "");
	assert_int_equal(keyd_pem_decode(s, strlen(s), "TEST DATA", &out, &out_len, NULL, 0),
			 -EBADMSG);
	free(s);
	s = strdup("-----BEGIN TEST DATA-----\nZm9=\n-----END TEST DATA-----\n");
	assert_int_equal(keyd_pem_decode(s, strlen(s), "TEST DATA", &out, &out_len, NULL, 0),
			 -EBADMSG);
	free(s);
	/* Empty block. */
	s = strdup("-----BEGIN TEST DATA-----\n-----END TEST DATA-----\n");
	assert_int_equal(keyd_pem_decode(s, strlen(s), "TEST DATA", &out, &out_len, NULL, 0),
			 -EBADMSG);
	free(s);
	/* A garbled BEGIN label. */
	s = strdup("-----BEGIN TEST  DATA-----\nAAAA\n-----END TEST  DATA-----\n");
	assert_int_equal(keyd_pem_decode(s, strlen(s), "TEST DATA", &out, &out_len, NULL, 0),
			 -EBADMSG);
	free(s);
	/* A NUL byte inside the block is not base64. */
	{
		char buf[128];
		int n = snprintf(buf, sizeof(buf), "-----BEGIN TEST DATA-----\nAA%cA\n"
				 "-----END TEST DATA-----\n", 'X');
		buf[28] = '\0';
		assert_int_equal(keyd_pem_decode(buf, (size_t)n, "TEST DATA", &out, &out_len, NULL,
						 0), -EBADMSG);
	}
	free(pem);

	/* Size bound. */
	{
		size_t big = 8u * 1024 * 1024 + 1;
		char *huge = malloc(big);

		assert_non_null(huge);
		memset(huge, 'A', big);
		assert_int_equal(keyd_pem_decode(huge, big, "TEST DATA", &out, &out_len, NULL, 0),
				 -E2BIG);
		free(huge);
	}
	/* Labels the writer refuses. */
	assert_int_equal(keyd_pem_encode("", der, 4, &pem), -EINVAL);
	assert_int_equal(keyd_pem_encode("A--B", der, 4, &pem), -EINVAL);
	assert_int_equal(keyd_pem_encode(" X", der, 4, &pem), -EINVAL);
	assert_int_equal(keyd_pem_encode("X\n", der, 4, &pem), -EINVAL);
	assert_int_equal(keyd_pem_encode("X", der, 0, &pem), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ecdsa_sig),     cmocka_unit_test(test_read_lengths),
		cmocka_unit_test(test_read_integers), cmocka_unit_test(test_writer),
		cmocka_unit_test(test_oids),          cmocka_unit_test(test_pem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
