/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Strict DER reader, DER writer and PEM armor (ITU-T X.690 section 10, RFC 7468).
 *
 * The reader accepts only what a DER encoder can produce for the few types keyd
 * uses: single-octet tags, definite lengths in their shortest form with at most
 * 4 length octets, and minimal INTEGERs. Everything else is -EBADMSG, so two
 * different byte strings never parse to the same value (a property the TSS2 key
 * round-trip fuzzer checks).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "der.h"
#include "macro.h"
#include "parse.h"

/* X.690 8.1.3.5: at most 4 length octets keeps every length below 2^32, far above
 * anything keyd reads, and bounds the work per header. */
#define DER_LEN_OCTETS_MAX 4
/* The writer refuses to grow past this: keyd never builds DER this large, so a
 * larger request means a caller bug, not a legitimate object. */
#define DERW_SIZE_MAX (16u * 1024 * 1024)
/* Largest PEM text and largest decoded block keyd_pem_decode() accepts. A CA
 * bundle from ca-certificates is about 220 KiB; keyd's own files are far smaller. */
#define PEM_TEXT_MAX (8u * 1024 * 1024)
#define PEM_DER_MAX (1024u * 1024)
/* RFC 7468 section 2: writers wrap base64 at 64 characters. */
#define PEM_LINE 64
/* Longest label accepted; RFC 7468 sets none, real labels are below 40. */
#define PEM_LABEL_MAX 64
/* Arcs in an OID keyd writes or formats (X.660 sets no limit; real OIDs stay below 20). */
#define OID_ARCS_MAX 32

/* ---- reader ----------------------------------------------------------------- */

/* Decode the header at d: tag, header size and content length; checks that the
 * content lies within d. */
static int der_header(const struct keyd_der *d, uint8_t *ret_tag, size_t *ret_hdr,
		      size_t *ret_len)
{
	size_t n, len = 0;
	uint8_t b;

	if (d->len < 2)
		return -EBADMSG;
	/* Tag numbers >= 31 use the multi-octet form, which keyd never needs. */
	if ((d->p[0] & 0x1f) == 0x1f)
		return -EBADMSG;
	b = d->p[1];
	if (b < 0x80) {
		n = 0;
		len = b;
	} else {
		n = b & 0x7f;
		/* 0x80 is the indefinite form (BER only); 0xff is reserved. */
		if (n == 0 || n > DER_LEN_OCTETS_MAX)
			return -EBADMSG;
		if (d->len - 2 < n)
			return -EBADMSG;
		/* Shortest form: no leading zero octet, and the long form only for >= 128. */
		if (d->p[2] == 0)
			return -EBADMSG;
		for (size_t i = 0; i < n; i++)
			len = len << 8 | d->p[2 + i];
		if (len < 0x80)
			return -EBADMSG;
	}
	if (len > d->len - 2 - n)
		return -EBADMSG;
	*ret_tag = d->p[0];
	*ret_hdr = 2 + n;
	*ret_len = len;
	return 0;
}

int keyd_der_peek(const struct keyd_der *d, uint8_t *ret_tag)
{
	if (d->len == 0)
		return -ENODATA;
	*ret_tag = d->p[0];
	return 0;
}

int keyd_der_read(struct keyd_der *d, uint8_t tag, struct keyd_der *ret_content)
{
	size_t hdr, len;
	uint8_t t;
	int r;

	/* A missing element is a truncation, not a different element. */
	if (d->len == 0)
		return -EBADMSG;
	if (d->p[0] != tag)
		return -ENOMSG;
	r = der_header(d, &t, &hdr, &len);
	if (r < 0)
		return r;
	*ret_content = (struct keyd_der){ .p = d->p + hdr, .len = len };
	d->p += hdr + len;
	d->len -= hdr + len;
	return 0;
}

/* Content octets of an INTEGER in minimal two's complement (X.690 8.3.2). */
static int der_read_integer(struct keyd_der *d, struct keyd_der *ret)
{
	struct keyd_der c;
	int r;

	r = keyd_der_read(d, KEYD_DER_INTEGER, &c);
	if (r < 0)
		return r;
	if (c.len == 0)
		return -EBADMSG;
	if (c.len > 1 && ((c.p[0] == 0x00 && !(c.p[1] & 0x80)) ||
			  (c.p[0] == 0xff && (c.p[1] & 0x80))))
		return -EBADMSG;
	*ret = c;
	return 0;
}

int keyd_der_read_u32(struct keyd_der *d, bool allow_negative_u32, uint32_t *ret)
{
	struct keyd_der c, saved = *d;
	uint32_t v = 0;
	int r;

	r = der_read_integer(d, &c);
	if (r < 0)
		return r;
	if (c.p[0] & 0x80) {
		/* Negative: only as the 32-bit two's complement image of a u32 with the
		 * top bit set (tpm2-tss-engine wrote parent 0x81000001 as 02 04 81 00 00 01). */
		if (!allow_negative_u32 || c.len > 4) {
			*d = saved;
			return -ERANGE;
		}
		v = UINT32_MAX;
	} else if (c.len > 5 || (c.len == 5 && c.p[0] != 0)) {
		*d = saved;
		return -ERANGE;
	}
	for (size_t i = 0; i < c.len; i++)
		v = v << 8 | c.p[i];
	*ret = v;
	return 0;
}

int keyd_der_read_uint(struct keyd_der *d, struct keyd_der *ret_magnitude)
{
	struct keyd_der c, saved = *d;
	int r;

	r = der_read_integer(d, &c);
	if (r < 0)
		return r;
	if (c.p[0] & 0x80) {
		*d = saved;
		return -ERANGE;
	}
	/* Minimality leaves at most one leading zero, there only to keep the sign. */
	if (c.p[0] == 0) {
		c.p++;
		c.len--;
	}
	*ret_magnitude = c;
	return 0;
}

/* ---- OIDs ---------------------------------------------------------------------- */

/* Encode dotted text as OID content octets (X.690 8.19). */
static int oid_encode(const char *dotted, uint8_t *out, size_t size, size_t *ret_len)
{
	uint64_t arcs[OID_ARCS_MAX];
	size_t n = 0, o = 0;
	const char *s = dotted;

	if (!dotted)
		return -EINVAL;
	for (;;) {
		uint64_t v = 0;
		const char *start = s;

		if (n == OID_ARCS_MAX)
			return -EINVAL;
		while (*s >= '0' && *s <= '9') {
			if (v > (UINT32_MAX - 9) / 10) /* arcs beyond 32 bits are not needed */
				return -EINVAL;
			v = v * 10 + (uint64_t)(*s - '0');
			s++;
		}
		/* Empty arcs and leading zeros ("1..2", "1.02") are not canonical text. */
		if (s == start || (s - start > 1 && *start == '0'))
			return -EINVAL;
		arcs[n++] = v;
		if (*s == '\0')
			break;
		if (*s != '.')
			return -EINVAL;
		s++;
	}
	if (n < 2 || arcs[0] > 2 || (arcs[0] < 2 && arcs[1] >= 40))
		return -EINVAL;
	arcs[1] += arcs[0] * 40;
	for (size_t i = 1; i < n; i++) {
		uint8_t tmp[10];
		size_t k = 0;
		uint64_t v = arcs[i];

		do {
			tmp[k++] = v & 0x7f;
			v >>= 7;
		} while (v);
		if (o + k > size)
			return -ENOBUFS;
		while (k > 0) {
			k--;
			out[o++] = (uint8_t)(tmp[k] | (k ? 0x80 : 0));
		}
	}
	*ret_len = o;
	return 0;
}

bool keyd_der_oid_equal(const struct keyd_der *oid_content, const char *dotted)
{
	uint8_t enc[OID_ARCS_MAX * 5];
	size_t n;

	if (oid_encode(dotted, enc, sizeof(enc), &n) < 0)
		return false;
	return oid_content->len == n && memcmp(oid_content->p, enc, n) == 0;
}

int keyd_der_oid_to_string(const struct keyd_der *oid_content, char *buf, size_t size)
{
	size_t o = 0, i = 0, arcs = 0;

	if (!buf || size == 0)
		return -EINVAL;
	buf[0] = '\0';
	if (oid_content->len == 0)
		return -EBADMSG;
	while (i < oid_content->len) {
		uint64_t v = 0;
		char tmp[48];
		int k;

		/* A subidentifier starting with 0x80 is not minimal (X.690 8.19.2). */
		if (oid_content->p[i] == 0x80)
			return -EBADMSG;
		for (;;) {
			uint8_t b;

			if (i >= oid_content->len)
				return -EBADMSG; /* last octet still had the continuation bit */
			b = oid_content->p[i++];
			if (v > (UINT64_MAX >> 7))
				return -EBADMSG;
			v = v << 7 | (b & 0x7f);
			if (!(b & 0x80))
				break;
		}
		if (++arcs > OID_ARCS_MAX)
			return -EBADMSG;
		if (o == 0) {
			unsigned first = v < 40 ? 0 : v < 80 ? 1 : 2;
			k = snprintf(tmp, sizeof(tmp), "%u.%llu", first,
				     (unsigned long long)(v - 40 * first));
		} else
			k = snprintf(tmp, sizeof(tmp), ".%llu", (unsigned long long)v);
		if (k < 0 || (size_t)k >= size - o)
			return -ENOBUFS;
		memcpy(buf + o, tmp, (size_t)k + 1);
		o += (size_t)k;
	}
	return 0;
}

/* ---- writer ------------------------------------------------------------------ */

void keyd_derw_init(struct keyd_derw *w)
{
	*w = (struct keyd_derw){};
}

void keyd_derw_free(struct keyd_derw *w)
{
	w->buf = erase_and_free(w->buf, w->cap);
	keyd_derw_init(w);
}

static void derw_fail(struct keyd_derw *w, int err)
{
	if (w->error == 0)
		w->error = err;
}

/* Make room for n more octets. Grows by copying so that no stale copy of the
 * content (which may be key material) is left behind by realloc. */
static bool derw_reserve(struct keyd_derw *w, size_t n)
{
	size_t cap;
	uint8_t *nb;

	if (w->error)
		return false;
	if (n > DERW_SIZE_MAX - w->len) {
		derw_fail(w, -E2BIG);
		return false;
	}
	if (w->len + n <= w->cap)
		return true;
	cap = w->cap ? w->cap : 256;
	while (cap < w->len + n)
		cap *= 2;
	nb = malloc(cap);
	if (!nb) {
		derw_fail(w, -ENOMEM);
		return false;
	}
	if (w->len)
		memcpy(nb, w->buf, w->len);
	erase_and_free(w->buf, w->cap);
	w->buf = nb;
	w->cap = cap;
	return true;
}

static size_t len_octets(size_t len)
{
	size_t n = 0;

	if (len < 0x80)
		return 0;
	for (; len; len >>= 8)
		n++;
	return n;
}

static void derw_put_len(uint8_t *p, size_t len)
{
	size_t n = len_octets(len);

	if (n == 0) {
		p[0] = (uint8_t)len;
		return;
	}
	p[0] = (uint8_t)(0x80 | n);
	for (size_t i = 0; i < n; i++)
		p[1 + i] = (uint8_t)(len >> (8 * (n - 1 - i)));
}

static bool derw_check_tag(struct keyd_derw *w, uint8_t tag)
{
	if ((tag & 0x1f) == 0x1f) {
		derw_fail(w, -EINVAL);
		return false;
	}
	return true;
}

void keyd_derw_raw(struct keyd_derw *w, uint8_t tag, const void *data, size_t len)
{
	size_t n = len_octets(len);

	if (!derw_check_tag(w, tag))
		return;
	if (n > DER_LEN_OCTETS_MAX || (len && !data)) {
		derw_fail(w, -EINVAL);
		return;
	}
	if (len > DERW_SIZE_MAX) {
		derw_fail(w, -E2BIG);
		return;
	}
	if (!derw_reserve(w, 2 + n + len))
		return;
	w->buf[w->len] = tag;
	derw_put_len(w->buf + w->len + 1, len);
	if (len)
		memcpy(w->buf + w->len + 2 + n, data, len);
	w->len += 2 + n + len;
}

/* begin writes the tag and a one-octet length placeholder; end fills in the
 * length and moves the content if the length needs more octets. */
void keyd_derw_begin(struct keyd_derw *w, uint8_t tag)
{
	if (!derw_check_tag(w, tag))
		return;
	if (w->depth >= ELEMENTSOF(w->stack)) {
		derw_fail(w, -E2BIG);
		return;
	}
	if (!derw_reserve(w, 2))
		return;
	w->buf[w->len] = tag;
	w->buf[w->len + 1] = 0;
	w->stack[w->depth++] = w->len + 1;
	w->len += 2;
}

void keyd_derw_end(struct keyd_derw *w)
{
	size_t pos, content, n;

	if (w->error)
		return;
	if (w->depth == 0) {
		derw_fail(w, -EINVAL);
		return;
	}
	pos = w->stack[--w->depth];
	content = w->len - pos - 1;
	n = len_octets(content);
	if (n > DER_LEN_OCTETS_MAX) {
		derw_fail(w, -E2BIG);
		return;
	}
	if (n > 0) {
		if (!derw_reserve(w, n))
			return;
		memmove(w->buf + pos + 1 + n, w->buf + pos + 1, content);
		w->len += n;
	}
	derw_put_len(w->buf + pos, content);
}

void keyd_derw_uint(struct keyd_derw *w, const uint8_t *be, size_t len)
{
	uint8_t *tmp;

	if (len && !be) {
		derw_fail(w, -EINVAL);
		return;
	}
	while (len > 0 && be[0] == 0) {
		be++;
		len--;
	}
	if (len > DERW_SIZE_MAX) {
		derw_fail(w, -E2BIG);
		return;
	}
	if (len > 0 && !(be[0] & 0x80)) {
		keyd_derw_raw(w, KEYD_DER_INTEGER, be, len);
		return;
	}
	/* Zero is one 00 octet; a magnitude with the top bit set needs a 00 in
	 * front so it does not read as negative. */
	tmp = malloc(len + 1);
	if (!tmp) {
		derw_fail(w, -ENOMEM);
		return;
	}
	tmp[0] = 0;
	if (len)
		memcpy(tmp + 1, be, len);
	keyd_derw_raw(w, KEYD_DER_INTEGER, tmp, len + 1);
	erase_and_free(tmp, len + 1);
}

void keyd_derw_u32(struct keyd_derw *w, uint32_t v)
{
	uint8_t be[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	keyd_derw_uint(w, be, sizeof(be));
}

void keyd_derw_bool(struct keyd_derw *w, bool v)
{
	/* X.690 11.1: DER encodes TRUE as FF. */
	uint8_t b = v ? 0xff : 0x00;

	keyd_derw_raw(w, KEYD_DER_BOOLEAN, &b, 1);
}

void keyd_derw_oid(struct keyd_derw *w, const char *dotted)
{
	uint8_t enc[OID_ARCS_MAX * 5];
	size_t n;
	int r;

	r = oid_encode(dotted, enc, sizeof(enc), &n);
	if (r < 0) {
		derw_fail(w, r);
		return;
	}
	keyd_derw_raw(w, KEYD_DER_OID, enc, n);
}

int keyd_derw_finish(struct keyd_derw *w, uint8_t **ret, size_t *ret_len)
{
	int r = w->error;

	if (r == 0 && w->depth != 0)
		r = -EINVAL; /* an element was begun and never ended */
	if (r == 0 && w->len == 0)
		r = -ENODATA;
	if (r < 0) {
		keyd_derw_free(w);
		return r;
	}
	/* The buffer may be larger than len: erase the slack so the caller can
	 * erase exactly len octets. */
	if (w->cap > w->len)
		explicit_bzero(w->buf + w->len, w->cap - w->len);
	*ret = w->buf;
	*ret_len = w->len;
	keyd_derw_init(w);
	return 0;
}

/* ---- ECDSA-Sig-Value (RFC 3279 section 2.2.3, SEC 1 C.8) ---------------------- */

/* Components larger than this are not from any curve keyd supports (P-521 has
 * 66 octets); refusing them keeps the signature bounded. */
#define ECDSA_COMPONENT_MAX 128

int keyd_der_ecdsa_sig_encode(const uint8_t *r, size_t rlen, const uint8_t *s, size_t slen,
			      uint8_t **ret, size_t *ret_len)
{
	struct keyd_derw w;

	if (!r || !s || !ret || !ret_len || rlen == 0 || slen == 0)
		return -EINVAL;
	if (rlen > ECDSA_COMPONENT_MAX || slen > ECDSA_COMPONENT_MAX)
		return -E2BIG;
	keyd_derw_init(&w);
	keyd_derw_begin(&w, KEYD_DER_SEQUENCE);
	keyd_derw_uint(&w, r, rlen);
	keyd_derw_uint(&w, s, slen);
	keyd_derw_end(&w);
	return keyd_derw_finish(&w, ret, ret_len);
}

/* ---- PEM (RFC 7468) ---------------------------------------------------------- */

/* RFC 7468 section 3: labelchar = %x21-2C / %x2E-7E; single "-" or SP between labelchars. */
static bool pem_label_valid(const char *l, size_t n)
{
	if (n == 0 || n > PEM_LABEL_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)l[i];
		bool sep = c == '-' || c == ' ';

		if (!sep && (c < 0x21 || c > 0x7e))
			return false;
		if (sep && (i == 0 || i == n - 1 || l[i - 1] == '-' || l[i - 1] == ' '))
			return false;
	}
	return true;
}

int keyd_pem_encode(const char *label, const uint8_t *der, size_t len, char **ret)
{
	size_t lab, b64len, lines, total, o = 0;
	_cleanup_free_ char *b64 = NULL;
	char *out;

	if (!label || !ret || (!der && len))
		return -EINVAL;
	lab = strlen(label);
	if (!pem_label_valid(label, lab) || len == 0)
		return -EINVAL;
	if (len > PEM_DER_MAX)
		return -E2BIG;
	b64len = 4 * ((len + 2) / 3);
	lines = (b64len + PEM_LINE - 1) / PEM_LINE;
	b64 = malloc(b64len + 1);
	if (!b64)
		return -ENOMEM;
	keyd_base64_encode(der, len, b64);
	/* "-----BEGIN " label "-----\n", lines with "\n", "-----END " label "-----\n", NUL */
	total = (11 + lab + 6) + b64len + lines + (9 + lab + 6) + 1;
	out = malloc(total);
	if (!out) {
		explicit_bzero(b64, b64len);
		return -ENOMEM;
	}
	o += (size_t)snprintf(out, total, "-----BEGIN %s-----\n", label);
	for (size_t i = 0; i < b64len; i += PEM_LINE) {
		size_t n = b64len - i < PEM_LINE ? b64len - i : PEM_LINE;
		memcpy(out + o, b64 + i, n);
		o += n;
		out[o++] = '\n';
	}
	o += (size_t)snprintf(out + o, total - o, "-----END %s-----\n", label);
	explicit_bzero(b64, b64len);
	*ret = out;
	return 0;
}

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* One line of text: [p, p+len) without its line ending; next is where the
 * following line starts. */
struct pem_line {
	const char *p;
	size_t len;
	size_t next;
};

static struct pem_line pem_line_at(const char *text, size_t len, size_t pos)
{
	const char *nl = memchr(text + pos, '\n', len - pos);
	struct pem_line l = { .p = text + pos };

	l.len = nl ? (size_t)(nl - (text + pos)) : len - pos;
	l.next = nl ? pos + l.len + 1 : len;
	/* RFC 7468 accepts CRLF and trailing whitespace on boundary lines. */
	while (l.len > 0 && (l.p[l.len - 1] == '\r' || is_wsp(l.p[l.len - 1])))
		l.len--;
	return l;
}

/* If the line is "-----<kind> <label>-----", return the label. */
static bool pem_boundary(const struct pem_line *l, const char *kind, const char **ret_label,
			 size_t *ret_label_len)
{
	size_t k = strlen(kind);

	if (l->len < 5 + k + 1 + 5 || memcmp(l->p, "-----", 5) != 0 ||
	    memcmp(l->p + 5, kind, k) != 0 || l->p[5 + k] != ' ' ||
	    memcmp(l->p + l->len - 5, "-----", 5) != 0)
		return false;
	*ret_label = l->p + 5 + k + 1;
	*ret_label_len = l->len - (5 + k + 1) - 5;
	return true;
}

/* Decode the block whose BEGIN line ended at body: base64 lines until the END
 * line with the same label. Whitespace inside the block is ignored (RFC 7468
 * section 3 "lax" parsing); anything else, including RFC 1421 headers such as
 * "Proc-Type:", is garbled input. */
static int pem_decode_body(const char *text, size_t len, size_t body, const char *label,
			   size_t label_len, uint8_t **ret_der, size_t *ret_len)
{
	_cleanup_free_ char *b64 = NULL;
	size_t n = 0, pos = body, out_len = 0;
	uint8_t *der = NULL;
	bool ended = false;
	int r;

	/* The base64 text is at most the rest of the input (bounded by PEM_TEXT_MAX). */
	b64 = malloc(len - body + 1);
	if (!b64)
		return -ENOMEM;
	while (pos < len) {
		struct pem_line l = pem_line_at(text, len, pos);
		const char *end_label;
		size_t end_label_len;

		pos = l.next;
		if (l.len >= 5 && memcmp(l.p, "-----", 5) == 0) {
			/* Any other boundary before our END line (a missing END, or
			 * END with another label) leaves ended false. */
			ended = pem_boundary(&l, "END", &end_label, &end_label_len) &&
				end_label_len == label_len &&
				memcmp(end_label, label, label_len) == 0;
			break;
		}
		for (size_t i = 0; i < l.len; i++) {
			char c = l.p[i];
			if (is_wsp(c) || c == '\r')
				continue;
			if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			      (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=')) {
				explicit_bzero(b64, n);
				return -EBADMSG;
			}
			b64[n++] = c;
		}
	}
	if (!ended || n == 0) {
		explicit_bzero(b64, n);
		return -EBADMSG;
	}
	if (n / 4 * 3 > PEM_DER_MAX) {
		explicit_bzero(b64, n);
		return -E2BIG;
	}
	der = malloc(n / 4 * 3 + 1);
	if (!der) {
		explicit_bzero(b64, n);
		return -ENOMEM;
	}
	r = keyd_base64_decode(b64, n, der, n / 4 * 3 + 1, &out_len);
	explicit_bzero(b64, n);
	if (r < 0 || out_len == 0) {
		erase_and_free(der, n / 4 * 3 + 1);
		return -EBADMSG;
	}
	*ret_der = der;
	*ret_len = out_len;
	return 0;
}

/*
 * Which block is decoded: the first one labelled `label`. Text before, between
 * and after blocks is ignored (RFC 7468 section 2), so a file holding a
 * certificate and then a key works. Only when no block carries the label does
 * the first block's label decide the answer (-EMEDIUMTYPE), so the caller can
 * say "this is a 'PRIVATE KEY' file, not ...".
 */
int keyd_pem_decode(const char *text, size_t len, const char *label, uint8_t **ret_der,
		    size_t *ret_len, char *ret_found_label, size_t found_label_size)
{
	const char *first = NULL;
	size_t first_len = 0, pos = 0, want;

	if (!text || !label || !ret_der || !ret_len)
		return -EINVAL;
	want = strlen(label);
	if (!pem_label_valid(label, want))
		return -EINVAL;
	if (len > PEM_TEXT_MAX)
		return -E2BIG;
	if (ret_found_label && found_label_size > 0)
		ret_found_label[0] = '\0';

	while (pos < len) {
		struct pem_line l = pem_line_at(text, len, pos);
		const char *lab;
		size_t lab_len;

		pos = l.next;
		if (!pem_boundary(&l, "BEGIN", &lab, &lab_len))
			continue;
		if (!pem_label_valid(lab, lab_len))
			return -EBADMSG;
		if (lab_len == want && memcmp(lab, label, want) == 0)
			return pem_decode_body(text, len, pos, lab, lab_len, ret_der, ret_len);
		if (!first) {
			first = lab;
			first_len = lab_len;
		}
	}
	if (!first)
		return -ENOENT;
	if (ret_found_label && found_label_size > 0) {
		size_t n = first_len < found_label_size - 1 ? first_len : found_label_size - 1;
		memcpy(ret_found_label, first, n);
		ret_found_label[n] = '\0';
	}
	return -EMEDIUMTYPE;
}
