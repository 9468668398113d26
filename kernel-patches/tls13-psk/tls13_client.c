// SPDX-License-Identifier: GPL-2.0-only
/*
 * TLS 1.3 PSK (psk_dhe_ke) client state machine, RFC 8446.
 *
 *   START -> WAIT_SH -(HelloRetryRequest, once)-> WAIT_SH
 *         -> WAIT_EE -> WAIT_FINISHED -> DONE
 *
 * A PSK-authenticated server sends no Certificate and no CertificateRequest
 * (RFC 8446 4.3.2, 4.4.2), so anything but ServerHello, EncryptedExtensions
 * and Finished, in that order, ends the handshake with unexpected_message.
 *
 * Bounds: one record at a time (<= 5 + 2^14 + 256 bytes), one server
 * handshake message at a time (<= TLS13_MAX_SERVER_MSG), a transcript of at
 * most TLS13_MAX_TRANSCRIPT bytes, at most TLS13_MAX_CCS change_cipher_spec
 * records, one HelloRetryRequest. All buffers live in the context.
 */
#include "tls13_client.h"
#include "tls13_msg.h"
#include "tls13_record.h"

#define TLS13_MAX_TRANSCRIPT 16384
/* Compatibility-mode change_cipher_spec records a server may send (RFC 8446 D.4). */
#define TLS13_MAX_CCS 2

enum tls13_state {
	TLS13_ST_START,
	TLS13_ST_WAIT_SH,
	TLS13_ST_WAIT_EE,
	TLS13_ST_WAIT_FINISHED,
	TLS13_ST_DONE,
	TLS13_ST_FAILED,
};

struct tls13_client {
	enum tls13_state state;
	int error;
	int alert_sent;
	int alert_received;

	enum tls13_hash_alg hash;
	size_t hlen;
	u16 suite;
	size_t key_len;
	u8 psk[TLS13_MAX_HASH];
	u8 identity[TLS13_MAX_IDENTITY];
	size_t identity_len;
	u8 random[TLS13_RANDOM_LEN];
	u8 fixed_x25519[32];
	u8 fixed_p256[32];
	bool has_fixed_x25519;
	bool has_fixed_p256;

	/* Key shares of the ClientHello in flight. */
	u16 share_group[TLS13_MAX_SHARES];
	struct tls13_ecdh *share[TLS13_MAX_SHARES];
	unsigned int n_shares;

	bool hrr;
	u16 hrr_suite;
	u8 cookie[TLS13_MAX_COOKIE];
	size_t cookie_len;
	unsigned int ccs_count;

	struct tls13_ks ks;
	u8 c_hs[TLS13_MAX_HASH];
	u8 s_hs[TLS13_MAX_HASH];
	u8 c_ap[TLS13_MAX_HASH];
	u8 s_ap[TLS13_MAX_HASH];
	struct tls13_rec_key rd;
	struct tls13_rec_key wr;

	/* The record being received. */
	u8 rec[TLS13_MAX_RECORD];
	size_t rec_len;
	size_t rec_need;
	/* Handshake bytes not yet forming a complete message. */
	u8 hs[TLS13_HS_HEADER + TLS13_MAX_SERVER_MSG];
	size_t hs_len;
	/* Every handshake message so far, for Transcript-Hash. */
	u8 transcript[TLS13_MAX_TRANSCRIPT];
	size_t transcript_len;
};

static const u16 tls13_groups[] = { TLS13_GROUP_X25519, TLS13_GROUP_P256 };

/* Record the alert to send and the error to return. */
static int tls13_fail(struct tls13_client *c, u8 alert, int err)
{
	if (c->alert_sent < 0)
		c->alert_sent = alert;
	return err;
}

static int tls13_transcript_add(struct tls13_client *c, const u8 *msg, size_t len)
{
	if (len > sizeof(c->transcript) - c->transcript_len)
		return tls13_fail(c, TLS13_ALERT_INTERNAL_ERROR, -EMSGSIZE);
	memcpy(c->transcript + c->transcript_len, msg, len);
	c->transcript_len += len;
	return 0;
}

static int tls13_transcript_now(struct tls13_client *c, u8 *out)
{
	int r = tls13_transcript_hash(c->hash, c->transcript, c->transcript_len, out);

	return r < 0 ? tls13_fail(c, TLS13_ALERT_INTERNAL_ERROR, r) : 0;
}

int tls13_client_new(const struct tls13_client_config *cfg, struct tls13_client **ret)
{
	struct tls13_client *c;
	size_t hlen = tls13_hash_len(cfg->hash);

	if (!cfg->psk || cfg->psk_len != hlen || !cfg->identity || cfg->identity_len == 0 ||
	    cfg->identity_len > TLS13_MAX_IDENTITY)
		return -EINVAL;
	c = tls13_zalloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->state = TLS13_ST_START;
	c->alert_sent = -1;
	c->alert_received = -1;
	c->hash = cfg->hash;
	c->hlen = hlen;
	/* NVMe/TCP: the cipher suite follows the PSK's hash (TP 8011). */
	c->suite = cfg->hash == TLS13_SHA384 ? TLS13_AES256_GCM_SHA384 : TLS13_AES128_GCM_SHA256;
	c->key_len = cfg->hash == TLS13_SHA384 ? 32 : 16;
	memcpy(c->psk, cfg->psk, hlen);
	memcpy(c->identity, cfg->identity, cfg->identity_len);
	c->identity_len = cfg->identity_len;
	if (cfg->fixed_random)
		memcpy(c->random, cfg->fixed_random, TLS13_RANDOM_LEN);
	if (cfg->fixed_x25519) {
		memcpy(c->fixed_x25519, cfg->fixed_x25519, 32);
		c->has_fixed_x25519 = true;
	}
	if (cfg->fixed_p256) {
		memcpy(c->fixed_p256, cfg->fixed_p256, 32);
		c->has_fixed_p256 = true;
	}
	c->share_group[0] = TLS13_GROUP_X25519;
	c->n_shares = 1;
	if (cfg->share_p256)
		c->share_group[c->n_shares++] = TLS13_GROUP_P256;
	c->rec_need = TLS13_RECORD_HEADER;
	if (!cfg->fixed_random) {
		int r = tls13_random(c->random, TLS13_RANDOM_LEN);

		if (r < 0) {
			tls13_client_free(c);
			return r;
		}
	}
	*ret = c;
	return 0;
}

static void tls13_client_drop_shares(struct tls13_client *c)
{
	unsigned int i;

	for (i = 0; i < TLS13_MAX_SHARES; i++) {
		tls13_ecdh_free(c->share[i]);
		c->share[i] = NULL;
	}
}

void tls13_client_free(struct tls13_client *c)
{
	if (!c)
		return;
	tls13_client_drop_shares(c);
	tls13_rec_key_clear(&c->rd);
	tls13_rec_key_clear(&c->wr);
	tls13_free(c, sizeof(*c));
}

static int tls13_new_share(struct tls13_client *c, unsigned int i)
{
	const u8 *priv = NULL;

	if (c->share_group[i] == TLS13_GROUP_X25519 && c->has_fixed_x25519)
		priv = c->fixed_x25519;
	if (c->share_group[i] == TLS13_GROUP_P256 && c->has_fixed_p256)
		priv = c->fixed_p256;
	return tls13_ecdh_new(c->share_group[i], priv, &c->share[i]);
}

/*
 * Build ClientHello (first or after HelloRetryRequest), fill in its binder
 * over the transcript so far plus the truncated ClientHello (RFC 8446
 * 4.2.11.2), add it to the transcript and write it as a plaintext record.
 */
static int tls13_send_client_hello(struct tls13_client *c, u8 *out, size_t cap,
				   size_t *ret_len)
{
	struct tls13_key_share shares[TLS13_MAX_SHARES];
	u8 pub[TLS13_MAX_SHARES][TLS13_MAX_PUBLIC];
	u8 binder_key[TLS13_MAX_HASH], thash[TLS13_MAX_HASH];
	struct tls13_client_hello ch = {
		.random = c->random,
		.cipher_suite = c->suite,
		.groups = tls13_groups,
		.n_groups = ARRAY_SIZE(tls13_groups),
		.shares = shares,
		.n_shares = c->n_shares,
		.identity = c->identity,
		.identity_len = c->identity_len,
		.binder_len = c->hlen,
		.cookie = c->cookie_len ? c->cookie : NULL,
		.cookie_len = c->cookie_len,
	};
	size_t len, trunc, i;
	u8 *msg;
	int r;

	if (cap < TLS13_RECORD_HEADER)
		return -ENOBUFS;
	for (i = 0; i < c->n_shares; i++) {
		if (!c->share[i]) {
			r = tls13_new_share(c, i);
			if (r < 0)
				return tls13_fail(c, TLS13_ALERT_INTERNAL_ERROR, r);
		}
		r = tls13_ecdh_public(c->share[i], pub[i], sizeof(pub[i]), &shares[i].pub_len);
		if (r < 0)
			return tls13_fail(c, TLS13_ALERT_INTERNAL_ERROR, r);
		shares[i].group = c->share_group[i];
		shares[i].pub = pub[i];
	}
	msg = out + TLS13_RECORD_HEADER;
	r = tls13_msg_build_client_hello(&ch, msg, cap - TLS13_RECORD_HEADER, &len, &trunc);
	if (r < 0)
		return tls13_fail(c, TLS13_ALERT_INTERNAL_ERROR, r);
	if (len > TLS13_MAX_PLAINTEXT)
		return tls13_fail(c, TLS13_ALERT_INTERNAL_ERROR, -EMSGSIZE);

	/* Transcript-Hash(previous messages || truncated ClientHello). */
	r = tls13_transcript_add(c, msg, trunc);
	if (r < 0)
		return r;
	r = tls13_transcript_now(c, thash);
	c->transcript_len -= trunc;
	if (r < 0)
		return r;
	r = tls13_ks_binder_key(&c->ks, true, binder_key);
	if (r >= 0)
		r = tls13_ks_finished(c->hash, binder_key, thash, msg + len - c->hlen);
	tls13_wipe(binder_key, sizeof(binder_key));
	if (r < 0)
		return tls13_fail(c, TLS13_ALERT_INTERNAL_ERROR, r);
	r = tls13_transcript_add(c, msg, len);
	if (r < 0)
		return r;
	return tls13_record_write_plain(TLS13_CT_HANDSHAKE, msg, len, out, cap, ret_len);
}

int tls13_client_start(struct tls13_client *c, u8 *out, size_t cap, size_t *ret_len)
{
	int r;

	if (c->state != TLS13_ST_START)
		return -EINVAL;
	r = tls13_ks_init(&c->ks, c->hash, c->psk, c->hlen);
	if (r >= 0)
		r = tls13_send_client_hello(c, out, cap, ret_len);
	if (r < 0) {
		c->state = TLS13_ST_FAILED;
		c->error = r;
		return r;
	}
	c->state = TLS13_ST_WAIT_SH;
	return 0;
}

static bool tls13_group_known(u16 g)
{
	return g == TLS13_GROUP_X25519 || g == TLS13_GROUP_P256;
}

static int tls13_handle_hrr(struct tls13_client *c, const struct tls13_server_hello *sh,
			    const u8 *msg, size_t len, u8 *out, size_t cap, size_t *ret_out)
{
	u8 mh[TLS13_HS_HEADER + TLS13_MAX_HASH];
	size_t mh_len, i;
	int r;

	/* A second HelloRetryRequest is unexpected_message (RFC 8446 4.1.4). */
	if (c->hrr)
		return tls13_fail(c, TLS13_ALERT_UNEXPECTED_MESSAGE, -EPROTO);
	if (sh->has_key_share) {
		if (!tls13_group_known(sh->group))
			return tls13_fail(c, TLS13_ALERT_ILLEGAL_PARAMETER, -EINVAL);
		/* Asking for a share we already sent changes nothing: illegal_parameter. */
		for (i = 0; i < c->n_shares; i++)
			if (c->share_group[i] == sh->group)
				return tls13_fail(c, TLS13_ALERT_ILLEGAL_PARAMETER, -EINVAL);
	} else if (!sh->cookie) {
		return tls13_fail(c, TLS13_ALERT_ILLEGAL_PARAMETER, -EINVAL);
	}
	c->hrr = true;
	c->hrr_suite = sh->cipher_suite;

	/* ClientHello1 becomes message_hash(ClientHello1) (RFC 8446 4.4.1). */
	r = tls13_transcript_message_hash(c->hash, c->transcript, c->transcript_len, mh, &mh_len);
	if (r < 0)
		return tls13_fail(c, TLS13_ALERT_INTERNAL_ERROR, r);
	memcpy(c->transcript, mh, mh_len);
	c->transcript_len = mh_len;
	r = tls13_transcript_add(c, msg, len);
	if (r < 0)
		return r;

	if (sh->has_key_share) {
		tls13_client_drop_shares(c);
		c->share_group[0] = sh->group;
		c->n_shares = 1;
	}
	if (sh->cookie) {
		memcpy(c->cookie, sh->cookie, sh->cookie_len);
		c->cookie_len = sh->cookie_len;
	}
	return tls13_send_client_hello(c, out, cap, ret_out);
}

static int tls13_handle_server_hello(struct tls13_client *c, const u8 *msg, size_t len,
				     u8 *out, size_t cap, size_t *ret_out)
{
	struct tls13_server_hello sh;
	u8 dhe[TLS13_MAX_SHARED], thash[TLS13_MAX_HASH];
	struct tls13_ecdh *e = NULL;
	size_t dhe_len = 0, i;
	u8 alert = TLS13_ALERT_INTERNAL_ERROR;
	int r;

	r = tls13_msg_parse_server_hello(msg + TLS13_HS_HEADER, len - TLS13_HS_HEADER, &sh,
					 &alert);
	if (r < 0)
		return tls13_fail(c, alert, r);
	/* The suite must be the one offered, and the same as in the HRR (4.1.3, 4.1.4). */
	if (sh.cipher_suite != c->suite || (c->hrr && sh.cipher_suite != c->hrr_suite))
		return tls13_fail(c, TLS13_ALERT_ILLEGAL_PARAMETER, -EINVAL);
	if (sh.hrr)
		return tls13_handle_hrr(c, &sh, msg, len, out, cap, ret_out);

	/* Without pre_shared_key the server wants certificates: the PSK was refused. */
	if (!sh.has_psk)
		return tls13_fail(c, TLS13_ALERT_HANDSHAKE_FAILURE, -EKEYREJECTED);
	if (sh.selected_identity != 0)
		return tls13_fail(c, TLS13_ALERT_ILLEGAL_PARAMETER, -EINVAL);
	/* psk_ke was not offered: a ServerHello without key_share is not acceptable. */
	if (!sh.has_key_share)
		return tls13_fail(c, TLS13_ALERT_MISSING_EXTENSION, -EPROTO);
	for (i = 0; i < c->n_shares; i++)
		if (c->share_group[i] == sh.group)
			e = c->share[i];
	if (!e)
		return tls13_fail(c, TLS13_ALERT_ILLEGAL_PARAMETER, -EINVAL);
	if ((sh.group == TLS13_GROUP_X25519 && sh.share_len != 32) ||
	    (sh.group == TLS13_GROUP_P256 && (sh.share_len != 65 || sh.share[0] != 4)))
		return tls13_fail(c, TLS13_ALERT_ILLEGAL_PARAMETER, -EINVAL);
	/* An invalid point or an all-zero x25519 result (RFC 8446 7.4.2). */
	r = tls13_ecdh_derive(e, sh.share, sh.share_len, dhe, sizeof(dhe), &dhe_len);
	if (r < 0)
		return tls13_fail(c, TLS13_ALERT_ILLEGAL_PARAMETER, r);

	r = tls13_transcript_add(c, msg, len);
	if (r >= 0)
		r = tls13_transcript_now(c, thash);
	if (r >= 0)
		r = tls13_ks_handshake(&c->ks, dhe, dhe_len);
	tls13_wipe(dhe, sizeof(dhe));
	if (r >= 0)
		r = tls13_ks_hs_traffic(&c->ks, false, thash, c->c_hs);
	if (r >= 0)
		r = tls13_ks_hs_traffic(&c->ks, true, thash, c->s_hs);
	if (r >= 0)
		r = tls13_rec_key_set(&c->rd, c->hash, c->s_hs, c->key_len);
	if (r >= 0)
		r = tls13_rec_key_set(&c->wr, c->hash, c->c_hs, c->key_len);
	if (r < 0)
		return tls13_fail(c, TLS13_ALERT_INTERNAL_ERROR, r);
	/* The ephemeral private keys are not needed any more. */
	tls13_client_drop_shares(c);
	c->state = TLS13_ST_WAIT_EE;
	return 0;
}

static int tls13_handle_finished(struct tls13_client *c, const u8 *msg, size_t len, u8 *out,
				 size_t cap, size_t *ret_out)
{
	u8 thash[TLS13_MAX_HASH], expected[TLS13_MAX_HASH];
	u8 fin[TLS13_HS_HEADER + TLS13_MAX_HASH];
	u8 alert = TLS13_ALERT_INTERNAL_ERROR;
	int r;

	r = tls13_transcript_now(c, thash);
	if (r < 0)
		return r;
	r = tls13_ks_finished(c->hash, c->s_hs, thash, expected);
	if (r < 0)
		return tls13_fail(c, TLS13_ALERT_INTERNAL_ERROR, r);
	r = tls13_msg_check_finished(msg + TLS13_HS_HEADER, len - TLS13_HS_HEADER, expected,
				     c->hlen, &alert);
	tls13_wipe(expected, sizeof(expected));
	if (r < 0)
		return tls13_fail(c, alert, r);

	/* Application secrets and the client Finished both cover ClientHello..server Finished. */
	r = tls13_transcript_add(c, msg, len);
	if (r >= 0)
		r = tls13_transcript_now(c, thash);
	if (r < 0)
		return r;
	r = tls13_ks_ap_traffic(&c->ks, false, thash, c->c_ap);
	if (r >= 0)
		r = tls13_ks_ap_traffic(&c->ks, true, thash, c->s_ap);
	if (r >= 0)
		r = tls13_ks_finished(c->hash, c->c_hs, thash, fin + TLS13_HS_HEADER);
	if (r < 0)
		return tls13_fail(c, TLS13_ALERT_INTERNAL_ERROR, r);
	fin[0] = TLS13_HS_FINISHED;
	tls13_put_u24(fin + 1, (u32)c->hlen);
	r = tls13_transcript_add(c, fin, TLS13_HS_HEADER + c->hlen);
	if (r < 0)
		return r;
	r = tls13_record_seal(&c->wr, TLS13_CT_HANDSHAKE, fin, TLS13_HS_HEADER + c->hlen, out,
			      cap, ret_out);
	tls13_wipe(fin, sizeof(fin));
	if (r < 0)
		return tls13_fail(c, TLS13_ALERT_INTERNAL_ERROR, r);
	/* Only the application traffic secrets are needed from here on. */
	tls13_ks_wipe(&c->ks);
	tls13_wipe(c->c_hs, sizeof(c->c_hs));
	tls13_wipe(c->s_hs, sizeof(c->s_hs));
	tls13_rec_key_clear(&c->rd);
	tls13_rec_key_clear(&c->wr);
	c->state = TLS13_ST_DONE;
	return TLS13_CLIENT_DONE;
}

/* One complete handshake message from the server. */
static int tls13_handle_message(struct tls13_client *c, const u8 *msg, size_t len, u8 *out,
				size_t cap, size_t *ret_out)
{
	u8 alert = TLS13_ALERT_INTERNAL_ERROR;
	int r;

	switch (c->state) {
	case TLS13_ST_WAIT_SH:
		if (msg[0] != TLS13_HS_SERVER_HELLO)
			break;
		return tls13_handle_server_hello(c, msg, len, out, cap, ret_out);
	case TLS13_ST_WAIT_EE:
		if (msg[0] != TLS13_HS_ENCRYPTED_EXTENSIONS)
			break;
		r = tls13_msg_parse_encrypted_extensions(msg + TLS13_HS_HEADER,
							 len - TLS13_HS_HEADER, &alert);
		if (r < 0)
			return tls13_fail(c, alert, r);
		r = tls13_transcript_add(c, msg, len);
		if (r < 0)
			return r;
		c->state = TLS13_ST_WAIT_FINISHED;
		return 0;
	case TLS13_ST_WAIT_FINISHED:
		if (msg[0] != TLS13_HS_FINISHED)
			break;
		return tls13_handle_finished(c, msg, len, out, cap, ret_out);
	case TLS13_ST_START:
	case TLS13_ST_DONE:
	case TLS13_ST_FAILED:
		break;
	}
	return tls13_fail(c, TLS13_ALERT_UNEXPECTED_MESSAGE, -EPROTO);
}

/* Handshake bytes of one record: split into messages and handle every complete one. */
static int tls13_handle_handshake(struct tls13_client *c, const u8 *data, size_t len, u8 *out,
				  size_t cap, size_t *ret_out)
{
	int r = 0;

	if (len > sizeof(c->hs) - c->hs_len)
		return tls13_fail(c, TLS13_ALERT_DECODE_ERROR, -EMSGSIZE);
	memcpy(c->hs + c->hs_len, data, len);
	c->hs_len += len;

	while (c->hs_len >= TLS13_HS_HEADER) {
		size_t mlen = tls13_get_u24(c->hs + 1);
		enum tls13_state before = c->state;
		bool hrr_before = c->hrr;

		if (mlen > TLS13_MAX_SERVER_MSG)
			return tls13_fail(c, TLS13_ALERT_DECODE_ERROR, -EMSGSIZE);
		if (c->hs_len < TLS13_HS_HEADER + mlen)
			break;
		r = tls13_handle_message(c, c->hs, TLS13_HS_HEADER + mlen, out, cap, ret_out);
		if (r < 0)
			return r;
		c->hs_len -= TLS13_HS_HEADER + mlen;
		memmove(c->hs, c->hs + TLS13_HS_HEADER + mlen, c->hs_len);
		/*
		 * ServerHello and Finished change keys and a HelloRetryRequest waits
		 * for our answer: nothing may follow them in the same record (RFC
		 * 8446 5.1).
		 */
		if ((c->state != before || c->hrr != hrr_before) &&
		    c->state != TLS13_ST_WAIT_FINISHED && c->hs_len)
			return tls13_fail(c, TLS13_ALERT_UNEXPECTED_MESSAGE, -EPROTO);
		if (r == TLS13_CLIENT_DONE)
			break;
	}
	return r;
}

static int tls13_handle_alert(struct tls13_client *c, const u8 *body, size_t len)
{
	u8 level, desc, alert = TLS13_ALERT_DECODE_ERROR;
	int r;

	r = tls13_msg_parse_alert(body, len, &level, &desc, &alert);
	if (r < 0)
		return tls13_fail(c, alert, r);
	c->alert_received = desc;
	/* No alert gets an answer: the connection is over (RFC 8446 6). */
	c->alert_sent = -2;
	switch (desc) {
	case TLS13_ALERT_UNKNOWN_PSK_IDENTITY:
	case TLS13_ALERT_DECRYPT_ERROR:
	case TLS13_ALERT_HANDSHAKE_FAILURE:
		return -EKEYREJECTED;
	case TLS13_ALERT_ILLEGAL_PARAMETER:
		/* In answer to our ClientHello this is how OpenSSL 3.0 refuses a binder
		 * (RFC 8446 4.2.11 says decrypt_error): the PSK does not match.
		 */
		if (c->state == TLS13_ST_WAIT_SH)
			return -EKEYREJECTED;
		return -ECONNABORTED;
	default:
		return -ECONNABORTED;
	}
}

/* One complete record in c->rec. */
static int tls13_handle_record(struct tls13_client *c, u8 *out, size_t cap, size_t *ret_out)
{
	u8 type = c->rec[0], inner_type;
	u8 *body = c->rec + TLS13_RECORD_HEADER, *inner;
	size_t blen = c->rec_len - TLS13_RECORD_HEADER, ilen;
	int r;

	switch (type) {
	case TLS13_CT_CHANGE_CIPHER_SPEC:
		/* Only the compatibility CCS, a single 0x01, before the server Finished (5). */
		if (blen != 1 || body[0] != 1 || ++c->ccs_count > TLS13_MAX_CCS || c->hs_len)
			return tls13_fail(c, TLS13_ALERT_UNEXPECTED_MESSAGE, -EPROTO);
		return 0;
	case TLS13_CT_ALERT:
		/* Alerts arrive in the clear until the server has our keys and may still
		 * do so later if its TLS stack fails early; either way the handshake is over.
		 */
		return tls13_handle_alert(c, body, blen);
	case TLS13_CT_HANDSHAKE:
		if (c->rd.aead)
			return tls13_fail(c, TLS13_ALERT_UNEXPECTED_MESSAGE, -EPROTO);
		return tls13_handle_handshake(c, body, blen, out, cap, ret_out);
	case TLS13_CT_APPLICATION_DATA:
		if (!c->rd.aead)
			return tls13_fail(c, TLS13_ALERT_UNEXPECTED_MESSAGE, -EPROTO);
		r = tls13_record_open(&c->rd, c->rec, c->rec_len, &inner, &ilen, &inner_type);
		if (r == -EBADMSG)
			return tls13_fail(c, TLS13_ALERT_BAD_RECORD_MAC, r);
		if (r == -EMSGSIZE)
			return tls13_fail(c, TLS13_ALERT_RECORD_OVERFLOW, r);
		if (r < 0)
			return tls13_fail(c, TLS13_ALERT_UNEXPECTED_MESSAGE, r);
		if (inner_type == TLS13_CT_ALERT)
			return tls13_handle_alert(c, inner, ilen);
		/* Application data before the handshake is done, a protected CCS, or
		 * an empty handshake fragment: unexpected_message (5, 5.1).
		 */
		if (inner_type != TLS13_CT_HANDSHAKE || ilen == 0)
			return tls13_fail(c, TLS13_ALERT_UNEXPECTED_MESSAGE, -EPROTO);
		return tls13_handle_handshake(c, inner, ilen, out, cap, ret_out);
	default:
		return tls13_fail(c, TLS13_ALERT_UNEXPECTED_MESSAGE, -EPROTO);
	}
}

/* The alert record for a failure: protected once we have handshake keys. */
static void tls13_write_alert(struct tls13_client *c, u8 *out, size_t cap, size_t *ret_out)
{
	u8 a[2] = { 2, 0 };

	*ret_out = 0;
	if (c->alert_sent < 0)
		return;
	a[1] = (u8)c->alert_sent;
	if (c->wr.aead) {
		if (tls13_record_seal(&c->wr, TLS13_CT_ALERT, a, 2, out, cap, ret_out) < 0)
			*ret_out = 0;
	} else if (tls13_record_write_plain(TLS13_CT_ALERT, a, 2, out, cap, ret_out) < 0) {
		*ret_out = 0;
	}
}

int tls13_client_feed(struct tls13_client *c, const u8 *in, size_t len, size_t *ret_consumed,
		      u8 *out, size_t cap, size_t *ret_out_len)
{
	size_t used = 0;
	int r = 0;

	*ret_consumed = 0;
	*ret_out_len = 0;
	if (c->state == TLS13_ST_FAILED)
		return c->error;
	if (c->state == TLS13_ST_DONE)
		return TLS13_CLIENT_DONE;
	if (c->state == TLS13_ST_START || cap < TLS13_CLIENT_OUT_MAX)
		return -EINVAL;

	while (used < len) {
		size_t n = c->rec_need - c->rec_len;
		u8 type;

		if (n > len - used)
			n = len - used;
		memcpy(c->rec + c->rec_len, in + used, n);
		c->rec_len += n;
		used += n;
		if (c->rec_len < c->rec_need)
			break;
		if (c->rec_need == TLS13_RECORD_HEADER) {
			/* Check the header before waiting for a body of its length. */
			r = tls13_record_check_header(c->rec, &type);
			if (r < 0) {
				u8 alert = r == -EMSGSIZE ? TLS13_ALERT_RECORD_OVERFLOW :
					   r == -EPROTO ? TLS13_ALERT_UNEXPECTED_MESSAGE :
					   TLS13_ALERT_DECODE_ERROR;

				r = tls13_fail(c, alert, r);
				break;
			}
			c->rec_need = TLS13_RECORD_HEADER + (size_t)r;
			r = 0;
			continue;
		}
		r = tls13_handle_record(c, out, cap, ret_out_len);
		c->rec_len = 0;
		c->rec_need = TLS13_RECORD_HEADER;
		if (r != 0)
			break;
		/* A second ClientHello is out: the caller must send it before more arrives
		 * (a server does not answer before it has it anyway).
		 */
		if (*ret_out_len)
			break;
	}
	*ret_consumed = used;
	if (r < 0) {
		c->state = TLS13_ST_FAILED;
		c->error = r;
		tls13_write_alert(c, out, cap, ret_out_len);
		tls13_ks_wipe(&c->ks);
		return r;
	}
	return r;
}

size_t tls13_client_want(const struct tls13_client *c)
{
	return c->rec_need - c->rec_len;
}

static int tls13_fill_traffic(const struct tls13_client *c, const u8 *secret,
			      struct tls13_traffic *t)
{
	memset(t, 0, sizeof(*t));
	t->cipher_suite = c->suite;
	t->hash = c->hash;
	t->key_len = c->key_len;
	memcpy(t->secret, secret, c->hlen);
	return tls13_ks_traffic_keys(c->hash, secret, c->key_len, t->key, t->iv);
}

int tls13_client_traffic(const struct tls13_client *c, struct tls13_traffic *tx,
			 struct tls13_traffic *rx)
{
	int r;

	if (c->state != TLS13_ST_DONE)
		return -EINVAL;
	r = tls13_fill_traffic(c, c->c_ap, tx);
	if (r >= 0)
		r = tls13_fill_traffic(c, c->s_ap, rx);
	return r;
}

int tls13_client_alert_sent(const struct tls13_client *c)
{
	return c->alert_sent < 0 ? -1 : c->alert_sent;
}

int tls13_client_alert_received(const struct tls13_client *c)
{
	return c->alert_received;
}

bool tls13_client_had_hrr(const struct tls13_client *c)
{
	return c->hrr;
}
