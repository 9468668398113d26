/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "key-entry.h"
#include "macro.h"
#include "parse.h"

int keyd_key_entry_load(keyd_store *s, const char *name, struct keyd_tss2key *ret_key,
			struct keyd_pubkey *ret_pk, char *reason, size_t reason_size)
{
	_cleanup_free_ char *text = NULL;
	char file[KEYD_KEY_ENTRY_FILE_MAX], why[256] = "";
	size_t len;
	int r;

	if (!keyd_name_is_valid(name)) {
		snprintf(reason, reason_size, "'%s' is not a valid key name", name);
		return -EINVAL;
	}
	snprintf(file, sizeof(file), "%s.tss2", name);
	r = keyd_store_read(s, "keys", file, &text, &len);
	if (r < 0) {
		if (r == -ENOENT)
			snprintf(reason, reason_size, "keys/%s: no such key", file);
		else
			snprintf(reason, reason_size, "%s", keyd_store_last_error(s));
		return r;
	}
	r = keyd_tss2key_parse((const uint8_t *)text, len, ret_key, why, sizeof(why));
	if (r >= 0 && ret_key->type != KEYD_TSS2_LOADABLE) {
		snprintf(why, sizeof(why), "it holds sealed data, not a key");
		r = -EBADMSG;
	}
	if (r < 0) {
		snprintf(reason, reason_size, "keys/%s: %s", file, why[0] ? why : strerror(-r));
		return -EBADMSG;
	}
	if (ret_pk) {
		r = keyd_tpm_key_public(&ret_key->blob, ret_pk);
		if (r < 0) {
			snprintf(reason, reason_size,
				 "keys/%s: the public area is not a signing key keyd can use (%s)",
				 file, strerror(-r));
			return r;
		}
	}
	return 0;
}

static int exists(keyd_store *s, const char *name, const char *ext, bool *ret)
{
	char file[KEYD_KEY_ENTRY_FILE_MAX];
	int r;

	snprintf(file, sizeof(file), "%s.%s", name, ext);
	r = keyd_store_exists(s, "keys", file);
	if (r < 0)
		return r;
	*ret = r > 0;
	return 0;
}

int keyd_key_entry_files(keyd_store *s, const char *name, struct keyd_key_entry_files *ret)
{
	struct keyd_key_entry_files f = {};
	int r;

	if (!keyd_name_is_valid(name))
		return -EINVAL;
	r = exists(s, name, "tss2", &f.key);
	if (r >= 0)
		r = exists(s, name, "meta", &f.meta);
	if (r >= 0)
		r = exists(s, name, "crt", &f.cert);
	if (r >= 0)
		r = exists(s, name, "chain", &f.chain);
	if (r < 0)
		return r;
	*ret = f;
	return 0;
}

/* Read keys/<file> as a bundle. -ENOENT absent. */
static int read_bundle(keyd_store *s, const char *file, struct keyd_cert_der **ret, size_t *ret_n,
		       char *reason, size_t reason_size)
{
	_cleanup_free_ char *text = NULL;
	size_t len, index = 0;
	int r;

	r = keyd_store_read(s, "keys", file, &text, &len);
	if (r < 0) {
		if (r == -ENOENT)
			snprintf(reason, reason_size, "keys/%s: not enrolled", file);
		else
			snprintf(reason, reason_size, "%s", keyd_store_last_error(s));
		return r;
	}
	r = keyd_cert_bundle_from_pem(text, len, ret, ret_n, &index);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		if (r == -ENODATA)
			snprintf(reason, reason_size, "keys/%s holds no certificate", file);
		else
			snprintf(reason, reason_size, "keys/%s: certificate %zu is damaged", file,
				 index);
		return -EBADMSG;
	}
	return 0;
}

int keyd_key_entry_cert(keyd_store *s, const char *name, struct keyd_cert_der *ret_cert,
			struct keyd_cert_der **ret_chain, size_t *ret_n_chain, char *reason,
			size_t reason_size)
{
	struct keyd_cert_der *leaf = NULL, *chain = NULL;
	char file[KEYD_KEY_ENTRY_FILE_MAX];
	size_t n_leaf = 0, n_chain = 0;
	int r;

	if (!keyd_name_is_valid(name)) {
		snprintf(reason, reason_size, "'%s' is not a valid key name", name);
		return -EINVAL;
	}
	snprintf(file, sizeof(file), "%s.crt", name);
	r = read_bundle(s, file, &leaf, &n_leaf, reason, reason_size);
	if (r < 0)
		return r;
	if (n_leaf != 1) {
		keyd_cert_bundle_free(leaf, n_leaf);
		snprintf(reason, reason_size, "keys/%s holds %zu certificates, not one", file,
			 n_leaf);
		return -EBADMSG;
	}
	snprintf(file, sizeof(file), "%s.chain", name);
	r = read_bundle(s, file, &chain, &n_chain, reason, reason_size);
	if (r == -ENOENT) {
		reason[0] = '\0';
		r = 0;
	}
	if (r < 0) {
		keyd_cert_bundle_free(leaf, n_leaf);
		return r;
	}
	*ret_cert = leaf[0];
	free(leaf);
	*ret_chain = chain;
	*ret_n_chain = n_chain;
	return 0;
}
