/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * keyd-ctl cert ...: the certificate of a TPM-resident key.
 *
 * "cert add" accepts a certificate only when it belongs to the key (its public
 * key is the TPM key's) and when it leads, through the given intermediates, to a
 * CA enrolled in some CA set: what keyd later loads into a keyring has then been
 * checked once at enrollment, with a message an administrator can act on. The
 * certificate and its chain (keys/<name>.crt, keys/<name>.chain) are written in
 * one store transaction.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cert-store.h"
#include "ctl.h"
#include "macro.h"
#include "parse.h"
#include "x509.h"

static const char cert_usage[] =
	"Usage: keyd-ctl cert add KEYNAME FILE [--chain FILE]\n"
	"       keyd-ctl cert list [--json]\n"
	"       keyd-ctl cert show KEYNAME [--json]\n"
	"       keyd-ctl cert remove KEYNAME\n"
	"FILE is PEM or DER; certificates after the first one in FILE are taken as the chain.\n";

static int key_name_check(const char *name)
{
	return ctl_check_name(cert_usage, "key", name);
}

/* Parse a file in which every block must be a good certificate. */
static int read_strict(const char *path, struct keyd_x509_cert **ret, size_t *ret_n)
{
	struct keyd_x509_problem *problems = NULL;
	size_t n_problems = 0;
	int r;

	r = ctl_cert_file_parse(path, ret, ret_n, &problems, &n_problems);
	if (r != CTL_EXIT_OK)
		return r;
	if (n_problems > 0) {
		log_error("'%s', block %zu: %s; fix the file and try again", path,
			  problems[0].index, problems[0].reason);
		free(problems);
		keyd_x509_certs_free(*ret, *ret_n);
		*ret = NULL;
		*ret_n = 0;
		return CTL_EXIT_FAILED;
	}
	return CTL_EXIT_OK;
}

static int cert_add(struct ctl_ctx *c, int argc, char **argv)
{
	static const struct option options[] = {
		{ "chain", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct keyd_x509_cert *leaf = NULL, *chain = NULL, *trusted = NULL, *inter = NULL;
	size_t n_leaf = 0, n_chain = 0, n_trusted = 0, n_inter = 0;
	_cleanup_free_ char *crt_pem = NULL, *chain_pem = NULL;
	char crt_file[CTL_CERT_FILE_MAX], chain_file[CTL_CERT_FILE_MAX], reason[512], date[32];
	const char *name, *path, *chain_path = NULL;
	struct keyd_tss2key key;
	struct keyd_pubkey pk;
	keyd_store_txn *t = NULL;
	size_t crt_len = 0, chain_len = 0;
	int64_t now = time(NULL);
	keyd_store *s;
	int opt, r, ret = CTL_EXIT_FAILED;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (opt) {
		case 'c':
			chain_path = optarg;
			break;
		case 'h':
			fputs(cert_usage, stdout);
			return CTL_EXIT_OK;
		default:
			return ctl_usage_error(cert_usage, "cert add: bad option");
		}
	}
	if (argc - optind != 2)
		return ctl_usage_error(cert_usage, "cert add takes KEYNAME and FILE");
	name = argv[optind];
	path = argv[optind + 1];
	r = key_name_check(name);
	if (r != CTL_EXIT_OK)
		return r;

	r = ctl_store(c, true, &s);
	if (r == CTL_EXIT_OK)
		r = ctl_cert_key_load(s, name, &key, &pk);
	if (r == CTL_EXIT_OK)
		r = read_strict(path, &leaf, &n_leaf);
	if (r == CTL_EXIT_OK && chain_path)
		r = read_strict(chain_path, &chain, &n_chain);
	if (r != CTL_EXIT_OK) {
		ret = r;
		goto out;
	}

	r = keyd_x509_matches_pubkey(&leaf[0], &pk);
	if (r < 0) {
		log_error_errno(r, "cannot compare the public key of '%s' with TPM key '%s': %m",
				path, name);
		goto out;
	}
	if (r == 0) {
		log_error("the certificate's public key is not the public key of TPM key '%s' "
			  "('%s' is for another key); request a certificate with "
			  "'keyd-ctl csr %s --subject ...'",
			  name, path, name);
		goto out;
	}

	/* The chain: extra certificates of FILE (a "fullchain" file), then --chain. */
	inter = calloc(n_leaf - 1 + n_chain + 1, sizeof(*inter));
	if (!inter) {
		log_error("out of memory");
		goto out;
	}
	for (size_t i = 1; i < n_leaf; i++)
		inter[n_inter++] = leaf[i]; /* borrowed: freed through leaf */
	for (size_t i = 0; i < n_chain; i++)
		inter[n_inter++] = chain[i]; /* borrowed: freed through chain */

	r = ctl_cert_ca_all(s, &trusted, &n_trusted);
	if (r != CTL_EXIT_OK)
		goto out;
	if (n_trusted == 0) {
		log_error(
			"no CA set is enrolled in '%s', so the certificate for key '%s' cannot be "
			"checked; enroll its CA first with 'keyd-ctl ca add FILE'",
			keyd_store_root(s), name);
		goto out;
	}
	r = keyd_x509_verify_chain(&leaf[0], inter, n_inter, trusted, n_trusted, now, reason,
				   sizeof(reason));
	if (r < 0) {
		log_error("the certificate '%s' for key '%s' does not lead to an enrolled CA: %s; "
			  "enroll the issuing CA with 'keyd-ctl ca add', or pass the intermediates "
			  "with --chain",
			  leaf[0].subject, name, reason);
		goto out;
	}
	if (leaf[0].not_after - now < (int64_t)CTL_CERT_WARN_DAYS * 86400) {
		ctl_cert_date(leaf[0].not_after, date);
		log_warning("the certificate '%s' for key '%s' expires on %s; renew it soon",
			    leaf[0].subject, name, date);
	}

	r = keyd_x509_cert_to_pem(&leaf[0], &crt_pem);
	if (r >= 0) {
		crt_len = strlen(crt_pem);
		if (n_inter > 0)
			r = ctl_cert_bundle_pem(inter, n_inter, &chain_pem, &chain_len);
	}
	if (r >= 0 && chain_len > KEYD_STORE_FILE_MAX)
		r = -EFBIG;
	snprintf(crt_file, sizeof(crt_file), "%s.crt", name);
	snprintf(chain_file, sizeof(chain_file), "%s.chain", name);
	if (r >= 0)
		r = keyd_store_txn_begin(s, &t);
	if (r >= 0)
		r = keyd_store_txn_put(t, "keys", crt_file, crt_pem, crt_len);
	if (r >= 0) {
		if (chain_pem)
			r = keyd_store_txn_put(t, "keys", chain_file, chain_pem, chain_len);
		else {
			/* A chain stored with an earlier certificate would not fit this one. */
			r = keyd_store_exists(s, "keys", chain_file);
			if (r > 0)
				r = keyd_store_txn_remove(t, "keys", chain_file);
		}
	}
	if (r >= 0)
		r = keyd_store_txn_commit(TAKE_PTR(t));
	keyd_store_txn_abort(t);
	if (r < 0) {
		log_error_errno(r, "cannot store the certificate of key '%s': %s; the store is "
				"unchanged", name, ctl_cert_store_why(s, r));
		goto out;
	}
	ctl_cert_date(leaf[0].not_after, date);
	if (!c->json)
		printf("stored the certificate '%s' (valid until %s, chain of %zu) for key '%s'\n",
		       leaf[0].subject, date, n_inter, name);
	ret = CTL_EXIT_OK;
out:
	free(inter);
	keyd_x509_certs_free(leaf, n_leaf);
	keyd_x509_certs_free(chain, n_chain);
	keyd_x509_certs_free(trusted, n_trusted);
	return ret;
}

/* The key's certificate (-ENOENT: none, not logged) and chain (may be empty). */
static int cert_load(keyd_store *s, const char *name, struct keyd_x509_cert **ret_leaf,
		     size_t *ret_n_leaf, struct keyd_x509_cert **ret_chain, size_t *ret_n_chain)
{
	char file[CTL_CERT_FILE_MAX];
	int r;

	*ret_chain = NULL;
	*ret_n_chain = 0;
	snprintf(file, sizeof(file), "%s.crt", name);
	r = ctl_cert_store_read(s, "keys", file, ret_leaf, ret_n_leaf);
	if (r < 0)
		return r;
	snprintf(file, sizeof(file), "%s.chain", name);
	r = ctl_cert_store_read(s, "keys", file, ret_chain, ret_n_chain);
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		keyd_x509_certs_free(*ret_leaf, *ret_n_leaf);
		*ret_leaf = NULL;
		*ret_n_leaf = 0;
	}
	return r;
}

static int parse_one_name(const char *verb, int argc, char **argv, const char **ret)
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int opt;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		if (opt == 'h') {
			fputs(cert_usage, stdout);
			return -1;
		}
		return ctl_usage_error(cert_usage, "cert %s: bad option", verb);
	}
	if (argc - optind != 1)
		return ctl_usage_error(cert_usage, "cert %s takes one KEYNAME", verb);
	*ret = argv[optind];
	return key_name_check(*ret);
}

static int cert_list(struct ctl_ctx *c, int argc, char **argv)
{
	_cleanup_strv_free_ char **names = NULL;
	struct keyd_json j;
	int64_t now = time(NULL);
	keyd_store *s;
	int r, ret = CTL_EXIT_OK;

	if (argc > 1) {
		if (streq(argv[1], "--help") || streq(argv[1], "-h")) {
			fputs(cert_usage, stdout);
			return CTL_EXIT_OK;
		}
		return ctl_usage_error(cert_usage, "cert list takes no arguments");
	}
	r = ctl_store(c, false, &s);
	if (r != CTL_EXIT_OK)
		return r;
	r = keyd_store_list(s, "keys", "crt", &names, NULL);
	if (r < 0 && r != -ENOENT) {
		log_error_errno(r, "cannot list '%s/keys': %s", keyd_store_root(s),
				ctl_cert_store_why(s, r));
		return CTL_EXIT_FAILED;
	}
	if (c->json) {
		keyd_json_init(&j, stdout);
		keyd_json_begin_object(&j);
		keyd_json_key(&j, "certificates");
		keyd_json_begin_array(&j);
	} else if (names && names[0])
		printf("%-20s %-20s %s\n", "KEY", "NOT AFTER", "SUBJECT");
	for (char **n = names; n && *n; n++) {
		struct keyd_x509_cert *leaf = NULL, *chain = NULL;
		size_t n_leaf = 0, n_chain = 0;
		char date[32];

		r = cert_load(s, *n, &leaf, &n_leaf, &chain, &n_chain);
		if (r < 0) {
			if (r != -ENOENT)
				ret = CTL_EXIT_FAILED;
			continue;
		}
		if (c->json) {
			keyd_json_begin_object(&j);
			keyd_json_kv_string(&j, "key", *n);
			ctl_cert_json(&j, &leaf[0], now);
			keyd_json_kv_uint(&j, "chain", n_chain);
			keyd_json_end_object(&j);
		} else {
			ctl_cert_date_iso(leaf[0].not_after, date);
			printf("%-20s %-20s '%s'%s\n", *n, date, leaf[0].subject,
			       now > leaf[0].not_after ? "  [EXPIRED]" : "");
		}
		keyd_x509_certs_free(leaf, n_leaf);
		keyd_x509_certs_free(chain, n_chain);
	}
	if (c->json) {
		keyd_json_end_array(&j);
		keyd_json_end_object(&j);
		if (keyd_json_finish(&j) < 0)
			ret = CTL_EXIT_FAILED;
	} else if (!names || !names[0])
		printf("no certificates; add one with keyd-ctl cert add KEYNAME FILE\n");
	return ret;
}

static int cert_show(struct ctl_ctx *c, int argc, char **argv)
{
	struct keyd_x509_cert *leaf = NULL, *chain = NULL;
	size_t n_leaf = 0, n_chain = 0;
	char nb[32], na[32];
	int64_t now = time(NULL);
	const char *name = NULL;
	keyd_store *s;
	int r;

	r = parse_one_name("show", argc, argv, &name);
	if (r != CTL_EXIT_OK)
		return r < 0 ? CTL_EXIT_OK : r;
	r = ctl_store(c, false, &s);
	if (r != CTL_EXIT_OK)
		return r;
	r = cert_load(s, name, &leaf, &n_leaf, &chain, &n_chain);
	if (r == -ENOENT) {
		log_error("key '%s' has no certificate in '%s'; add one with 'keyd-ctl cert add %s "
			  "FILE'",
			  name, keyd_store_root(s), name);
		return CTL_EXIT_FAILED;
	}
	if (r < 0)
		return CTL_EXIT_FAILED;

	if (c->json) {
		struct keyd_json j;

		keyd_json_init(&j, stdout);
		keyd_json_begin_object(&j);
		keyd_json_kv_string(&j, "key", name);
		ctl_cert_json(&j, &leaf[0], now);
		keyd_json_key(&j, "chain");
		keyd_json_begin_array(&j);
		for (size_t i = 0; i < n_chain; i++) {
			keyd_json_begin_object(&j);
			ctl_cert_json(&j, &chain[i], now);
			keyd_json_end_object(&j);
		}
		keyd_json_end_array(&j);
		keyd_json_end_object(&j);
		r = keyd_json_finish(&j);
	} else {
		ctl_cert_date(leaf[0].not_before, nb);
		ctl_cert_date(leaf[0].not_after, na);
		printf("key:         %s\n"
		       "subject:     %s\n"
		       "issuer:      %s\n"
		       "not before:  %s\n"
		       "not after:   %s%s\n"
		       "fingerprint: %s (SHA-256)\n"
		       "public key:  %s\n",
		       name, leaf[0].subject, leaf[0].issuer, nb, na,
		       now > leaf[0].not_after ? " (EXPIRED)" : "", leaf[0].fingerprint,
		       leaf[0].key_type);
		for (size_t i = 0; i < n_chain; i++)
			printf("chain %zu:     '%s' issued by '%s'\n", i + 1, chain[i].subject,
			       chain[i].issuer);
		r = 0;
	}
	keyd_x509_certs_free(leaf, n_leaf);
	keyd_x509_certs_free(chain, n_chain);
	return r < 0 ? CTL_EXIT_FAILED : CTL_EXIT_OK;
}

static int cert_remove(struct ctl_ctx *c, int argc, char **argv)
{
	static const char *const exts[] = { "crt", "chain" };
	keyd_store_txn *t = NULL;
	const char *name = NULL;
	char file[CTL_CERT_FILE_MAX];
	keyd_store *s;
	int r;

	r = parse_one_name("remove", argc, argv, &name);
	if (r != CTL_EXIT_OK)
		return r < 0 ? CTL_EXIT_OK : r;
	r = ctl_store(c, true, &s);
	if (r != CTL_EXIT_OK)
		return r;
	snprintf(file, sizeof(file), "%s.crt", name);
	r = keyd_store_exists(s, "keys", file);
	if (r == 0) {
		log_error("key '%s' has no certificate in '%s'; see keyd-ctl cert list", name,
			  keyd_store_root(s));
		return CTL_EXIT_FAILED;
	}
	if (r >= 0)
		r = keyd_store_txn_begin(s, &t);
	for (size_t i = 0; r >= 0 && i < ELEMENTSOF(exts); i++) {
		snprintf(file, sizeof(file), "%s.%s", name, exts[i]);
		r = keyd_store_exists(s, "keys", file);
		if (r > 0)
			r = keyd_store_txn_remove(t, "keys", file);
	}
	if (r >= 0)
		r = keyd_store_txn_commit(TAKE_PTR(t));
	keyd_store_txn_abort(t);
	if (r < 0) {
		log_error_errno(r, "cannot remove the certificate of key '%s': %s; the store is "
				"unchanged", name, ctl_cert_store_why(s, r));
		return CTL_EXIT_FAILED;
	}
	if (!c->json)
		printf("removed the certificate of key '%s' (the key itself is kept)\n", name);
	return CTL_EXIT_OK;
}

int ctl_verb_cert(struct ctl_ctx *c, int argc, char **argv)
{
	static const struct ctl_subverb verbs[] = {
		{ "add", cert_add },
		{ "list", cert_list },
		{ "show", cert_show },
		{ "remove", cert_remove },
		{ NULL, NULL },
	};

	return ctl_run_subverb(c, "cert", cert_usage, verbs, argc, argv);
}
