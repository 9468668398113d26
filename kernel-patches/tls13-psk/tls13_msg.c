// SPDX-License-Identifier: GPL-2.0-only
/*
 * TLS 1.3 handshake messages of a PSK-only client: ClientHello builder and
 * the parsers for what the server sends. Everything from the server is
 * untrusted: every length is checked against what is left before it is
 * used, every vector must fill its container exactly, and only the
 * extensions this client can have asked for are accepted.
 */
#include "tls13_msg.h"

/* SHA-256("HelloRetryRequest"), RFC 8446 section 4.1.3. */
const u8 tls13_hrr_random[TLS13_RANDOM_LEN] = {
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8,
	0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8,
	0x33, 0x9c,
};

/* Signature schemes offered although a PSK handshake signs nothing: some servers refuse a
 * ClientHello without the extension (RFC 8446 4.2.3 only requires it for certificates).
 */
static const u16 tls13_sig_schemes[] = {
	0x0403,	/* ecdsa_secp256r1_sha256 */
	0x0503,	/* ecdsa_secp384r1_sha384 */
	0x0804,	/* rsa_pss_rsae_sha256 */
	0x0805,	/* rsa_pss_rsae_sha384 */
	0x0807,	/* ed25519 */
};

/* ---- writer ------------------------------------------------------------ */

struct tls13_wr {
	u8 *p;
	size_t cap;
	size_t len;
	bool overflow;
};

static void wr_bytes(struct tls13_wr *w, const void *d, size_t n)
{
	if (w->overflow || n > w->cap - w->len) {
		w->overflow = true;
		return;
	}
	if (n)
		memcpy(w->p + w->len, d, n);
	w->len += n;
}

static void wr_u8(struct tls13_wr *w, u8 v)
{
	wr_bytes(w, &v, 1);
}

static void wr_u16(struct tls13_wr *w, u16 v)
{
	u8 b[2];

	tls13_put_u16(b, v);
	wr_bytes(w, b, 2);
}

/* Reserve a length field of 1, 2 or 3 bytes; returns its offset. */
static size_t wr_open(struct tls13_wr *w, unsigned int width)
{
	static const u8 zeros[3];
	size_t at = w->len;

	wr_bytes(w, zeros, width);
	return at;
}

/* Fill in a length field opened with wr_open(). */
static void wr_close(struct tls13_wr *w, size_t at, unsigned int width)
{
	size_t n;

	if (w->overflow)
		return;
	n = w->len - at - width;
	if ((width == 1 && n > 0xff) || (width == 2 && n > 0xffff) ||
	    (width == 3 && n > 0xffffff)) {
		w->overflow = true;
		return;
	}
	if (width == 1)
		w->p[at] = (u8)n;
	else if (width == 2)
		tls13_put_u16(w->p + at, (u16)n);
	else
		tls13_put_u24(w->p + at, (u32)n);
}

int tls13_msg_build_client_hello(const struct tls13_client_hello *ch, u8 *out, size_t cap,
				 size_t *ret_len, size_t *ret_truncated_len)
{
	struct tls13_wr w = { .p = out, .cap = cap };
	size_t msg, exts, ext, list, binders;
	unsigned int i;

	if (!ch->random || ch->n_groups == 0 || ch->n_shares == 0 ||
	    ch->n_shares > TLS13_MAX_SHARES || ch->identity_len == 0 ||
	    ch->identity_len > TLS13_MAX_IDENTITY || ch->cookie_len > TLS13_MAX_COOKIE ||
	    (ch->binder_len != 32 && ch->binder_len != 48))
		return -EINVAL;

	wr_u8(&w, TLS13_HS_CLIENT_HELLO);
	msg = wr_open(&w, 3);
	wr_u16(&w, 0x0303);			/* legacy_version */
	wr_bytes(&w, ch->random, TLS13_RANDOM_LEN);
	wr_u8(&w, 0);				/* legacy_session_id: empty, no middlebox mode */
	wr_u16(&w, 2);				/* cipher_suites: the one suite */
	wr_u16(&w, ch->cipher_suite);
	wr_u8(&w, 1);				/* legacy_compression_methods: null */
	wr_u8(&w, 0);
	exts = wr_open(&w, 2);

	wr_u16(&w, TLS13_EXT_SUPPORTED_VERSIONS);
	ext = wr_open(&w, 2);
	wr_u8(&w, 2);
	wr_u16(&w, 0x0304);
	wr_close(&w, ext, 2);

	wr_u16(&w, TLS13_EXT_SUPPORTED_GROUPS);
	ext = wr_open(&w, 2);
	list = wr_open(&w, 2);
	for (i = 0; i < ch->n_groups; i++)
		wr_u16(&w, ch->groups[i]);
	wr_close(&w, list, 2);
	wr_close(&w, ext, 2);

	wr_u16(&w, TLS13_EXT_KEY_SHARE);
	ext = wr_open(&w, 2);
	list = wr_open(&w, 2);
	for (i = 0; i < ch->n_shares; i++) {
		wr_u16(&w, ch->shares[i].group);
		wr_u16(&w, (u16)ch->shares[i].pub_len);
		wr_bytes(&w, ch->shares[i].pub, ch->shares[i].pub_len);
	}
	wr_close(&w, list, 2);
	wr_close(&w, ext, 2);

	wr_u16(&w, TLS13_EXT_SIGNATURE_ALGORITHMS);
	ext = wr_open(&w, 2);
	list = wr_open(&w, 2);
	for (i = 0; i < ARRAY_SIZE(tls13_sig_schemes); i++)
		wr_u16(&w, tls13_sig_schemes[i]);
	wr_close(&w, list, 2);
	wr_close(&w, ext, 2);

	if (ch->cookie) {
		wr_u16(&w, TLS13_EXT_COOKIE);
		ext = wr_open(&w, 2);
		list = wr_open(&w, 2);
		wr_bytes(&w, ch->cookie, ch->cookie_len);
		wr_close(&w, list, 2);
		wr_close(&w, ext, 2);
	}

	wr_u16(&w, TLS13_EXT_PSK_KEY_EXCHANGE_MODES);
	ext = wr_open(&w, 2);
	wr_u8(&w, 1);
	wr_u8(&w, 1);				/* psk_dhe_ke only: forward secrecy always */
	wr_close(&w, ext, 2);

	/* pre_shared_key MUST be the last extension (RFC 8446 4.2.11). */
	wr_u16(&w, TLS13_EXT_PRE_SHARED_KEY);
	ext = wr_open(&w, 2);
	list = wr_open(&w, 2);
	wr_u16(&w, (u16)ch->identity_len);
	wr_bytes(&w, ch->identity, ch->identity_len);
	/* obfuscated_ticket_age: 0 for external PSKs (4.2.11). */
	wr_u16(&w, 0);
	wr_u16(&w, 0);
	wr_close(&w, list, 2);
	binders = wr_open(&w, 2);
	wr_u8(&w, (u8)ch->binder_len);
	for (i = 0; i < ch->binder_len; i++)
		wr_u8(&w, 0);
	wr_close(&w, binders, 2);
	wr_close(&w, ext, 2);

	wr_close(&w, exts, 2);
	wr_close(&w, msg, 3);
	if (w.overflow)
		return -ENOBUFS;
	*ret_len = w.len;
	*ret_truncated_len = binders;
	return 0;
}

/* ---- reader ------------------------------------------------------------ */

struct tls13_rd {
	const u8 *p;
	size_t left;
};

static int rd_u8(struct tls13_rd *r, u8 *v)
{
	if (r->left < 1)
		return -EBADMSG;
	*v = r->p[0];
	r->p++;
	r->left--;
	return 0;
}

static int rd_u16(struct tls13_rd *r, u16 *v)
{
	if (r->left < 2)
		return -EBADMSG;
	*v = tls13_get_u16(r->p);
	r->p += 2;
	r->left -= 2;
	return 0;
}

static int rd_bytes(struct tls13_rd *r, size_t n, const u8 **v)
{
	if (r->left < n)
		return -EBADMSG;
	*v = r->p;
	r->p += n;
	r->left -= n;
	return 0;
}

/* A vector with a 1- or 2-byte length prefix, as a sub-reader. */
static int rd_vec(struct tls13_rd *r, unsigned int width, struct tls13_rd *sub)
{
	u16 n16;
	u8 n8;
	int err;

	if (width == 1) {
		err = rd_u8(r, &n8);
		n16 = n8;
	} else {
		err = rd_u16(r, &n16);
	}
	if (err)
		return err;
	sub->left = n16;
	return rd_bytes(r, n16, &sub->p);
}

/* Record the alert the client must send and return the error. */
static int tls13_alert(u8 *alert, u8 code, int err)
{
	*alert = code;
	return err;
}

/* Bit for the duplicate check of the extension types a server message may carry. */
static int tls13_ext_bit(u16 type)
{
	switch (type) {
	case TLS13_EXT_SERVER_NAME:
		return 0;
	case TLS13_EXT_SUPPORTED_GROUPS:
		return 1;
	case TLS13_EXT_SIGNATURE_ALGORITHMS:
		return 2;
	case TLS13_EXT_PRE_SHARED_KEY:
		return 3;
	case TLS13_EXT_EARLY_DATA:
		return 4;
	case TLS13_EXT_SUPPORTED_VERSIONS:
		return 5;
	case TLS13_EXT_COOKIE:
		return 6;
	case TLS13_EXT_PSK_KEY_EXCHANGE_MODES:
		return 7;
	case TLS13_EXT_KEY_SHARE:
		return 8;
	default:
		return -1;
	}
}

static int tls13_parse_sh_ext(u16 type, struct tls13_rd *d, bool hrr,
			      struct tls13_server_hello *sh, u8 *alert)
{
	struct tls13_rd v;
	u16 u;

	switch (type) {
	case TLS13_EXT_SUPPORTED_VERSIONS:
		/* ServerHello form: one selected_version (4.2.1). */
		if (rd_u16(d, &u) || d->left)
			return tls13_alert(alert, TLS13_ALERT_DECODE_ERROR, -EBADMSG);
		if (u != 0x0304)
			return tls13_alert(alert, TLS13_ALERT_ILLEGAL_PARAMETER, -EPROTONOSUPPORT);
		return 0;
	case TLS13_EXT_KEY_SHARE:
		sh->has_key_share = true;
		if (rd_u16(d, &sh->group))
			return tls13_alert(alert, TLS13_ALERT_DECODE_ERROR, -EBADMSG);
		if (hrr) {
			/* KeyShareHelloRetryRequest: selected_group only (4.2.8). */
			if (d->left)
				return tls13_alert(alert, TLS13_ALERT_DECODE_ERROR, -EBADMSG);
			return 0;
		}
		/* KeyShareServerHello: one KeyShareEntry, key_exchange<1..2^16-1>. */
		if (rd_vec(d, 2, &v) || d->left || v.left == 0)
			return tls13_alert(alert, TLS13_ALERT_DECODE_ERROR, -EBADMSG);
		sh->share = v.p;
		sh->share_len = v.left;
		return 0;
	case TLS13_EXT_PRE_SHARED_KEY:
		if (hrr)
			break;
		if (rd_u16(d, &sh->selected_identity) || d->left)
			return tls13_alert(alert, TLS13_ALERT_DECODE_ERROR, -EBADMSG);
		sh->has_psk = true;
		return 0;
	case TLS13_EXT_COOKIE:
		if (!hrr)
			break;
		if (rd_vec(d, 2, &v) || d->left || v.left == 0)
			return tls13_alert(alert, TLS13_ALERT_DECODE_ERROR, -EBADMSG);
		if (v.left > TLS13_MAX_COOKIE)
			return tls13_alert(alert, TLS13_ALERT_ILLEGAL_PARAMETER, -E2BIG);
		sh->cookie = v.p;
		sh->cookie_len = v.left;
		return 0;
	default:
		break;
	}
	/* Offered by us but not allowed in this message: illegal_parameter (4.2);
	 * never offered: unsupported_extension.
	 */
	if (type == TLS13_EXT_SUPPORTED_GROUPS || type == TLS13_EXT_SIGNATURE_ALGORITHMS ||
	    type == TLS13_EXT_PSK_KEY_EXCHANGE_MODES || type == TLS13_EXT_PRE_SHARED_KEY ||
	    type == TLS13_EXT_COOKIE)
		return tls13_alert(alert, TLS13_ALERT_ILLEGAL_PARAMETER, -EINVAL);
	return tls13_alert(alert, TLS13_ALERT_UNSUPPORTED_EXTENSION, -EOPNOTSUPP);
}

int tls13_msg_parse_server_hello(const u8 *body, size_t len, struct tls13_server_hello *sh,
				 u8 *alert)
{
	struct tls13_rd r = { body, len }, exts, sid, d;
	const u8 *random;
	u32 seen = 0;
	unsigned int n = 0;
	bool versions = false;
	u16 version;
	u8 comp;
	int err;

	memset(sh, 0, sizeof(*sh));
	if (rd_u16(&r, &version) || rd_bytes(&r, TLS13_RANDOM_LEN, &random) ||
	    rd_vec(&r, 1, &sid) || rd_u16(&r, &sh->cipher_suite) || rd_u8(&r, &comp))
		return tls13_alert(alert, TLS13_ALERT_DECODE_ERROR, -EBADMSG);
	/* A TLS 1.3 ServerHello always has extensions (supported_versions at least). */
	if (r.left == 0)
		return tls13_alert(alert, TLS13_ALERT_PROTOCOL_VERSION, -EPROTONOSUPPORT);
	if (rd_vec(&r, 2, &exts) || r.left)
		return tls13_alert(alert, TLS13_ALERT_DECODE_ERROR, -EBADMSG);
	if (version != 0x0303)
		return tls13_alert(alert, TLS13_ALERT_PROTOCOL_VERSION, -EPROTONOSUPPORT);
	/* legacy_session_id_echo must echo our empty session id (4.1.3). */
	if (sid.left != 0 || comp != 0)
		return tls13_alert(alert, TLS13_ALERT_ILLEGAL_PARAMETER, -EINVAL);
	sh->hrr = !memcmp(random, tls13_hrr_random, TLS13_RANDOM_LEN);

	while (exts.left) {
		u16 type;
		int bit;

		if (++n > TLS13_MAX_EXTENSIONS)
			return tls13_alert(alert, TLS13_ALERT_DECODE_ERROR, -E2BIG);
		if (rd_u16(&exts, &type) || rd_vec(&exts, 2, &d))
			return tls13_alert(alert, TLS13_ALERT_DECODE_ERROR, -EBADMSG);
		bit = tls13_ext_bit(type);
		if (bit >= 0) {
			/* No extension type twice in one block (4.2). */
			if (seen & (1u << bit))
				return tls13_alert(alert, TLS13_ALERT_ILLEGAL_PARAMETER, -EINVAL);
			seen |= 1u << bit;
		}
		err = tls13_parse_sh_ext(type, &d, sh->hrr, sh, alert);
		if (err)
			return err;
		if (type == TLS13_EXT_SUPPORTED_VERSIONS)
			versions = true;
	}
	/* Without supported_versions this is a TLS 1.2 (or older) ServerHello. */
	if (!versions)
		return tls13_alert(alert, TLS13_ALERT_PROTOCOL_VERSION, -EPROTONOSUPPORT);
	return 0;
}

int tls13_msg_parse_encrypted_extensions(const u8 *body, size_t len, u8 *alert)
{
	struct tls13_rd r = { body, len }, exts, d, list;
	unsigned int n = 0;
	u32 seen = 0;

	if (rd_vec(&r, 2, &exts) || r.left)
		return tls13_alert(alert, TLS13_ALERT_DECODE_ERROR, -EBADMSG);
	while (exts.left) {
		u16 type, g;
		int bit;

		if (++n > TLS13_MAX_EXTENSIONS)
			return tls13_alert(alert, TLS13_ALERT_DECODE_ERROR, -E2BIG);
		if (rd_u16(&exts, &type) || rd_vec(&exts, 2, &d))
			return tls13_alert(alert, TLS13_ALERT_DECODE_ERROR, -EBADMSG);
		bit = tls13_ext_bit(type);
		if (bit >= 0) {
			if (seen & (1u << bit))
				return tls13_alert(alert, TLS13_ALERT_ILLEGAL_PARAMETER, -EINVAL);
			seen |= 1u << bit;
		}
		switch (type) {
		case TLS13_EXT_SUPPORTED_GROUPS:
			/* The server's preferences, for later connections: checked, not used. */
			if (rd_vec(&d, 2, &list) || d.left || list.left == 0 || list.left % 2)
				return tls13_alert(alert, TLS13_ALERT_DECODE_ERROR, -EBADMSG);
			while (list.left)
				rd_u16(&list, &g);
			break;
		case TLS13_EXT_SIGNATURE_ALGORITHMS:
		case TLS13_EXT_KEY_SHARE:
		case TLS13_EXT_PRE_SHARED_KEY:
		case TLS13_EXT_SUPPORTED_VERSIONS:
		case TLS13_EXT_PSK_KEY_EXCHANGE_MODES:
		case TLS13_EXT_COOKIE:
			/* Extensions we sent, but which may not appear here (4.2). */
			return tls13_alert(alert, TLS13_ALERT_ILLEGAL_PARAMETER, -EINVAL);
		default:
			return tls13_alert(alert, TLS13_ALERT_UNSUPPORTED_EXTENSION, -EOPNOTSUPP);
		}
	}
	return 0;
}

int tls13_msg_check_finished(const u8 *body, size_t len, const u8 *expected, size_t hlen,
			     u8 *alert)
{
	if (len != hlen)
		return tls13_alert(alert, TLS13_ALERT_DECODE_ERROR, -EBADMSG);
	if (tls13_memneq(body, expected, hlen))
		return tls13_alert(alert, TLS13_ALERT_DECRYPT_ERROR, -EKEYREJECTED);
	return 0;
}

int tls13_msg_parse_alert(const u8 *body, size_t len, u8 *ret_level, u8 *ret_desc, u8 *alert)
{
	if (len != 2)
		return tls13_alert(alert, TLS13_ALERT_DECODE_ERROR, -EBADMSG);
	/* AlertLevel warning(1) or fatal(2); in TLS 1.3 every alert but close_notify
	 * and user_canceled is fatal whatever its level (6).
	 */
	if (body[0] != 1 && body[0] != 2)
		return tls13_alert(alert, TLS13_ALERT_ILLEGAL_PARAMETER, -EINVAL);
	*ret_level = body[0];
	*ret_desc = body[1];
	return 0;
}
