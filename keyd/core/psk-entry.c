/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "macro.h"
#include "meta.h"
#include "parse.h"
#include "psk-entry.h"

static void meta_freep(keyd_meta **m)
{
	keyd_meta_free(*m);
}

void keyd_psk_entry_file(char buf[KEYD_PSK_ENTRY_FILE_MAX], const char *id, const char *ext)
{
	snprintf(buf, KEYD_PSK_ENTRY_FILE_MAX, "%s.%s", id, ext);
}

int keyd_psk_entry_id(const char *hostnqn, const char *subnqn, enum keyd_psk_identity_version v,
		      char out[KEYD_PSK_ENTRY_ID_LEN + 1])
{
	char text[2 * KEYD_PSK_NQN_MAX + 8], hex[2 * 32 + 1];
	uint8_t digest[32];
	int n, r;

	n = snprintf(text, sizeof(text), "%s\n%s\n%d", hostnqn, subnqn, (int)v);
	if (n < 0 || (size_t)n >= sizeof(text))
		return -ENAMETOOLONG;
	r = keyd_crypto_hash(KEYD_HASH_SHA256, text, (size_t)n, digest);
	if (r < 0)
		return r;
	keyd_hex_encode(digest, sizeof(digest), hex);
	memcpy(out, hex, KEYD_PSK_ENTRY_ID_LEN);
	out[KEYD_PSK_ENTRY_ID_LEN] = '\0';
	return 0;
}

bool keyd_psk_entry_id_is_valid(const char *s)
{
	if (strlen(s) != KEYD_PSK_ENTRY_ID_LEN)
		return false;
	for (size_t i = 0; i < KEYD_PSK_ENTRY_ID_LEN; i++)
		if (!strchr("0123456789abcdef", s[i]))
			return false;
	return true;
}

/* ---- metadata ------------------------------------------------------------------- */

int keyd_psk_entry_meta_format(const struct keyd_psk_entry *e, char **ret, size_t *ret_len)
{
	_cleanup_(meta_freep) keyd_meta *m = NULL;
	size_t hsize = keyd_hash_alg_size(e->policy.bank);
	int r;

	r = keyd_meta_new(&m);
	if (r >= 0)
		r = keyd_meta_set(m, "type", "nvme-psk");
	if (r >= 0)
		r = keyd_meta_set(m, "id", e->id);
	if (r >= 0)
		r = keyd_meta_set(m, "hostnqn", e->hostnqn);
	if (r >= 0)
		r = keyd_meta_set(m, "subnqn", e->subnqn);
	if (r >= 0)
		r = keyd_meta_set(m, "hmac", keyd_psk_hmac_to_string(e->hmac));
	if (r >= 0)
		r = keyd_meta_setf(m, "key_length", "%zu", e->key_len);
	if (r >= 0)
		r = keyd_meta_setf(m, "identity_version", "%d", (int)e->version);
	if (r >= 0)
		r = keyd_meta_set(m, "compat", e->compat ? "yes" : "no");
	if (r >= 0)
		r = keyd_meta_set(m, "identity", e->identity);
	if (r >= 0)
		r = keyd_meta_set(m, "pcrs", e->pcrs);
	if (r >= 0)
		r = keyd_meta_set(m, "pcr_bank", keyd_hash_alg_to_string(e->policy.bank));
	if (r >= 0)
		r = keyd_meta_setf(m, "pcr_mask", "0x%08x", e->policy.mask);
	for (unsigned i = 0; r >= 0 && i < KEYD_TPM_PCR_MAX; i++) {
		char key[16], hex[2 * 64 + 1];

		if (!(e->policy.mask & (1u << i)))
			continue;
		snprintf(key, sizeof(key), "pcr.%u", i);
		keyd_hex_encode(e->policy.values[i], hsize, hex);
		r = keyd_meta_set(m, key, hex);
	}
	if (r >= 0)
		r = keyd_meta_set(m, "pin", e->policy.pin ? "yes" : "no");
	if (r >= 0)
		r = keyd_meta_set(m, "created", e->created);
	if (r >= 0)
		r = keyd_meta_format(m, ret, ret_len);
	return r;
}

static int meta_yes_no(const keyd_meta *m, const char *key, bool *ret)
{
	const char *v = keyd_meta_get(m, key);

	if (v && streq(v, "yes"))
		*ret = true;
	else if (v && streq(v, "no"))
		*ret = false;
	else
		return -EBADMSG;
	return 0;
}

static int meta_copy(const keyd_meta *m, const char *key, char *buf, size_t size)
{
	const char *v = keyd_meta_get(m, key);

	if (!v || strlen(v) >= size)
		return -EBADMSG;
	memcpy(buf, v, strlen(v) + 1);
	return 0;
}

int keyd_psk_entry_meta_parse(const char *text, size_t len, struct keyd_psk_entry *e,
			      char *reason, size_t reason_size)
{
	_cleanup_(meta_freep) keyd_meta *m = NULL;
	struct keyd_psk_identity_parts parts;
	const char *v, *what = "";
	char id[KEYD_PSK_ENTRY_ID_LEN + 1];
	uint64_t u;
	int r;

	memset(e, 0, sizeof(*e));
	r = keyd_meta_parse(text, len, &m, reason, reason_size);
	if (r < 0)
		return r;
#define NEED(cond, name)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			what = name;                                                               \
			goto bad;                                                                  \
		}                                                                                  \
	} while (0)
	v = keyd_meta_get(m, "type");
	NEED(v && streq(v, "nvme-psk"), "type (not 'nvme-psk')");
	NEED(meta_copy(m, "id", e->id, sizeof(e->id)) >= 0 && keyd_psk_entry_id_is_valid(e->id),
	     "id");
	NEED(meta_copy(m, "hostnqn", e->hostnqn, sizeof(e->hostnqn)) >= 0 &&
		     keyd_psk_nqn_is_valid(e->hostnqn) > 0, "hostnqn");
	NEED(meta_copy(m, "subnqn", e->subnqn, sizeof(e->subnqn)) >= 0 &&
		     keyd_psk_nqn_is_valid(e->subnqn) > 0, "subnqn");
	v = keyd_meta_get(m, "hmac");
	e->hmac = v ? keyd_psk_hmac_from_string(v) : _KEYD_PSK_HMAC_INVALID;
	NEED((int)e->hmac >= 0, "hmac");
	NEED(keyd_meta_get_u64(m, "key_length", &u) >= 0 && (u == 32 || u == 48) &&
		     (e->hmac == KEYD_PSK_HMAC_NONE ||
		      u == (e->hmac == KEYD_PSK_HMAC_SHA384 ? 48 : 32)),
	     "key_length");
	e->key_len = (size_t)u;
	NEED(keyd_meta_get_u64(m, "identity_version", &u) >= 0 && u <= 1, "identity_version");
	e->version = u ? KEYD_PSK_IDENTITY_V1 : KEYD_PSK_IDENTITY_V0;
	NEED(meta_yes_no(m, "compat", &e->compat) >= 0, "compat");
	NEED(meta_copy(m, "identity", e->identity, sizeof(e->identity)) >= 0 &&
		     keyd_psk_identity_parse(e->identity, &parts) >= 0 &&
		     streq(parts.hostnqn, e->hostnqn) && streq(parts.subnqn, e->subnqn) &&
		     parts.version == e->version && parts.kind == 'R' &&
		     (e->version == KEYD_PSK_IDENTITY_V0 || parts.digest[0]),
	     "identity");
	NEED(keyd_psk_entry_id(e->hostnqn, e->subnqn, e->version, id) >= 0 && streq(id, e->id),
	     "id (does not match the NQNs)");
	NEED(meta_copy(m, "pcrs", e->pcrs, sizeof(e->pcrs)) >= 0 &&
		     keyd_pcr_policy_parse(e->pcrs, &e->policy) >= 0, "pcrs");
	NEED(keyd_meta_get_u64(m, "pcr_mask", &u) >= 0 && u == e->policy.mask, "pcr_mask");
	v = keyd_meta_get(m, "pcr_bank");
	NEED(v && (e->policy.mask == 0 || keyd_hash_alg_from_string(v) == e->policy.bank),
	     "pcr_bank");
	for (unsigned i = 0; i < KEYD_TPM_PCR_MAX; i++) {
		char key[16];
		size_t n = 0;

		if (!(e->policy.mask & (1u << i)))
			continue;
		snprintf(key, sizeof(key), "pcr.%u", i);
		v = keyd_meta_get(m, key);
		NEED(v &&
			     keyd_hex_decode(v, e->policy.values[i], sizeof(e->policy.values[i]),
					     &n) >= 0 &&
			     n == keyd_hash_alg_size(e->policy.bank),
		     "pcr.N (a PCR value)");
	}
	NEED(meta_yes_no(m, "pin", &e->policy.pin) >= 0, "pin");
	NEED(meta_copy(m, "created", e->created, sizeof(e->created)) >= 0, "created");
#undef NEED
	return 0;
bad:
	snprintf(reason, reason_size, "missing or invalid '%s'", what);
	return -EBADMSG;
}

int keyd_psk_entry_load(keyd_store *s, const char *id, struct keyd_psk_entry *ret, char *reason,
			size_t reason_size)
{
	_cleanup_free_ char *text = NULL;
	char file[KEYD_PSK_ENTRY_FILE_MAX], why[256] = "";
	size_t len;
	int r;

	if (!keyd_psk_entry_id_is_valid(id)) {
		snprintf(reason, reason_size, "'%s' is not a PSK id", id);
		return -EINVAL;
	}
	keyd_psk_entry_file(file, id, "meta");
	r = keyd_store_read(s, "psk", file, &text, &len);
	if (r < 0) {
		if (r == -ENOENT)
			snprintf(reason, reason_size, "psk/%s: no such PSK", file);
		else
			snprintf(reason, reason_size, "%s", keyd_store_last_error(s));
		return r;
	}
	r = keyd_psk_entry_meta_parse(text, len, ret, why, sizeof(why));
	if (r >= 0 && !streq(ret->id, id)) {
		snprintf(why, sizeof(why), "it describes PSK '%s', not '%s'", ret->id, id);
		r = -EBADMSG;
	}
	if (r < 0) {
		snprintf(reason, reason_size, "psk/%s: %s", file, why[0] ? why : strerror(-r));
		return -EBADMSG;
	}
	return 0;
}

int keyd_psk_entry_exists(keyd_store *s, const char *id)
{
	static const char *const exts[] = { "meta", "sealed" };
	char file[KEYD_PSK_ENTRY_FILE_MAX];
	bool found = false;

	for (size_t i = 0; i < ELEMENTSOF(exts); i++) {
		int r;

		keyd_psk_entry_file(file, id, exts[i]);
		r = keyd_store_exists(s, "psk", file);
		if (r < 0)
			return r;
		found = found || r > 0;
	}
	return found;
}

int keyd_psk_entry_list(keyd_store *s, char ***ret_ids, size_t *ret_skipped)
{
	_cleanup_strv_free_ char **names = NULL;
	size_t skipped = 0, o = 0;
	int r;

	r = keyd_store_list(s, "psk", "meta", &names, &skipped);
	if (r == -ENOENT) {
		names = calloc(1, sizeof(char *));
		if (!names)
			return -ENOMEM;
		r = 0;
	}
	if (r < 0)
		return r;
	for (size_t i = 0; names[i]; i++) {
		if (keyd_psk_entry_id_is_valid(names[i]))
			names[o++] = names[i];
		else {
			free(names[i]);
			skipped++;
		}
	}
	names[o] = NULL;
	if (ret_skipped)
		*ret_skipped = skipped;
	*ret_ids = TAKE_PTR(names);
	return 0;
}

int keyd_psk_entry_find(keyd_store *s, const char *hostnqn, const char *subnqn, bool version_set,
			enum keyd_psk_identity_version version,
			char ret_id[KEYD_PSK_ENTRY_ID_LEN + 1])
{
	static const enum keyd_psk_identity_version order[] = { KEYD_PSK_IDENTITY_V1,
								  KEYD_PSK_IDENTITY_V0 };

	for (size_t i = 0; i < ELEMENTSOF(order); i++) {
		enum keyd_psk_identity_version v = version_set ? version : order[i];
		int r;

		r = keyd_psk_entry_id(hostnqn, subnqn, v, ret_id);
		if (r < 0)
			return r;
		r = keyd_psk_entry_exists(s, ret_id);
		if (r != 0)
			return r;
		if (version_set)
			break;
	}
	ret_id[0] = '\0';
	return 0;
}

int keyd_psk_entry_find_by_identity(keyd_store *s, const char *identity,
				    struct keyd_psk_entry *ret, char *reason, size_t reason_size)
{
	struct keyd_psk_identity_parts parts;
	char id[KEYD_PSK_ENTRY_ID_LEN + 1];
	int r;

	/* The id follows from the NQNs and the version the identity names: one file to
	 * read, never a scan of the store. */
	r = keyd_psk_identity_parse(identity, &parts);
	if (r < 0 || parts.kind != 'R')
		return 0;
	r = keyd_psk_entry_id(parts.hostnqn, parts.subnqn, parts.version, id);
	if (r < 0)
		return 0;
	r = keyd_psk_entry_load(s, id, ret, reason, reason_size);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	return streq(ret->identity, identity) ? 1 : 0;
}

int keyd_psk_entry_read_sealed(keyd_store *s, const struct keyd_psk_entry *e,
			       struct keyd_tss2key *ret, char *reason, size_t reason_size)
{
	_cleanup_free_ char *text = NULL;
	char file[KEYD_PSK_ENTRY_FILE_MAX], why[256] = "";
	size_t len;
	int r;

	keyd_psk_entry_file(file, e->id, "sealed");
	r = keyd_store_read(s, "psk", file, &text, &len);
	if (r < 0) {
		if (r == -ENOENT)
			snprintf(reason, reason_size, "psk/%s is missing", file);
		else
			snprintf(reason, reason_size, "%s", keyd_store_last_error(s));
		return r;
	}
	r = keyd_tss2key_parse((const uint8_t *)text, len, ret, why, sizeof(why));
	if (r >= 0 && ret->type != KEYD_TSS2_SEALED) {
		snprintf(why, sizeof(why), "it holds a key, not sealed data");
		r = -EBADMSG;
	}
	if (r < 0) {
		snprintf(reason, reason_size, "psk/%s: %s", file, why[0] ? why : strerror(-r));
		return -EBADMSG;
	}
	return 0;
}

struct keyd_psk_params keyd_psk_entry_params(const struct keyd_psk_entry *e)
{
	return (struct keyd_psk_params){
		.hostnqn = e->hostnqn,
		.subnqn = e->subnqn,
		.version = e->version,
		.compat = e->compat,
	};
}

int keyd_psk_entry_unseal(keyd_tpm *t, const struct keyd_psk_entry *e,
			  const struct keyd_tss2key *sealed, const char *pin,
			  struct keyd_psk_key *ret, uint32_t *ret_changed_mask)
{
	_cleanup_secret_ struct keyd_secret secret = {};
	char identity[KEYD_PSK_IDENTITY_MAX];
	struct keyd_psk_params p = keyd_psk_entry_params(e);
	int r;

	memset(ret, 0, sizeof(*ret));
	r = keyd_tpm_unseal(t, &sealed->blob, &e->policy, pin, &secret, ret_changed_mask);
	if (r < 0)
		return r;
	if (secret.len != e->key_len || secret.len > sizeof(ret->key))
		return -EKEYREJECTED;
	ret->hmac = e->hmac;
	ret->len = e->key_len;
	memcpy(ret->key, secret.data, secret.len);
	/* The v1 identity carries a digest of the key: the recorded one must follow from
	 * the unsealed key, or the two files do not belong together. */
	r = keyd_psk_identity(ret, &p, identity, sizeof(identity));
	if (r < 0 || !streq(identity, e->identity)) {
		keyd_psk_key_wipe(ret);
		return r < 0 ? r : -EKEYREJECTED;
	}
	return 0;
}

int keyd_psk_entry_tls_psk(const struct keyd_psk_entry *e, const struct keyd_psk_key *k,
			   uint8_t out[KEYD_PSK_KEY_MAX])
{
	struct keyd_psk_params p = keyd_psk_entry_params(e);

	return keyd_psk_tls_psk(k, &p, out);
}

void keyd_psk_entry_pcr_names(uint32_t mask, char *buf, size_t size)
{
	size_t n = 0;

	if (size == 0)
		return;
	buf[0] = '\0';
	for (unsigned i = 0; i < KEYD_TPM_PCR_MAX; i++)
		if (mask & (1u << i)) {
			int w = snprintf(buf + n, size - n, "%s%u", n ? ", " : "", i);

			if (w < 0 || (size_t)w >= size - n)
				break;
			n += (size_t)w;
		}
	if (n == 0)
		snprintf(buf, size, "?");
}
