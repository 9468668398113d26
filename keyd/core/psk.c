/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * NVMe/TCP TLS pre-shared keys: interchange strings, the retained key, the PSK
 * digest, identities and the TLS PSK (NVMe/TCP transport specification, TP8018).
 *
 * Facts and numbers follow libnvme (src/nvme/linux.c, later crypto.c, in
 * linux-nvme/libnvme), the reference implementation nvme-cli and the kernel
 * interoperate with; the public vectors of its tests/psk.c are reproduced in
 * tests/unit/test-psk.c. Points where keyd had to pick libnvme's behaviour over a
 * literal reading of the text are marked "libnvme:".
 *
 * Every intermediate that holds key material (retained key, PRK, decoded
 * interchange bytes) lives in a stack buffer erased before the function returns.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "macro.h"
#include "parse.h"
#include "psk.h"

#define INTERCHANGE_PREFIX "NVMeTLSkey-"
#define HKDF_LABEL_HOSTNQN "tls13 HostNQN"
#define HKDF_LABEL_TLS_PSK "tls13 nvme-tls-psk"
#define DIGEST_SEED "NVMe-over-Fabrics"
/* RFC 8446 section 7.1: HkdfLabel.context is opaque<0..255>. */
#define HKDF_CONTEXT_MAX 255
/* uint16 length, label with its length byte, context with its length byte; the v0
 * context (a whole identity) is the longest input, allowed in compat mode. */
#define HKDF_INFO_MAX (2 + 1 + 32 + 1 + KEYD_PSK_IDENTITY_MAX)

static const char *const hmac_table[_KEYD_PSK_HMAC_MAX] = {
	[KEYD_PSK_HMAC_NONE] = "none",
	[KEYD_PSK_HMAC_SHA256] = "sha256",
	[KEYD_PSK_HMAC_SHA384] = "sha384",
};

const char *keyd_psk_hmac_to_string(enum keyd_psk_hmac h)
{
	return (unsigned)h < _KEYD_PSK_HMAC_MAX ? hmac_table[h] : NULL;
}

enum keyd_psk_hmac keyd_psk_hmac_from_string(const char *s)
{
	if (!s)
		return _KEYD_PSK_HMAC_INVALID;
	for (size_t i = 0; i < _KEYD_PSK_HMAC_MAX; i++)
		if (streq(hmac_table[i], s))
			return (enum keyd_psk_hmac)i;
	return _KEYD_PSK_HMAC_INVALID;
}

void keyd_psk_key_wipe(struct keyd_psk_key *k)
{
	if (k)
		explicit_bzero(k, sizeof(*k));
}

/* 1 valid; -EINVAL bad syntax; -ENAMETOOLONG longer than 223 bytes (NVMe Base
 * specification, "NVMe Qualified Names"). Printable ASCII without spaces because
 * identities and tls-keys lines separate fields with single spaces. */
int keyd_psk_nqn_is_valid(const char *nqn)
{
	size_t n;

	if (!nqn)
		return -EINVAL;
	n = strnlen(nqn, KEYD_PSK_NQN_MAX + 1);
	if (n > KEYD_PSK_NQN_MAX)
		return -ENAMETOOLONG;
	if (n <= 4 || !startswith(nqn, "nqn."))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (nqn[i] <= ' ' || nqn[i] > '~')
			return -EINVAL;
	return 1;
}

/* A configured key that can exist: hh 01 needs 32 bytes, 02 needs 48, 00 either. */
static int key_check(const struct keyd_psk_key *k)
{
	if (!k)
		return -EINVAL;
	switch (k->hmac) {
	case KEYD_PSK_HMAC_NONE:
		return k->len == 32 || k->len == 48 ? 0 : -EMSGSIZE;
	case KEYD_PSK_HMAC_SHA256:
		return k->len == 32 ? 0 : -EMSGSIZE;
	case KEYD_PSK_HMAC_SHA384:
		return k->len == 48 ? 0 : -EMSGSIZE;
	case _KEYD_PSK_HMAC_MAX:
	case _KEYD_PSK_HMAC_INVALID:
		break;
	}
	return -EPROTO;
}

/* The hash the PSK is used with (the hh of the identity). libnvme: for hh 00 it
 * follows the key length, so an identity never carries "00". */
static enum keyd_psk_hmac key_cipher(const struct keyd_psk_key *k)
{
	if (k->hmac != KEYD_PSK_HMAC_NONE)
		return k->hmac;
	return k->len == 48 ? KEYD_PSK_HMAC_SHA384 : KEYD_PSK_HMAC_SHA256;
}

static enum keyd_hash_alg cipher_hash(enum keyd_psk_hmac c)
{
	return c == KEYD_PSK_HMAC_SHA384 ? KEYD_HASH_SHA384 : KEYD_HASH_SHA256;
}

static int params_check(const struct keyd_psk_params *p)
{
	int r;

	if (!p)
		return -EINVAL;
	if (p->version != KEYD_PSK_IDENTITY_V0 && p->version != KEYD_PSK_IDENTITY_V1)
		return -EINVAL;
	r = keyd_psk_nqn_is_valid(p->hostnqn);
	if (r < 0)
		return r;
	r = keyd_psk_nqn_is_valid(p->subnqn);
	return r < 0 ? r : 0;
}

/*
 * The info of HKDF-Expand-Label. RFC 8446 section 7.1:
 *   uint16_be(L) || uint8(len(label)) || label || uint8(len(ctx)) || ctx.
 * libnvme's compat form (what it produced before it followed the RFC, kept behind an
 * explicit option): uint16_le(L) || label || ctx, no length bytes.
 */
static int hkdf_label(bool compat, size_t out_len, const char *label, const char *ctx,
		      uint8_t *buf, size_t size, size_t *ret_len)
{
	size_t llen = strlen(label), clen = strlen(ctx), n = 0;

	if (out_len > UINT16_MAX || llen > 255)
		return -EINVAL;
	if (!compat && clen > HKDF_CONTEXT_MAX)
		return -ENAMETOOLONG;
	if (2 + 1 + llen + 1 + clen > size)
		return -ENOBUFS;
	if (compat) {
		buf[n++] = (uint8_t)(out_len & 0xff);
		buf[n++] = (uint8_t)(out_len >> 8);
	} else {
		buf[n++] = (uint8_t)(out_len >> 8);
		buf[n++] = (uint8_t)(out_len & 0xff);
		buf[n++] = (uint8_t)llen;
	}
	memcpy(buf + n, label, llen);
	n += llen;
	if (!compat)
		buf[n++] = (uint8_t)clen;
	memcpy(buf + n, ctx, clen);
	n += clen;
	*ret_len = n;
	return 0;
}

/* HKDF-Expand(HKDF-Extract(zeros, ikm), HkdfLabel(len, label, ctx), len). */
static int expand_label(enum keyd_hash_alg h, bool compat, const uint8_t *ikm, size_t len,
			const char *label, const char *ctx, uint8_t *out)
{
	uint8_t prk[KEYD_HASH_MAX], info[HKDF_INFO_MAX];
	size_t info_len;
	int r;

	r = hkdf_label(compat, len, label, ctx, info, sizeof(info), &info_len);
	if (r < 0)
		return r;
	r = keyd_crypto_hkdf_extract(h, NULL, 0, ikm, len, prk);
	if (r >= 0)
		r = keyd_crypto_hkdf_expand(h, prk, keyd_hash_alg_size(h), info, info_len, out,
					    len);
	explicit_bzero(prk, sizeof(prk));
	return r;
}

int keyd_psk_interchange_parse(const char *s, struct keyd_psk_key *ret)
{
	uint8_t raw[KEYD_PSK_KEY_MAX + 4];
	const char *p, *b64, *end;
	size_t n, raw_len = 0;
	uint32_t crc;
	int hh, r;

	if (!s || !ret)
		return -EINVAL;
	keyd_psk_key_wipe(ret);
	n = strnlen(s, KEYD_PSK_INTERCHANGE_MAX);
	if (n >= KEYD_PSK_INTERCHANGE_MAX)
		return -EMSGSIZE;
	if (!startswith(s, INTERCHANGE_PREFIX))
		return -EINVAL;
	p = s + strlen(INTERCHANGE_PREFIX);

	/* Version: decimal digits up to ':'; only 1 is defined. */
	if (*p < '0' || *p > '9')
		return -EINVAL;
	if (p[0] != '1' || p[1] != ':') {
		while (*p >= '0' && *p <= '9')
			p++;
		return *p == ':' ? -EPROTO : -EINVAL;
	}
	p += 2;

	/* hh: exactly two hex digits (libnvme reads "%02x"), then ':'. */
	if (!strchr("0123456789abcdefABCDEF", p[0]) || !p[0] ||
	    !strchr("0123456789abcdefABCDEF", p[1]) || !p[1] || p[2] != ':')
		return -EINVAL;
	if (p[0] != '0' || p[1] < '0' || p[1] > '2')
		return -EPROTO;
	hh = p[1] - '0';
	b64 = p + 3;

	/* The base64 field runs to the final ':', which must end the string. */
	end = strchr(b64, ':');
	if (!end || end[1] != '\0' || end == b64)
		return -EINVAL;

	r = keyd_base64_decode(b64, (size_t)(end - b64), raw, sizeof(raw), &raw_len);
	if (r == -ENOBUFS) {
		r = -EMSGSIZE;
		goto out;
	}
	if (r < 0)
		goto out;
	if (raw_len != 32 + 4 && raw_len != 48 + 4) {
		r = -EMSGSIZE;
		goto out;
	}
	ret->hmac = (enum keyd_psk_hmac)hh;
	ret->len = raw_len - 4;
	r = key_check(ret);
	if (r < 0)
		goto out;

	/* CRC-32 of the key, appended little-endian. libnvme: a mismatch is EKEYREJECTED. */
	crc = keyd_crypto_crc32(raw, ret->len);
	if ((uint32_t)raw[ret->len] != (crc & 0xff) ||
	    (uint32_t)raw[ret->len + 1] != ((crc >> 8) & 0xff) ||
	    (uint32_t)raw[ret->len + 2] != ((crc >> 16) & 0xff) ||
	    (uint32_t)raw[ret->len + 3] != (crc >> 24)) {
		r = -EKEYREJECTED;
		goto out;
	}
	memcpy(ret->key, raw, ret->len);
	r = 0;
out:
	explicit_bzero(raw, sizeof(raw));
	if (r < 0)
		keyd_psk_key_wipe(ret);
	return r;
}

int keyd_psk_interchange_format(const struct keyd_psk_key *k, char *out, size_t size)
{
	uint8_t raw[KEYD_PSK_KEY_MAX + 4];
	char b64[4 * ((sizeof(raw) + 2) / 3) + 1];
	uint32_t crc;
	int r, n;

	r = key_check(k);
	if (r < 0)
		return r;
	if (!out)
		return -EINVAL;
	memcpy(raw, k->key, k->len);
	crc = keyd_crypto_crc32(k->key, k->len);
	raw[k->len] = (uint8_t)crc;
	raw[k->len + 1] = (uint8_t)(crc >> 8);
	raw[k->len + 2] = (uint8_t)(crc >> 16);
	raw[k->len + 3] = (uint8_t)(crc >> 24);
	keyd_base64_encode(raw, k->len + 4, b64);
	n = snprintf(out, size, INTERCHANGE_PREFIX "1:%02d:%s:", (int)k->hmac, b64);
	explicit_bzero(raw, sizeof(raw));
	explicit_bzero(b64, sizeof(b64));
	if (n < 0 || (size_t)n >= size) {
		if (size > 0)
			explicit_bzero(out, size);
		return -ENOBUFS;
	}
	return n;
}

int keyd_psk_retained(const struct keyd_psk_key *k, const struct keyd_psk_params *p, uint8_t *out)
{
	int r;

	r = key_check(k);
	if (r < 0)
		return r;
	if (!p || !out)
		return -EINVAL;
	r = keyd_psk_nqn_is_valid(p->hostnqn);
	if (r < 0)
		return r;
	/* hh 00: the configured key is the retained key. */
	if (k->hmac == KEYD_PSK_HMAC_NONE) {
		memcpy(out, k->key, k->len);
		return 0;
	}
	r = expand_label(cipher_hash(k->hmac), p->compat, k->key, k->len, HKDF_LABEL_HOSTNQN,
			 p->hostnqn, out);
	if (r < 0)
		explicit_bzero(out, k->len);
	return r;
}

int keyd_psk_digest(const struct keyd_psk_key *k, const uint8_t *retained,
		    const struct keyd_psk_params *p, char out[KEYD_PSK_DIGEST_B64_MAX])
{
	char data[2 * KEYD_PSK_NQN_MAX + 2 + sizeof(DIGEST_SEED)];
	uint8_t mac[KEYD_HASH_MAX];
	enum keyd_hash_alg h;
	int r, n;

	r = key_check(k);
	if (r < 0)
		return r;
	if (!retained || !out)
		return -EINVAL;
	r = params_check(p);
	if (r < 0)
		return r;
	h = cipher_hash(key_cipher(k));
	/* HMAC-H(retained, hostnqn || " " || subnqn || " " || "NVMe-over-Fabrics") */
	n = snprintf(data, sizeof(data), "%s %s " DIGEST_SEED, p->hostnqn, p->subnqn);
	if (n < 0 || (size_t)n >= sizeof(data))
		return -ENOBUFS;
	r = keyd_crypto_hmac(h, retained, k->len, data, (size_t)n, mac);
	if (r >= 0)
		keyd_base64_encode(mac, keyd_hash_alg_size(h), out);
	explicit_bzero(mac, sizeof(mac));
	return r < 0 ? r : 0;
}

/* The identity, and for v1 the digest it carries (ret_digest may be NULL). */
static int identity_build(const struct keyd_psk_key *k, const struct keyd_psk_params *p,
			  const uint8_t *retained, char *out, size_t size,
			  char ret_digest[KEYD_PSK_DIGEST_B64_MAX])
{
	char digest[KEYD_PSK_DIGEST_B64_MAX] = "";
	int r, n;

	if (p->version == KEYD_PSK_IDENTITY_V1) {
		r = keyd_psk_digest(k, retained, p, digest);
		if (r < 0)
			return r;
		n = snprintf(out, size, "NVMe1R%02d %s %s %s", (int)key_cipher(k), p->hostnqn,
			     p->subnqn, digest);
	} else
		n = snprintf(out, size, "NVMe0R%02d %s %s", (int)key_cipher(k), p->hostnqn,
			     p->subnqn);
	if (n < 0 || (size_t)n >= size)
		return -ENOBUFS;
	if (ret_digest)
		memcpy(ret_digest, digest, sizeof(digest));
	return n;
}

int keyd_psk_identity(const struct keyd_psk_key *k, const struct keyd_psk_params *p, char *out,
		      size_t size)
{
	uint8_t retained[KEYD_PSK_KEY_MAX];
	int r;

	r = key_check(k);
	if (r < 0)
		return r;
	if (!out)
		return -EINVAL;
	r = params_check(p);
	if (r < 0)
		return r;
	if (p->version == KEYD_PSK_IDENTITY_V1) {
		r = keyd_psk_retained(k, p, retained);
		if (r < 0)
			goto out;
	}
	r = identity_build(k, p, retained, out, size, NULL);
out:
	explicit_bzero(retained, sizeof(retained));
	return r;
}

int keyd_psk_tls_psk(const struct keyd_psk_key *k, const struct keyd_psk_params *p, uint8_t *out)
{
	uint8_t retained[KEYD_PSK_KEY_MAX];
	char identity[KEYD_PSK_IDENTITY_MAX], digest[KEYD_PSK_DIGEST_B64_MAX];
	char ctx[KEYD_PSK_IDENTITY_MAX];
	enum keyd_psk_hmac c;
	int r;

	r = key_check(k);
	if (r < 0)
		return r;
	if (!out)
		return -EINVAL;
	r = params_check(p);
	if (r < 0)
		return r;
	c = key_cipher(k);
	r = keyd_psk_retained(k, p, retained);
	if (r < 0)
		goto out;
	r = identity_build(k, p, retained, identity, sizeof(identity), digest);
	if (r < 0)
		goto out;
	/* The HkdfLabel context: "<hh> <digest>" for v1, the whole identity for v0. */
	if (p->version == KEYD_PSK_IDENTITY_V1)
		snprintf(ctx, sizeof(ctx), "%02d %s", (int)c, digest);
	else
		memcpy(ctx, identity, sizeof(ctx));
	r = expand_label(cipher_hash(c), p->compat, retained, k->len, HKDF_LABEL_TLS_PSK, ctx,
			 out);
out:
	explicit_bzero(retained, sizeof(retained));
	if (r < 0)
		explicit_bzero(out, k->len);
	return r < 0 ? r : 0;
}

/* Copy one space-free field [s, e) into buf (bounded). */
static int field_copy(const char *s, const char *e, char *buf, size_t size)
{
	size_t n = (size_t)(e - s);

	if (n == 0)
		return -EINVAL;
	if (n >= size)
		return -EMSGSIZE;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return 0;
}

int keyd_psk_identity_parse(const char *s, struct keyd_psk_identity_parts *ret)
{
	const char *f[3], *e[3], *p;
	uint8_t raw[KEYD_HASH_MAX];
	size_t n, nf = 0, raw_len;
	int r;

	if (!s || !ret)
		return -EINVAL;
	memset(ret, 0, sizeof(*ret));
	n = strnlen(s, KEYD_PSK_IDENTITY_MAX);
	if (n >= KEYD_PSK_IDENTITY_MAX)
		return -EMSGSIZE;

	/* "NVMe" <version 0|1> <R|G> <hh 01|02> */
	if (n < 9 || !startswith(s, "NVMe") || (s[4] != '0' && s[4] != '1') ||
	    (s[5] != 'R' && s[5] != 'G') || s[6] != '0' || (s[7] != '1' && s[7] != '2') ||
	    s[8] != ' ')
		return -EINVAL;
	ret->version = s[4] == '1' ? KEYD_PSK_IDENTITY_V1 : KEYD_PSK_IDENTITY_V0;
	ret->kind = s[5];
	ret->hmac = (enum keyd_psk_hmac)(s[7] - '0');

	/* Then two or three fields separated by single spaces. */
	p = s + 9;
	while (nf < 3) {
		const char *sp = strchr(p, ' ');

		f[nf] = p;
		e[nf] = sp ? sp : s + n;
		if (e[nf] == f[nf])
			return -EINVAL; /* empty field: double or trailing space */
		nf++;
		if (!sp)
			break;
		p = sp + 1;
		if (nf == 3)
			return -EINVAL; /* a fourth field */
	}
	if (nf < 2 || (nf == 3 && ret->version == KEYD_PSK_IDENTITY_V0))
		return -EINVAL;

	r = field_copy(f[0], e[0], ret->hostnqn, sizeof(ret->hostnqn));
	if (r >= 0)
		r = field_copy(f[1], e[1], ret->subnqn, sizeof(ret->subnqn));
	if (r == -EMSGSIZE)
		return -ENAMETOOLONG;
	if (r < 0)
		return r;
	r = keyd_psk_nqn_is_valid(ret->hostnqn);
	if (r >= 0)
		r = keyd_psk_nqn_is_valid(ret->subnqn);
	if (r < 0)
		goto fail;

	if (nf == 3) {
		/* The digest is base64 of an HMAC of the identity's hash: 32 or 48 bytes. */
		size_t want = ret->hmac == KEYD_PSK_HMAC_SHA384 ? 48 : 32;

		r = field_copy(f[2], e[2], ret->digest, sizeof(ret->digest));
		if (r < 0) {
			r = -EINVAL;
			goto fail;
		}
		r = keyd_base64_decode(ret->digest, strlen(ret->digest), raw, sizeof(raw),
				       &raw_len);
		if (r < 0 || raw_len != want) {
			r = -EINVAL;
			goto fail;
		}
	}
	return 0;
fail:
	memset(ret, 0, sizeof(*ret));
	return r;
}

int keyd_psk_tls_keys_line_parse(const char *line, struct keyd_psk_identity_parts *ret_identity,
				 struct keyd_psk_key *ret_key, bool *ret_is_entry)
{
	char identity[KEYD_PSK_IDENTITY_MAX], interchange[KEYD_PSK_INTERCHANGE_MAX];
	const size_t max = KEYD_PSK_IDENTITY_MAX + KEYD_PSK_INTERCHANGE_MAX + 2;
	const char *p, *sp;
	size_t n;
	int r;

	if (!line || !ret_identity || !ret_key || !ret_is_entry)
		return -EINVAL;
	*ret_is_entry = false;
	n = strnlen(line, max);
	if (n >= max)
		return -EMSGSIZE;
	/* One line: a single trailing "\n" or "\r\n" is tolerated, nothing after it. */
	if (n > 0 && line[n - 1] == '\n')
		n--;
	if (n > 0 && line[n - 1] == '\r')
		n--;
	if (memchr(line, '\n', n) || memchr(line, '\r', n))
		return -EINVAL;

	for (p = line; p < line + n && (*p == ' ' || *p == '\t'); p++)
		;
	if (p == line + n || *p == '#')
		return 0;
	/* Entries start at the first column; leading blanks are a sign of a garbled file. */
	if (p != line)
		return -EINVAL;

	/* The identity contains spaces: the interchange string is the last field. */
	sp = NULL;
	for (const char *q = line; q < line + n; q++)
		if (*q == ' ')
			sp = q;
	if (!sp || sp == line || sp + 1 == line + n)
		return -EINVAL;
	if ((size_t)(sp - line) >= sizeof(identity) ||
	    (size_t)(line + n - sp - 1) >= sizeof(interchange))
		return -EMSGSIZE;
	memcpy(identity, line, (size_t)(sp - line));
	identity[sp - line] = '\0';
	memcpy(interchange, sp + 1, (size_t)(line + n - sp - 1));
	interchange[line + n - sp - 1] = '\0';

	r = keyd_psk_identity_parse(identity, ret_identity);
	if (r >= 0)
		r = keyd_psk_interchange_parse(interchange, ret_key);
	explicit_bzero(interchange, sizeof(interchange));
	if (r < 0) {
		keyd_psk_key_wipe(ret_key);
		return r;
	}
	*ret_is_entry = true;
	return 0;
}
