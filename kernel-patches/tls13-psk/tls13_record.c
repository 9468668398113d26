// SPDX-License-Identifier: GPL-2.0-only
/*
 * TLS 1.3 record layer for the handshake. Records are checked before their
 * body is read: a malicious server controls every byte here.
 */
#include "tls13_record.h"

int tls13_record_check_header(const u8 *hdr, u8 *ret_type)
{
	u16 version = tls13_get_u16(hdr + 1);
	size_t len = tls13_get_u16(hdr + 3);
	u8 type = hdr[0];

	switch (type) {
	case TLS13_CT_CHANGE_CIPHER_SPEC:
	case TLS13_CT_ALERT:
	case TLS13_CT_HANDSHAKE:
		if (len > TLS13_MAX_PLAINTEXT)
			return -EMSGSIZE;
		break;
	case TLS13_CT_APPLICATION_DATA:
		if (len > TLS13_MAX_CIPHERTEXT)
			return -EMSGSIZE;
		break;
	default:
		return -EPROTO;
	}
	/* Every record after the first ClientHello carries 0x0303 (RFC 8446 5.1). */
	if (version != 0x0303)
		return -EBADMSG;
	/* No zero-length fragments of handshake, alert or protected records (5.1, 5.2). */
	if (len == 0)
		return -EBADMSG;
	*ret_type = type;
	return (int)len;
}

int tls13_record_write_plain(u8 type, const u8 *in, size_t len, u8 *out, size_t cap,
			     size_t *ret_len)
{
	if (len == 0 || len > TLS13_MAX_PLAINTEXT || cap < TLS13_RECORD_HEADER + len)
		return -ENOBUFS;
	out[0] = type;
	tls13_put_u16(out + 1, 0x0303);
	tls13_put_u16(out + 3, (u16)len);
	memmove(out + TLS13_RECORD_HEADER, in, len);
	*ret_len = TLS13_RECORD_HEADER + len;
	return 0;
}

/* Per-record nonce: the IV XORed with the 64-bit sequence number, left-padded (RFC 8446 5.3). */
static void tls13_record_nonce(const struct tls13_rec_key *k, u8 *nonce)
{
	int i;

	memcpy(nonce, k->iv, TLS13_IV_LEN);
	for (i = 0; i < 8; i++)
		nonce[TLS13_IV_LEN - 1 - i] ^= (u8)(k->seq >> (8 * i));
}

int tls13_record_seal(struct tls13_rec_key *k, u8 inner_type, const u8 *in, size_t len,
		      u8 *out, size_t cap, size_t *ret_len)
{
	u8 nonce[TLS13_AEAD_NONCE];
	size_t clen = len + 1 + TLS13_AEAD_TAG;
	int r;

	if (!k->aead || len > TLS13_MAX_PLAINTEXT || cap < TLS13_RECORD_HEADER + clen)
		return -ENOBUFS;
	/* The sequence number must not wrap (RFC 8446 5.3). */
	if (k->seq == (u64)-1)
		return -EOVERFLOW;
	out[0] = TLS13_CT_APPLICATION_DATA;
	tls13_put_u16(out + 1, 0x0303);
	tls13_put_u16(out + 3, (u16)clen);
	/* TLSInnerPlaintext = content || type, sealed in place after the header. */
	memmove(out + TLS13_RECORD_HEADER, in, len);
	out[TLS13_RECORD_HEADER + len] = inner_type;
	tls13_record_nonce(k, nonce);
	r = tls13_aead_seal(k->aead, nonce, out, TLS13_RECORD_HEADER, out + TLS13_RECORD_HEADER,
			    len + 1, out + TLS13_RECORD_HEADER);
	if (r < 0)
		return r;
	k->seq++;
	*ret_len = TLS13_RECORD_HEADER + clen;
	return 0;
}

int tls13_record_open(struct tls13_rec_key *k, u8 *rec, size_t rec_len, u8 **ret_inner,
		      size_t *ret_len, u8 *ret_type)
{
	u8 nonce[TLS13_AEAD_NONCE];
	u8 *body = rec + TLS13_RECORD_HEADER;
	size_t blen, plen;
	int r;

	if (!k->aead || rec_len < TLS13_RECORD_HEADER)
		return -EINVAL;
	blen = rec_len - TLS13_RECORD_HEADER;
	/* A tag and at least the inner type byte. */
	if (blen < TLS13_AEAD_TAG + 1)
		return -EBADMSG;
	if (k->seq == (u64)-1)
		return -EOVERFLOW;
	tls13_record_nonce(k, nonce);
	r = tls13_aead_open(k->aead, nonce, rec, TLS13_RECORD_HEADER, body, blen, body);
	if (r < 0)
		return -EBADMSG;
	k->seq++;
	plen = blen - TLS13_AEAD_TAG;
	/* TLSInnerPlaintext may not exceed 2^14 + 1 bytes (RFC 8446 5.2). */
	if (plen > TLS13_MAX_PLAINTEXT + 1)
		return -EMSGSIZE;
	/* Strip the zero padding; the last non-zero byte is the content type (5.4). */
	while (plen > 0 && body[plen - 1] == 0)
		plen--;
	if (plen == 0)
		return -EPROTO;
	*ret_type = body[plen - 1];
	*ret_inner = body;
	*ret_len = plen - 1;
	return 0;
}

int tls13_rec_key_set(struct tls13_rec_key *k, enum tls13_hash_alg alg, const u8 *secret,
		      size_t key_len)
{
	u8 key[TLS13_MAX_KEY];
	int r;

	tls13_rec_key_clear(k);
	r = tls13_ks_traffic_keys(alg, secret, key_len, key, k->iv);
	if (r >= 0)
		r = tls13_aead_new(key, key_len, &k->aead);
	tls13_wipe(key, sizeof(key));
	if (r < 0)
		tls13_rec_key_clear(k);
	return r;
}

void tls13_rec_key_clear(struct tls13_rec_key *k)
{
	tls13_aead_free(k->aead);
	tls13_wipe(k, sizeof(*k));
}
