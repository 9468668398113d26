/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>

#include "macro.h"
#include "meta.h"
#include "parse.h"
#include "srk-pin.h"

static void meta_freep(keyd_meta **m)
{
	keyd_meta_free(*m);
}

int keyd_srk_pin_load(keyd_store *s, uint8_t name[KEYD_TPM_NAME_MAX], size_t *ret_len,
		      char *reason, size_t reason_size)
{
	_cleanup_(meta_freep) keyd_meta *m = NULL;
	_cleanup_free_ char *text = NULL;
	char why[128] = "";
	const char *hex;
	size_t len;
	int r;

	r = keyd_store_read(s, "tpm", "srk.meta", &text, &len);
	if (r < 0) {
		snprintf(reason, reason_size, "%s",
			 r == -ENOENT ? "tpm/srk.meta: no SRK pinned" : keyd_store_last_error(s));
		return r;
	}
	r = keyd_meta_parse(text, len, &m, why, sizeof(why));
	if (r < 0) {
		snprintf(reason, reason_size, "tpm/srk.meta: %s", why);
		return -EBADMSG;
	}
	hex = keyd_meta_get(m, "name");
	r = hex ? keyd_hex_decode(hex, name, KEYD_TPM_NAME_MAX, ret_len) : -EBADMSG;
	if (r < 0 || *ret_len == 0) {
		snprintf(reason, reason_size, "tpm/srk.meta: no valid 'name'");
		return -EBADMSG;
	}
	return 0;
}

int keyd_srk_pin_save(keyd_store *s, const uint8_t *name, size_t name_len)
{
	_cleanup_(meta_freep) keyd_meta *m = NULL;
	_cleanup_free_ char *text = NULL;
	char hex[2 * KEYD_TPM_NAME_MAX + 1];
	keyd_store_txn *t = NULL;
	size_t len;
	int r;

	if (name_len == 0 || name_len > KEYD_TPM_NAME_MAX)
		return -EINVAL;
	keyd_hex_encode(name, name_len, hex);
	r = keyd_meta_new(&m);
	if (r >= 0)
		r = keyd_meta_setf(m, "handle", "0x%08x", KEYD_TPM_SRK_HANDLE);
	if (r >= 0)
		r = keyd_meta_set(m, "name", hex);
	if (r >= 0)
		r = keyd_meta_format(m, &text, &len);
	if (r >= 0)
		r = keyd_store_txn_begin(s, &t);
	if (r >= 0)
		r = keyd_store_txn_put(t, "tpm", "srk.meta", text, len);
	if (r >= 0)
		return keyd_store_txn_commit(TAKE_PTR(t));
	keyd_store_txn_abort(t);
	return r;
}
