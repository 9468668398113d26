/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cert-store.h"
#include "fileio.h"
#include "key-entry.h"
#include "macro.h"

const char *ctl_cert_store_why(keyd_store *s, int r)
{
	const char *why = keyd_store_last_error(s);

	return why && *why ? why : strerror(-r);
}

int ctl_cert_key_load(keyd_store *s, const char *name, struct keyd_tss2key *ret_key,
		      struct keyd_pubkey *ret_pk)
{
	char reason[512] = "";
	int r;

	r = keyd_key_entry_load(s, name, ret_key, ret_pk, reason, sizeof(reason));
	if (r == -ENOENT) {
		log_error("no TPM key '%s' in the store '%s'; create it with 'keyd-ctl key create "
			  "%s --alg ...' (see keyd-ctl key list)",
			  name, keyd_store_root(s), name);
		return CTL_EXIT_FAILED;
	}
	if (r == -EBADMSG || r == -EOPNOTSUPP) {
		log_error("'%s/%s'; restore it from a backup, or remove the key with keyd-ctl key "
			  "remove %s",
			  keyd_store_root(s), reason, name);
		return CTL_EXIT_FAILED;
	}
	if (r < 0) {
		log_error_errno(r, "cannot read the key '%s' in '%s': %s", name, keyd_store_root(s),
				reason);
		return CTL_EXIT_FAILED;
	}
	return CTL_EXIT_OK;
}

int ctl_cert_store_read(keyd_store *s, const char *section, const char *file,
			struct keyd_x509_cert **ret, size_t *ret_n)
{
	_cleanup_free_ char *text = NULL;
	struct keyd_x509_problem *problems = NULL;
	size_t len, n_problems = 0;
	int r;

	r = keyd_store_read(s, section, file, &text, &len);
	if (r == -ENOENT)
		return r;
	if (r < 0)
		return log_error_errno(r, "cannot read '%s/%s/%s': %s", keyd_store_root(s), section,
				       file, ctl_cert_store_why(s, r));
	r = keyd_x509_bundle_parse((const uint8_t *)text, len, ret, ret_n, &problems, &n_problems);
	if (r == -ENODATA || n_problems > 0) {
		/* keyd wrote the file from parsed certificates: a bad block means damage. */
		log_error(
			"'%s/%s/%s' is damaged%s%.200s; restore it from a backup, or remove it and "
			"enroll again",
			keyd_store_root(s), section, file, n_problems ? ": " : "",
			n_problems ? problems[0].reason : "");
		keyd_x509_certs_free(*ret, *ret_n);
		free(problems);
		*ret = NULL;
		*ret_n = 0;
		return -EBADMSG;
	}
	if (r < 0)
		return log_error_errno(r, "cannot parse '%s/%s/%s': %m", keyd_store_root(s),
				       section, file);
	return 0;
}

int ctl_cert_ca_all(keyd_store *s, struct keyd_x509_cert **ret, size_t *ret_n)
{
	_cleanup_strv_free_ char **names = NULL;
	struct keyd_x509_cert *all = NULL;
	size_t n_all = 0;
	int r;

	*ret = NULL;
	*ret_n = 0;
	r = keyd_store_list(s, "ca", "pem", &names, NULL);
	if (r == -ENOENT)
		return CTL_EXIT_OK;
	if (r < 0) {
		log_error_errno(r, "cannot list the CA sets in '%s/ca': %s", keyd_store_root(s),
				ctl_cert_store_why(s, r));
		return CTL_EXIT_FAILED;
	}
	for (char **n = names; n && *n; n++) {
		struct keyd_x509_cert *certs = NULL, *grown;
		char file[CTL_CERT_FILE_MAX];
		size_t k = 0;

		snprintf(file, sizeof(file), "%s.pem", *n);
		r = ctl_cert_store_read(s, "ca", file, &certs, &k);
		if (r == -ENOENT)
			continue;
		if (r < 0)
			goto fail;
		grown = reallocarray(all, n_all + k, sizeof(*all));
		if (!grown) {
			keyd_x509_certs_free(certs, k);
			log_error("out of memory");
			goto fail;
		}
		all = grown;
		if (k > 0)
			memcpy(all + n_all, certs, k * sizeof(*certs));
		n_all += k;
		free(certs); /* the DER buffers now belong to all */
	}
	*ret = all;
	*ret_n = n_all;
	return CTL_EXIT_OK;
fail:
	keyd_x509_certs_free(all, n_all);
	return CTL_EXIT_FAILED;
}

int ctl_cert_bundle_pem(const struct keyd_x509_cert *certs, size_t n, char **ret, size_t *ret_len)
{
	char *buf = NULL;
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *pem = NULL;
		size_t l;
		char *grown;
		int r = keyd_x509_cert_to_pem(&certs[i], &pem);

		if (r < 0) {
			free(buf);
			return r;
		}
		l = strlen(pem);
		grown = realloc(buf, len + l + 1);
		if (!grown) {
			free(buf);
			return -ENOMEM;
		}
		buf = grown;
		memcpy(buf + len, pem, l + 1);
		len += l;
	}
	if (!buf) {
		buf = strdup("");
		if (!buf)
			return -ENOMEM;
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

static void date_format(int64_t t, const char *fmt, char buf[32])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (!gmtime_r(&tt, &tm) || strftime(buf, 32, fmt, &tm) == 0)
		snprintf(buf, 32, "@%lld", (long long)t);
}

void ctl_cert_date(int64_t t, char buf[32])
{
	date_format(t, "%Y-%m-%d %H:%M:%S UTC", buf);
}

void ctl_cert_date_iso(int64_t t, char buf[32])
{
	date_format(t, "%Y-%m-%dT%H:%M:%SZ", buf);
}

int ctl_cert_file_parse(const char *path, struct keyd_x509_cert **ret, size_t *ret_n,
			struct keyd_x509_problem **ret_problems, size_t *ret_n_problems)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	int r;

	r = keyd_read_file(path, CTL_CERT_INPUT_MAX, &data, &len);
	if (r == -EFBIG) {
		log_error("'%s' is larger than %u MiB; that is not a certificate file", path,
			  CTL_CERT_INPUT_MAX >> 20);
		return CTL_EXIT_FAILED;
	}
	if (r < 0) {
		log_error_errno(r, "cannot read '%s': %m", path);
		return CTL_EXIT_FAILED;
	}
	r = keyd_x509_bundle_parse((const uint8_t *)data, len, ret, ret_n, ret_problems,
				   ret_n_problems);
	if (r == -ENODATA && *ret_n_problems == 0) {
		log_error("no certificate in '%s': expected PEM 'CERTIFICATE' blocks or one DER "
			  "certificate",
			  path);
		return CTL_EXIT_FAILED;
	}
	if (r < 0 && r != -ENODATA) {
		log_error_errno(r, "cannot parse '%s': %m", path);
		return CTL_EXIT_FAILED;
	}
	return CTL_EXIT_OK;
}

void ctl_cert_json(struct keyd_json *j, const struct keyd_x509_cert *c, int64_t now)
{
	char date[32];

	keyd_json_kv_string(j, "subject", c->subject);
	keyd_json_kv_string(j, "issuer", c->issuer);
	keyd_json_kv_string(j, "fingerprint", c->fingerprint);
	ctl_cert_date_iso(c->not_before, date);
	keyd_json_kv_string(j, "not_before", date);
	ctl_cert_date_iso(c->not_after, date);
	keyd_json_kv_string(j, "not_after", date);
	keyd_json_kv_string(j, "key_type", c->key_type);
	keyd_json_kv_bool(j, "ca", c->is_ca);
	keyd_json_kv_bool(j, "self_signed", c->self_signed);
	keyd_json_kv_bool(j, "expired", now > c->not_after);
	keyd_json_kv_bool(j, "expiring",
			  now <= c->not_after &&
				  c->not_after - now < (int64_t)CTL_CERT_WARN_DAYS * 86400);
	keyd_json_kv_int(j, "days_left", (c->not_after - now) / 86400);
}
