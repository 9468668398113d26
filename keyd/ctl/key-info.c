/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "key-entry.h"
#include "key-info.h"
#include "log.h"
#include "macro.h"
#include "meta.h"
#include "parse.h"
#include "x509.h"

static const char *const origin_table[] = {
	[CTL_KEY_ORIGIN_CREATED] = "created",
	[CTL_KEY_ORIGIN_IMPORTED] = "imported",
};

const char *ctl_key_origin_to_string(enum ctl_key_origin o)
{
	return (unsigned)o < ELEMENTSOF(origin_table) ? origin_table[o] : NULL;
}

static int origin_from_string(const char *s)
{
	for (size_t i = 0; i < ELEMENTSOF(origin_table); i++)
		if (streq(origin_table[i], s))
			return (int)i;
	return -EINVAL;
}

static void meta_freep(keyd_meta **m)
{
	keyd_meta_free(*m);
}

int ctl_key_time_now(char buf[CTL_KEY_TIME_MAX])
{
	time_t now = time(NULL);
	struct tm tm;

	if (now == (time_t)-1 || !gmtime_r(&now, &tm))
		return -errno ?: -EINVAL;
	if (strftime(buf, CTL_KEY_TIME_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm) != CTL_KEY_TIME_MAX - 1)
		return -ERANGE; /* a year past 9999 */
	return 0;
}

/* Two decimal digits at s, within [lo, hi]. */
static bool two_digits(const char *s, int lo, int hi)
{
	int v;

	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return false;
	v = (s[0] - '0') * 10 + (s[1] - '0');
	return v >= lo && v <= hi;
}

/* Exactly "YYYY-MM-DDTHH:MM:SSZ" with fields in range (what ctl_key_time_now writes). */
static bool time_is_valid(const char *s)
{
	if (strlen(s) != CTL_KEY_TIME_MAX - 1)
		return false;
	return two_digits(s, 0, 99) && two_digits(s + 2, 0, 99) && s[4] == '-' &&
	       two_digits(s + 5, 1, 12) && s[7] == '-' && two_digits(s + 8, 1, 31) &&
	       s[10] == 'T' && two_digits(s + 11, 0, 23) && s[13] == ':' &&
	       two_digits(s + 14, 0, 59) && s[16] == ':' && two_digits(s + 17, 0, 60) &&
	       s[19] == 'Z';
}

static bool fingerprint_is_valid(const char *s)
{
	if (strlen(s) != CTL_KEY_FINGERPRINT_MAX - 1)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

int ctl_key_fingerprint(const struct keyd_pubkey *pk, char ret[CTL_KEY_FINGERPRINT_MAX])
{
	_cleanup_free_ uint8_t *spki = NULL;
	uint8_t digest[32];
	size_t len;
	int r;

	r = keyd_x509_pubkey_to_spki(pk, &spki, &len);
	if (r < 0)
		return r;
	r = keyd_crypto_hash(KEYD_HASH_SHA256, spki, len, digest);
	if (r < 0)
		return r;
	keyd_hex_encode(digest, sizeof(digest), ret);
	return 0;
}

/* Length of the UTF-8 sequence at p (RFC 3629: shortest form, no surrogates,
 * at most U+10FFFF), 0 if invalid. */
static size_t utf8_seq_len(const unsigned char *p)
{
	size_t n;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80) /* also stops at the NUL */
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

int ctl_key_description_check(const char *text)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t len = strlen(text);

	if (len > CTL_KEY_DESCRIPTION_MAX)
		return -EINVAL;
	/* meta.h values cannot keep leading or trailing spaces. */
	if (len > 0 && (text[0] == ' ' || text[len - 1] == ' '))
		return -EINVAL;
	while (*p) {
		size_t n;

		/* The metadata is line based: no control characters, no line breaks. */
		if (*p < 0x20 || *p == 0x7f)
			return -EINVAL;
		n = utf8_seq_len(p);
		if (n == 0)
			return -EINVAL;
		p += n;
	}
	return 0;
}

int ctl_key_meta_format(const struct ctl_key_info *k, char **ret, size_t *ret_len)
{
	_cleanup_(meta_freep) keyd_meta *m = NULL;
	const char *alg = keyd_key_alg_to_string(k->alg);
	const char *origin = ctl_key_origin_to_string(k->origin);
	int r;

	if (!alg || !origin)
		return -EINVAL;
	r = keyd_meta_new(&m);
	if (r < 0)
		return r;
	r = keyd_meta_set(m, "alg", alg);
	if (r >= 0)
		r = keyd_meta_set(m, "created", k->created);
	if (r >= 0)
		r = keyd_meta_set(m, "origin", origin);
	if (r >= 0)
		r = keyd_meta_set(m, "fingerprint", k->fingerprint);
	if (r >= 0 && k->description[0])
		r = keyd_meta_set(m, "description", k->description);
	if (r < 0)
		return r;
	return keyd_meta_format(m, ret, ret_len);
}

int ctl_key_info_load(keyd_store *s, const char *name, struct ctl_key_info *ret, char *reason,
		      size_t reason_size)
{
	_cleanup_(meta_freep) keyd_meta *m = NULL;
	_cleanup_free_ char *text = NULL;
	struct ctl_key_info k = {};
	char file[128], why[160] = "";
	const char *v;
	struct keyd_key_entry_files files;
	size_t len;
	int r;

	if (!keyd_name_is_valid(name)) {
		snprintf(reason, reason_size, "'%s' is not a valid key name", name);
		return -EINVAL;
	}
	snprintf(k.name, sizeof(k.name), "%s", name);
	snprintf(file, sizeof(file), "%s.meta", name);
	r = keyd_store_read(s, "keys", file, &text, &len);
	if (r < 0) {
		if (r == -ENOENT)
			snprintf(reason, reason_size, "keys/%s: no such key", file);
		else
			snprintf(reason, reason_size, "%s", keyd_store_last_error(s));
		return r;
	}
	r = keyd_meta_parse(text, len, &m, why, sizeof(why));
	if (r < 0) {
		snprintf(reason, reason_size, "keys/%s: %s", file, why[0] ? why : strerror(-r));
		return r;
	}

	v = keyd_meta_get(m, "alg");
	if (!v || (int)(k.alg = keyd_key_alg_from_string(v)) < 0) {
		snprintf(reason, reason_size, "keys/%s: missing or unknown 'alg'", file);
		return -EBADMSG;
	}
	v = keyd_meta_get(m, "origin");
	r = v ? origin_from_string(v) : -EINVAL;
	if (r < 0) {
		snprintf(reason, reason_size, "keys/%s: missing or unknown 'origin'", file);
		return -EBADMSG;
	}
	k.origin = (enum ctl_key_origin)r;
	v = keyd_meta_get(m, "created");
	if (!v || !time_is_valid(v)) {
		snprintf(reason, reason_size, "keys/%s: missing or malformed 'created'", file);
		return -EBADMSG;
	}
	snprintf(k.created, sizeof(k.created), "%s", v);
	v = keyd_meta_get(m, "fingerprint");
	if (!v || !fingerprint_is_valid(v)) {
		snprintf(reason, reason_size, "keys/%s: missing or malformed 'fingerprint'", file);
		return -EBADMSG;
	}
	snprintf(k.fingerprint, sizeof(k.fingerprint), "%s", v);
	v = keyd_meta_get(m, "description");
	if (v) {
		if (ctl_key_description_check(v) < 0) {
			snprintf(reason, reason_size, "keys/%s: malformed 'description'", file);
			return -EBADMSG;
		}
		snprintf(k.description, sizeof(k.description), "%s", v);
	}

	/* Metadata without its key file is not a key (a transaction writes both). */
	r = keyd_key_entry_files(s, name, &files);
	if (r < 0) {
		snprintf(reason, reason_size, "%s", keyd_store_last_error(s));
		return r;
	}
	if (!files.key) {
		snprintf(reason, reason_size, "keys/%s has no key file keys/%s.tss2", file, name);
		return -EBADMSG;
	}
	k.has_cert = files.cert;
	k.has_chain = files.chain;
	*ret = k;
	return 0;
}

void ctl_key_info_json(struct keyd_json *j, const struct ctl_key_info *k)
{
	keyd_json_kv_string(j, "name", k->name);
	keyd_json_kv_string(j, "alg", keyd_key_alg_to_string(k->alg));
	keyd_json_kv_string(j, "origin", ctl_key_origin_to_string(k->origin));
	keyd_json_kv_string(j, "created", k->created);
	keyd_json_kv_string(j, "fingerprint", k->fingerprint);
	keyd_json_kv_string(j, "description", k->description[0] ? k->description : NULL);
	keyd_json_kv_bool(j, "certificate", k->has_cert);
	keyd_json_kv_bool(j, "chain", k->has_chain);
}

/* Key files without metadata are reported: keyd writes both in one transaction, so
 * one alone was put there by hand (or by something else). */
static void warn_orphan_key_files(keyd_store *s, char *const *with_meta)
{
	_cleanup_strv_free_ char **names = NULL;
	size_t skipped = 0;
	int r;

	r = keyd_store_list(s, "keys", "tss2", &names, &skipped);
	if (r < 0)
		return;
	for (char **n = names; n && *n; n++) {
		bool found = false;

		for (char *const *m = with_meta; m && *m && !found; m++)
			found = streq(*m, *n);
		if (!found)
			log_warning("keys/%s.tss2 has no metadata file keys/%s.meta; skipped "
				    "(remove it, or import it with keyd-ctl key import)", *n, *n);
	}
}

int ctl_key_list_all(keyd_store *s, struct keyd_json *j)
{
	_cleanup_strv_free_ char **names = NULL;
	size_t skipped = 0;
	int n = 0, r;

	r = keyd_store_list(s, "keys", "meta", &names, &skipped);
	if (r == -ENOENT)
		return 0; /* nothing enrolled yet */
	if (r < 0)
		return log_error_errno(r, "cannot list '%s/keys': %s", keyd_store_root(s),
				       keyd_store_last_error(s));
	if (skipped > 0)
		log_warning("%s/keys: %zu file(s) that are not keyd's were skipped",
			    keyd_store_root(s), skipped);

	if (!j)
		printf("%-24s %-8s %-8s %-20s %-4s %s\n", "NAME", "ALG", "ORIGIN", "CREATED",
		       "CERT", "FINGERPRINT (SHA-256)");
	for (char **name = names; name && *name; name++) {
		struct ctl_key_info k;
		char reason[256] = "";

		r = ctl_key_info_load(s, *name, &k, reason, sizeof(reason));
		if (r < 0) {
			log_warning("%s; skipped", reason);
			continue;
		}
		if (j) {
			keyd_json_begin_object(j);
			ctl_key_info_json(j, &k);
			keyd_json_end_object(j);
		} else {
			printf("%-24s %-8s %-8s %-20s %-4s %s\n", k.name,
			       keyd_key_alg_to_string(k.alg), ctl_key_origin_to_string(k.origin),
			       k.created, k.has_cert ? "yes" : "no", k.fingerprint);
		}
		n++;
	}
	warn_orphan_key_files(s, names);
	return n;
}
