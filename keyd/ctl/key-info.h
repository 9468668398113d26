/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * keyd-ctl: the metadata of a TPM-resident key, keys/<name>.meta, shared by
 * "keyd-ctl key ..." (which writes it) and "keyd-ctl list" (which only reads it,
 * so it never needs the TPM). The file holds "key = value" lines (meta.h):
 *
 *   alg         = ec-p256 | ec-p384 | rsa2048 | rsa3072
 *   created     = 2026-11-25T18:41:12Z   (UTC, when keyd created or imported it)
 *   origin      = created | imported
 *   fingerprint = lower-case hex SHA-256 of the public key's SubjectPublicKeyInfo DER
 *   description = free text (optional)
 *
 * Unknown keys are ignored so later versions can add fields.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "json.h"
#include "keyalg.h"
#include "store.h"

#define CTL_KEY_DESCRIPTION_MAX 256
#define CTL_KEY_TIME_MAX 21 /* "YYYY-MM-DDTHH:MM:SSZ" and NUL */
#define CTL_KEY_FINGERPRINT_MAX 65

enum ctl_key_origin {
	CTL_KEY_ORIGIN_CREATED,
	CTL_KEY_ORIGIN_IMPORTED,
};

struct ctl_key_info {
	char name[65];
	enum keyd_key_alg alg;
	enum ctl_key_origin origin;
	char created[CTL_KEY_TIME_MAX];
	char fingerprint[CTL_KEY_FINGERPRINT_MAX];
	char description[CTL_KEY_DESCRIPTION_MAX + 1]; /* "" if none */
	bool has_cert;  /* keys/<name>.crt */
	bool has_chain; /* keys/<name>.chain */
};

const char *ctl_key_origin_to_string(enum ctl_key_origin o);

/* The current time in the form the metadata stores. */
int ctl_key_time_now(char buf[CTL_KEY_TIME_MAX]);

/* Lower-case hex SHA-256 of the SubjectPublicKeyInfo DER of pk. */
int ctl_key_fingerprint(const struct keyd_pubkey *pk, char ret[CTL_KEY_FINGERPRINT_MAX]);

/* 0 if text may be stored as a description; -EINVAL (too long, control characters,
 * not UTF-8, leading or trailing space) otherwise. */
int ctl_key_description_check(const char *text);

/* Serialise the metadata of k (name, has_cert and has_chain are not part of it). */
int ctl_key_meta_format(const struct ctl_key_info *k, char **ret, size_t *ret_len);

/* Read and validate keys/<name>.meta and look for the certificate files. Reads no
 * key file and sends nothing to the TPM. On failure reason says what is wrong
 * with which file: -ENOENT no such key, -EBADMSG bad metadata, other -errno. */
int ctl_key_info_load(keyd_store *s, const char *name, struct ctl_key_info *ret, char *reason,
		      size_t reason_size);

/* The members of a key object, inside a JSON object opened by the caller. */
void ctl_key_info_json(struct keyd_json *j, const struct ctl_key_info *k);

/* List every key of the store: table rows on stdout (after a header line), or, when j
 * is not NULL, one JSON object per key into an array the caller opened. A key whose
 * files are damaged or incomplete is reported on stderr by file name and skipped.
 * Returns the number of keys listed, or -errno (logged) when keys/ cannot be read. */
int ctl_key_list_all(keyd_store *s, struct keyd_json *j);
