/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * keyd-ctl ca ...: CA sets, the trust anchors keyd loads into keyrings.
 *
 * A set is ca/<set>.pem (every certificate of the set, PEM) and ca/<set>.meta
 * (count, times), always written together in one store transaction. "ca add"
 * checks each certificate of a bundle on its own: a bad one is reported by its
 * position in the file and skipped, and every good one is enrolled, so one
 * stale root in a 140-certificate system bundle does not stop the rest.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cert-store.h"
#include "ctl.h"
#include "macro.h"
#include "meta.h"
#include "parse.h"
#include "x509.h"

#define CA_DEFAULT_SET "default"

static const char ca_usage[] =
	"Usage: keyd-ctl ca add FILE [--set NAME] [--json]\n"
	"       keyd-ctl ca list [--set NAME] [--json]\n"
	"       keyd-ctl ca remove --set NAME [FINGERPRINT...]\n"
	"FILE is a PEM bundle or one DER certificate; the set defaults to '" CA_DEFAULT_SET "'.\n";

static void meta_freep(keyd_meta **m)
{
	keyd_meta_free(*m);
}

static void certs_done(struct keyd_x509_cert **certs, size_t *n)
{
	keyd_x509_certs_free(*certs, *n);
	*certs = NULL;
	*n = 0;
}

static int set_name_check(const char *name)
{
	return ctl_check_name(ca_usage, "set", name);
}

/* Read a set; a missing set is an empty one. Logs; returns an exit code. */
static int set_load(keyd_store *s, const char *set, struct keyd_x509_cert **ret, size_t *ret_n,
		    bool *ret_exists)
{
	char file[CTL_CERT_FILE_MAX];
	int r;

	*ret = NULL;
	*ret_n = 0;
	snprintf(file, sizeof(file), "%s.pem", set);
	r = ctl_cert_store_read(s, "ca", file, ret, ret_n);
	if (ret_exists)
		*ret_exists = r != -ENOENT;
	if (r == -ENOENT)
		return CTL_EXIT_OK;
	return r < 0 ? CTL_EXIT_FAILED : CTL_EXIT_OK;
}

/* Write a set (or remove it when empty) in one transaction. -errno. */
static int set_save(keyd_store *s, const char *set, const struct keyd_x509_cert *certs, size_t n)
{
	_cleanup_(meta_freep) keyd_meta *m = NULL;
	_cleanup_free_ char *pem = NULL, *meta = NULL;
	char pem_file[CTL_CERT_FILE_MAX], meta_file[CTL_CERT_FILE_MAX], date[32];
	keyd_store_txn *t = NULL;
	size_t pem_len, meta_len;
	int64_t earliest = INT64_MAX;
	int r;

	snprintf(pem_file, sizeof(pem_file), "%s.pem", set);
	snprintf(meta_file, sizeof(meta_file), "%s.meta", set);

	if (n > 0) {
		r = ctl_cert_bundle_pem(certs, n, &pem, &pem_len);
		if (r < 0)
			return r;
		if (pem_len > KEYD_STORE_FILE_MAX)
			return -EFBIG;
		for (size_t i = 0; i < n; i++)
			if (certs[i].not_after < earliest)
				earliest = certs[i].not_after;
		r = keyd_meta_new(&m);
		if (r >= 0)
			r = keyd_meta_set(m, "set", set);
		if (r >= 0)
			r = keyd_meta_setf(m, "count", "%zu", n);
		if (r >= 0) {
			ctl_cert_date_iso(time(NULL), date);
			r = keyd_meta_set(m, "updated", date);
		}
		if (r >= 0) {
			ctl_cert_date_iso(earliest, date);
			r = keyd_meta_set(m, "earliest_expiry", date);
		}
		if (r >= 0)
			r = keyd_meta_format(m, &meta, &meta_len);
		if (r < 0)
			return r;
	}

	r = keyd_store_txn_begin(s, &t);
	if (r < 0)
		return r;
	if (n > 0) {
		r = keyd_store_txn_put(t, "ca", pem_file, pem, pem_len);
		if (r >= 0)
			r = keyd_store_txn_put(t, "ca", meta_file, meta, meta_len);
	} else {
		const char *files[] = { pem_file, meta_file };
		for (size_t i = 0; r >= 0 && i < ELEMENTSOF(files); i++) {
			r = keyd_store_exists(s, "ca", files[i]);
			if (r > 0)
				r = keyd_store_txn_remove(t, "ca", files[i]);
		}
	}
	if (r >= 0)
		r = keyd_store_txn_commit(TAKE_PTR(t));
	keyd_store_txn_abort(t);
	return r;
}

static bool have_fingerprint(const struct keyd_x509_cert *certs, size_t n, const char *fp,
			     size_t *ret_i)
{
	for (size_t i = 0; i < n; i++)
		if (streq(certs[i].fingerprint, fp)) {
			if (ret_i)
				*ret_i = i;
			return true;
		}
	return false;
}

enum item_status { ITEM_ENROLLED, ITEM_WARNED, ITEM_SKIPPED };

static const char *const item_status_table[] = {
	[ITEM_ENROLLED] = "enrolled",
	[ITEM_WARNED] = "enrolled-with-warning",
	[ITEM_SKIPPED] = "skipped",
};

static void item_json(struct keyd_json *j, size_t block, const struct keyd_x509_cert *c,
		      enum item_status st, const char *message)
{
	if (!j)
		return;
	keyd_json_begin_object(j);
	keyd_json_kv_uint(j, "block", block);
	keyd_json_kv_string(j, "status", item_status_table[st]);
	if (c) {
		keyd_json_kv_string(j, "subject", c->subject);
		keyd_json_kv_string(j, "fingerprint", c->fingerprint);
	}
	if (message)
		keyd_json_kv_string(j, "message", message);
	keyd_json_end_object(j);
}

static int ca_add(struct ctl_ctx *c, int argc, char **argv)
{
	static const struct option options[] = {
		{ "set", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct keyd_x509_cert *in = NULL, *set = NULL, *merged = NULL;
	struct keyd_x509_problem *problems = NULL;
	size_t n_in = 0, n_set = 0, n_problems = 0, n_merged = 0, pi = 0, ci = 0;
	size_t enrolled = 0, skipped = 0, warned = 0, present = 0;
	const char *set_name = CA_DEFAULT_SET, *path;
	struct keyd_json json, *j = NULL;
	int64_t now = time(NULL);
	keyd_store *s;
	bool exists;
	int opt, r, ret;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (opt) {
		case 's':
			set_name = optarg;
			break;
		case 'h':
			fputs(ca_usage, stdout);
			return CTL_EXIT_OK;
		default:
			return ctl_usage_error(ca_usage, "ca add: bad option");
		}
	}
	if (argc - optind != 1)
		return ctl_usage_error(ca_usage, "ca add takes one FILE");
	path = argv[optind];
	r = set_name_check(set_name);
	if (r != CTL_EXIT_OK)
		return r;

	r = ctl_cert_file_parse(path, &in, &n_in, &problems, &n_problems);
	if (r != CTL_EXIT_OK)
		return r;
	r = ctl_store(c, true, &s);
	if (r == CTL_EXIT_OK)
		r = set_load(s, set_name, &set, &n_set, &exists);
	if (r != CTL_EXIT_OK) {
		ret = r;
		goto out;
	}
	if (n_set + n_in > KEYD_X509_BUNDLE_MAX) {
		log_error("set '%s' would hold more than %d certificates; split them across sets "
			  "with --set",
			  set_name, KEYD_X509_BUNDLE_MAX);
		ret = CTL_EXIT_FAILED;
		goto out;
	}
	merged = calloc(n_set + n_in + 1, sizeof(*merged));
	if (!merged) {
		log_error("out of memory");
		ret = CTL_EXIT_FAILED;
		goto out;
	}
	/* merged borrows the DER buffers of set and in: never freed through it. */
	if (n_set > 0)
		memcpy(merged, set, n_set * sizeof(*set));
	n_merged = n_set;

	if (c->json) {
		j = &json;
		keyd_json_init(j, stdout);
		keyd_json_begin_object(j);
		keyd_json_kv_string(j, "set", set_name);
		keyd_json_kv_string(j, "file", path);
		keyd_json_key(j, "items");
		keyd_json_begin_array(j);
	}

	/* Walk the blocks in file order: each is a problem or the next certificate. */
	for (size_t block = 1; ci < n_in || pi < n_problems; block++) {
		const struct keyd_x509_cert *cert;
		char reason[256], msg[KEYD_X509_NAME_MAX + 512];
		size_t dup;

		if (pi < n_problems && problems[pi].index == block) {
			snprintf(msg, sizeof(msg), "block %zu: %s", block, problems[pi].reason);
			log_warning("%s; skipped", msg);
			item_json(j, block, NULL, ITEM_SKIPPED, msg);
			skipped++;
			pi++;
			continue;
		}
		if (ci >= n_in)
			break; /* a problem index past the certificates: cannot happen */
		cert = &in[ci++];

		r = keyd_x509_check_ca(cert, now, CTL_CERT_WARN_DAYS, reason, sizeof(reason));
		if (r < 0) {
			snprintf(msg, sizeof(msg), "certificate %zu ('%s'): %s", block,
				 cert->subject, reason);
			log_warning("%s; skipped", msg);
			item_json(j, block, cert, ITEM_SKIPPED, msg);
			skipped++;
			continue;
		}
		if (have_fingerprint(merged, n_merged, cert->fingerprint, &dup)) {
			snprintf(msg, sizeof(msg),
				 "certificate %zu ('%s') is already in set '%s'%s", block,
				 cert->subject, set_name,
				 dup >= n_set ? " (it appears twice in this file)" : "");
			log_warning("%s; skipped", msg);
			item_json(j, block, cert, ITEM_SKIPPED, msg);
			skipped++;
			present++;
			continue;
		}
		if (r > 0) {
			snprintf(msg, sizeof(msg), "certificate %zu ('%s'): %s", block,
				 cert->subject, reason);
			log_warning("%s; enrolled, but plan its replacement", msg);
			item_json(j, block, cert, ITEM_WARNED, msg);
			warned++;
		} else
			item_json(j, block, cert, ITEM_ENROLLED, NULL);
		merged[n_merged++] = *cert;
		enrolled++;
	}

	if (enrolled > 0) {
		r = set_save(s, set_name, merged, n_merged);
		if (r == -EFBIG) {
			log_error("set '%s' would be larger than %d KiB; split the certificates "
				  "across sets with --set; nothing was enrolled",
				  set_name, KEYD_STORE_FILE_MAX / 1024);
			enrolled = 0;
		} else if (r < 0) {
			log_error_errno(r, "cannot write set '%s': %s; nothing was enrolled",
					set_name, ctl_cert_store_why(s, r));
			enrolled = 0;
		}
		if (r < 0) {
			ret = CTL_EXIT_FAILED;
			if (j) {
				keyd_json_end_array(j);
				keyd_json_end_object(j);
				(void)keyd_json_finish(j);
			}
			goto out;
		}
	}

	if (j) {
		keyd_json_end_array(j);
		keyd_json_kv_uint(j, "enrolled", enrolled);
		keyd_json_kv_uint(j, "skipped", skipped);
		keyd_json_kv_uint(j, "warnings", warned);
		keyd_json_kv_uint(j, "count", enrolled ? n_merged : n_set);
		keyd_json_end_object(j);
		(void)keyd_json_finish(j);
	} else
		printf("set '%s': enrolled %zu certificate%s from '%s', skipped %zu; the set holds "
		       "%zu\n",
		       set_name, enrolled, enrolled == 1 ? "" : "s", path, skipped,
		       enrolled ? n_merged : n_set);

	/* Partial: something was skipped, but some of the file's certificates are in the
	 * set now (enrolled, or there already, as when a bundle is added again). */
	if (skipped == 0)
		ret = CTL_EXIT_OK;
	else if (enrolled + present > 0)
		ret = CTL_EXIT_PARTIAL;
	else {
		log_error("no certificate from '%s' was enrolled into set '%s' (each block is "
			  "reported above)",
			  path, set_name);
		ret = CTL_EXIT_FAILED;
	}
out:
	free(merged);
	certs_done(&in, &n_in);
	certs_done(&set, &n_set);
	free(problems);
	return ret;
}

static void print_cert_line(const char *set, const struct keyd_x509_cert *cert, int64_t now)
{
	char date[32];

	ctl_cert_date_iso(cert->not_after, date);
	printf("%-12s %s  %s  '%s'", set, date, cert->fingerprint, cert->subject);
	if (!cert->self_signed && !streq(cert->issuer, cert->subject))
		printf(" issued by '%s'", cert->issuer);
	if (now > cert->not_after)
		printf("  [EXPIRED]");
	else if (cert->not_after - now < (int64_t)CTL_CERT_WARN_DAYS * 86400)
		printf("  [expires in %lld days]", (long long)((cert->not_after - now) / 86400));
	printf("\n");
}

/* Cross-check ca/<set>.meta with the bundle; a mismatch is reported, not fatal. */
static void set_meta_check(keyd_store *s, const char *set, size_t n)
{
	_cleanup_(meta_freep) keyd_meta *m = NULL;
	_cleanup_free_ char *text = NULL;
	char file[CTL_CERT_FILE_MAX], reason[160] = "";
	uint64_t count;
	size_t len;
	int r;

	snprintf(file, sizeof(file), "%s.meta", set);
	r = keyd_store_read(s, "ca", file, &text, &len);
	if (r >= 0)
		r = keyd_meta_parse(text, len, &m, reason, sizeof(reason));
	if (r >= 0)
		r = keyd_meta_get_u64(m, "count", &count);
	if (r < 0)
		log_warning("ca/%s: %s; re-add the set to rewrite it", file,
			    reason[0] ? reason : strerror(-r));
	else if (count != n)
		log_warning("ca/%s says %llu certificates, ca/%s.pem holds %zu; re-add the set to "
			    "rewrite it",
			    file, (unsigned long long)count, set, n);
}

static int ca_list(struct ctl_ctx *c, int argc, char **argv)
{
	static const struct option options[] = {
		{ "set", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_strv_free_ char **names = NULL;
	const char *only = NULL;
	struct keyd_json j;
	int64_t now = time(NULL);
	keyd_store *s;
	int opt, r, ret = CTL_EXIT_OK;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (opt) {
		case 's':
			only = optarg;
			break;
		case 'h':
			fputs(ca_usage, stdout);
			return CTL_EXIT_OK;
		default:
			return ctl_usage_error(ca_usage, "ca list: bad option");
		}
	}
	if (argc != optind)
		return ctl_usage_error(ca_usage, "ca list takes no arguments");
	if (only) {
		r = set_name_check(only);
		if (r != CTL_EXIT_OK)
			return r;
	}
	r = ctl_store(c, false, &s);
	if (r != CTL_EXIT_OK)
		return r;

	if (only) {
		names = calloc(2, sizeof(char *));
		if (!names || !(names[0] = strdup(only))) {
			log_error("out of memory");
			return CTL_EXIT_FAILED;
		}
	} else {
		r = keyd_store_list(s, "ca", "pem", &names, NULL);
		if (r < 0 && r != -ENOENT) {
			log_error_errno(r, "cannot list the CA sets in '%s/ca': %s",
					keyd_store_root(s), ctl_cert_store_why(s, r));
			return CTL_EXIT_FAILED;
		}
	}

	if (c->json) {
		keyd_json_init(&j, stdout);
		keyd_json_begin_object(&j);
		keyd_json_key(&j, "sets");
		keyd_json_begin_array(&j);
	}
	for (char **n = names; n && *n; n++) {
		struct keyd_x509_cert *certs = NULL;
		size_t k = 0;
		bool exists;

		r = set_load(s, *n, &certs, &k, &exists);
		if (r != CTL_EXIT_OK) {
			ret = r;
			continue;
		}
		if (!exists) {
			log_error("no CA set '%s' in '%s'; see keyd-ctl ca list", *n,
				  keyd_store_root(s));
			ret = CTL_EXIT_FAILED;
			continue;
		}
		set_meta_check(s, *n, k);
		if (c->json) {
			keyd_json_begin_object(&j);
			keyd_json_kv_string(&j, "name", *n);
			keyd_json_kv_uint(&j, "count", k);
			keyd_json_key(&j, "certificates");
			keyd_json_begin_array(&j);
			for (size_t i = 0; i < k; i++) {
				keyd_json_begin_object(&j);
				keyd_json_kv_string(&j, "set", *n);
				ctl_cert_json(&j, &certs[i], now);
				keyd_json_end_object(&j);
			}
			keyd_json_end_array(&j);
			keyd_json_end_object(&j);
		} else {
			printf("set '%s': %zu certificate%s\n", *n, k, k == 1 ? "" : "s");
			for (size_t i = 0; i < k; i++)
				print_cert_line(*n, &certs[i], now);
		}
		keyd_x509_certs_free(certs, k);
	}
	if (c->json) {
		keyd_json_end_array(&j);
		keyd_json_end_object(&j);
		if (keyd_json_finish(&j) < 0)
			ret = CTL_EXIT_FAILED;
	} else if (!names || !names[0])
		printf("no CA sets; enroll one with keyd-ctl ca add FILE\n");
	return ret;
}

/* A fingerprint given on the command line: the whole hex, or a prefix of at least
 * 8 digits that names exactly one certificate of the set. */
static int find_fingerprint(const struct keyd_x509_cert *certs, size_t n, const char *arg,
			    size_t *ret_i)
{
	char want[65];
	size_t len = 0, found = SIZE_MAX;

	/* Upper case and "AB:CD:..." as other tools print them are accepted too. */
	for (const char *p = arg; *p; p++) {
		char ch = *p;

		if (ch == ':')
			continue;
		if (ch >= 'A' && ch <= 'F')
			ch = (char)(ch - 'A' + 'a');
		else if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			return -EINVAL;
		if (len >= 64)
			return -EINVAL;
		want[len++] = ch;
	}
	if (len < 8)
		return -EINVAL;
	want[len] = '\0';
	for (size_t i = 0; i < n; i++)
		if (strncmp(certs[i].fingerprint, want, len) == 0) {
			if (found != SIZE_MAX)
				return -EEXIST;
			found = i;
		}
	if (found == SIZE_MAX)
		return -ENOENT;
	*ret_i = found;
	return 0;
}

static int ca_remove(struct ctl_ctx *c, int argc, char **argv)
{
	static const struct option options[] = {
		{ "set", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct keyd_x509_cert *certs = NULL;
	_cleanup_free_ bool *drop = NULL;
	const char *set_name = NULL;
	size_t n = 0, kept = 0;
	keyd_store *s;
	bool exists;
	int opt, r, ret = CTL_EXIT_FAILED;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (opt) {
		case 's':
			set_name = optarg;
			break;
		case 'h':
			fputs(ca_usage, stdout);
			return CTL_EXIT_OK;
		default:
			return ctl_usage_error(ca_usage, "ca remove: bad option");
		}
	}
	if (!set_name)
		return ctl_usage_error(ca_usage, "ca remove needs --set NAME");
	r = set_name_check(set_name);
	if (r != CTL_EXIT_OK)
		return r;
	r = ctl_store(c, true, &s);
	if (r == CTL_EXIT_OK)
		r = set_load(s, set_name, &certs, &n, &exists);
	if (r != CTL_EXIT_OK)
		return r;
	if (!exists) {
		log_error("no CA set '%s' in '%s'; see keyd-ctl ca list", set_name,
			  keyd_store_root(s));
		goto out;
	}

	drop = calloc(n + 1, sizeof(bool));
	if (!drop) {
		log_error("out of memory");
		goto out;
	}
	if (optind == argc)
		for (size_t i = 0; i < n; i++)
			drop[i] = true;
	for (int a = optind; a < argc; a++) {
		size_t i;

		r = find_fingerprint(certs, n, argv[a], &i);
		if (r == -EINVAL) {
			ret = ctl_usage_error(ca_usage,
					      "'%s' is not a SHA-256 fingerprint (8 to 64 "
					      "hex digits; see keyd-ctl ca list)",
					      argv[a]);
			goto out;
		}
		if (r == -EEXIST) {
			log_error("'%s' matches more than one certificate in set '%s'; give more "
				  "digits",
				  argv[a], set_name);
			goto out;
		}
		if (r == -ENOENT) {
			log_error(
				"no certificate with fingerprint '%s' in set '%s'; see keyd-ctl ca "
				"list --set %s; nothing was removed",
				argv[a], set_name, set_name);
			goto out;
		}
		drop[i] = true;
	}
	/* Keep the survivors in order, compacting the array in place. */
	for (size_t i = 0; i < n; i++) {
		if (drop[i]) {
			free(certs[i].der);
			continue;
		}
		certs[kept++] = certs[i];
	}
	r = set_save(s, set_name, certs, kept);
	if (r < 0) {
		log_error_errno(r, "cannot update set '%s': %s; the store is unchanged", set_name,
				ctl_cert_store_why(s, r));
		n = kept;
		goto out;
	}
	if (!c->json) {
		if (kept == 0)
			printf("removed set '%s'\n", set_name);
		else
			printf("removed %zu certificate%s from set '%s'; it holds %zu\n", n - kept,
			       n - kept == 1 ? "" : "s", set_name, kept);
	}
	n = kept;
	ret = CTL_EXIT_OK;
out:
	keyd_x509_certs_free(certs, n);
	return ret;
}

int ctl_verb_ca(struct ctl_ctx *c, int argc, char **argv)
{
	static const struct ctl_subverb verbs[] = {
		{ "add", ca_add },
		{ "list", ca_list },
		{ "remove", ca_remove },
		{ NULL, NULL },
	};

	return ctl_run_subverb(c, "ca", ca_usage, verbs, argc, argv);
}
