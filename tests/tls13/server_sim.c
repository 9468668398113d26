/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A minimal TLS 1.3 PSK server for tests; see server_sim.h. */
#include "server_sim.h"
#include "tls13_msg.h"

void tls13_sim_init(struct tls13_sim *s, enum tls13_hash_alg hash, const u8 *psk)
{
	memset(s, 0, sizeof(*s));
	s->hash = hash;
	s->hlen = tls13_hash_len(hash);
	s->suite = hash == TLS13_SHA384 ? TLS13_AES256_GCM_SHA384 : TLS13_AES128_GCM_SHA256;
	s->key_len = hash == TLS13_SHA384 ? 32 : 16;
	memcpy(s->psk, psk, s->hlen);
}

void tls13_sim_done(struct tls13_sim *s)
{
	tls13_rec_key_clear(&s->wr);
	tls13_rec_key_clear(&s->rd);
	explicit_bzero(s, sizeof(*s));
}

static int sim_add(struct tls13_sim *s, const u8 *p, size_t n)
{
	if (n > sizeof(s->transcript) - s->transcript_len)
		return -ENOBUFS;
	memcpy(s->transcript + s->transcript_len, p, n);
	s->transcript_len += n;
	return 0;
}

/* Find the client's x25519 share and the binder in a ClientHello message. */
static int sim_parse_ch(const u8 *m, size_t len, const u8 **share, size_t *trunc)
{
	size_t p = 4 + 2 + 32, end;

	if (len < p + 1)
		return -EBADMSG;
	p += 1 + m[p];				/* session id */
	p += 2 + tls13_get_u16(m + p);		/* suites */
	p += 1 + m[p];				/* compression */
	end = p + 2 + tls13_get_u16(m + p);
	p += 2;
	if (end != len)
		return -EBADMSG;
	*share = NULL;
	while (p + 4 <= end) {
		u16 type = tls13_get_u16(m + p), n = tls13_get_u16(m + p + 2);

		if (type == TLS13_EXT_KEY_SHARE && tls13_get_u16(m + p + 6) == TLS13_GROUP_X25519)
			*share = m + p + 10;
		if (type == TLS13_EXT_PRE_SHARED_KEY)
			*trunc = p + 4 + 2 + tls13_get_u16(m + p + 4);
		p += 4 + n;
	}
	return *share ? 0 : -ENOENT;
}

int tls13_sim_server_hello(struct tls13_sim *s, const u8 *rec, size_t rec_len,
			   const u8 *server_priv, u8 *out, size_t cap, size_t *ret_len)
{
	const u8 *ch = rec + 5, *share;
	size_t ch_len = rec_len - 5, trunc = 0, n, dhe_len;
	u8 th[TLS13_MAX_HASH], bk[TLS13_MAX_HASH], binder[TLS13_MAX_HASH];
	u8 sh[128], pub[32], dhe[32];
	struct tls13_ecdh *e = NULL;
	int r;

	r = sim_parse_ch(ch, ch_len, &share, &trunc);
	if (r < 0)
		return r;
	r = tls13_ks_init(&s->ks, s->hash, s->psk, s->hlen);
	if (r < 0)
		return r;
	/* Binder over the truncated ClientHello. */
	r = tls13_transcript_hash(s->hash, ch, trunc, th);
	if (r >= 0)
		r = tls13_ks_binder_key(&s->ks, true, bk);
	if (r >= 0)
		r = tls13_ks_finished(s->hash, bk, th, binder);
	if (r < 0)
		return r;
	s->binder_ok = !memcmp(binder, ch + ch_len - s->hlen, s->hlen);

	r = tls13_ecdh_new(TLS13_GROUP_X25519, server_priv, &e);
	if (r < 0)
		return r;
	r = tls13_ecdh_public(e, pub, sizeof(pub), &n);
	if (r >= 0)
		r = tls13_ecdh_derive(e, share, 32, dhe, sizeof(dhe), &dhe_len);
	tls13_ecdh_free(e);
	if (r < 0)
		return r;

	n = 0;
	sh[n++] = TLS13_HS_SERVER_HELLO;
	n += 3;
	sh[n++] = 3;
	sh[n++] = 3;
	memset(sh + n, 0x5a, 32);
	n += 32;
	sh[n++] = 0;
	tls13_put_u16(sh + n, s->suite);
	n += 2;
	sh[n++] = 0;
	tls13_put_u16(sh + n, 6 + 40 + 6);
	n += 2;
	static const u8 sv[] = { 0, 43, 0, 2, 3, 4 };
	memcpy(sh + n, sv, sizeof(sv));
	n += sizeof(sv);
	static const u8 ks_hdr[] = { 0, 51, 0, 36, 0, 0x1d, 0, 32 };
	memcpy(sh + n, ks_hdr, sizeof(ks_hdr));
	n += sizeof(ks_hdr);
	memcpy(sh + n, pub, 32);
	n += 32;
	static const u8 psk_ext[] = { 0, 41, 0, 2, 0, 0 };
	memcpy(sh + n, psk_ext, sizeof(psk_ext));
	n += sizeof(psk_ext);
	tls13_put_u24(sh + 1, (u32)(n - 4));

	r = sim_add(s, ch, ch_len);
	if (r >= 0)
		r = sim_add(s, sh, n);
	if (r >= 0)
		r = tls13_transcript_hash(s->hash, s->transcript, s->transcript_len, th);
	if (r >= 0)
		r = tls13_ks_handshake(&s->ks, dhe, dhe_len);
	if (r >= 0)
		r = tls13_ks_hs_traffic(&s->ks, false, th, s->c_hs);
	if (r >= 0)
		r = tls13_ks_hs_traffic(&s->ks, true, th, s->s_hs);
	if (r >= 0)
		r = tls13_rec_key_set(&s->wr, s->hash, s->s_hs, s->key_len);
	if (r >= 0)
		r = tls13_rec_key_set(&s->rd, s->hash, s->c_hs, s->key_len);
	if (r < 0)
		return r;
	return tls13_record_write_plain(TLS13_CT_HANDSHAKE, sh, n, out, cap, ret_len);
}

int tls13_sim_protect(struct tls13_sim *s, u8 inner_type, const u8 *data, size_t len,
		      bool add_to_transcript, u8 *out, size_t cap, size_t *ret_len)
{
	if (add_to_transcript) {
		int r = sim_add(s, data, len);

		if (r < 0)
			return r;
	}
	return tls13_record_seal(&s->wr, inner_type, data, len, out, cap, ret_len);
}

int tls13_sim_ee_finished(struct tls13_sim *s, u8 *out, size_t cap, size_t *ret_len)
{
	u8 msgs[6 + 4 + TLS13_MAX_HASH] = { TLS13_HS_ENCRYPTED_EXTENSIONS, 0, 0, 2, 0, 0 };
	u8 th[TLS13_MAX_HASH];
	int r;

	r = sim_add(s, msgs, 6);
	if (r >= 0)
		r = tls13_transcript_hash(s->hash, s->transcript, s->transcript_len, th);
	if (r >= 0)
		r = tls13_ks_finished(s->hash, s->s_hs, th, msgs + 10);
	if (r < 0)
		return r;
	msgs[6] = TLS13_HS_FINISHED;
	tls13_put_u24(msgs + 7, (u32)s->hlen);
	r = sim_add(s, msgs + 6, 4 + s->hlen);
	if (r < 0)
		return r;
	return tls13_record_seal(&s->wr, TLS13_CT_HANDSHAKE, msgs, 10 + s->hlen, out, cap,
				 ret_len);
}

int tls13_sim_check_client_finished(struct tls13_sim *s, u8 *rec, size_t rec_len)
{
	u8 th[TLS13_MAX_HASH], want[TLS13_MAX_HASH], *inner, type;
	size_t ilen;
	int r;

	r = tls13_record_open(&s->rd, rec, rec_len, &inner, &ilen, &type);
	if (r < 0)
		return r;
	if (type != TLS13_CT_HANDSHAKE || ilen != 4 + s->hlen || inner[0] != TLS13_HS_FINISHED)
		return -EBADMSG;
	r = tls13_transcript_hash(s->hash, s->transcript, s->transcript_len, th);
	if (r >= 0)
		r = tls13_ks_finished(s->hash, s->c_hs, th, want);
	if (r < 0)
		return r;
	return memcmp(want, inner + 4, s->hlen) ? -EKEYREJECTED : 0;
}
