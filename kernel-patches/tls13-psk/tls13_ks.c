// SPDX-License-Identifier: GPL-2.0-only
/*
 * TLS 1.3 key schedule (RFC 8446 section 7) on top of tls13_crypto.h.
 * Every intermediate secret lives in caller-owned memory and is wiped by
 * tls13_ks_wipe() or by the caller; local copies are wiped before return.
 */
#include "tls13_ks.h"

int tls13_hkdf_extract(enum tls13_hash_alg alg, const u8 *salt, size_t salt_len,
		       const u8 *ikm, size_t ikm_len, u8 *out)
{
	static const u8 zeros[TLS13_MAX_HASH];
	struct tls13_iov iov = { ikm, ikm_len };

	/* RFC 5869 2.2: a missing salt is a string of HashLen zeros. */
	if (!salt) {
		salt = zeros;
		salt_len = tls13_hash_len(alg);
	}
	return tls13_hmac(alg, salt, salt_len, &iov, 1, out);
}

int tls13_hkdf_expand_label(enum tls13_hash_alg alg, const u8 *secret, const char *label,
			    const u8 *ctx, size_t ctx_len, u8 *out, size_t out_len)
{
	/* HkdfLabel: uint16 length, opaque label<7..255> = "tls13 " + label,
	 * opaque context<0..255>
	 */
	u8 info[2 + 1 + 6 + TLS13_MAX_LABEL + 1 + TLS13_MAX_CONTEXT];
	u8 t[TLS13_MAX_HASH];
	size_t hlen = tls13_hash_len(alg);
	size_t label_len = strlen(label), info_len = 0, done = 0, t_len = 0;
	u8 counter = 1;
	int r = 0;

	if (label_len > TLS13_MAX_LABEL || ctx_len > TLS13_MAX_CONTEXT ||
	    out_len == 0 || out_len > 255 * hlen || out_len > 0xffff)
		return -EINVAL;

	tls13_put_u16(info, (u16)out_len);
	info_len = 2;
	info[info_len++] = (u8)(6 + label_len);
	memcpy(info + info_len, "tls13 ", 6);
	info_len += 6;
	memcpy(info + info_len, label, label_len);
	info_len += label_len;
	info[info_len++] = (u8)ctx_len;
	if (ctx_len)
		memcpy(info + info_len, ctx, ctx_len);
	info_len += ctx_len;

	/* HKDF-Expand (RFC 5869 2.3): T(i) = HMAC(PRK, T(i-1) || info || i). */
	while (done < out_len) {
		struct tls13_iov iov[3] = {
			{ t, t_len }, { info, info_len }, { &counter, 1 },
		};
		size_t n;

		r = tls13_hmac(alg, secret, hlen, iov, 3, t);
		if (r < 0)
			break;
		t_len = hlen;
		n = out_len - done < hlen ? out_len - done : hlen;
		memcpy(out + done, t, n);
		done += n;
		counter++;
	}
	tls13_wipe(t, sizeof(t));
	return r;
}

int tls13_transcript_hash(enum tls13_hash_alg alg, const u8 *msgs, size_t len, u8 *out)
{
	struct tls13_hash *h = NULL;
	int r;

	r = tls13_hash_new(alg, &h);
	if (r < 0)
		return r;
	if (len) {
		r = tls13_hash_update(h, msgs, len);
		if (r < 0) {
			tls13_hash_free(h);
			return r;
		}
	}
	return tls13_hash_final(h, out);
}

int tls13_derive_secret(enum tls13_hash_alg alg, const u8 *secret, const char *label,
			const u8 *thash, u8 *out)
{
	u8 empty[TLS13_MAX_HASH];
	size_t hlen = tls13_hash_len(alg);
	int r;

	if (!thash) {
		r = tls13_transcript_hash(alg, NULL, 0, empty);
		if (r < 0)
			return r;
		thash = empty;
	}
	return tls13_hkdf_expand_label(alg, secret, label, thash, hlen, out, hlen);
}

int tls13_transcript_message_hash(enum tls13_hash_alg alg, const u8 *ch1, size_t len, u8 *out,
				  size_t *ret_len)
{
	size_t hlen = tls13_hash_len(alg);
	int r;

	/* handshake type message_hash (254), uint24 length = Hash.length, Hash(ClientHello1) */
	r = tls13_transcript_hash(alg, ch1, len, out + 4);
	if (r < 0)
		return r;
	out[0] = 254;
	tls13_put_u24(out + 1, (u32)hlen);
	*ret_len = 4 + hlen;
	return 0;
}

int tls13_ks_init(struct tls13_ks *ks, enum tls13_hash_alg alg, const u8 *psk, size_t psk_len)
{
	tls13_ks_wipe(ks);
	ks->alg = alg;
	ks->hlen = tls13_hash_len(alg);
	return tls13_hkdf_extract(alg, NULL, 0, psk, psk_len, ks->early);
}

int tls13_ks_binder_key(const struct tls13_ks *ks, bool external, u8 *out)
{
	return tls13_derive_secret(ks->alg, ks->early, external ? "ext binder" : "res binder",
				   NULL, out);
}

int tls13_ks_handshake(struct tls13_ks *ks, const u8 *dhe, size_t dhe_len)
{
	static const u8 zeros[TLS13_MAX_HASH];
	u8 derived[TLS13_MAX_HASH];
	int r;

	r = tls13_derive_secret(ks->alg, ks->early, "derived", NULL, derived);
	if (r >= 0)
		r = tls13_hkdf_extract(ks->alg, derived, ks->hlen, dhe, dhe_len, ks->handshake);
	if (r >= 0)
		r = tls13_derive_secret(ks->alg, ks->handshake, "derived", NULL, derived);
	if (r >= 0)
		r = tls13_hkdf_extract(ks->alg, derived, ks->hlen, zeros, ks->hlen, ks->master);
	tls13_wipe(derived, sizeof(derived));
	return r;
}

int tls13_ks_hs_traffic(const struct tls13_ks *ks, bool server, const u8 *thash, u8 *out)
{
	return tls13_derive_secret(ks->alg, ks->handshake, server ? "s hs traffic" : "c hs traffic",
				   thash, out);
}

int tls13_ks_ap_traffic(const struct tls13_ks *ks, bool server, const u8 *thash, u8 *out)
{
	return tls13_derive_secret(ks->alg, ks->master, server ? "s ap traffic" : "c ap traffic",
				   thash, out);
}

int tls13_ks_finished(enum tls13_hash_alg alg, const u8 *base_key, const u8 *thash, u8 *out)
{
	u8 fk[TLS13_MAX_HASH];
	size_t hlen = tls13_hash_len(alg);
	struct tls13_iov iov = { thash, hlen };
	int r;

	r = tls13_hkdf_expand_label(alg, base_key, "finished", NULL, 0, fk, hlen);
	if (r >= 0)
		r = tls13_hmac(alg, fk, hlen, &iov, 1, out);
	tls13_wipe(fk, sizeof(fk));
	return r;
}

int tls13_ks_traffic_keys(enum tls13_hash_alg alg, const u8 *secret, size_t key_len, u8 *key,
			  u8 *iv)
{
	int r;

	if (key_len != 16 && key_len != 32)
		return -EINVAL;
	r = tls13_hkdf_expand_label(alg, secret, "key", NULL, 0, key, key_len);
	if (r >= 0)
		r = tls13_hkdf_expand_label(alg, secret, "iv", NULL, 0, iv, TLS13_IV_LEN);
	return r;
}

void tls13_ks_wipe(struct tls13_ks *ks)
{
	tls13_wipe(ks, sizeof(*ks));
}
