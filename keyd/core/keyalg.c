/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include "macro.h"
#include "keyalg.h"

static const char *const key_alg_table[_KEYD_KEY_ALG_MAX] = {
	[KEYD_KEY_EC_P256] = "ec-p256",
	[KEYD_KEY_EC_P384] = "ec-p384",
	[KEYD_KEY_RSA2048] = "rsa2048",
	[KEYD_KEY_RSA3072] = "rsa3072",
};

static const char *const hash_alg_table[_KEYD_HASH_ALG_MAX] = {
	[KEYD_HASH_SHA256] = "sha256",
	[KEYD_HASH_SHA384] = "sha384",
	[KEYD_HASH_SHA512] = "sha512",
};

static const char *const sig_scheme_table[_KEYD_SIG_SCHEME_MAX] = {
	[KEYD_SIG_ECDSA] = "ecdsa",
	[KEYD_SIG_RSA_PKCS1] = "rsa-pkcs1",
	[KEYD_SIG_RSA_PSS] = "rsa-pss",
};

static int table_lookup(const char *const *table, size_t n, const char *s)
{
	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (table[i] && streq(table[i], s))
			return (int)i;
	return -EINVAL;
}

const char *keyd_key_alg_to_string(enum keyd_key_alg a)
{
	return (unsigned)a < _KEYD_KEY_ALG_MAX ? key_alg_table[a] : NULL;
}

enum keyd_key_alg keyd_key_alg_from_string(const char *s)
{
	return (enum keyd_key_alg)table_lookup(key_alg_table, _KEYD_KEY_ALG_MAX, s);
}

const char *keyd_hash_alg_to_string(enum keyd_hash_alg h)
{
	return (unsigned)h < _KEYD_HASH_ALG_MAX ? hash_alg_table[h] : NULL;
}

enum keyd_hash_alg keyd_hash_alg_from_string(const char *s)
{
	return (enum keyd_hash_alg)table_lookup(hash_alg_table, _KEYD_HASH_ALG_MAX, s);
}

size_t keyd_hash_alg_size(enum keyd_hash_alg h)
{
	switch (h) {
	case KEYD_HASH_SHA256:
		return 32;
	case KEYD_HASH_SHA384:
		return 48;
	case KEYD_HASH_SHA512:
		return 64;
	case _KEYD_HASH_ALG_MAX:
	case _KEYD_HASH_ALG_INVALID:
		break;
	}
	return 0;
}

const char *keyd_sig_scheme_to_string(enum keyd_sig_scheme s)
{
	return (unsigned)s < _KEYD_SIG_SCHEME_MAX ? sig_scheme_table[s] : NULL;
}

enum keyd_sig_scheme keyd_sig_scheme_from_string(const char *s)
{
	return (enum keyd_sig_scheme)table_lookup(sig_scheme_table, _KEYD_SIG_SCHEME_MAX, s);
}
