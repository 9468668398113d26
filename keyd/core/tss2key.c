/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TSS2 PRIVATE KEY files: the TPMKey structure of draft-bottomley-tpm2-keys
 * (the format of openssl_tpm2_engine, tpm2-openssl, tpm2-tss-engine and the
 * kernel's trusted keys). All context tags are EXPLICIT, as in the draft's
 * ASN.1 module and the kernel's security/keys/trusted-keys/tpm2key.asn1.
 *
 * The parser is strict: every field is checked against the draft and keyd's
 * bounds, and each failure gets a one-line reason naming the field and the
 * byte offset, because a user holding a broken key file has nothing else to go
 * on. The writer produces the canonical form, so parse(write(k)) == k.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "der.h"
#include "macro.h"
#include "tss2key.h"

/* TPM 2.0 Part 2, 7.2 (TPM_HT): handle types a parent may have in a file. */
#define TPM_HT_PERMANENT 0x40u
#define TPM_HT_PERSISTENT 0x81u
/* TPM2B size prefix (TPM 2.0 Part 2, 10.4). */
#define TPM2B_SIZE_LEN 2
/* Highest context tag the draft defines ([5] rsaParent). */
#define TPMKEY_LAST_OPTIONAL 5

struct tss2_parser {
	const uint8_t *base; /* start of the DER, for offsets in reasons */
	char *reason;
	size_t reason_size;
};

_printf_(3, 4) static int fail(struct tss2_parser *ps, int err, const char *fmt, ...)
{
	va_list ap;

	if (ps->reason && ps->reason_size > 0) {
		va_start(ap, fmt);
		vsnprintf(ps->reason, ps->reason_size, fmt, ap);
		va_end(ap);
	}
	return err;
}

static size_t offset_of(const struct tss2_parser *ps, const struct keyd_der *d)
{
	return (size_t)(d->p - ps->base);
}

/*
 * keyd_der_read() says only "malformed": decode the header again to tell the
 * user what exactly is wrong with the element named `field` at d.
 */
static int explain_read_error(struct tss2_parser *ps, const struct keyd_der *d, uint8_t tag,
			      const char *field, int r)
{
	size_t off = offset_of(ps, d), n, len = 0;
	uint8_t b;

	if (d->len == 0)
		return fail(ps, -EBADMSG, "truncated: the '%s' field is missing at offset %zu "
			    "(end of data)", field, off);
	if (r == -ENOMSG)
		return fail(ps, -EBADMSG, "expected the '%s' field (tag 0x%02x) at offset %zu, "
			    "found tag 0x%02x", field, tag, off, d->p[0]);
	if (d->len < 2)
		return fail(ps, -EBADMSG, "truncated: the '%s' field at offset %zu has no length",
			    field, off);
	b = d->p[1];
	if (b < 0x80)
		return fail(ps, -EBADMSG, "truncated: the '%s' field at offset %zu needs %u bytes, "
			    "%zu remain", field, off, b, d->len - 2);
	n = b & 0x7f;
	if (n == 0)
		return fail(ps, -EBADMSG, "the '%s' field at offset %zu has an indefinite length "
			    "(BER, not DER)", field, off);
	if (n > 4)
		return fail(ps, -EBADMSG, "the '%s' field at offset %zu has %zu length octets "
			    "(at most 4 allowed)", field, off, n);
	if (d->len - 2 < n)
		return fail(ps, -EBADMSG, "truncated: the length of the '%s' field at offset %zu "
			    "is cut off", field, off);
	for (size_t i = 0; i < n; i++)
		len = len << 8 | d->p[2 + i];
	if (d->p[2] == 0 || len < 0x80)
		return fail(ps, -EBADMSG, "the '%s' field at offset %zu has a non-minimal length "
			    "encoding (not DER)", field, off);
	return fail(ps, -EBADMSG, "truncated: the '%s' field at offset %zu needs %zu bytes, "
		    "%zu remain", field, off, len, d->len - 2 - n);
}

static int read_field(struct tss2_parser *ps, struct keyd_der *d, uint8_t tag, const char *field,
		      struct keyd_der *ret)
{
	struct keyd_der saved = *d;
	int r = keyd_der_read(d, tag, ret);

	if (r < 0)
		return explain_read_error(ps, &saved, tag, field, r);
	return 0;
}

/* An element that must fill its container exactly (EXPLICIT tag contents,
 * SEQUENCE bodies). */
static int expect_end(struct tss2_parser *ps, const struct keyd_der *d, const char *where)
{
	if (d->len == 0)
		return 0;
	return fail(ps, -EBADMSG, "unexpected data at offset %zu: %zu extra bytes inside %s",
		    offset_of(ps, d), d->len, where);
}

/* An INTEGER that must fit in 32 bits (negative only if allow_negative, see
 * keyd_der_read_u32()). */
static int read_u32_field(struct tss2_parser *ps, struct keyd_der *d, const char *field,
			  bool allow_negative, uint32_t *ret)
{
	struct keyd_der saved = *d, content;
	int r;

	r = keyd_der_read_u32(d, allow_negative, ret);
	if (r >= 0)
		return 0;
	if (r == -ERANGE)
		return fail(ps, -EBADMSG, "the '%s' INTEGER at offset %zu is not a 32-bit "
			    "unsigned number", field, offset_of(ps, &saved));
	*d = saved;
	r = read_field(ps, d, KEYD_DER_INTEGER, field, &content);
	if (r < 0)
		return r;
	/* The header was fine, so the value itself is malformed. */
	return fail(ps, -EBADMSG, "the '%s' INTEGER at offset %zu is empty or not minimally "
		    "encoded (not DER)", field, offset_of(ps, &saved));
}

/* [n] EXPLICIT BOOLEAN. DER allows only 00 and FF (X.690 11.1), but tpm2-openssl
 * writes TRUE as 01 (BER), so any non-zero octet reads as TRUE; keyd writes FF. */
static int read_explicit_bool(struct tss2_parser *ps, struct keyd_der *d, uint8_t ctx,
			      const char *field, bool *ret)
{
	struct keyd_der outer, v;
	int r;

	r = read_field(ps, d, KEYD_DER_CONTEXT(ctx), field, &outer);
	if (r < 0)
		return r;
	r = read_field(ps, &outer, KEYD_DER_BOOLEAN, field, &v);
	if (r < 0)
		return r;
	if (v.len != 1)
		return fail(ps, -EBADMSG, "the '%s' BOOLEAN at offset %zu is not one octet",
			    field, offset_of(ps, &v));
	*ret = v.p[0] != 0x00;
	return expect_end(ps, &outer, field);
}

/* One TPMPolicy { commandCode [0] EXPLICIT INTEGER, commandPolicy [1] EXPLICIT OCTET STRING }. */
static int read_policy_step(struct tss2_parser *ps, struct keyd_der *d, size_t i,
			    struct keyd_tpm_policy_step *ret)
{
	struct keyd_der step, cc, cp, params;
	int r;

	r = read_field(ps, d, KEYD_DER_SEQUENCE, "policy step", &step);
	if (r < 0)
		return r;
	r = read_field(ps, &step, KEYD_DER_CONTEXT(0), "policy commandCode", &cc);
	if (r < 0)
		return r;
	r = read_u32_field(ps, &cc, "policy commandCode", false, &ret->command_code);
	if (r < 0)
		return r;
	r = expect_end(ps, &cc, "policy commandCode");
	if (r < 0)
		return r;
	r = read_field(ps, &step, KEYD_DER_CONTEXT(1), "policy commandPolicy", &cp);
	if (r < 0)
		return r;
	r = read_field(ps, &cp, KEYD_DER_OCTET_STRING, "policy commandPolicy", &params);
	if (r < 0)
		return r;
	if (params.len > sizeof(ret->params))
		return fail(ps, -E2BIG, "policy step %zu: the parameters at offset %zu are %zu "
			    "bytes, keyd allows at most %zu", i + 1, offset_of(ps, &params),
			    params.len, sizeof(ret->params));
	memcpy(ret->params, params.p, params.len);
	ret->params_len = params.len;
	r = expect_end(ps, &cp, "policy commandPolicy");
	if (r < 0)
		return r;
	return expect_end(ps, &step, "a policy step");
}

static int read_policy(struct tss2_parser *ps, struct keyd_der *d, struct keyd_tss2key *k)
{
	struct keyd_der outer, seq;
	int r;

	r = read_field(ps, d, KEYD_DER_CONTEXT(1), "policy", &outer);
	if (r < 0)
		return r;
	r = read_field(ps, &outer, KEYD_DER_SEQUENCE, "policy", &seq);
	if (r < 0)
		return r;
	while (!keyd_der_empty(&seq)) {
		if (k->n_policy >= KEYD_TPM_POLICY_STEPS_MAX)
			return fail(ps, -E2BIG, "the policy has more than %d steps (at offset "
				    "%zu); keyd supports at most %d", KEYD_TPM_POLICY_STEPS_MAX,
				    offset_of(ps, &seq), KEYD_TPM_POLICY_STEPS_MAX);
		r = read_policy_step(ps, &seq, k->n_policy, &k->policy[k->n_policy]);
		if (r < 0)
			return r;
		k->n_policy++;
	}
	return expect_end(ps, &outer, "policy");
}

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above
 * U+10FFFF. Control characters are refused too: the description is shown on
 * terminals and in logs, and is one line of text. Returns the offset of the
 * first bad byte, or len if all is well. */
static size_t utf8_check_text(const uint8_t *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint8_t c = s[i];
		uint32_t cp, min;
		size_t n;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return i;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
			min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
			min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
			min = 0x10000;
		} else
			return i;
		if (len - i - 1 < n)
			return i;
		for (size_t j = 1; j <= n; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return i;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
		    (cp >= 0x80 && cp < 0xa0)) /* C1 controls */
			return i;
		i += n + 1;
	}
	return len;
}

static int read_description(struct tss2_parser *ps, struct keyd_der *d, struct keyd_tss2key *k)
{
	struct keyd_der outer, v;
	size_t bad;
	int r;

	r = read_field(ps, d, KEYD_DER_CONTEXT(4), "description", &outer);
	if (r < 0)
		return r;
	r = read_field(ps, &outer, KEYD_DER_UTF8STRING, "description", &v);
	if (r < 0)
		return r;
	if (v.len > KEYD_TSS2_DESCRIPTION_MAX)
		return fail(ps, -E2BIG, "the description at offset %zu is %zu bytes, keyd allows "
			    "at most %d", offset_of(ps, &v), v.len, KEYD_TSS2_DESCRIPTION_MAX);
	/* An empty description would not survive a round trip ("" means absent). */
	if (v.len == 0)
		return fail(ps, -EBADMSG, "the description at offset %zu is empty",
			    offset_of(ps, &v));
	bad = utf8_check_text(v.p, v.len);
	if (bad < v.len)
		return fail(ps, -EBADMSG, "the description has invalid UTF-8 or a control "
			    "character at offset %zu", offset_of(ps, &v) + bad);
	memcpy(k->description, v.p, v.len);
	k->description[v.len] = '\0';
	return expect_end(ps, &outer, "description");
}

/* pubkey/privkey: an OCTET STRING holding a marshalled TPM2B (2-byte big-endian
 * size, then that many bytes). */
static int read_tpm2b(struct tss2_parser *ps, struct keyd_der *d, const char *field, uint8_t *buf,
		      size_t *ret_len)
{
	struct keyd_der v;
	size_t inner;
	int r;

	r = read_field(ps, d, KEYD_DER_OCTET_STRING, field, &v);
	if (r < 0)
		return r;
	if (v.len > KEYD_TPM_BLOB_MAX)
		return fail(ps, -E2BIG, "the '%s' field at offset %zu is %zu bytes, keyd allows "
			    "at most %d", field, offset_of(ps, &v), v.len, KEYD_TPM_BLOB_MAX);
	if (v.len <= TPM2B_SIZE_LEN)
		return fail(ps, -EBADMSG, "the '%s' field at offset %zu is %zu bytes, too short "
			    "for a TPM2B", field, offset_of(ps, &v), v.len);
	inner = (size_t)v.p[0] << 8 | v.p[1];
	if (inner != v.len - TPM2B_SIZE_LEN)
		return fail(ps, -EBADMSG, "the '%s' TPM2B at offset %zu says %zu bytes but the "
			    "field holds %zu", field, offset_of(ps, &v), inner,
			    v.len - TPM2B_SIZE_LEN);
	memcpy(buf, v.p, v.len);
	*ret_len = v.len;
	return 0;
}

static int parse_type(struct tss2_parser *ps, struct keyd_der *d, struct keyd_tss2key *k)
{
	struct keyd_der oid, saved = *d;
	char text[128];
	uint8_t tag;

	/* PKCS#1, PKCS#8 and SEC 1 private keys all start with an INTEGER version:
	 * say what the file is rather than "expected an OID". */
	if (keyd_der_peek(d, &tag) >= 0 && tag == KEYD_DER_INTEGER)
		return fail(ps, -EMEDIUMTYPE, "this DER starts like an ordinary private key "
			    "(INTEGER version at offset %zu), not a TPM key file (%s)",
			    offset_of(ps, d), KEYD_TSS2_PEM_LABEL);
	if (read_field(ps, d, KEYD_DER_OID, "type", &oid) < 0)
		return -EBADMSG;
	if (keyd_der_oid_equal(&oid, KEYD_TSS2_OID_LOADABLE)) {
		k->type = KEYD_TSS2_LOADABLE;
		return 0;
	}
	if (keyd_der_oid_equal(&oid, KEYD_TSS2_OID_SEALED)) {
		k->type = KEYD_TSS2_SEALED;
		return 0;
	}
	if (keyd_der_oid_to_string(&oid, text, sizeof(text)) < 0)
		return fail(ps, -EBADMSG, "the key type OID at offset %zu is malformed",
			    offset_of(ps, &saved));
	if (keyd_der_oid_equal(&oid, KEYD_TSS2_OID_IMPORTABLE))
		return fail(ps, -EPROTO, "key type OID %s (importable key) is not supported: keyd "
			    "loads loadable keys (%s) and sealed data (%s)", text,
			    KEYD_TSS2_OID_LOADABLE, KEYD_TSS2_OID_SEALED);
	return fail(ps, -EPROTO, "unknown key type OID %s: keyd loads loadable keys (%s) and "
		    "sealed data (%s)", text, KEYD_TSS2_OID_LOADABLE, KEYD_TSS2_OID_SEALED);
}

static int parse_parent(struct tss2_parser *ps, struct keyd_der *d, struct keyd_tss2key *k)
{
	struct keyd_der saved = *d;
	uint32_t v;
	int r;

	/* Old tpm2-tss-engine files encode 0x81000001 as the negative 02 04 81 00 00 01. */
	r = read_u32_field(ps, d, "parent", true, &v);
	if (r < 0)
		return r;
	/* Only a persistent key or a hierarchy can be a parent in a file; transient
	 * handles do not outlive the process that made them. */
	if (v >> 24 != TPM_HT_PERSISTENT && v >> 24 != TPM_HT_PERMANENT)
		return fail(ps, -EBADMSG, "the parent handle 0x%08x at offset %zu is neither a "
			    "persistent key nor a hierarchy", v, offset_of(ps, &saved));
	k->blob.parent = v;
	return 0;
}

/* The optional [0]..[5] fields, in order, each at most once. */
static int parse_optional(struct tss2_parser *ps, struct keyd_der *d, struct keyd_tss2key *k)
{
	int last = -1, r;
	uint8_t tag;

	while (keyd_der_peek(d, &tag) >= 0 && (tag & 0xe0) == 0xa0) {
		int n = tag & 0x1f;
		size_t off = offset_of(ps, d);
		bool b;

		if (n <= last)
			return fail(ps, -EBADMSG, "field [%d] at offset %zu is repeated or out of "
				    "order", n, off);
		last = n;
		switch (n) {
		case 0:
			r = read_explicit_bool(ps, d, 0, "emptyAuth", &b);
			if (r < 0)
				return r;
			k->empty_auth = b ? KEYD_TSS2_EMPTY_AUTH_TRUE : KEYD_TSS2_EMPTY_AUTH_FALSE;
			break;
		case 1:
			r = read_policy(ps, d, k);
			if (r < 0)
				return r;
			break;
		case 2:
			return fail(ps, -ENOTSUP, "the key has a 'secret' field [2] at offset %zu "
				    "(an import seed), which keyd cannot use", off);
		case 3:
			return fail(ps, -ENOTSUP, "the key has an 'authPolicy' field [3] at offset "
				    "%zu (signed policies), which keyd cannot use", off);
		case 4:
			r = read_description(ps, d, k);
			if (r < 0)
				return r;
			break;
		case 5:
			r = read_explicit_bool(ps, d, 5, "rsaParent", &b);
			if (r < 0)
				return r;
			k->rsa_parent = b;
			break;
		default:
			return fail(ps, -ENOTSUP, "field [%d] at offset %zu is not defined by the "
				    "TSS2 key format keyd knows (newer format?)", n, off);
		}
	}
	return 0;
}

static int parse_der(struct tss2_parser *ps, const uint8_t *der, size_t len,
		     struct keyd_tss2key *k)
{
	struct keyd_der in = { .p = der, .len = len }, seq;
	int r;

	ps->base = der;
	if (len == 0)
		return fail(ps, -EBADMSG, "empty input");
	if (read_field(ps, &in, KEYD_DER_SEQUENCE, "TPMKey", &seq) < 0)
		return -EBADMSG;
	if (!keyd_der_empty(&in))
		return fail(ps, -EBADMSG, "trailing data: %zu bytes after the TPMKey SEQUENCE at "
			    "offset %zu", in.len, offset_of(ps, &in));
	r = parse_type(ps, &seq, k);
	if (r < 0)
		return r;
	r = parse_optional(ps, &seq, k);
	if (r < 0)
		return r;
	r = parse_parent(ps, &seq, k);
	if (r < 0)
		return r;
	r = read_tpm2b(ps, &seq, "pubkey", k->blob.pub, &k->blob.pub_len);
	if (r < 0)
		return r;
	r = read_tpm2b(ps, &seq, "privkey", k->blob.priv, &k->blob.priv_len);
	if (r < 0)
		return r;
	return expect_end(ps, &seq, "the TPMKey after 'privkey'");
}

/* Is this PEM label an ordinary (non-TPM) private key? */
static bool label_is_private_key(const char *label)
{
	size_t n = strlen(label), k = strlen("PRIVATE KEY");

	return n >= k && memcmp(label + n - k, "PRIVATE KEY", k) == 0;
}

static int parse_pem(struct tss2_parser *ps, const uint8_t *data, size_t len,
		     struct keyd_tss2key *k)
{
	uint8_t *der = NULL;
	size_t der_len = 0;
	char found[65];
	int r;

	r = keyd_pem_decode((const char *)data, len, KEYD_TSS2_PEM_LABEL, &der, &der_len, found,
			    sizeof(found));
	switch (r) {
	case 0:
		break;
	case -ENOENT:
		return fail(ps, -EBADMSG, "neither DER (no SEQUENCE at offset 0) nor PEM (no "
			    "'-----BEGIN ...-----' line)");
	case -EMEDIUMTYPE:
		if (label_is_private_key(found))
			return fail(ps, -EMEDIUMTYPE, "this is an ordinary '%s' PEM, not a TPM key "
				    "file (%s)", found, KEYD_TSS2_PEM_LABEL);
		return fail(ps, -EMEDIUMTYPE, "this is a '%s' PEM, not a TPM key file (%s)", found,
			    KEYD_TSS2_PEM_LABEL);
	case -E2BIG:
		return fail(ps, -E2BIG, "the PEM block is too large");
	case -ENOMEM:
		return fail(ps, -ENOMEM, "out of memory");
	default:
		return fail(ps, -EBADMSG, "the '%s' PEM block is garbled: bad base64, a header "
			    "line, or no matching '-----END %s-----' line", KEYD_TSS2_PEM_LABEL,
			    KEYD_TSS2_PEM_LABEL);
	}
	r = parse_der(ps, der, der_len, k);
	erase_and_free(der, der_len);
	if (r < 0 && ps->reason && ps->reason_size > 0) {
		/* Offsets are in the decoded DER, not in the text: say so. */
		char tmp[256];
		snprintf(tmp, sizeof(tmp), "%s (offset in the decoded PEM data)", ps->reason);
		snprintf(ps->reason, ps->reason_size, "%s", tmp);
	}
	return r;
}

int keyd_tss2key_parse(const uint8_t *data, size_t len, struct keyd_tss2key *ret, char *ret_reason,
		       size_t reason_size)
{
	struct tss2_parser ps = { .base = data, .reason = ret_reason, .reason_size = reason_size };
	int r;

	if (ret_reason && reason_size > 0)
		ret_reason[0] = '\0';
	if (!ret || (!data && len))
		return -EINVAL;
	*ret = (struct keyd_tss2key){};
	if (len > KEYD_TSS2_FILE_MAX)
		return fail(&ps, -E2BIG, "the input is %zu bytes, a TSS2 key file has at most %d",
			    len, KEYD_TSS2_FILE_MAX);
	if (len == 0)
		return fail(&ps, -EBADMSG, "empty input");
	if (data[0] == KEYD_DER_SEQUENCE)
		r = parse_der(&ps, data, len, ret);
	else
		r = parse_pem(&ps, data, len, ret);
	if (r < 0)
		explicit_bzero(ret, sizeof(*ret));
	return r;
}

static bool tpm2b_valid(const uint8_t *b, size_t len)
{
	return len > TPM2B_SIZE_LEN && len <= KEYD_TPM_BLOB_MAX &&
	       ((size_t)b[0] << 8 | b[1]) == len - TPM2B_SIZE_LEN;
}

/* The writer refuses what the parser would refuse, so every file keyd writes
 * reads back. */
static int tss2key_validate(const struct keyd_tss2key *k)
{
	size_t dlen;

	if (k->type != KEYD_TSS2_LOADABLE && k->type != KEYD_TSS2_SEALED)
		return -EINVAL;
	switch (k->empty_auth) {
	case KEYD_TSS2_EMPTY_AUTH_ABSENT:
	case KEYD_TSS2_EMPTY_AUTH_FALSE:
	case KEYD_TSS2_EMPTY_AUTH_TRUE:
		break;
	default:
		return -EINVAL;
	}
	if (k->n_policy > KEYD_TPM_POLICY_STEPS_MAX)
		return -E2BIG;
	for (size_t i = 0; i < k->n_policy; i++)
		if (k->policy[i].params_len > sizeof(k->policy[i].params))
			return -E2BIG;
	dlen = strnlen(k->description, sizeof(k->description));
	if (dlen > KEYD_TSS2_DESCRIPTION_MAX)
		return -E2BIG;
	if (utf8_check_text((const uint8_t *)k->description, dlen) != dlen)
		return -EINVAL;
	if (k->blob.parent >> 24 != TPM_HT_PERSISTENT && k->blob.parent >> 24 != TPM_HT_PERMANENT)
		return -EINVAL;
	if (!tpm2b_valid(k->blob.pub, k->blob.pub_len) ||
	    !tpm2b_valid(k->blob.priv, k->blob.priv_len))
		return -EINVAL;
	return 0;
}

int keyd_tss2key_to_der(const struct keyd_tss2key *k, uint8_t **ret, size_t *ret_len)
{
	struct keyd_derw w;
	size_t dlen;
	int r;

	if (!k || !ret || !ret_len)
		return -EINVAL;
	r = tss2key_validate(k);
	if (r < 0)
		return r;
	dlen = strlen(k->description);

	keyd_derw_init(&w);
	keyd_derw_begin(&w, KEYD_DER_SEQUENCE);
	keyd_derw_oid(&w, k->type == KEYD_TSS2_SEALED ? KEYD_TSS2_OID_SEALED :
						       KEYD_TSS2_OID_LOADABLE);
	/* The draft recommends omitting emptyAuth rather than writing FALSE. */
	if (k->empty_auth == KEYD_TSS2_EMPTY_AUTH_TRUE) {
		keyd_derw_begin(&w, KEYD_DER_CONTEXT(0));
		keyd_derw_bool(&w, true);
		keyd_derw_end(&w);
	}
	if (k->n_policy > 0) {
		keyd_derw_begin(&w, KEYD_DER_CONTEXT(1));
		keyd_derw_begin(&w, KEYD_DER_SEQUENCE);
		for (size_t i = 0; i < k->n_policy; i++) {
			keyd_derw_begin(&w, KEYD_DER_SEQUENCE);
			keyd_derw_begin(&w, KEYD_DER_CONTEXT(0));
			keyd_derw_u32(&w, k->policy[i].command_code);
			keyd_derw_end(&w);
			keyd_derw_begin(&w, KEYD_DER_CONTEXT(1));
			keyd_derw_raw(&w, KEYD_DER_OCTET_STRING, k->policy[i].params,
				      k->policy[i].params_len);
			keyd_derw_end(&w);
			keyd_derw_end(&w);
		}
		keyd_derw_end(&w);
		keyd_derw_end(&w);
	}
	if (dlen > 0) {
		keyd_derw_begin(&w, KEYD_DER_CONTEXT(4));
		keyd_derw_raw(&w, KEYD_DER_UTF8STRING, k->description, dlen);
		keyd_derw_end(&w);
	}
	if (k->rsa_parent) {
		keyd_derw_begin(&w, KEYD_DER_CONTEXT(5));
		keyd_derw_bool(&w, true);
		keyd_derw_end(&w);
	}
	/* Always the positive form (02 05 00 81 00 00 01 for the SRK): tpm2-openssl
	 * and the kernel read it as an unsigned handle. */
	keyd_derw_u32(&w, k->blob.parent);
	keyd_derw_raw(&w, KEYD_DER_OCTET_STRING, k->blob.pub, k->blob.pub_len);
	keyd_derw_raw(&w, KEYD_DER_OCTET_STRING, k->blob.priv, k->blob.priv_len);
	keyd_derw_end(&w);
	return keyd_derw_finish(&w, ret, ret_len);
}

int keyd_tss2key_to_pem(const struct keyd_tss2key *k, char **ret)
{
	uint8_t *der = NULL;
	size_t len = 0;
	int r;

	if (!ret)
		return -EINVAL;
	r = keyd_tss2key_to_der(k, &der, &len);
	if (r < 0)
		return r;
	r = keyd_pem_encode(KEYD_TSS2_PEM_LABEL, der, len, ret);
	erase_and_free(der, len);
	return r;
}
