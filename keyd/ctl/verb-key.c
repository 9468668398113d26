/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * keyd-ctl key ...: TPM-resident signing keys.
 *
 * A key is two files in the store, always written and removed together in one
 * store transaction: keys/<name>.tss2, a TSS2 PRIVATE KEY (loadable key, emptyAuth,
 * parent = the SRK 0x81000001 for keys keyd creates) that tpm2-openssl and GnuTLS
 * read as they are, and keys/<name>.meta (key-info.h). The private part never
 * leaves the TPM: the file holds it wrapped by the parent key.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "ctl.h"
#include "fileio.h"
#include "key-entry.h"
#include "key-info.h"
#include "macro.h"
#include "parse.h"
#include "tss2key.h"
#include "x509.h"

/* "key sign --in FILE" reads the file whole: a bound for scripts, not for disk images. */
#define KEY_SIGN_INPUT_MAX (64u * 1024 * 1024)
#define KEY_FILE_MAX 80 /* "<name>.<ext>": a name is at most 64 characters */

static const char key_usage[] =
	"Usage: keyd-ctl key create NAME --alg ec-p256|ec-p384|rsa2048|rsa3072\n"
	"                           [--description TEXT]\n"
	"       keyd-ctl key import NAME FILE [--description TEXT]\n"
	"       keyd-ctl key list [--json]\n"
	"       keyd-ctl key show NAME [--json]\n"
	"       keyd-ctl key export-pub NAME [--out FILE]\n"
	"       keyd-ctl key sign NAME --digest HEX|--in FILE [--hash sha256|sha384]\n"
	"                         [--scheme ecdsa|rsa-pkcs1|rsa-pss] --out SIGFILE\n"
	"       keyd-ctl key remove NAME\n"
	"       keyd-ctl key to-kernel NAME [--keyring RING] [--description TEXT]\n";

static void txn_abortp(keyd_store_txn **t)
{
	keyd_store_txn_abort(*t);
}

static void key_file(char buf[KEY_FILE_MAX], const char *name, const char *ext)
{
	snprintf(buf, KEY_FILE_MAX, "%s.%s", name, ext);
}

static int key_name_check(const char *name)
{
	return ctl_check_name(key_usage, "key", name);
}

static int description_check(const char *text)
{
	if (ctl_key_description_check(text) >= 0)
		return CTL_EXIT_OK;
	return ctl_usage_error(key_usage, "invalid --description: at most %d bytes of UTF-8 "
			       "text without control characters, line breaks, or leading or "
			       "trailing spaces", CTL_KEY_DESCRIPTION_MAX);
}

/* 1 if any file of the key exists, 0 if none, or an exit code (logged) on error. */
static int key_exists(keyd_store *s, const char *name, bool *ret)
{
	static const char *const exts[] = { "tss2", "meta" };
	char file[KEY_FILE_MAX];

	*ret = false;
	for (size_t i = 0; i < ELEMENTSOF(exts); i++) {
		int r;

		key_file(file, name, exts[i]);
		r = keyd_store_exists(s, "keys", file);
		if (r < 0) {
			log_error("cannot look for '%s/keys/%s': %s", keyd_store_root(s), file,
				  keyd_store_last_error(s));
			return CTL_EXIT_FAILED;
		}
		if (r > 0)
			*ret = true;
	}
	return CTL_EXIT_OK;
}

static int key_refuse_existing(keyd_store *s, const char *name)
{
	bool exists;
	int r;

	r = key_exists(s, name, &exists);
	if (r != CTL_EXIT_OK)
		return r;
	if (exists) {
		log_error("a key named '%s' already exists in '%s'; remove it first with "
			  "'keyd-ctl key remove %s', or choose another name", name,
			  keyd_store_root(s), name);
		return CTL_EXIT_FAILED;
	}
	return CTL_EXIT_OK;
}

/* Read and parse keys/<name>.tss2. Logs; returns an exit code. */
static int key_load(keyd_store *s, const char *name, struct keyd_tss2key *ret)
{
	char reason[512] = "";
	int r;

	r = keyd_key_entry_load(s, name, ret, NULL, reason, sizeof(reason));
	if (r == -ENOENT) {
		log_error("no key '%s' in the store '%s'; see keyd-ctl key list", name,
			  keyd_store_root(s));
		return CTL_EXIT_FAILED;
	}
	if (r == -EBADMSG) {
		log_error("'%s/%s' is damaged; restore it from a backup, or remove the key with "
			  "keyd-ctl key remove %s", keyd_store_root(s), reason, name);
		return CTL_EXIT_FAILED;
	}
	if (r < 0) {
		log_error("cannot read the key '%s' in '%s': %s", name, keyd_store_root(s), reason);
		return CTL_EXIT_FAILED;
	}
	return CTL_EXIT_OK;
}

/* The public key of a loaded key file. Logs; returns an exit code. */
static int key_public(keyd_store *s, const char *name, const struct keyd_tss2key *k,
		      struct keyd_pubkey *ret)
{
	int r = keyd_tpm_key_public(&k->blob, ret);

	if (r < 0) {
		log_error_errno(r, "'%s/keys/%s.tss2': the public area is not a signing key keyd "
				"can use (%m); restore it from a backup, or remove the key",
				keyd_store_root(s), name);
		return CTL_EXIT_FAILED;
	}
	return CTL_EXIT_OK;
}

/* Write text to path ("-" or NULL: stdout). Not secret: public keys, signatures. */
static int write_output(const char *path, const void *data, size_t len)
{
	int r;

	if (!path || streq(path, "-")) {
		if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0) {
			log_error("cannot write to standard output");
			return CTL_EXIT_FAILED;
		}
		return CTL_EXIT_OK;
	}
	r = keyd_write_file_atomic(path, data, len, 0644);
	if (r < 0) {
		log_error_errno(r, "cannot write '%s': %m", path);
		return CTL_EXIT_FAILED;
	}
	return CTL_EXIT_OK;
}

static void print_info(struct ctl_ctx *c, const struct ctl_key_info *info, const char *verb)
{
	if (c->json) {
		struct keyd_json j;

		keyd_json_init(&j, stdout);
		keyd_json_begin_object(&j);
		ctl_key_info_json(&j, info);
		keyd_json_end_object(&j);
		(void)keyd_json_finish(&j);
		return;
	}
	printf("%s %s key '%s', fingerprint (SHA-256) %s\n", verb,
	       keyd_key_alg_to_string(info->alg), info->name, info->fingerprint);
}

/* Store a new key and its metadata in one transaction. k->description is not written
 * to the key file: tpm2-openssl reads only type, emptyAuth, parent, pubkey and
 * privkey, so keyd keeps descriptions in the metadata. */
static int key_save(struct ctl_ctx *c, keyd_store *s, const char *name, struct keyd_tss2key *k,
		    const struct keyd_pubkey *pk, enum ctl_key_origin origin,
		    const char *description)
{
	_cleanup_free_ char *pem = NULL, *meta = NULL;
	_cleanup_(txn_abortp) keyd_store_txn *txn = NULL;
	struct ctl_key_info info = {
		.alg = pk->alg,
		.origin = origin,
	};
	char file[KEY_FILE_MAX];
	size_t meta_len;
	int r;

	snprintf(info.name, sizeof(info.name), "%s", name);
	snprintf(info.description, sizeof(info.description), "%s", description ?: "");
	k->description[0] = '\0';

	r = ctl_key_time_now(info.created);
	if (r >= 0)
		r = ctl_key_fingerprint(pk, info.fingerprint);
	if (r >= 0)
		r = keyd_tss2key_to_pem(k, &pem);
	if (r >= 0)
		r = ctl_key_meta_format(&info, &meta, &meta_len);
	if (r < 0) {
		log_error_errno(r, "cannot encode the key '%s': %m", name);
		return CTL_EXIT_FAILED;
	}

	r = keyd_store_txn_begin(s, &txn);
	if (r >= 0) {
		key_file(file, name, "tss2");
		r = keyd_store_txn_put(txn, "keys", file, pem, strlen(pem));
	}
	if (r >= 0) {
		key_file(file, name, "meta");
		r = keyd_store_txn_put(txn, "keys", file, meta, meta_len);
	}
	if (r >= 0)
		r = keyd_store_txn_commit(TAKE_PTR(txn));
	if (r < 0) {
		log_error("cannot store the key '%s' in '%s': %s; the store is unchanged", name,
			  keyd_store_root(s), keyd_store_last_error(s));
		return CTL_EXIT_FAILED;
	}
	print_info(c, &info, origin == CTL_KEY_ORIGIN_CREATED ? "created" : "imported");
	return CTL_EXIT_OK;
}

static int key_create(struct ctl_ctx *c, int argc, char **argv)
{
	static const struct option options[] = {
		{ "alg", required_argument, NULL, 'a' },
		{ "description", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct keyd_tss2key k = {
		.type = KEYD_TSS2_LOADABLE,
		.empty_auth = KEYD_TSS2_EMPTY_AUTH_TRUE,
	};
	const char *alg_str = NULL, *description = NULL, *name;
	enum keyd_key_alg alg;
	struct keyd_pubkey pk;
	keyd_store *s;
	keyd_tpm *t;
	int opt, r;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (opt) {
		case 'a':
			alg_str = optarg;
			break;
		case 'd':
			description = optarg;
			break;
		case 'h':
			fputs(key_usage, stdout);
			return CTL_EXIT_OK;
		default:
			return ctl_usage_error(key_usage, "key create: bad option");
		}
	}
	if (argc - optind != 1)
		return ctl_usage_error(key_usage, "key create takes one NAME");
	name = argv[optind];
	r = key_name_check(name);
	if (r != CTL_EXIT_OK)
		return r;
	if (!alg_str)
		return ctl_usage_error(key_usage, "key create needs --alg");
	alg = keyd_key_alg_from_string(alg_str);
	if ((int)alg < 0)
		return ctl_usage_error(key_usage, "unknown --alg '%s': use ec-p256, ec-p384, "
				       "rsa2048 or rsa3072", alg_str);
	if (description) {
		r = description_check(description);
		if (r != CTL_EXIT_OK)
			return r;
	}

	r = ctl_store(c, true, &s);
	if (r == CTL_EXIT_OK)
		r = key_refuse_existing(s, name);
	if (r == CTL_EXIT_OK)
		r = ctl_tpm(c, true, &t);
	if (r != CTL_EXIT_OK)
		return r;

	r = keyd_tpm_key_create(t, alg, &k.blob);
	if (r < 0)
		return ctl_tpm_error(c, r, "cannot create the %s key '%s' in the TPM",
				     keyd_key_alg_to_string(alg), name);
	/* keyd's keys always hang off the pinned SRK; the file must say so for
	 * tpm2-openssl (which otherwise recreates a primary from a template). */
	k.blob.parent = KEYD_TPM_SRK_HANDLE;
	r = key_public(s, name, &k, &pk);
	if (r != CTL_EXIT_OK)
		return r;
	return key_save(c, s, name, &k, &pk, CTL_KEY_ORIGIN_CREATED, description);
}

/* Why a TSS2 file cannot be imported, with the remedy. Logs; returns an exit code. */
static int import_parse_error(const char *path, int r, const char *reason)
{
	switch (r) {
	case -EMEDIUMTYPE:
		log_error("'%s' cannot be imported: %s. keyd imports keys made in this TPM, as "
			  "TSS2 PRIVATE KEY files (openssl genpkey -provider tpm2, or tpm2_create "
			  "and tpm2_encodeobject); a software key cannot be moved into the TPM by "
			  "keyd: create a new one with keyd-ctl key create", path, reason);
		break;
	case -EPROTO:
		log_error("'%s' cannot be imported: %s", path, reason);
		break;
	case -E2BIG:
		log_error("'%s': %s; this is larger than any key keyd handles", path, reason);
		break;
	case -ENOTSUP:
		log_error("'%s': %s; keyd does not support keys that need these fields", path,
			  reason);
		break;
	default:
		log_error("'%s' is not a valid TSS2 key file: %s", path,
			  reason[0] ? reason : strerror(-r));
		break;
	}
	return CTL_EXIT_FAILED;
}

/* Checks that need no TPM: a loadable signing key of a supported algorithm that
 * keyd can use without a password or a policy session. */
static int import_check(const char *path, const struct keyd_tss2key *k, struct keyd_pubkey *pk)
{
	int r;

	if (k->type != KEYD_TSS2_LOADABLE) {
		log_error("'%s' holds sealed data, not a key; keyd imports signing keys only",
			  path);
		return CTL_EXIT_FAILED;
	}
	if (k->empty_auth != KEYD_TSS2_EMPTY_AUTH_TRUE) {
		/* The file is the only record of whether the key has a password: trying an
		 * empty one could count towards the TPM's dictionary-attack lockout. */
		log_error("'%s': the file says the key needs an auth value (password), and keyd "
			  "does not support key passwords yet; make the key without one (no "
			  "-pkeyopt user-auth for openssl genpkey, no -p for tpm2_create)%s", path,
			  k->empty_auth == KEYD_TSS2_EMPTY_AUTH_FALSE ?
			  ". If it has none, the file may come from a tpm2_encodeobject that "
			  "writes emptyAuth inverted (tpm2-tools issue 3458, Debian 12's 5.4 "
			  "among them): encode it again with tpm2_encodeobject -p" : "");
		return CTL_EXIT_FAILED;
	}
	if (k->n_policy > 0) {
		log_error("'%s': the key can only be used through a TPM policy, which keyd does "
			  "not satisfy when signing; make the key without a policy", path);
		return CTL_EXIT_FAILED;
	}
	if (k->blob.parent != KEYD_TPM_SRK_HANDLE && k->blob.parent != KEYD_TPM_OWNER_HIERARCHY) {
		log_error("'%s': the key's parent is 0x%08x; keyd uses keys under the storage "
			  "root key 0x%08x or the owner hierarchy 0x%08x: recreate the key under "
			  "one of them", path, k->blob.parent, KEYD_TPM_SRK_HANDLE,
			  KEYD_TPM_OWNER_HIERARCHY);
		return CTL_EXIT_FAILED;
	}
	r = keyd_tpm_key_public(&k->blob, pk);
	if (r == -EOPNOTSUPP) {
		log_error("'%s' is not a signing key of an algorithm keyd supports (ec-p256, "
			  "ec-p384, rsa2048, rsa3072, with the sign attribute)", path);
		return CTL_EXIT_FAILED;
	}
	if (r < 0) {
		log_error_errno(r, "'%s': the key's public area is malformed (%m)", path);
		return CTL_EXIT_FAILED;
	}
	return CTL_EXIT_OK;
}

static int key_import(struct ctl_ctx *c, int argc, char **argv)
{
	static const struct option options[] = {
		{ "description", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_free_ char *data = NULL;
	const char *description = NULL, *name, *path;
	char reason[256] = "", file_description[KEYD_TSS2_DESCRIPTION_MAX + 1];
	struct keyd_tss2key k;
	struct keyd_pubkey pk;
	keyd_store *s;
	keyd_tpm *t;
	size_t len;
	int opt, r;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (opt) {
		case 'd':
			description = optarg;
			break;
		case 'h':
			fputs(key_usage, stdout);
			return CTL_EXIT_OK;
		default:
			return ctl_usage_error(key_usage, "key import: bad option");
		}
	}
	if (argc - optind != 2)
		return ctl_usage_error(key_usage, "key import takes NAME and FILE");
	name = argv[optind];
	path = argv[optind + 1];
	r = key_name_check(name);
	if (r != CTL_EXIT_OK)
		return r;
	if (description) {
		r = description_check(description);
		if (r != CTL_EXIT_OK)
			return r;
	}

	r = keyd_read_file(path, KEYD_TSS2_FILE_MAX, &data, &len);
	if (r == -EFBIG) {
		log_error("'%s' is larger than %d bytes: not a TSS2 key file", path,
			  KEYD_TSS2_FILE_MAX);
		return CTL_EXIT_FAILED;
	}
	if (r < 0) {
		log_error_errno(r, "cannot read '%s': %m", path);
		return CTL_EXIT_FAILED;
	}
	r = keyd_tss2key_parse((const uint8_t *)data, len, &k, reason, sizeof(reason));
	if (r < 0)
		return import_parse_error(path, r, reason);
	r = import_check(path, &k, &pk);
	if (r != CTL_EXIT_OK)
		return r;
	/* A description inside the file (openssl_tpm2_engine writes one) moves to the
	 * metadata unless the command line gives one; it is not valid there if it has
	 * control characters, and then it is dropped. */
	snprintf(file_description, sizeof(file_description), "%s", k.description);
	if (!description && file_description[0] && ctl_key_description_check(file_description) >= 0)
		description = file_description;

	r = ctl_store(c, true, &s);
	if (r == CTL_EXIT_OK)
		r = key_refuse_existing(s, name);
	if (r == CTL_EXIT_OK)
		r = ctl_tpm(c, true, &t);
	if (r != CTL_EXIT_OK)
		return r;
	r = keyd_tpm_key_check(t, &k.blob);
	if (r < 0)
		return ctl_tpm_error(c, r, "the key in '%s' does not load in this TPM (was it made "
				     "by another TPM, or under another parent?)", path);
	return key_save(c, s, name, &k, &pk, CTL_KEY_ORIGIN_IMPORTED, description);
}

/* Subcommands that take only NAME (or nothing) and --out. */
static int parse_simple(const char *verb, int argc, char **argv, int n_args, bool want_out,
			const char **ret_name, const char **ret_out)
{
	static const struct option options[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int opt;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "ho:", options, NULL)) >= 0) {
		switch (opt) {
		case 'o':
			if (!want_out)
				return ctl_usage_error(key_usage, "key %s has no --out", verb);
			*ret_out = optarg;
			break;
		case 'h':
			fputs(key_usage, stdout);
			return -1; /* done: help shown */
		default:
			return ctl_usage_error(key_usage, "key %s: bad option", verb);
		}
	}
	if (argc - optind != n_args)
		return ctl_usage_error(key_usage, n_args ? "key %s takes one NAME" :
				       "key %s takes no arguments", verb);
	if (n_args) {
		*ret_name = argv[optind];
		return key_name_check(*ret_name);
	}
	return CTL_EXIT_OK;
}

static int key_list(struct ctl_ctx *c, int argc, char **argv)
{
	struct keyd_json j;
	keyd_store *s;
	int r;

	r = parse_simple("list", argc, argv, 0, false, NULL, NULL);
	if (r != CTL_EXIT_OK)
		return r < 0 ? CTL_EXIT_OK : r;
	r = ctl_store(c, false, &s);
	if (r != CTL_EXIT_OK)
		return r;
	if (c->json) {
		keyd_json_init(&j, stdout);
		keyd_json_begin_array(&j);
	}
	r = ctl_key_list_all(s, c->json ? &j : NULL);
	if (c->json) {
		keyd_json_end_array(&j);
		if (keyd_json_finish(&j) < 0) {
			log_error("cannot write to standard output");
			return CTL_EXIT_FAILED;
		}
	}
	return r < 0 ? CTL_EXIT_FAILED : CTL_EXIT_OK;
}

static int key_show(struct ctl_ctx *c, int argc, char **argv)
{
	_cleanup_free_ char *pem = NULL;
	struct ctl_key_info info;
	struct keyd_tss2key k;
	struct keyd_pubkey pk;
	char reason[256] = "", fpr[CTL_KEY_FINGERPRINT_MAX], parent[16];
	const char *name = NULL;
	keyd_store *s;
	int r;

	r = parse_simple("show", argc, argv, 1, false, &name, NULL);
	if (r != CTL_EXIT_OK)
		return r < 0 ? CTL_EXIT_OK : r;
	r = ctl_store(c, false, &s);
	if (r != CTL_EXIT_OK)
		return r;
	r = ctl_key_info_load(s, name, &info, reason, sizeof(reason));
	if (r == -ENOENT) {
		log_error("no key '%s' in the store '%s'; see keyd-ctl key list", name,
			  keyd_store_root(s));
		return CTL_EXIT_FAILED;
	}
	if (r < 0) {
		log_error("%s; restore it from a backup, or remove the key with keyd-ctl key "
			  "remove %s", reason, name);
		return CTL_EXIT_FAILED;
	}
	r = key_load(s, name, &k);
	if (r == CTL_EXIT_OK)
		r = key_public(s, name, &k, &pk);
	if (r != CTL_EXIT_OK)
		return r;
	if (ctl_key_fingerprint(&pk, fpr) < 0 || keyd_x509_pubkey_to_pem(&pk, &pem) < 0) {
		log_error("cannot encode the public key of '%s'", name);
		return CTL_EXIT_FAILED;
	}
	/* The metadata is a cache of the key file; the key file is the truth. */
	if (!streq(fpr, info.fingerprint) || pk.alg != info.alg)
		log_warning("keys/%s.meta does not match keys/%s.tss2 (fingerprint %s, alg %s); "
			    "showing the key file's values", name, name, fpr,
			    keyd_key_alg_to_string(pk.alg));
	memcpy(info.fingerprint, fpr, sizeof(fpr));
	info.alg = pk.alg;
	snprintf(parent, sizeof(parent), "0x%08x", k.blob.parent);

	if (c->json) {
		struct keyd_json j;

		keyd_json_init(&j, stdout);
		keyd_json_begin_object(&j);
		ctl_key_info_json(&j, &info);
		keyd_json_kv_string(&j, "parent", parent);
		keyd_json_kv_string(&j, "public_key", pem);
		keyd_json_end_object(&j);
		if (keyd_json_finish(&j) < 0) {
			log_error("cannot write to standard output");
			return CTL_EXIT_FAILED;
		}
		return CTL_EXIT_OK;
	}
	printf("name:        %s\n"
	       "algorithm:   %s\n"
	       "origin:      %s\n"
	       "created:     %s\n"
	       "fingerprint: %s (SHA-256 of the SubjectPublicKeyInfo)\n"
	       "parent:      %s\n"
	       "description: %s\n"
	       "certificate: %s\n"
	       "chain:       %s\n"
	       "public key:\n%s",
	       info.name, keyd_key_alg_to_string(info.alg), ctl_key_origin_to_string(info.origin),
	       info.created, info.fingerprint, parent, info.description,
	       info.has_cert ? "yes" : "no", info.has_chain ? "yes" : "no", pem);
	return CTL_EXIT_OK;
}

static int key_export_pub(struct ctl_ctx *c, int argc, char **argv)
{
	_cleanup_free_ char *pem = NULL;
	const char *name = NULL, *out = NULL;
	struct keyd_tss2key k;
	struct keyd_pubkey pk;
	keyd_store *s;
	int r;

	r = parse_simple("export-pub", argc, argv, 1, true, &name, &out);
	if (r != CTL_EXIT_OK)
		return r < 0 ? CTL_EXIT_OK : r;
	r = ctl_store(c, false, &s);
	if (r == CTL_EXIT_OK)
		r = key_load(s, name, &k);
	if (r == CTL_EXIT_OK)
		r = key_public(s, name, &k, &pk);
	if (r != CTL_EXIT_OK)
		return r;
	r = keyd_x509_pubkey_to_pem(&pk, &pem);
	if (r < 0) {
		log_error_errno(r, "cannot encode the public key of '%s': %m", name);
		return CTL_EXIT_FAILED;
	}
	return write_output(out, pem, strlen(pem));
}

static int key_remove(struct ctl_ctx *c, int argc, char **argv)
{
	static const char *const exts[] = { "tss2", "meta", "crt", "chain" };
	_cleanup_(txn_abortp) keyd_store_txn *txn = NULL;
	const char *name = NULL;
	char file[KEY_FILE_MAX];
	keyd_store *s;
	bool exists;
	int r;

	r = parse_simple("remove", argc, argv, 1, false, &name, NULL);
	if (r != CTL_EXIT_OK)
		return r < 0 ? CTL_EXIT_OK : r;
	r = ctl_store(c, true, &s);
	if (r == CTL_EXIT_OK)
		r = key_exists(s, name, &exists);
	if (r != CTL_EXIT_OK)
		return r;
	if (!exists) {
		log_error("no key '%s' in the store '%s'; see keyd-ctl key list", name,
			  keyd_store_root(s));
		return CTL_EXIT_FAILED;
	}

	r = keyd_store_txn_begin(s, &txn);
	/* Removing a file that is not there is not an error (store.h). */
	for (size_t i = 0; r >= 0 && i < ELEMENTSOF(exts); i++) {
		key_file(file, name, exts[i]);
		r = keyd_store_txn_remove(txn, "keys", file);
	}
	if (r >= 0)
		r = keyd_store_txn_commit(TAKE_PTR(txn));
	if (r < 0) {
		log_error("cannot remove the key '%s' from '%s': %s; the store is unchanged", name,
			  keyd_store_root(s), keyd_store_last_error(s));
		return CTL_EXIT_FAILED;
	}
	if (!c->json)
		printf("removed key '%s'\n", name);
	return CTL_EXIT_OK;
}

/* The digest to sign: given in hex, or the hash of a file. */
static int sign_digest(const char *hex, const char *in, int *hash, uint8_t *digest,
		       size_t *ret_len)
{
	size_t len;
	int r;

	if (hex) {
		r = keyd_hex_decode(hex, digest, KEYD_HASH_MAX, &len);
		if (r < 0)
			return ctl_usage_error(key_usage, "--digest must be the hex of a SHA-256 "
					       "(64 digits) or SHA-384 (96 digits) digest");
		/* Without --hash the length says which digest it is. */
		if (*hash < 0 && len == 32)
			*hash = KEYD_HASH_SHA256;
		else if (*hash < 0 && len == 48)
			*hash = KEYD_HASH_SHA384;
		if (*hash < 0)
			return ctl_usage_error(key_usage, "--digest has %zu bytes: give the 32 "
					       "bytes of a SHA-256 or the 48 of a SHA-384 digest, "
					       "in hex", len);
		if (len != keyd_hash_alg_size(*hash))
			return ctl_usage_error(key_usage, "--digest has %zu bytes; a %s digest "
					       "has %zu", len, keyd_hash_alg_to_string(*hash),
					       keyd_hash_alg_size(*hash));
		*ret_len = len;
		return CTL_EXIT_OK;
	} else {
		_cleanup_free_ char *data = NULL;

		r = keyd_read_file(in, KEY_SIGN_INPUT_MAX, &data, &len);
		if (r < 0) {
			log_error_errno(r, "cannot read '%s'%s: %m", in,
					r == -EFBIG ? " (larger than 64 MiB: hash it yourself and "
						      "pass --digest)" : "");
			return CTL_EXIT_FAILED;
		}
		r = keyd_crypto_hash(*hash, data, len, digest);
		if (r < 0) {
			log_error_errno(r, "cannot hash '%s': %m", in);
			return CTL_EXIT_FAILED;
		}
		*ret_len = keyd_hash_alg_size(*hash);
		return CTL_EXIT_OK;
	}
}

static int key_sign(struct ctl_ctx *c, int argc, char **argv)
{
	static const struct option options[] = {
		{ "digest", required_argument, NULL, 'd' },
		{ "in", required_argument, NULL, 'i' },
		{ "hash", required_argument, NULL, 'H' },
		{ "scheme", required_argument, NULL, 's' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *hex = NULL, *in = NULL, *out = NULL, *name;
	_cleanup_free_ uint8_t *sig = NULL;
	uint8_t digest[KEYD_HASH_MAX];
	int hash = -EINVAL, scheme = -EINVAL, opt, r;
	struct keyd_tss2key k;
	struct keyd_pubkey pk;
	size_t digest_len = 0, sig_len = 0;
	keyd_store *s;
	keyd_tpm *t;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "ho:", options, NULL)) >= 0) {
		switch (opt) {
		case 'd':
			hex = optarg;
			break;
		case 'i':
			in = optarg;
			break;
		case 'H':
			hash = keyd_hash_alg_from_string(optarg);
			/* What keyd's keys are made for; SHA-512 would need TPM support
			 * that is not tested. */
			if (hash != KEYD_HASH_SHA256 && hash != KEYD_HASH_SHA384)
				return ctl_usage_error(key_usage, "unknown --hash '%s': use "
						       "sha256 or sha384", optarg);
			break;
		case 's':
			scheme = keyd_sig_scheme_from_string(optarg);
			if (scheme < 0)
				return ctl_usage_error(key_usage, "unknown --scheme '%s': use "
						       "ecdsa, rsa-pkcs1 or rsa-pss", optarg);
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			fputs(key_usage, stdout);
			return CTL_EXIT_OK;
		default:
			return ctl_usage_error(key_usage, "key sign: bad option");
		}
	}
	if (argc - optind != 1)
		return ctl_usage_error(key_usage, "key sign takes one NAME");
	name = argv[optind];
	r = key_name_check(name);
	if (r != CTL_EXIT_OK)
		return r;
	if (!!hex == !!in)
		return ctl_usage_error(key_usage, "key sign needs either --digest HEX or "
				       "--in FILE");
	if (!out)
		return ctl_usage_error(key_usage, "key sign needs --out SIGFILE ('-' for standard "
				       "output)");

	r = ctl_store(c, false, &s);
	if (r == CTL_EXIT_OK)
		r = key_load(s, name, &k);
	if (r == CTL_EXIT_OK)
		r = key_public(s, name, &k, &pk);
	if (r != CTL_EXIT_OK)
		return r;

	/* Defaults follow the key: ECDSA or PKCS#1 v1.5, SHA-384 for P-384 (RFC 8446's
	 * pairing of curve and hash), SHA-256 otherwise. */
	if (scheme < 0)
		scheme = keyd_key_alg_is_ec(pk.alg) ? KEYD_SIG_ECDSA : KEYD_SIG_RSA_PKCS1;
	if ((scheme == KEYD_SIG_ECDSA) != !!keyd_key_alg_is_ec(pk.alg)) {
		log_error("key '%s' is %s; it signs with --scheme %s", name,
			  keyd_key_alg_to_string(pk.alg),
			  keyd_key_alg_is_ec(pk.alg) ? "ecdsa" : "rsa-pkcs1 or rsa-pss");
		return CTL_EXIT_FAILED;
	}
	if (hash < 0 && in)
		hash = pk.alg == KEYD_KEY_EC_P384 ? KEYD_HASH_SHA384 : KEYD_HASH_SHA256;
	r = sign_digest(hex, in, &hash, digest, &digest_len);
	if (r != CTL_EXIT_OK)
		return r;

	r = ctl_tpm(c, false, &t);
	if (r != CTL_EXIT_OK)
		return r;
	r = keyd_tpm_sign(t, &k.blob, scheme, hash, digest, digest_len, &sig, &sig_len);
	if (r < 0)
		return ctl_tpm_error(c, r, "cannot sign with the key '%s'", name);
	return write_output(out, sig, sig_len);
}

int ctl_verb_key(struct ctl_ctx *c, int argc, char **argv)
{
	static const struct ctl_subverb verbs[] = {
		{ "create", key_create },   { "import", key_import },
		{ "list", key_list },       { "show", key_show },
		{ "export-pub", key_export_pub }, { "remove", key_remove },
		{ "sign", key_sign },       { "to-kernel", ctl_key_to_kernel },
		{ NULL, NULL },
	};

	return ctl_run_subverb(c, "key", key_usage, verbs, argc, argv);
}
