/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A TLS PSK from a key serial (keyd-gnutls.h), read as tlshd and keyd-handshaked
 * read it (shared/reference/handshake.md): a "psk" key (nvme-keyring, kernel 6.7+)
 * or, where the kernel has no psk type, a "user" key; the description is the TLS
 * PSK identity, the payload the raw PSK. The NVMe identity says which hash the PSK
 * goes with, and so its length (shared/reference/nvme-psk.md; core/psk.c parses
 * identities).
 */
#include <errno.h>
#include <gnutls/gnutls.h>
#include <string.h>

#include "error.h"
#include "keyd-gnutls.h"
#include "keyring.h"
#include "macro.h"
#include "psk.h"

/* The PSK length an identity needs: 32 (SHA-256) or 48 (SHA-384); for an
 * identity that is not an NVMe one, the length it has, if it is one of those. */
static int psk_len_for(const char *identity, size_t len)
{
	struct keyd_psk_identity_parts parts;

	if (keyd_psk_identity_parse(identity, &parts) < 0)
		return len == 32 || len == 48 ? (int)len : -EINVAL;
	switch (parts.hmac) {
	case KEYD_PSK_HMAC_SHA256:
		return 32;
	case KEYD_PSK_HMAC_SHA384:
		return 48;
	case KEYD_PSK_HMAC_NONE:
	case _KEYD_PSK_HMAC_MAX:
	case _KEYD_PSK_HMAC_INVALID:
		break;
	}
	return -EINVAL;
}

static bool is_printable(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return false;
	return true;
}

_public_ int keyd_gnutls_psk_from_serial(int32_t serial, char **ret_identity,
					 gnutls_datum_t *ret_key)
{
	_cleanup_secret_ struct keyd_secret psk = { 0 };
	struct keyd_keyring_info info;
	size_t id_len;
	char *identity;
	uint8_t *key;
	int r, want;

	keyd_gnutls_error_clear();
	if (!ret_identity || !ret_key)
		return keyd_gnutls_error_set(GNUTLS_E_INVALID_REQUEST,
					     "keyd_gnutls_psk_from_serial: bad arguments");
	*ret_identity = NULL;
	*ret_key = (gnutls_datum_t){ NULL, 0 };

	r = keyd_keyring_describe(serial, &info);
	if (r < 0)
		return keyd_gnutls_error_set(keyd_gnutls_error_from_errno(r,
								      KEYD_GNUTLS_ORIGIN_KEYRING),
					     "PSK key %d: cannot describe it: %s", (int)serial,
					     strerror(-r));
	if (!streq(info.type, "psk") && !streq(info.type, "user"))
		return keyd_gnutls_error_set(GNUTLS_E_KEYFILE_ERROR,
					     "PSK key %d is a '%s' key, not a psk or user key",
					     (int)serial, info.type);
	id_len = strlen(info.description);
	if (id_len == 0 || id_len > KEYD_PSK_IDENTITY_MAX || !is_printable(info.description))
		return keyd_gnutls_error_set(GNUTLS_E_KEYFILE_ERROR,
					     "PSK key %d: its description is not a PSK identity "
					     "(1..%d printable characters)", (int)serial,
					     KEYD_PSK_IDENTITY_MAX);
	r = keyd_keyring_read(serial, KEYD_PSK_KEY_MAX, &psk);
	if (r == -EFBIG)
		return keyd_gnutls_error_set(GNUTLS_E_KEYFILE_ERROR,
					     "PSK key %d holds more than %d bytes: not a TLS PSK",
					     (int)serial, KEYD_PSK_KEY_MAX);
	if (r < 0)
		return keyd_gnutls_error_set(keyd_gnutls_error_from_errno(r,
								      KEYD_GNUTLS_ORIGIN_KEYRING),
					     "PSK key %d: cannot read it: %s", (int)serial,
					     strerror(-r));
	want = psk_len_for(info.description, psk.len);
	if (want < 0 || (size_t)want != psk.len)
		return keyd_gnutls_error_set(GNUTLS_E_KEYFILE_ERROR,
					     "PSK key %d: %zu bytes do not fit identity '%s' (it "
					     "needs %s)", (int)serial, psk.len, info.description,
					     want == 48 ? "48 bytes, SHA-384"
					     : want == 32 ? "32 bytes, SHA-256" : "32 or 48 bytes");

	identity = gnutls_malloc(id_len + 1);
	key = gnutls_malloc(psk.len);
	if (!identity || !key) {
		gnutls_free(identity);
		gnutls_free(key);
		return keyd_gnutls_error_set(GNUTLS_E_MEMORY_ERROR, "out of memory");
	}
	memcpy(identity, info.description, id_len + 1);
	memcpy(key, psk.data, psk.len);
	*ret_identity = identity;
	*ret_key = (gnutls_datum_t){ key, (unsigned)psk.len };
	return 0;
}

_public_ void keyd_gnutls_psk_free(char **identity, gnutls_datum_t *key)
{
	if (identity) {
		gnutls_free(*identity);
		*identity = NULL;
	}
	if (key) {
		if (key->data)
			explicit_bzero(key->data, key->size);
		gnutls_free(key->data);
		*key = (gnutls_datum_t){ NULL, 0 };
	}
}
