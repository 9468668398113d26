/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * NVMe/TCP TLS pre-shared keys (NVMe/TCP transport spec, TP8018): the
 * interchange string, retained key, digest, identities and the TLS PSK,
 * bit-exact with libnvme. See docs/ and shared/reference/nvme-psk.md.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KEYD_PSK_KEY_MAX 48
#define KEYD_PSK_NQN_MAX 223          /* NVMe Base spec: NQN at most 223 bytes */
#define KEYD_PSK_INTERCHANGE_MAX 96   /* 89 for a 48-byte key, plus NUL */
#define KEYD_PSK_DIGEST_B64_MAX 65    /* base64 of a SHA-384 digest, plus NUL */
#define KEYD_PSK_IDENTITY_MAX (8 + 2 * KEYD_PSK_NQN_MAX + 3 + KEYD_PSK_DIGEST_B64_MAX)

/* The hh field: how the configured key is transformed into the retained key. */
enum keyd_psk_hmac {
	KEYD_PSK_HMAC_NONE = 0,   /* 00: configured key used as is */
	KEYD_PSK_HMAC_SHA256 = 1, /* 01 */
	KEYD_PSK_HMAC_SHA384 = 2, /* 02 */
	_KEYD_PSK_HMAC_MAX,
	_KEYD_PSK_HMAC_INVALID = -EINVAL,
};
const char *keyd_psk_hmac_to_string(enum keyd_psk_hmac h); /* "none", "sha256", "sha384" */
enum keyd_psk_hmac keyd_psk_hmac_from_string(const char *s);

enum keyd_psk_identity_version {
	KEYD_PSK_IDENTITY_V0,
	KEYD_PSK_IDENTITY_V1,
	_KEYD_PSK_IDENTITY_MAX,
	_KEYD_PSK_IDENTITY_INVALID = -EINVAL,
};

/* A configured key with its hh. Holds key material: wipe with keyd_psk_key_wipe(). */
struct keyd_psk_key {
	enum keyd_psk_hmac hmac;
	uint8_t key[KEYD_PSK_KEY_MAX];
	size_t len; /* 32 or 48 */
};
void keyd_psk_key_wipe(struct keyd_psk_key *k);

/* Parse "NVMeTLSkey-1:hh:base64(key||crc32):". -EINVAL on syntax, -EKEYREJECTED on
 * a CRC mismatch, -EPROTO on an unknown version or hh, -EMSGSIZE on a bad key
 * length for the hh (hh 01 needs 32 bytes, 02 needs 48, 00 either). */
int keyd_psk_interchange_parse(const char *s, struct keyd_psk_key *ret);
/* Emit the interchange string; out must hold KEYD_PSK_INTERCHANGE_MAX. */
int keyd_psk_interchange_format(const struct keyd_psk_key *k, char *out, size_t size);

/* Derivation options. compat selects libnvme's pre-RFC-8446 HkdfLabel encoding
 * (uint16_le(L) || label || ctx), offered only as an explicit option. */
struct keyd_psk_params {
	const char *hostnqn;
	const char *subnqn;
	enum keyd_psk_identity_version version;
	bool compat;
};

/* NQN syntax check: "nqn." prefix, printable ASCII without spaces, <= 223 bytes. */
int keyd_psk_nqn_is_valid(const char *nqn);

/* Retained PSK (step 1). out holds k->len bytes. */
int keyd_psk_retained(const struct keyd_psk_key *k, const struct keyd_psk_params *p, uint8_t *out);
/* Digest (step 2) as base64 text. */
int keyd_psk_digest(const struct keyd_psk_key *k, const uint8_t *retained,
		    const struct keyd_psk_params *p, char out[KEYD_PSK_DIGEST_B64_MAX]);
/* Identity (step 3): "NVMe0Rhh host sub" or "NVMe1Rhh host sub digest". */
int keyd_psk_identity(const struct keyd_psk_key *k, const struct keyd_psk_params *p, char *out,
		      size_t size);
/* TLS PSK (step 4): the payload of the kernel's psk key. out holds k->len bytes. */
int keyd_psk_tls_psk(const struct keyd_psk_key *k, const struct keyd_psk_params *p, uint8_t *out);

/* Parse an identity "NVMe<v><R|G><hh> <host> <sub>[ <digest>]". Views into a
 * copy owned by ret (fixed buffers). -EINVAL when it is not an NVMe identity. */
struct keyd_psk_identity_parts {
	enum keyd_psk_identity_version version;
	char kind;                 /* 'R' retained, 'G' generated */
	enum keyd_psk_hmac hmac;
	char hostnqn[KEYD_PSK_NQN_MAX + 1];
	char subnqn[KEYD_PSK_NQN_MAX + 1];
	char digest[KEYD_PSK_DIGEST_B64_MAX]; /* "" for v0 or a v1 prefix */
};
int keyd_psk_identity_parse(const char *s, struct keyd_psk_identity_parts *ret);

/* Parse one line of nvme-cli's /etc/nvme/tls-keys: "<identity> <interchange>".
 * Blank lines and '#' comments return 0 with *ret_is_entry = false. */
int keyd_psk_tls_keys_line_parse(const char *line, struct keyd_psk_identity_parts *ret_identity,
				 struct keyd_psk_key *ret_key, bool *ret_is_entry);
