/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Salted HMAC sessions computed by keyd (tpm-session.h). The formulas are those
 * of TPM 2.0 Part 1 (rev. 1.59):
 *   salt (ECC, Annex C.6.1)   Z = x(d_e * Q_srk);
 *                             salt = KDFe(SHA-256, Z, "SECRET", Q_e.x, Q_srk.x, 256),
 *                             encryptedSalt = the marshalled TPMS_ECC_POINT Q_e
 *   sessionKey (19.6.8)       KDFa(SHA-256, salt, "ATH", nonceTPM, nonceCaller, 256)
 *   command HMAC (19.6.5)     HMAC(sessionKey || authValue, cpHash || nonceCaller ||
 *                             nonceTPM || sessionAttributes),
 *                             cpHash = SHA-256(commandCode || Name || parameters)
 *   response HMAC (19.6.6)    HMAC(same key, rpHash || nonceTPM' || nonceCaller ||
 *                             sessionAttributes'), rpHash = SHA-256(0 || commandCode
 *                             || parameters)
 *   parameter encryption (21.4) AES-128-CFB, key || IV = KDFa(SHA-256, sessionKey ||
 *                             authValue, "CFB", nonceNewer, nonceOlder, 256); the
 *                             hashes cover the parameters as sent (encrypted)
 * with KDFa the SP 800-108 counter-mode KDF over HMAC (11.4.10.2) and KDFe the
 * SP 800-56A concatenation KDF (11.4.10.3). The auth values keyd uses with these
 * sessions are empty (its signing keys, its sealed objects without a PIN), so
 * sessionKey alone is the HMAC and encryption key.
 */
#include <errno.h>
#include <string.h>

#include <tss2/tss2_common.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_tcti.h>

#include "crypto.h"
#include "macro.h"
#include "tpm-session.h"

#define NONCE_SIZE TPM2_SHA256_DIGEST_SIZE
#define CMD_MAX 4096
#define HDR_SIZE 10 /* tag, size, code */

static void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool equal_ct(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint8_t d = 0;

	for (size_t i = 0; i < n; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

/* Copy len bytes to buf at offset n (the callers bound the sizes); the new offset. */
static size_t append(uint8_t *buf, size_t n, const void *p, size_t len)
{
	memcpy(buf + n, p, len);
	return n + len;
}

/* KDFa (Part 1, 11.4.10.2) for SHA-256 and bits a multiple of 8, at most 512. */
static int kdfa(const uint8_t *key, size_t key_len, const char *label, const uint8_t *u,
		size_t u_len, const uint8_t *v, size_t v_len, uint32_t bits, uint8_t *out)
{
	uint8_t in[4 + 16 + 2 * 64 + 4], block[TPM2_SHA256_DIGEST_SIZE];
	size_t label_len = strlen(label) + 1; /* the terminating NUL is part of it */
	size_t need = bits / 8, n;
	int r = 0;

	if (label_len > 16 || u_len > 64 || v_len > 64 || bits % 8 || need > 64)
		return -EINVAL;
	for (uint32_t i = 1; need > 0 && r == 0; i++) {
		be32(in, i);
		n = 4;
		n = append(in, n, label, label_len);
		n = append(in, n, u, u_len);
		n = append(in, n, v, v_len);
		be32(in + n, bits);
		n += 4;
		r = keyd_crypto_hmac(KEYD_HASH_SHA256, key, key_len, in, n, block);
		if (r == 0) {
			size_t take = need < sizeof(block) ? need : sizeof(block);

			memcpy(out, block, take);
			out += take;
			need -= take;
		}
	}
	explicit_bzero(block, sizeof(block));
	return r;
}

/* KDFe (Part 1, 11.4.10.3) for SHA-256 and 256 bits: one block. */
static int kdfe_256(const uint8_t z[32], const char *label, const uint8_t *u, size_t u_len,
		    const uint8_t *v, size_t v_len, uint8_t out[32])
{
	uint8_t in[4 + 32 + 16 + 2 * 32];
	size_t label_len = strlen(label) + 1, n;
	int r;

	if (label_len > 16 || u_len > 32 || v_len > 32)
		return -EINVAL;
	be32(in, 1);
	n = 4;
	n = append(in, n, z, 32);
	n = append(in, n, label, label_len);
	n = append(in, n, u, u_len);
	n = append(in, n, v, v_len);
	r = keyd_crypto_hash(KEYD_HASH_SHA256, in, n, out);
	explicit_bzero(in, sizeof(in));
	return r;
}

/* A coordinate as the 32 bytes the ECDH takes (the TPM may drop leading zeros). */
static bool coord_32(const TPM2B_ECC_PARAMETER *p, uint8_t out[32])
{
	if (p->size == 0 || p->size > 32)
		return false;
	memset(out, 0, 32);
	memcpy(out + 32 - p->size, p->buffer, p->size);
	return true;
}

/* Send cmd (its size field already set) and read the response into rsp. */
static TSS2_RC transact(TSS2_TCTI_CONTEXT *tcti, const uint8_t *cmd, size_t cmd_len,
			uint8_t *rsp, size_t *rsp_len, unsigned *commands)
{
	TSS2_RC rc;

	if (commands)
		(*commands)++;
	rc = Tss2_Tcti_Transmit(tcti, cmd_len, cmd);
	if (rc != TSS2_RC_SUCCESS)
		return rc;
	rc = Tss2_Tcti_Receive(tcti, rsp_len, rsp, TSS2_TCTI_TIMEOUT_BLOCK);
	if (rc != TSS2_RC_SUCCESS)
		return rc;
	if (*rsp_len < HDR_SIZE || get_be32(rsp + 2) != *rsp_len)
		return TSS2_ESYS_RC_MALFORMED_RESPONSE;
	return get_be32(rsp + 6);
}

/* The handle of type ht that a successful response which does not parse (a size
 * that does not match) names first, or 0: what the command may have created in the
 * TPM, flushed rather than left behind. */
static TPM2_HANDLE created_handle(const uint8_t *rsp, size_t len, uint8_t ht)
{
	if (len < HDR_SIZE + 4 || get_be32(rsp + 6) != TPM2_RC_SUCCESS || rsp[HDR_SIZE] != ht)
		return 0;
	return get_be32(rsp + HDR_SIZE);
}

TSS2_RC tpm_session_start(TSS2_TCTI_CONTEXT *tcti, TPM2_HANDLE srk, const TPM2B_PUBLIC *srk_pub,
			  struct tpm_session *ret, unsigned *commands)
{
	const TPMS_ECC_PARMS *ep = &srk_pub->publicArea.parameters.eccDetail;
	const TPMS_ECC_POINT *q = &srk_pub->publicArea.unique.ecc;
	TPMS_ECC_POINT mine = { .x.size = 32, .y.size = 32 };
	TPM2B_ENCRYPTED_SECRET salt_enc = {};
	TPM2B_NONCE nonce_caller = { .size = NONCE_SIZE }, nonce_tpm = {};
	TPMT_SYM_DEF sym = {
		.algorithm = TPM2_ALG_AES,
		.keyBits.aes = 128,
		.mode.aes = TPM2_ALG_CFB,
	};
	uint8_t qx[32], qy[32], z[32], salt[32];
	uint8_t cmd[512], rsp[512];
	size_t off = HDR_SIZE, len = sizeof(rsp), roff = HDR_SIZE;
	TPM2_HANDLE handle = 0;
	TSS2_RC rc;

	*ret = (struct tpm_session){};
	if (srk_pub->publicArea.type != TPM2_ALG_ECC || ep->curveID != TPM2_ECC_NIST_P256 ||
	    srk_pub->publicArea.nameAlg != TPM2_ALG_SHA256 || !coord_32(&q->x, qx) ||
	    !coord_32(&q->y, qy))
		return TSS2_ESYS_RC_BAD_VALUE; /* keyd's SRK is always ECC P-256, SHA-256 */
	if (keyd_crypto_random(nonce_caller.buffer, NONCE_SIZE) < 0 ||
	    keyd_crypto_ecdh_p256(qx, qy, mine.x.buffer, mine.y.buffer, z) < 0)
		return TSS2_ESYS_RC_GENERAL_FAILURE;
	rc = kdfe_256(z, "SECRET", mine.x.buffer, 32, q->x.buffer, q->x.size, salt) < 0 ?
		     TSS2_ESYS_RC_GENERAL_FAILURE :
		     TSS2_RC_SUCCESS;
	explicit_bzero(z, sizeof(z));
	if (rc != TSS2_RC_SUCCESS)
		goto out;

	/* The encrypted salt is the marshalled ephemeral point. */
	{
		size_t n = 0;

		rc = Tss2_MU_TPMS_ECC_POINT_Marshal(&mine, salt_enc.secret,
						    sizeof(salt_enc.secret), &n);
		if (rc != TSS2_RC_SUCCESS)
			goto out;
		salt_enc.size = (UINT16)n;
	}
	cmd[0] = TPM2_ST_NO_SESSIONS >> 8;
	cmd[1] = TPM2_ST_NO_SESSIONS & 0xff;
	be32(cmd + 6, TPM2_CC_StartAuthSession);
	rc = Tss2_MU_TPM2_HANDLE_Marshal(srk, cmd, sizeof(cmd), &off);
	if (rc == TSS2_RC_SUCCESS)
		rc = Tss2_MU_TPM2_HANDLE_Marshal(TPM2_RH_NULL, cmd, sizeof(cmd), &off);
	if (rc == TSS2_RC_SUCCESS)
		rc = Tss2_MU_TPM2B_NONCE_Marshal(&nonce_caller, cmd, sizeof(cmd), &off);
	if (rc == TSS2_RC_SUCCESS)
		rc = Tss2_MU_TPM2B_ENCRYPTED_SECRET_Marshal(&salt_enc, cmd, sizeof(cmd), &off);
	if (rc == TSS2_RC_SUCCESS)
		rc = Tss2_MU_TPM2_SE_Marshal(TPM2_SE_HMAC, cmd, sizeof(cmd), &off);
	if (rc == TSS2_RC_SUCCESS)
		rc = Tss2_MU_TPMT_SYM_DEF_Marshal(&sym, cmd, sizeof(cmd), &off);
	if (rc == TSS2_RC_SUCCESS)
		rc = Tss2_MU_UINT16_Marshal(TPM2_ALG_SHA256, cmd, sizeof(cmd), &off);
	if (rc != TSS2_RC_SUCCESS)
		goto out;
	be32(cmd + 2, (uint32_t)off);
	rc = transact(tcti, cmd, off, rsp, &len, commands);
	if (rc == TSS2_ESYS_RC_MALFORMED_RESPONSE)
		tpm_session_flush_handle(tcti, created_handle(rsp, len, TPM2_HT_HMAC_SESSION),
					 commands);
	if (rc != TSS2_RC_SUCCESS)
		goto out;
	rc = Tss2_MU_TPM2_HANDLE_Unmarshal(rsp, len, &roff, &handle);
	if (rc == TSS2_RC_SUCCESS)
		rc = Tss2_MU_TPM2B_NONCE_Unmarshal(rsp, len, &roff, &nonce_tpm);
	if (rc != TSS2_RC_SUCCESS || nonce_tpm.size < 16 || roff != len) {
		/* A session the TPM may have started is not left behind. */
		tpm_session_flush_handle(tcti, handle, commands);
		rc = TSS2_ESYS_RC_MALFORMED_RESPONSE;
		goto out;
	}
	if (kdfa(salt, sizeof(salt), "ATH", nonce_tpm.buffer, nonce_tpm.size,
		 nonce_caller.buffer, nonce_caller.size, 256, ret->key) < 0) {
		/* The TPM has the session: flush it rather than leak it. */
		tpm_session_flush_handle(tcti, handle, commands);
		rc = TSS2_ESYS_RC_GENERAL_FAILURE;
		goto out;
	}
	ret->handle = handle;
	ret->nonce_tpm = nonce_tpm;
out:
	explicit_bzero(salt, sizeof(salt));
	if (rc != TSS2_RC_SUCCESS)
		tpm_session_forget(ret);
	return rc;
}

void tpm_session_forget(struct tpm_session *s)
{
	explicit_bzero(s, sizeof(*s));
}

void tpm_session_flush_handle(TSS2_TCTI_CONTEXT *tcti, TPM2_HANDLE h, unsigned *commands)
{
	uint8_t cmd[14], rsp[64];
	size_t len = sizeof(rsp);

	if (h == 0)
		return;
	cmd[0] = TPM2_ST_NO_SESSIONS >> 8;
	cmd[1] = TPM2_ST_NO_SESSIONS & 0xff;
	be32(cmd + 2, sizeof(cmd));
	be32(cmd + 6, TPM2_CC_FlushContext);
	be32(cmd + 10, h);
	(void)transact(tcti, cmd, sizeof(cmd), rsp, &len, commands);
}

void tpm_session_flush(TSS2_TCTI_CONTEXT *tcti, struct tpm_session *s, unsigned *commands)
{
	tpm_session_flush_handle(tcti, s->handle, commands);
	tpm_session_forget(s);
}

TSS2_RC tpm_session_load(TSS2_TCTI_CONTEXT *tcti, TPM2_HANDLE parent, const uint8_t *priv,
			 size_t priv_len, const uint8_t *pub, size_t pub_len, TPM2_HANDLE *ret,
			 unsigned *commands)
{
	/* The password session: TPM_RS_PW, an empty nonce, no attributes, an empty
	 * password (Part 1, 19.8.4). */
	static const uint8_t pw_auth[] = { 0x40, 0x00, 0x00, 0x09, 0, 0, 0, 0, 0 };
	uint8_t cmd[CMD_MAX], rsp[512];
	size_t off = HDR_SIZE, len = sizeof(rsp);
	TSS2_RC rc;

	*ret = 0;
	if (priv_len + pub_len > CMD_MAX - 64)
		return TSS2_ESYS_RC_BAD_VALUE;
	cmd[0] = TPM2_ST_SESSIONS >> 8;
	cmd[1] = TPM2_ST_SESSIONS & 0xff;
	be32(cmd + 6, TPM2_CC_Load);
	be32(cmd + off, parent);
	off += 4;
	be32(cmd + off, sizeof(pw_auth));
	off += 4;
	memcpy(cmd + off, pw_auth, sizeof(pw_auth));
	off += sizeof(pw_auth);
	memcpy(cmd + off, priv, priv_len);
	off += priv_len;
	memcpy(cmd + off, pub, pub_len);
	off += pub_len;
	be32(cmd + 2, (uint32_t)off);
	rc = transact(tcti, cmd, off, rsp, &len, commands);
	if (rc == TSS2_ESYS_RC_MALFORMED_RESPONSE)
		tpm_session_flush_handle(tcti, created_handle(rsp, len, TPM2_HT_TRANSIENT),
					 commands);
	if (rc != TSS2_RC_SUCCESS)
		return rc;
	/* objectHandle, then parameterSize, the Name and the password session's
	 * (empty) response. */
	if (len < HDR_SIZE + 4 || (get_be32(rsp + HDR_SIZE) >> 24) != TPM2_HT_TRANSIENT)
		return TSS2_ESYS_RC_MALFORMED_RESPONSE;
	*ret = get_be32(rsp + HDR_SIZE);
	return TSS2_RC_SUCCESS;
}

/* The key and IV of parameter encryption for the given nonce order. */
static int cfb_key(const struct tpm_session *s, const TPM2B_NONCE *newer, const TPM2B_NONCE *older,
		   uint8_t out[32])
{
	return kdfa(s->key, sizeof(s->key), "CFB", newer->buffer, newer->size, older->buffer,
		    older->size, 256, out);
}

/* The first parameter at p (len bytes) as a TPM2B: its buffer, en- or decrypted. */
static int crypt_first(const struct tpm_session *s, bool encrypt, const TPM2B_NONCE *newer,
		       const TPM2B_NONCE *older, uint8_t *p, size_t len)
{
	uint8_t kiv[32];
	size_t n;
	int r;

	if (len < 2)
		return -EBADMSG;
	n = (size_t)p[0] << 8 | p[1];
	if (n > len - 2)
		return -EBADMSG;
	r = cfb_key(s, newer, older, kiv);
	if (r == 0)
		r = keyd_crypto_aes128_cfb(encrypt, kiv, kiv + 16, p + 2, n);
	explicit_bzero(kiv, sizeof(kiv));
	return r;
}

/* HMAC(sessionKey, hash || newer || older || attrs). */
static int session_hmac(const struct tpm_session *s, const uint8_t hash[32],
			const TPM2B_NONCE *newer, const TPM2B_NONCE *older, uint8_t attrs,
			uint8_t out[32])
{
	uint8_t in[32 + 2 * sizeof(((TPM2B_NONCE *)0)->buffer) + 1];
	size_t n = 0;

	memcpy(in, hash, 32);
	n += 32;
	memcpy(in + n, newer->buffer, newer->size);
	n += newer->size;
	memcpy(in + n, older->buffer, older->size);
	n += older->size;
	in[n++] = attrs;
	return keyd_crypto_hmac(KEYD_HASH_SHA256, s->key, sizeof(s->key), in, n, out);
}

TSS2_RC tpm_session_run(TSS2_TCTI_CONTEXT *tcti, struct tpm_session *s,
			const struct tpm_session_cmd *c, uint8_t *rsp_out, size_t rsp_size,
			size_t *rsp_len, unsigned *commands)
{
	uint8_t cmd[CMD_MAX], rsp[CMD_MAX], hash_in[8 + sizeof(TPM2B_NAME) + CMD_MAX];
	uint8_t cp_hash[32], rp_hash[32], mac[32];
	TPM2B_NONCE nonce_caller = { .size = NONCE_SIZE }, nonce_tpm = {};
	TPM2B_AUTH hmac = { .size = 32 }, rsp_hmac = {};
	TPMA_SESSION rsp_attrs = 0;
	size_t off = HDR_SIZE, len = sizeof(rsp), roff = HDR_SIZE, params_at, n, rparams;
	uint32_t psize;
	TSS2_RC rc;

	*rsp_len = 0;
	if (s->handle == 0 || !c->name || (!c->params && c->params_len) ||
	    c->params_len > CMD_MAX - 128)
		return TSS2_ESYS_RC_BAD_VALUE;
	if (keyd_crypto_random(nonce_caller.buffer, NONCE_SIZE) < 0)
		return TSS2_ESYS_RC_GENERAL_FAILURE;

	/* Header, handle, authorization area (filled below), parameters. */
	cmd[0] = TPM2_ST_SESSIONS >> 8;
	cmd[1] = TPM2_ST_SESSIONS & 0xff;
	be32(cmd + 6, c->cc);
	be32(cmd + off, c->handle);
	off += 4;
	be32(cmd + off, 4 + 2 + NONCE_SIZE + 1 + 2 + 32); /* authorizationSize */
	off += 4;
	params_at = off + 4 + 2 + NONCE_SIZE + 1 + 2 + 32;
	if (c->params_len > 0)
		memcpy(cmd + params_at, c->params, c->params_len);
	if ((c->attrs & TPMA_SESSION_DECRYPT) &&
	    crypt_first(s, true, &nonce_caller, &s->nonce_tpm, cmd + params_at, c->params_len) < 0)
		return TSS2_ESYS_RC_GENERAL_FAILURE;

	/* cpHash over the parameters as sent. */
	n = 0;
	be32(hash_in, c->cc);
	n += 4;
	memcpy(hash_in + n, c->name->name, c->name->size);
	n += c->name->size;
	memcpy(hash_in + n, cmd + params_at, c->params_len);
	n += c->params_len;
	if (keyd_crypto_hash(KEYD_HASH_SHA256, hash_in, n, cp_hash) < 0 ||
	    session_hmac(s, cp_hash, &nonce_caller, &s->nonce_tpm, c->attrs, hmac.buffer) < 0)
		return TSS2_ESYS_RC_GENERAL_FAILURE;
	rc = Tss2_MU_TPM2_HANDLE_Marshal(s->handle, cmd, sizeof(cmd), &off);
	if (rc == TSS2_RC_SUCCESS)
		rc = Tss2_MU_TPM2B_NONCE_Marshal(&nonce_caller, cmd, sizeof(cmd), &off);
	if (rc == TSS2_RC_SUCCESS)
		rc = Tss2_MU_TPMA_SESSION_Marshal(c->attrs, cmd, sizeof(cmd), &off);
	if (rc == TSS2_RC_SUCCESS)
		rc = Tss2_MU_TPM2B_AUTH_Marshal(&hmac, cmd, sizeof(cmd), &off);
	if (rc != TSS2_RC_SUCCESS || off != params_at)
		return rc != TSS2_RC_SUCCESS ? rc : TSS2_ESYS_RC_GENERAL_FAILURE;
	off += c->params_len;
	be32(cmd + 2, (uint32_t)off);

	rc = transact(tcti, cmd, off, rsp, &len, commands);
	explicit_bzero(cmd + params_at, c->params_len);
	if (rc != TSS2_RC_SUCCESS)
		goto fail;
	/* A successful command with a session answers with TPM_ST_SESSIONS,
	 * parameterSize, the parameters and the session's response. */
	if (((size_t)rsp[0] << 8 | rsp[1]) != TPM2_ST_SESSIONS || len < HDR_SIZE + 4) {
		rc = TSS2_ESYS_RC_MALFORMED_RESPONSE;
		goto fail;
	}
	psize = get_be32(rsp + roff);
	roff += 4;
	if (psize > len - roff || psize > rsp_size) {
		rc = TSS2_ESYS_RC_MALFORMED_RESPONSE;
		goto fail;
	}
	rparams = roff;
	roff += psize;
	rc = Tss2_MU_TPM2B_NONCE_Unmarshal(rsp, len, &roff, &nonce_tpm);
	if (rc == TSS2_RC_SUCCESS)
		rc = Tss2_MU_TPMA_SESSION_Unmarshal(rsp, len, &roff, &rsp_attrs);
	if (rc == TSS2_RC_SUCCESS)
		rc = Tss2_MU_TPM2B_AUTH_Unmarshal(rsp, len, &roff, &rsp_hmac);
	if (rc != TSS2_RC_SUCCESS || roff != len || nonce_tpm.size < 16 || rsp_hmac.size != 32) {
		rc = TSS2_ESYS_RC_MALFORMED_RESPONSE;
		goto fail;
	}

	/* rpHash over the parameters as received; the HMAC proves the TPM holding the
	 * session key sent them. */
	n = 0;
	be32(hash_in, TPM2_RC_SUCCESS);
	n += 4;
	be32(hash_in + n, c->cc);
	n += 4;
	memcpy(hash_in + n, rsp + rparams, psize);
	n += psize;
	if (keyd_crypto_hash(KEYD_HASH_SHA256, hash_in, n, rp_hash) < 0 ||
	    session_hmac(s, rp_hash, &nonce_tpm, &nonce_caller, rsp_attrs, mac) < 0) {
		rc = TSS2_ESYS_RC_GENERAL_FAILURE;
		goto fail;
	}
	if (!equal_ct(mac, rsp_hmac.buffer, 32)) {
		rc = TSS2_ESYS_RC_RSP_AUTH_FAILED;
		goto fail;
	}
	if ((c->attrs & TPMA_SESSION_ENCRYPT) &&
	    crypt_first(s, false, &nonce_tpm, &nonce_caller, rsp + rparams, psize) < 0) {
		rc = TSS2_ESYS_RC_GENERAL_FAILURE;
		goto fail;
	}
	memcpy(rsp_out, rsp + rparams, psize);
	*rsp_len = psize;
	s->nonce_tpm = nonce_tpm;
	if (!(c->attrs & TPMA_SESSION_CONTINUESESSION))
		tpm_session_forget(s);
	rc = TSS2_RC_SUCCESS;
fail:
	explicit_bzero(rsp, sizeof(rsp));
	explicit_bzero(hash_in, sizeof(hash_in));
	if (rc != TSS2_RC_SUCCESS)
		explicit_bzero(rsp_out, rsp_size);
	return rc;
}
