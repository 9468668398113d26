/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TLS 1.3 PSK (psk_dhe_ke) server state machine, RFC 8446, on the in-kernel client
 * core's key schedule, record layer and crypto interface (see tls13-server.h).
 *
 * Everything from the client is untrusted until its binder verifies, and the binder only
 * proves knowledge of the PSK: every length is checked against what is left before it is
 * used, the ClientHello is reassembled into a fixed buffer of TLS13_SERVER_MAX_CH bytes,
 * one record at a time (<= 5 + 2^14 + 256 bytes) is held, at most one change_cipher_spec
 * is dropped, and nothing the client sends sizes an allocation.
 */
#include "tls13-server.h"
#include "tls13_msg.h"
#include "tls13_record.h"

/* Extensions in one ClientHello (browsers send ~20; a PSK client far fewer). */
#define TLS13_SERVER_MAX_EXTENSIONS 64
/* Key share entries in one ClientHello. */
#define TLS13_SERVER_MAX_SHARES 16
/* Compatibility-mode change_cipher_spec records a client may send (RFC 8446 D.4). */
#define TLS13_SERVER_MAX_CCS 1

enum tls13_server_state {
	TLS13_SRV_WAIT_CH,
	TLS13_SRV_WAIT_FINISHED,
	TLS13_SRV_DONE,
	TLS13_SRV_FAILED,
};

struct tls13_server {
	enum tls13_server_state state;
	int error;
	int alert_sent;
	int alert_received;
	struct tls13_server_config cfg;
	u8 fixed_random[TLS13_RANDOM_LEN];
	u8 fixed_x25519[32];
	u8 fixed_p256[32];

	enum tls13_hash_alg hash;
	size_t hlen;
	u16 suite;
	size_t key_len;
	int selected;
	u8 identity[TLS13_MAX_IDENTITY];
	size_t identity_len;
	unsigned int ccs_count;

	struct tls13_ks ks;
	u8 c_hs[TLS13_MAX_HASH];
	u8 c_ap[TLS13_MAX_HASH];
	u8 s_ap[TLS13_MAX_HASH];
	u8 client_finished[TLS13_MAX_HASH];
	struct tls13_rec_key rd;
	struct tls13_rec_key wr;

	/* The record being received. */
	u8 rec[TLS13_MAX_RECORD];
	size_t rec_len;
	size_t rec_need;
	/* Handshake bytes not yet forming a complete message. */
	u8 hs[TLS13_HS_HEADER + TLS13_SERVER_MAX_CH];
	size_t hs_len;
	/* ClientHello .. client Finished, for Transcript-Hash. */
	u8 transcript[TLS13_HS_HEADER + TLS13_SERVER_MAX_CH + 1024];
	size_t transcript_len;
};

/* ---- ClientHello parser ------------------------------------------------------------ */

struct tls13_srd {
	const u8 *p;
	size_t left;
};

static int srd_u8(struct tls13_srd *r, u8 *v)
{
	if (r->left < 1)
		return -EBADMSG;
	*v = r->p[0];
	r->p++;
	r->left--;
	return 0;
}

static int srd_u16(struct tls13_srd *r, u16 *v)
{
	if (r->left < 2)
		return -EBADMSG;
	*v = tls13_get_u16(r->p);
	r->p += 2;
	r->left -= 2;
	return 0;
}

static int srd_u32(struct tls13_srd *r)
{
	if (r->left < 4)
		return -EBADMSG;
	r->p += 4;
	r->left -= 4;
	return 0;
}

static int srd_bytes(struct tls13_srd *r, size_t n, const u8 **v)
{
	if (r->left < n)
		return -EBADMSG;
	*v = r->p;
	r->p += n;
	r->left -= n;
	return 0;
}

/* A vector with a 1- or 2-byte length prefix, as a sub-reader. */
static int srd_vec(struct tls13_srd *r, unsigned int width, struct tls13_srd *sub)
{
	u16 n16 = 0;
	u8 n8;
	int err;

	if (width == 1) {
		err = srd_u8(r, &n8);
		n16 = n8;
	} else {
		err = srd_u16(r, &n16);
	}
	if (err)
		return err;
	sub->left = n16;
	return srd_bytes(r, n16, &sub->p);
}

static int tls13_ch_alert(u8 *alert, u8 code, int err)
{
	*alert = code;
	return err;
}

static int tls13_ch_versions(struct tls13_srd *d, struct tls13_ch_info *ch, u8 *alert)
{
	struct tls13_srd v;
	u16 ver = 0;

	/* versions<2..254> */
	if (srd_vec(d, 1, &v) || d->left || v.left < 2 || v.left % 2)
		return tls13_ch_alert(alert, TLS13_ALERT_DECODE_ERROR, -EBADMSG);
	while (v.left) {
		srd_u16(&v, &ver);
		if (ver == 0x0304)
			ch->tls13 = true;
	}
	return 0;
}

static int tls13_ch_groups(struct tls13_srd *d, u8 *alert)
{
	struct tls13_srd v;

	/* named_group_list<2..2^16-1> */
	if (srd_vec(d, 2, &v) || d->left || v.left < 2 || v.left % 2)
		return tls13_ch_alert(alert, TLS13_ALERT_DECODE_ERROR, -EBADMSG);
	return 0;
}

static int tls13_ch_key_share(struct tls13_srd *d, struct tls13_ch_info *ch, u8 *alert)
{
	u16 seen[TLS13_SERVER_MAX_SHARES];
	unsigned int n = 0, i;
	struct tls13_srd v, k;
	u16 group = 0;

	/* client_shares<0..2^16-1> of KeyShareEntry { group, key_exchange<1..2^16-1> } */
	if (srd_vec(d, 2, &v) || d->left)
		return tls13_ch_alert(alert, TLS13_ALERT_DECODE_ERROR, -EBADMSG);
	while (v.left) {
		if (srd_u16(&v, &group) || srd_vec(&v, 2, &k) || k.left == 0)
			return tls13_ch_alert(alert, TLS13_ALERT_DECODE_ERROR, -EBADMSG);
		if (n == TLS13_SERVER_MAX_SHARES)
			return tls13_ch_alert(alert, TLS13_ALERT_ILLEGAL_PARAMETER, -E2BIG);
		/* One share per group at most (4.2.8). */
		for (i = 0; i < n; i++)
			if (seen[i] == group)
				return tls13_ch_alert(alert, TLS13_ALERT_ILLEGAL_PARAMETER, -EINVAL);
		seen[n++] = group;
		if (group == TLS13_GROUP_X25519) {
			if (k.left != 32)
				return tls13_ch_alert(alert, TLS13_ALERT_ILLEGAL_PARAMETER, -EINVAL);
			ch->x25519 = k.p;
		} else if (group == TLS13_GROUP_P256) {
			/* UncompressedPointRepresentation only (4.2.8.2). */
			if (k.left != 65 || k.p[0] != 4)
				return tls13_ch_alert(alert, TLS13_ALERT_ILLEGAL_PARAMETER, -EINVAL);
			ch->p256 = k.p;
		}
	}
	return 0;
}

static int tls13_ch_modes(struct tls13_srd *d, struct tls13_ch_info *ch, u8 *alert)
{
	struct tls13_srd v;
	u8 mode = 0;

	/* ke_modes<1..255> */
	if (srd_vec(d, 1, &v) || d->left || v.left == 0)
		return tls13_ch_alert(alert, TLS13_ALERT_DECODE_ERROR, -EBADMSG);
	while (v.left) {
		srd_u8(&v, &mode);
		if (mode == 1)
			ch->psk_dhe_ke = true;
	}
	return 0;
}

/* OfferedPsks { identities<7..2^16-1>, binders<33..2^16-1> }; d spans the extension data,
 * which starts at offset `at` of the message. */
static int tls13_ch_psk(struct tls13_srd *d, size_t at, size_t msg_len, struct tls13_ch_info *ch,
			u8 *alert)
{
	struct tls13_srd ids, binders, id, b;
	unsigned int n_ids = 0, n_binders = 0;
	size_t binders_at;

	if (srd_vec(d, 2, &ids) || ids.left < 7)
		return tls13_ch_alert(alert, TLS13_ALERT_DECODE_ERROR, -EBADMSG);
	/* The binders vector starts here: the truncated ClientHello ends before it (4.2.11.2). */
	binders_at = at + 2 + ids.left;
	if (srd_vec(d, 2, &binders) || d->left || binders.left < 33)
		return tls13_ch_alert(alert, TLS13_ALERT_DECODE_ERROR, -EBADMSG);
	while (ids.left) {
		if (srd_vec(&ids, 2, &id) || id.left == 0 || srd_u32(&ids))
			return tls13_ch_alert(alert, TLS13_ALERT_DECODE_ERROR, -EBADMSG);
		if (n_ids < TLS13_SERVER_MAX_IDENTITIES) {
			ch->offers[n_ids].identity = id.p;
			ch->offers[n_ids].identity_len = id.left;
		}
		n_ids++;
	}
	while (binders.left) {
		if (srd_vec(&binders, 1, &b) || b.left < 32)
			return tls13_ch_alert(alert, TLS13_ALERT_DECODE_ERROR, -EBADMSG);
		if (n_binders < TLS13_SERVER_MAX_IDENTITIES) {
			ch->offers[n_binders].binder = b.p;
			ch->offers[n_binders].binder_len = b.left;
		}
		n_binders++;
	}
	/* One binder per identity (4.2.11). */
	if (n_ids != n_binders)
		return tls13_ch_alert(alert, TLS13_ALERT_ILLEGAL_PARAMETER, -EINVAL);
	/* pre_shared_key is last and fills the message: the binders end it. */
	if (binders_at >= msg_len)
		return tls13_ch_alert(alert, TLS13_ALERT_DECODE_ERROR, -EBADMSG);
	ch->n_offers = n_ids < TLS13_SERVER_MAX_IDENTITIES ? n_ids : TLS13_SERVER_MAX_IDENTITIES;
	ch->truncated_len = binders_at;
	ch->has_pre_shared_key = true;
	return 0;
}

int tls13_server_parse_client_hello(const u8 *msg, size_t len, struct tls13_ch_info *ch,
				    u8 *alert)
{
	struct tls13_srd r, sid, suites, comp, exts, d;
	u16 seen[TLS13_SERVER_MAX_EXTENSIONS];
	bool groups = false, shares = false, modes = false;
	unsigned int n = 0, i;
	u16 version = 0, suite = 0, type = 0;
	int err;

	memset(ch, 0, sizeof(*ch));
	if (len < TLS13_HS_HEADER || msg[0] != TLS13_HS_CLIENT_HELLO ||
	    tls13_get_u24(msg + 1) != len - TLS13_HS_HEADER)
		return tls13_ch_alert(alert, TLS13_ALERT_DECODE_ERROR, -EBADMSG);
	r.p = msg + TLS13_HS_HEADER;
	r.left = len - TLS13_HS_HEADER;
	if (srd_u16(&r, &version) || srd_bytes(&r, TLS13_RANDOM_LEN, &ch->random) ||
	    srd_vec(&r, 1, &sid) || srd_vec(&r, 2, &suites) || srd_vec(&r, 1, &comp))
		return tls13_ch_alert(alert, TLS13_ALERT_DECODE_ERROR, -EBADMSG);
	/* legacy_session_id<0..32>; cipher_suites<2..2^16-2>; compression exactly "null" (4.1.2). */
	if (sid.left > 32 || suites.left < 2 || suites.left % 2)
		return tls13_ch_alert(alert, TLS13_ALERT_DECODE_ERROR, -EBADMSG);
	ch->session_id = sid.p;
	ch->session_id_len = sid.left;
	/* A client without extensions has no supported_versions: TLS 1.2 or older. */
	if (version != 0x0303 || r.left == 0)
		return tls13_ch_alert(alert, TLS13_ALERT_PROTOCOL_VERSION, -EPROTONOSUPPORT);
	if (comp.left != 1 || comp.p[0] != 0)
		return tls13_ch_alert(alert, TLS13_ALERT_ILLEGAL_PARAMETER, -EINVAL);
	while (suites.left) {
		srd_u16(&suites, &suite);
		if (suite == TLS13_AES128_GCM_SHA256)
			ch->suite_sha256 = true;
		else if (suite == TLS13_AES256_GCM_SHA384)
			ch->suite_sha384 = true;
	}
	if (srd_vec(&r, 2, &exts) || r.left)
		return tls13_ch_alert(alert, TLS13_ALERT_DECODE_ERROR, -EBADMSG);

	while (exts.left) {
		size_t at;

		/* Nothing may follow pre_shared_key (4.2.11). */
		if (ch->has_pre_shared_key)
			return tls13_ch_alert(alert, TLS13_ALERT_ILLEGAL_PARAMETER, -EINVAL);
		if (n == TLS13_SERVER_MAX_EXTENSIONS)
			return tls13_ch_alert(alert, TLS13_ALERT_DECODE_ERROR, -E2BIG);
		if (srd_u16(&exts, &type) || srd_vec(&exts, 2, &d))
			return tls13_ch_alert(alert, TLS13_ALERT_DECODE_ERROR, -EBADMSG);
		/* No extension type twice in one block (4.2). */
		for (i = 0; i < n; i++)
			if (seen[i] == type)
				return tls13_ch_alert(alert, TLS13_ALERT_ILLEGAL_PARAMETER, -EINVAL);
		seen[n++] = type;
		at = (size_t)(d.p - msg);
		switch (type) {
		case TLS13_EXT_SUPPORTED_VERSIONS:
			err = tls13_ch_versions(&d, ch, alert);
			break;
		case TLS13_EXT_SUPPORTED_GROUPS:
			groups = true;
			err = tls13_ch_groups(&d, alert);
			break;
		case TLS13_EXT_KEY_SHARE:
			shares = true;
			err = tls13_ch_key_share(&d, ch, alert);
			break;
		case TLS13_EXT_PSK_KEY_EXCHANGE_MODES:
			modes = true;
			err = tls13_ch_modes(&d, ch, alert);
			break;
		case TLS13_EXT_EARLY_DATA:
			/* Empty in a ClientHello (4.2.10). */
			ch->early_data = true;
			err = d.left ? tls13_ch_alert(alert, TLS13_ALERT_DECODE_ERROR, -EBADMSG) : 0;
			break;
		case TLS13_EXT_COOKIE:
			/* Only in answer to a HelloRetryRequest, which this server never sends. */
			err = tls13_ch_alert(alert, TLS13_ALERT_ILLEGAL_PARAMETER, -EINVAL);
			break;
		case TLS13_EXT_PRE_SHARED_KEY:
			err = tls13_ch_psk(&d, at, len, ch, alert);
			break;
		default:
			/* Unknown or not needed here (server_name, signature_algorithms, ...):
			 * skipped, as RFC 8446 4.2 asks of a server. */
			err = 0;
			break;
		}
		if (err)
			return err;
	}
	if (!ch->tls13)
		return tls13_ch_alert(alert, TLS13_ALERT_PROTOCOL_VERSION, -EPROTONOSUPPORT);
	/* pre_shared_key needs psk_key_exchange_modes (4.2.9); supported_groups and key_share
	 * come together (9.2). */
	if ((ch->has_pre_shared_key && !modes) || groups != shares)
		return tls13_ch_alert(alert, TLS13_ALERT_MISSING_EXTENSION, -EPROTO);
	return 0;
}

/* ---- state machine ----------------------------------------------------------------- */

static int tls13_srv_fail(struct tls13_server *s, u8 alert, int err)
{
	if (s->alert_sent < 0)
		s->alert_sent = alert;
	return err;
}

static int tls13_srv_transcript_add(struct tls13_server *s, const u8 *msg, size_t len)
{
	if (len > sizeof(s->transcript) - s->transcript_len)
		return tls13_srv_fail(s, TLS13_ALERT_INTERNAL_ERROR, -EMSGSIZE);
	memcpy(s->transcript + s->transcript_len, msg, len);
	s->transcript_len += len;
	return 0;
}

static int tls13_srv_thash(struct tls13_server *s, u8 *out)
{
	int r = tls13_transcript_hash(s->hash, s->transcript, s->transcript_len, out);

	return r < 0 ? tls13_srv_fail(s, TLS13_ALERT_INTERNAL_ERROR, r) : 0;
}

int tls13_server_new(const struct tls13_server_config *cfg, struct tls13_server **ret)
{
	struct tls13_server *s;

	if (!cfg->lookup)
		return -EINVAL;
	s = tls13_zalloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->state = TLS13_SRV_WAIT_CH;
	s->alert_sent = -1;
	s->alert_received = -1;
	s->selected = -1;
	s->cfg = *cfg;
	/* Keep copies: the caller's buffers need not outlive this call. */
	if (cfg->fixed_random) {
		memcpy(s->fixed_random, cfg->fixed_random, TLS13_RANDOM_LEN);
		s->cfg.fixed_random = s->fixed_random;
	}
	if (cfg->fixed_x25519) {
		memcpy(s->fixed_x25519, cfg->fixed_x25519, 32);
		s->cfg.fixed_x25519 = s->fixed_x25519;
	}
	if (cfg->fixed_p256) {
		memcpy(s->fixed_p256, cfg->fixed_p256, 32);
		s->cfg.fixed_p256 = s->fixed_p256;
	}
	s->rec_need = TLS13_RECORD_HEADER;
	*ret = s;
	return 0;
}

void tls13_server_free(struct tls13_server *s)
{
	if (!s)
		return;
	tls13_rec_key_clear(&s->rd);
	tls13_rec_key_clear(&s->wr);
	tls13_free(s, sizeof(*s));
}

/* The first known identity among those offered: 1 found (s->psk filled), 0 none. */
static int tls13_srv_choose_psk(struct tls13_server *s, const struct tls13_ch_info *ch, u8 *psk)
{
	unsigned int i;

	for (i = 0; i < ch->n_offers; i++) {
		const struct tls13_psk_offer *o = &ch->offers[i];
		enum tls13_hash_alg hash = TLS13_SHA256;
		size_t psk_len = 0;
		int r;

		if (o->identity_len > TLS13_MAX_IDENTITY)
			continue;
		r = s->cfg.lookup(s->cfg.userdata, o->identity, o->identity_len, &hash, psk,
				  &psk_len);
		if (r < 0)
			return tls13_srv_fail(s, TLS13_ALERT_INTERNAL_ERROR, r);
		if (r == 0)
			continue;
		if (psk_len != tls13_hash_len(hash))
			return tls13_srv_fail(s, TLS13_ALERT_INTERNAL_ERROR, -EINVAL);
		s->selected = (int)i;
		s->hash = hash;
		s->hlen = psk_len;
		memcpy(s->identity, o->identity, o->identity_len);
		s->identity_len = o->identity_len;
		return 1;
	}
	return 0;
}

/* Binder check (RFC 8446 4.2.11.2): HMAC keyed from "ext binder" over the truncated
 * ClientHello; compared in constant time. */
static int tls13_srv_check_binder(struct tls13_server *s, const struct tls13_ch_info *ch,
				  const u8 *msg)
{
	const struct tls13_psk_offer *o = &ch->offers[s->selected];
	u8 binder_key[TLS13_MAX_HASH], thash[TLS13_MAX_HASH], expected[TLS13_MAX_HASH];
	int r;

	/* A binder of another length cannot be this PSK's: its hash differs. */
	if (o->binder_len != s->hlen)
		return tls13_srv_fail(s, TLS13_ALERT_DECRYPT_ERROR, -EKEYREJECTED);
	r = tls13_transcript_hash(s->hash, msg, ch->truncated_len, thash);
	if (r >= 0)
		r = tls13_ks_binder_key(&s->ks, true, binder_key);
	if (r >= 0)
		r = tls13_ks_finished(s->hash, binder_key, thash, expected);
	tls13_wipe(binder_key, sizeof(binder_key));
	if (r < 0) {
		tls13_wipe(expected, sizeof(expected));
		return tls13_srv_fail(s, TLS13_ALERT_INTERNAL_ERROR, r);
	}
	r = tls13_memneq(expected, o->binder, s->hlen);
	tls13_wipe(expected, sizeof(expected));
	if (r)
		return tls13_srv_fail(s, TLS13_ALERT_DECRYPT_ERROR, -EKEYREJECTED);
	return 0;
}

/* ServerHello: legacy fields, the suite, supported_versions, key_share, pre_shared_key. */
static int tls13_srv_build_server_hello(struct tls13_server *s, const struct tls13_ch_info *ch,
					u16 group, const u8 *pub, size_t pub_len,
					const u8 *random, u8 *out, size_t cap, size_t *ret_len)
{
	size_t exts_len = (4 + 2) + (4 + 4 + pub_len) + (4 + 2);
	size_t body_len = 2 + TLS13_RANDOM_LEN + 1 + ch->session_id_len + 2 + 1 + 2 + exts_len;
	size_t n = 0;

	if (cap < TLS13_HS_HEADER + body_len)
		return -ENOBUFS;
	out[n++] = TLS13_HS_SERVER_HELLO;
	tls13_put_u24(out + n, (u32)body_len);
	n += 3;
	tls13_put_u16(out + n, 0x0303);
	n += 2;
	memcpy(out + n, random, TLS13_RANDOM_LEN);
	n += TLS13_RANDOM_LEN;
	/* legacy_session_id_echo: the client's, byte for byte (4.1.3). */
	out[n++] = (u8)ch->session_id_len;
	if (ch->session_id_len)
		memcpy(out + n, ch->session_id, ch->session_id_len);
	n += ch->session_id_len;
	tls13_put_u16(out + n, s->suite);
	n += 2;
	out[n++] = 0;
	tls13_put_u16(out + n, (u16)exts_len);
	n += 2;
	tls13_put_u16(out + n, TLS13_EXT_SUPPORTED_VERSIONS);
	tls13_put_u16(out + n + 2, 2);
	tls13_put_u16(out + n + 4, 0x0304);
	n += 6;
	tls13_put_u16(out + n, TLS13_EXT_KEY_SHARE);
	tls13_put_u16(out + n + 2, (u16)(4 + pub_len));
	tls13_put_u16(out + n + 4, group);
	tls13_put_u16(out + n + 6, (u16)pub_len);
	memcpy(out + n + 8, pub, pub_len);
	n += 8 + pub_len;
	tls13_put_u16(out + n, TLS13_EXT_PRE_SHARED_KEY);
	tls13_put_u16(out + n + 2, 2);
	tls13_put_u16(out + n + 4, (u16)s->selected);
	n += 6;
	*ret_len = n;
	return 0;
}

static int tls13_srv_handle_client_hello(struct tls13_server *s, const u8 *msg, size_t len,
					 u8 *out, size_t cap, size_t *ret_out)
{
	static const u8 ee[] = { TLS13_HS_ENCRYPTED_EXTENSIONS, 0, 0, 2, 0, 0 };
	struct tls13_ch_info ch;
	struct tls13_ecdh *e = NULL;
	u8 psk[TLS13_MAX_HASH], random[TLS13_RANDOM_LEN], pub[TLS13_MAX_PUBLIC];
	u8 dhe[TLS13_MAX_SHARED], thash[TLS13_MAX_HASH], s_hs[TLS13_MAX_HASH];
	u8 flight[TLS13_HS_HEADER + 512];
	u8 alert = TLS13_ALERT_INTERNAL_ERROR;
	size_t pub_len = 0, dhe_len = 0, sh_len = 0, fl_len, n1 = 0, n2 = 0;
	const u8 *peer;
	u16 group = 0;
	int r;

	r = tls13_server_parse_client_hello(msg, len, &ch, &alert);
	if (r < 0)
		return tls13_srv_fail(s, alert, r);
	/* A PSK-only server: no pre_shared_key means a certificate was wanted. */
	if (!ch.has_pre_shared_key)
		return tls13_srv_fail(s, TLS13_ALERT_HANDSHAKE_FAILURE, -ENOKEY);
	/* psk_dhe_ke only: every session forward-secret, as the kernel's client asks. */
	if (!ch.psk_dhe_ke)
		return tls13_srv_fail(s, TLS13_ALERT_HANDSHAKE_FAILURE, -EOPNOTSUPP);
	/* 0-RTT is never accepted, and skipping early records is not implemented. */
	if (ch.early_data)
		return tls13_srv_fail(s, TLS13_ALERT_HANDSHAKE_FAILURE, -EOPNOTSUPP);

	r = tls13_srv_choose_psk(s, &ch, psk);
	if (r == 0)
		r = tls13_srv_fail(s, TLS13_ALERT_UNKNOWN_PSK_IDENTITY, -ENOKEY);
	if (r < 0)
		goto out;
	/* NVMe/TCP: the suite follows the PSK's hash (TP 8011), and the client must offer it. */
	s->suite = s->hash == TLS13_SHA384 ? TLS13_AES256_GCM_SHA384 : TLS13_AES128_GCM_SHA256;
	s->key_len = s->hash == TLS13_SHA384 ? 32 : 16;
	if ((s->hash == TLS13_SHA384 && !ch.suite_sha384) ||
	    (s->hash == TLS13_SHA256 && !ch.suite_sha256)) {
		r = tls13_srv_fail(s, TLS13_ALERT_HANDSHAKE_FAILURE, -EOPNOTSUPP);
		goto out;
	}
	r = tls13_ks_init(&s->ks, s->hash, psk, s->hlen);
	if (r < 0) {
		r = tls13_srv_fail(s, TLS13_ALERT_INTERNAL_ERROR, r);
		goto out;
	}
	r = tls13_srv_check_binder(s, &ch, msg);
	if (r < 0)
		goto out;

	/* x25519 first, then P-256; no HelloRetryRequest (4.1.1: handshake_failure). */
	group = ch.x25519 ? TLS13_GROUP_X25519 : TLS13_GROUP_P256;
	peer = ch.x25519 ? ch.x25519 : ch.p256;
	if (!peer) {
		r = tls13_srv_fail(s, TLS13_ALERT_HANDSHAKE_FAILURE, -EOPNOTSUPP);
		goto out;
	}
	r = tls13_ecdh_new(group, group == TLS13_GROUP_X25519 ? s->cfg.fixed_x25519
							      : s->cfg.fixed_p256, &e);
	if (r >= 0)
		r = tls13_ecdh_public(e, pub, sizeof(pub), &pub_len);
	if (r < 0) {
		r = tls13_srv_fail(s, TLS13_ALERT_INTERNAL_ERROR, r);
		goto out;
	}
	/* An invalid point or an all-zero x25519 result (7.4.2). */
	r = tls13_ecdh_derive(e, peer, group == TLS13_GROUP_X25519 ? 32 : 65, dhe, sizeof(dhe),
			      &dhe_len);
	if (r < 0) {
		r = tls13_srv_fail(s, TLS13_ALERT_ILLEGAL_PARAMETER, -EINVAL);
		goto out;
	}
	if (s->cfg.fixed_random)
		memcpy(random, s->cfg.fixed_random, TLS13_RANDOM_LEN);
	else if ((r = tls13_random(random, TLS13_RANDOM_LEN)) < 0) {
		r = tls13_srv_fail(s, TLS13_ALERT_INTERNAL_ERROR, r);
		goto out;
	}
	r = tls13_srv_build_server_hello(s, &ch, group, pub, pub_len, random, flight,
					 sizeof(flight), &sh_len);
	if (r < 0) {
		r = tls13_srv_fail(s, TLS13_ALERT_INTERNAL_ERROR, r);
		goto out;
	}

	/* Handshake secrets over ClientHello..ServerHello. */
	r = tls13_srv_transcript_add(s, msg, len);
	if (r >= 0)
		r = tls13_srv_transcript_add(s, flight, sh_len);
	if (r >= 0)
		r = tls13_srv_thash(s, thash);
	if (r < 0)
		goto out;
	r = tls13_ks_handshake(&s->ks, dhe, dhe_len);
	if (r >= 0)
		r = tls13_ks_hs_traffic(&s->ks, false, thash, s->c_hs);
	if (r >= 0)
		r = tls13_ks_hs_traffic(&s->ks, true, thash, s_hs);
	if (r >= 0)
		r = tls13_rec_key_set(&s->rd, s->hash, s->c_hs, s->key_len);
	if (r >= 0)
		r = tls13_rec_key_set(&s->wr, s->hash, s_hs, s->key_len);
	if (r < 0) {
		r = tls13_srv_fail(s, TLS13_ALERT_INTERNAL_ERROR, r);
		goto out;
	}
	r = tls13_record_write_plain(TLS13_CT_HANDSHAKE, flight, sh_len, out, cap, &n1);
	if (r < 0) {
		r = tls13_srv_fail(s, TLS13_ALERT_INTERNAL_ERROR, r);
		goto out;
	}

	/* {EncryptedExtensions} (empty) and {Finished} in one protected record. */
	memcpy(flight, ee, sizeof(ee));
	fl_len = sizeof(ee);
	r = tls13_srv_transcript_add(s, ee, sizeof(ee));
	if (r >= 0)
		r = tls13_srv_thash(s, thash);
	if (r < 0)
		goto out;
	flight[fl_len] = TLS13_HS_FINISHED;
	tls13_put_u24(flight + fl_len + 1, (u32)s->hlen);
	r = tls13_ks_finished(s->hash, s_hs, thash, flight + fl_len + TLS13_HS_HEADER);
	if (r < 0) {
		r = tls13_srv_fail(s, TLS13_ALERT_INTERNAL_ERROR, r);
		goto out;
	}
	r = tls13_srv_transcript_add(s, flight + fl_len, TLS13_HS_HEADER + s->hlen);
	fl_len += TLS13_HS_HEADER + s->hlen;
	if (r >= 0)
		r = tls13_srv_thash(s, thash);
	if (r < 0)
		goto out;
	r = tls13_record_seal(&s->wr, TLS13_CT_HANDSHAKE, flight, fl_len, out + n1, cap - n1, &n2);
	/* Application secrets and the client's Finished cover ClientHello..server Finished. */
	if (r >= 0)
		r = tls13_ks_ap_traffic(&s->ks, false, thash, s->c_ap);
	if (r >= 0)
		r = tls13_ks_ap_traffic(&s->ks, true, thash, s->s_ap);
	if (r >= 0)
		r = tls13_ks_finished(s->hash, s->c_hs, thash, s->client_finished);
	/* After its Finished the server writes under the application key (RFC 8446 7.2):
	 * an alert about the client's Finished goes out under it; kTLS gets it at seq 0. */
	if (r >= 0)
		r = tls13_rec_key_set(&s->wr, s->hash, s->s_ap, s->key_len);
	if (r < 0) {
		r = tls13_srv_fail(s, TLS13_ALERT_INTERNAL_ERROR, r);
		goto out;
	}
	*ret_out = n1 + n2;
	s->state = TLS13_SRV_WAIT_FINISHED;
	r = 0;
out:
	tls13_ecdh_free(e);
	tls13_wipe(psk, sizeof(psk));
	tls13_wipe(dhe, sizeof(dhe));
	tls13_wipe(s_hs, sizeof(s_hs));
	tls13_wipe(flight, sizeof(flight));
	return r;
}

static int tls13_srv_handle_finished(struct tls13_server *s, const u8 *msg, size_t len)
{
	u8 alert = TLS13_ALERT_INTERNAL_ERROR;
	int r;

	r = tls13_msg_check_finished(msg + TLS13_HS_HEADER, len - TLS13_HS_HEADER,
				     s->client_finished, s->hlen, &alert);
	if (r < 0)
		return tls13_srv_fail(s, alert, r);
	/* Only the application traffic secrets are needed from here on. */
	tls13_ks_wipe(&s->ks);
	tls13_wipe(s->c_hs, sizeof(s->c_hs));
	tls13_wipe(s->client_finished, sizeof(s->client_finished));
	tls13_rec_key_clear(&s->rd);
	tls13_rec_key_clear(&s->wr);
	s->state = TLS13_SRV_DONE;
	return TLS13_CLIENT_DONE;
}

/* Handshake bytes of one record: reassemble and handle the one message expected now. */
static int tls13_srv_handle_handshake(struct tls13_server *s, const u8 *data, size_t len,
				      u8 *out, size_t cap, size_t *ret_out)
{
	size_t mlen, max;
	u8 want;
	int r;

	if (len > sizeof(s->hs) - s->hs_len)
		return tls13_srv_fail(s, TLS13_ALERT_DECODE_ERROR, -EMSGSIZE);
	memcpy(s->hs + s->hs_len, data, len);
	s->hs_len += len;
	if (s->hs_len < TLS13_HS_HEADER)
		return 0;
	want = s->state == TLS13_SRV_WAIT_CH ? TLS13_HS_CLIENT_HELLO : TLS13_HS_FINISHED;
	max = s->state == TLS13_SRV_WAIT_CH ? TLS13_SERVER_MAX_CH : TLS13_MAX_HASH;
	if (s->hs[0] != want)
		return tls13_srv_fail(s, TLS13_ALERT_UNEXPECTED_MESSAGE, -EPROTO);
	mlen = tls13_get_u24(s->hs + 1);
	if (mlen > max)
		return tls13_srv_fail(s, TLS13_ALERT_DECODE_ERROR, -EMSGSIZE);
	if (s->hs_len < TLS13_HS_HEADER + mlen)
		return 0;
	/* The ClientHello and the Finished each end their flight: nothing may follow them in
	 * the same record (RFC 8446 5.1), and the client has nothing else to send. */
	if (s->hs_len != TLS13_HS_HEADER + mlen)
		return tls13_srv_fail(s, TLS13_ALERT_UNEXPECTED_MESSAGE, -EPROTO);
	s->hs_len = 0;
	if (want == TLS13_HS_CLIENT_HELLO)
		r = tls13_srv_handle_client_hello(s, s->hs, TLS13_HS_HEADER + mlen, out, cap,
						  ret_out);
	else
		r = tls13_srv_handle_finished(s, s->hs, TLS13_HS_HEADER + mlen);
	return r;
}

static int tls13_srv_handle_alert(struct tls13_server *s, const u8 *body, size_t len)
{
	u8 level, desc, alert = TLS13_ALERT_DECODE_ERROR;
	int r;

	r = tls13_msg_parse_alert(body, len, &level, &desc, &alert);
	if (r < 0)
		return tls13_srv_fail(s, alert, r);
	s->alert_received = desc;
	/* No alert gets an answer (RFC 8446 6). */
	s->alert_sent = -2;
	switch (desc) {
	case TLS13_ALERT_DECRYPT_ERROR:
	case TLS13_ALERT_UNKNOWN_PSK_IDENTITY:
		/* The client refused our Finished, or its key differs from ours. */
		return -EKEYREJECTED;
	default:
		return -ECONNABORTED;
	}
}

static int tls13_srv_handle_record(struct tls13_server *s, u8 *out, size_t cap,
				   size_t *ret_out)
{
	u8 type = s->rec[0], inner_type;
	u8 *body = s->rec + TLS13_RECORD_HEADER, *inner;
	size_t blen = s->rec_len - TLS13_RECORD_HEADER, ilen;
	int r;

	switch (type) {
	case TLS13_CT_CHANGE_CIPHER_SPEC:
		/* The compatibility CCS: a single 0x01, after the ClientHello, before the
		 * client's Finished, never inside a fragmented message (RFC 8446 5, D.4). */
		if (s->state != TLS13_SRV_WAIT_FINISHED || blen != 1 || body[0] != 1 ||
		    ++s->ccs_count > TLS13_SERVER_MAX_CCS || s->hs_len)
			return tls13_srv_fail(s, TLS13_ALERT_UNEXPECTED_MESSAGE, -EPROTO);
		return 0;
	case TLS13_CT_ALERT:
		return tls13_srv_handle_alert(s, body, blen);
	case TLS13_CT_HANDSHAKE:
		if (s->state != TLS13_SRV_WAIT_CH)
			return tls13_srv_fail(s, TLS13_ALERT_UNEXPECTED_MESSAGE, -EPROTO);
		return tls13_srv_handle_handshake(s, body, blen, out, cap, ret_out);
	case TLS13_CT_APPLICATION_DATA:
		if (s->state != TLS13_SRV_WAIT_FINISHED)
			return tls13_srv_fail(s, TLS13_ALERT_UNEXPECTED_MESSAGE, -EPROTO);
		r = tls13_record_open(&s->rd, s->rec, s->rec_len, &inner, &ilen, &inner_type);
		if (r == -EBADMSG)
			return tls13_srv_fail(s, TLS13_ALERT_BAD_RECORD_MAC, r);
		if (r == -EMSGSIZE)
			return tls13_srv_fail(s, TLS13_ALERT_RECORD_OVERFLOW, r);
		if (r < 0)
			return tls13_srv_fail(s, TLS13_ALERT_UNEXPECTED_MESSAGE, r);
		if (inner_type == TLS13_CT_ALERT)
			return tls13_srv_handle_alert(s, inner, ilen);
		if (inner_type != TLS13_CT_HANDSHAKE || ilen == 0)
			return tls13_srv_fail(s, TLS13_ALERT_UNEXPECTED_MESSAGE, -EPROTO);
		return tls13_srv_handle_handshake(s, inner, ilen, out, cap, ret_out);
	default:
		return tls13_srv_fail(s, TLS13_ALERT_UNEXPECTED_MESSAGE, -EPROTO);
	}
}

/* The alert record for a failure: protected once the client can read our keys. */
static void tls13_srv_write_alert(struct tls13_server *s, u8 *out, size_t cap, size_t *ret_out)
{
	u8 a[2] = { 2, 0 };

	*ret_out = 0;
	if (s->alert_sent < 0)
		return;
	a[1] = (u8)s->alert_sent;
	if (s->wr.aead) {
		if (tls13_record_seal(&s->wr, TLS13_CT_ALERT, a, 2, out, cap, ret_out) < 0)
			*ret_out = 0;
	} else if (tls13_record_write_plain(TLS13_CT_ALERT, a, 2, out, cap, ret_out) < 0) {
		*ret_out = 0;
	}
}

/* The record header; the first ClientHello's record may carry 0x0301 (RFC 8446 5.1). */
static int tls13_srv_check_header(const struct tls13_server *s, const u8 *hdr, u8 *ret_type)
{
	u8 h[TLS13_RECORD_HEADER];

	memcpy(h, hdr, sizeof(h));
	if (s->state == TLS13_SRV_WAIT_CH && h[0] == TLS13_CT_HANDSHAKE && h[1] == 3 &&
	    (h[2] == 1 || h[2] == 2))
		h[2] = 3;
	return tls13_record_check_header(h, ret_type);
}

int tls13_server_feed(struct tls13_server *s, const u8 *in, size_t len, size_t *ret_consumed,
		      u8 *out, size_t cap, size_t *ret_out_len)
{
	size_t used = 0;
	int r = 0;

	*ret_consumed = 0;
	*ret_out_len = 0;
	if (s->state == TLS13_SRV_FAILED)
		return s->error;
	if (s->state == TLS13_SRV_DONE)
		return TLS13_CLIENT_DONE;
	if (cap < TLS13_SERVER_OUT_MAX)
		return -EINVAL;

	while (used < len) {
		size_t n = s->rec_need - s->rec_len;
		u8 type;

		if (n > len - used)
			n = len - used;
		memcpy(s->rec + s->rec_len, in + used, n);
		s->rec_len += n;
		used += n;
		if (s->rec_len < s->rec_need)
			break;
		if (s->rec_need == TLS13_RECORD_HEADER) {
			r = tls13_srv_check_header(s, s->rec, &type);
			if (r < 0) {
				u8 alert = r == -EMSGSIZE ? TLS13_ALERT_RECORD_OVERFLOW :
					   r == -EPROTO ? TLS13_ALERT_UNEXPECTED_MESSAGE :
					   TLS13_ALERT_DECODE_ERROR;

				r = tls13_srv_fail(s, alert, r);
				break;
			}
			s->rec_need = TLS13_RECORD_HEADER + (size_t)r;
			r = 0;
			continue;
		}
		r = tls13_srv_handle_record(s, out, cap, ret_out_len);
		s->rec_len = 0;
		s->rec_need = TLS13_RECORD_HEADER;
		if (r != 0)
			break;
		/* Our flight is out: the client answers only after reading it. */
		if (*ret_out_len)
			break;
	}
	*ret_consumed = used;
	if (r < 0) {
		s->state = TLS13_SRV_FAILED;
		s->error = r;
		tls13_srv_write_alert(s, out, cap, ret_out_len);
		tls13_ks_wipe(&s->ks);
		tls13_wipe(s->c_ap, sizeof(s->c_ap));
		tls13_wipe(s->s_ap, sizeof(s->s_ap));
		return r;
	}
	return r;
}

size_t tls13_server_want(const struct tls13_server *s)
{
	return s->rec_need - s->rec_len;
}

static int tls13_srv_fill_traffic(const struct tls13_server *s, const u8 *secret,
				  struct tls13_traffic *t)
{
	memset(t, 0, sizeof(*t));
	t->cipher_suite = s->suite;
	t->hash = s->hash;
	t->key_len = s->key_len;
	memcpy(t->secret, secret, s->hlen);
	return tls13_ks_traffic_keys(s->hash, secret, s->key_len, t->key, t->iv);
}

int tls13_server_traffic(const struct tls13_server *s, struct tls13_traffic *tx,
			 struct tls13_traffic *rx)
{
	int r;

	if (s->state != TLS13_SRV_DONE)
		return -EINVAL;
	r = tls13_srv_fill_traffic(s, s->s_ap, tx);
	if (r >= 0)
		r = tls13_srv_fill_traffic(s, s->c_ap, rx);
	return r;
}

int tls13_server_selected(const struct tls13_server *s)
{
	return s->selected;
}

const u8 *tls13_server_identity(const struct tls13_server *s, size_t *ret_len)
{
	*ret_len = s->identity_len;
	return s->selected >= 0 ? s->identity : NULL;
}

u16 tls13_server_suite(const struct tls13_server *s)
{
	return s->selected >= 0 ? s->suite : 0;
}

int tls13_server_alert_sent(const struct tls13_server *s)
{
	return s->alert_sent < 0 ? -1 : s->alert_sent;
}

int tls13_server_alert_received(const struct tls13_server *s)
{
	return s->alert_received;
}
