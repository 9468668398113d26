/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * keyd-ctl psk ...: NVMe/TCP TLS pre-shared keys, sealed to the TPM.
 *
 * A PSK is two files in the store, always written and removed together in one
 * store transaction:
 *   psk/<id>.sealed  the configured key (32 or 48 raw bytes) sealed under the SRK,
 *                    as TSS2 sealed data (OID 2.23.133.10.1.5) carrying the policy;
 *   psk/<id>.meta    what a person needs to see and keyd needs to unseal and derive:
 *                    NQNs, hh, identity version and encoding, the identity, the PCR
 *                    policy with the PCR values at sealing (not secret), PIN or not.
 * <id> is the first 16 hex digits of SHA-256(hostnqn "\n" subnqn "\n" version), so
 * the same pair with a v0 and a v1 identity are two entries.
 *
 * The plaintext key only exists in this process's memory, between reading it (or
 * generating it) and sealing it, and is wiped right after; export and derive print
 * secrets only behind an explicit flag.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "ctl.h"
#include "fileio.h"
#include "macro.h"
#include "meta.h"
#include "parse.h"
#include "psk-entry.h"
#include "psk.h"
#include "tss2key.h"

#define PSK_ID_LEN KEYD_PSK_ENTRY_ID_LEN
#define PSK_FILE_MAX KEYD_PSK_ENTRY_FILE_MAX
#define PSK_SECRET_FLAG "i-understand-this-prints-a-secret"
/* The tls-keys file of nvme-cli: a few lines per host. The bound keeps a wrong file
 * (a disk image, /dev/zero) from being read whole. */
#define PSK_IMPORT_FILE_MAX (1024 * 1024)
#define PSK_IMPORT_ENTRIES_MAX 1024
/* A key file holds one interchange string, possibly with a newline. */
#define PSK_KEY_FILE_MAX 4096

static const char psk_usage[] =
	"Usage: keyd-ctl psk add --hostnqn H --subnqn S\n"
	"                        (--key-file FILE|--key STRING|--generate [--hmac none|sha256|sha384]\n"
	"                         [--length 32|48])\n"
	"                        [--identity v0|v1] [--compat] [--pcrs sha256:7,14] [--pin]\n"
	"                        [--replace] [--json]\n"
	"       keyd-ctl psk import FILE [--compat] [--pcrs ...] [--pin] [--replace] [--json]\n"
	"       keyd-ctl psk list [--json]\n"
	"       keyd-ctl psk show ID|--hostnqn H --subnqn S [--identity v0|v1] [--unseal-check]\n"
	"                         [--json]\n"
	"       keyd-ctl psk remove ID|--hostnqn H --subnqn S [--identity v0|v1]\n"
	"       keyd-ctl psk export ID|--hostnqn H --subnqn S [--identity v0|v1]\n"
	"                         --" PSK_SECRET_FLAG "\n"
	"       keyd-ctl psk derive ID|--hostnqn H --subnqn S [--identity v0|v1]\n"
	"                         --" PSK_SECRET_FLAG "\n";

/* Options shared by add and import: how to seal. */
struct psk_seal_opts {
	const char *pcrs;
	bool pin;
	bool compat;
	bool replace;
};

static const char *nqn_problem(int r)
{
	return r == -ENAMETOOLONG ? "an NQN is at most 223 bytes"
				  : "an NQN starts with 'nqn.' and holds printable ASCII without spaces";
}

static int nqn_check(const char *option, const char *nqn)
{
	int r = keyd_psk_nqn_is_valid(nqn);

	if (r > 0)
		return CTL_EXIT_OK;
	return ctl_usage_error(psk_usage, "invalid %s '%s': %s", option, nqn, nqn_problem(r));
}

static const char *interchange_problem(int r)
{
	switch (r) {
	case -EKEYREJECTED:
		return "its CRC-32 does not match the key, so the string was mistyped or truncated";
	case -EPROTO:
		return "unknown version or hash indicator; keyd reads NVMeTLSkey-1 with hh 00, 01 "
		       "or 02";
	case -EMSGSIZE:
		return "the key length does not fit its hash indicator (hh 01 needs 32 bytes, 02 "
		       "needs 48, 00 either)";
	default:
		return "not an NVMe TLS PSK interchange string 'NVMeTLSkey-1:hh:<base64>:'";
	}
}

static int version_parse(const char *s, enum keyd_psk_identity_version *ret)
{
	if (streq(s, "v1") || streq(s, "1"))
		*ret = KEYD_PSK_IDENTITY_V1;
	else if (streq(s, "v0") || streq(s, "0"))
		*ret = KEYD_PSK_IDENTITY_V0;
	else
		return ctl_usage_error(psk_usage, "unknown --identity '%s': use v0 or v1", s);
	return CTL_EXIT_OK;
}

/* Read psk/<id>.meta. Logs (naming the file); returns an exit code. */
static int psk_entry_load(keyd_store *s, const char *id, struct keyd_psk_entry *e)
{
	char reason[512] = "";
	int r;

	r = keyd_psk_entry_load(s, id, e, reason, sizeof(reason));
	if (r == -ENOENT) {
		log_error("no PSK '%s' in the store '%s'; see keyd-ctl psk list", id,
			  keyd_store_root(s));
		return CTL_EXIT_FAILED;
	}
	if (r == -EBADMSG) {
		char file[PSK_FILE_MAX + 8];
		const char *why = reason;

		/* The core names the file first; this message quotes it whole. */
		keyd_psk_entry_file(file, id, "meta");
		if (startswith(why, "psk/") && startswith(why + 4, file) &&
		    startswith(why + 4 + strlen(file), ": "))
			why += 4 + strlen(file) + 2;
		log_error("'%s/psk/%s' is damaged or not keyd's: %s; restore it from a backup, or "
			  "remove the PSK with keyd-ctl psk remove %s", keyd_store_root(s), file,
			  why, id);
		return CTL_EXIT_FAILED;
	}
	if (r < 0) {
		log_error("cannot read PSK '%s' in '%s': %s", id, keyd_store_root(s), reason);
		return CTL_EXIT_FAILED;
	}
	return CTL_EXIT_OK;
}

/* ---- sealing -------------------------------------------------------------------- */

/* Seal k and return the TSS2 PEM; fills e->policy (values) and e->pcrs. */
static int psk_seal(struct ctl_ctx *c, keyd_tpm *t, const struct keyd_psk_key *k,
		    const char *pin, struct keyd_psk_entry *e, char **ret_pem)
{
	struct keyd_tss2key f = {
		.type = KEYD_TSS2_SEALED,
		.empty_auth = pin ? KEYD_TSS2_EMPTY_AUTH_ABSENT : KEYD_TSS2_EMPTY_AUTH_TRUE,
	};
	int r;

	e->policy.pin = pin != NULL;
	r = keyd_tpm_seal(t, k->key, k->len, &e->policy, pin, &f.blob, f.policy, &f.n_policy);
	if (r < 0)
		return ctl_tpm_error(c, r, "cannot seal the PSK '%s' to the TPM", e->identity);
	f.blob.parent = KEYD_TPM_SRK_HANDLE;
	/* The description helps whoever finds the file alone; the full identity is in the
	 * metadata (an identity can be longer than a description may be). */
	snprintf(f.description, sizeof(f.description), "keyd psk %.*s",
		 KEYD_TSS2_DESCRIPTION_MAX - 9, e->identity);
	r = keyd_pcr_policy_format(&e->policy, e->pcrs, sizeof(e->pcrs));
	if (r >= 0)
		r = keyd_tss2key_to_pem(&f, ret_pem);
	if (r < 0) {
		log_error_errno(r, "cannot encode the sealed PSK '%s': %m", e->identity);
		return CTL_EXIT_FAILED;
	}
	return CTL_EXIT_OK;
}

/* Stage both files of e in txn. Logs; returns an exit code. */
static int psk_stage(keyd_store *s, keyd_store_txn *txn, const struct keyd_psk_entry *e,
		     const char *pem)
{
	_cleanup_free_ char *meta = NULL;
	char file[PSK_FILE_MAX];
	size_t meta_len;
	int r;

	r = keyd_psk_entry_meta_format(e, &meta, &meta_len);
	if (r < 0) {
		log_error_errno(r, "cannot encode the metadata of PSK '%s': %m", e->identity);
		return CTL_EXIT_FAILED;
	}
	keyd_psk_entry_file(file, e->id, "sealed");
	r = keyd_store_txn_put(txn, "psk", file, pem, strlen(pem));
	if (r >= 0) {
		keyd_psk_entry_file(file, e->id, "meta");
		r = keyd_store_txn_put(txn, "psk", file, meta, meta_len);
	}
	if (r < 0) {
		log_error("cannot write PSK '%s' to the store: %s", e->identity,
			  keyd_store_last_error(s));
		return CTL_EXIT_FAILED;
	}
	return CTL_EXIT_OK;
}

/* 1 if either file of id exists, 0 if none, <0 (logged) on error. */
static int psk_exists(keyd_store *s, const char *id)
{
	int r = keyd_psk_entry_exists(s, id);

	if (r < 0)
		log_error("cannot look for PSK '%s' in '%s/psk': %s", id, keyd_store_root(s),
			  keyd_store_last_error(s));
	return r;
}

/* Fill the entry fields that depend on the key and params (identity, id, time). */
static int psk_entry_init(const struct keyd_psk_key *k, const struct keyd_psk_params *p,
			  struct keyd_psk_entry *e)
{
	time_t now = time(NULL);
	struct tm tm;
	int r;

	memset(e, 0, sizeof(*e));
	snprintf(e->hostnqn, sizeof(e->hostnqn), "%s", p->hostnqn);
	snprintf(e->subnqn, sizeof(e->subnqn), "%s", p->subnqn);
	e->hmac = k->hmac;
	e->key_len = k->len;
	e->version = p->version;
	e->compat = p->compat;
	r = keyd_psk_identity(k, p, e->identity, sizeof(e->identity));
	if (r < 0)
		return r;
	r = keyd_psk_entry_id(p->hostnqn, p->subnqn, p->version, e->id);
	if (r < 0)
		return r;
	if (now == (time_t)-1 || !gmtime_r(&now, &tm) ||
	    strftime(e->created, sizeof(e->created), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return -EINVAL;
	return 0;
}

static int pin_get(bool want, char **ret)
{
	int r;

	*ret = NULL;
	if (!want)
		return CTL_EXIT_OK;
	r = ctl_read_pin("PIN for the PSK: ", ret);
	if (r == -ENOTTY) {
		log_error("a PIN is needed but there is no terminal to ask on; set KEYD_PIN in the "
			  "environment");
		return CTL_EXIT_USAGE;
	}
	if (r < 0) {
		log_error_errno(r, "cannot read the PIN: %m");
		return CTL_EXIT_FAILED;
	}
	if (!**ret) {
		*ret = erase_and_free(*ret, 0);
		log_error("the PIN is empty; give a PIN, or leave out --pin");
		return CTL_EXIT_USAGE;
	}
	return CTL_EXIT_OK;
}

static void pin_free(char **pin)
{
	if (*pin)
		*pin = erase_and_free(*pin, strlen(*pin));
}

/* Random key bytes: the TPM's generator mixed (XOR) with the system's, so neither
 * alone decides the key. */
static int psk_generate(struct ctl_ctx *c, keyd_tpm *t, size_t len, uint8_t *out)
{
	uint8_t sys[KEYD_PSK_KEY_MAX];
	int r;

	r = keyd_tpm_random(t, out, len);
	if (r < 0)
		return ctl_tpm_error(c, r, "cannot get random bytes from the TPM");
	r = keyd_crypto_random(sys, len);
	if (r < 0) {
		explicit_bzero(out, len);
		log_error_errno(r, "cannot get random bytes from the system: %m");
		return CTL_EXIT_FAILED;
	}
	for (size_t i = 0; i < len; i++)
		out[i] ^= sys[i];
	explicit_bzero(sys, sizeof(sys));
	return CTL_EXIT_OK;
}

static void print_added(struct ctl_ctx *c, const struct keyd_psk_entry *e, const char *verb)
{
	if (c->json) {
		struct keyd_json j;

		keyd_json_init(&j, stdout);
		keyd_json_begin_object(&j);
		keyd_json_kv_string(&j, "id", e->id);
		keyd_json_kv_string(&j, "identity", e->identity);
		keyd_json_end_object(&j);
		(void)keyd_json_finish(&j);
		return;
	}
	printf("%s\n", e->identity);
	log_info("%s PSK %s, sealed (PCRs %s%s)", verb, e->id, e->pcrs,
		 e->policy.pin ? ", PIN" : "");
}

/* ---- psk add -------------------------------------------------------------------- */

static int psk_add(struct ctl_ctx *c, int argc, char **argv)
{
	static const struct option options[] = {
		{ "hostnqn", required_argument, NULL, 'H' },
		{ "subnqn", required_argument, NULL, 'S' },
		{ "key", required_argument, NULL, 'k' },
		{ "key-file", required_argument, NULL, 'f' },
		{ "generate", no_argument, NULL, 'g' },
		{ "hmac", required_argument, NULL, 'm' },
		{ "length", required_argument, NULL, 'l' },
		{ "identity", required_argument, NULL, 'i' },
		{ "compat", no_argument, NULL, 'c' },
		{ "pcrs", required_argument, NULL, 'p' },
		{ "pin", no_argument, NULL, 'P' },
		{ "replace", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct keyd_psk_params p = { .version = KEYD_PSK_IDENTITY_V1 };
	struct psk_seal_opts so = { .pcrs = "none" };
	struct keyd_pcr_policy policy;
	const char *key_file = NULL, *hmac_str = NULL, *length_str = NULL;
	char *key_arg = NULL;
	bool generate = false;
	_cleanup_(keyd_psk_key_wipe) struct keyd_psk_key k = {};
	_cleanup_free_ char *pem = NULL;
	_cleanup_(pin_free) char *pin = NULL;
	struct keyd_psk_entry e;
	keyd_store_txn *txn = NULL;
	keyd_store *s;
	keyd_tpm *t;
	int opt, r, sources;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (opt) {
		case 'H':
			p.hostnqn = optarg;
			break;
		case 'S':
			p.subnqn = optarg;
			break;
		case 'k':
			key_arg = optarg;
			break;
		case 'f':
			key_file = optarg;
			break;
		case 'g':
			generate = true;
			break;
		case 'm':
			hmac_str = optarg;
			break;
		case 'l':
			length_str = optarg;
			break;
		case 'i':
			r = version_parse(optarg, &p.version);
			if (r != CTL_EXIT_OK)
				return r;
			break;
		case 'c':
			p.compat = true;
			break;
		case 'p':
			so.pcrs = optarg;
			break;
		case 'P':
			so.pin = true;
			break;
		case 'R':
			so.replace = true;
			break;
		case 'h':
			fputs(psk_usage, stdout);
			return CTL_EXIT_OK;
		default:
			return ctl_usage_error(psk_usage, "psk add: bad option");
		}
	}
	if (optind != argc)
		return ctl_usage_error(psk_usage, "psk add takes no positional argument ('%s')",
				       argv[optind]);
	if (!p.hostnqn || !p.subnqn)
		return ctl_usage_error(psk_usage, "psk add needs --hostnqn and --subnqn");
	r = nqn_check("--hostnqn", p.hostnqn);
	if (r == CTL_EXIT_OK)
		r = nqn_check("--subnqn", p.subnqn);
	if (r != CTL_EXIT_OK)
		return r;
	sources = !!key_arg + !!key_file + !!generate;
	if (sources != 1)
		return ctl_usage_error(psk_usage, "psk add needs exactly one of --key-file, --key "
				       "and --generate");
	if ((hmac_str || length_str) && !generate)
		return ctl_usage_error(psk_usage, "--hmac and --length go with --generate; an "
				       "interchange string already says its hash and length");
	if (keyd_pcr_policy_parse(so.pcrs, &policy) < 0)
		return ctl_usage_error(psk_usage, "invalid --pcrs '%s': use e.g. sha256:7,14 or none",
				       so.pcrs);

	if (key_arg) {
		log_warning("the key given with --key is visible to other users in /proc/%d/cmdline "
			    "and may stay in the shell history; prefer --key-file FILE or "
			    "--key-file - (standard input)", (int)getpid());
		r = keyd_psk_interchange_parse(key_arg, &k);
		/* Keep the secret out of /proc/<pid>/cmdline from now on. */
		explicit_bzero(key_arg, strlen(key_arg));
		if (r < 0) {
			log_error("the key given with --key is invalid: %s", interchange_problem(r));
			return CTL_EXIT_USAGE;
		}
	} else if (key_file) {
		char *text = NULL;
		size_t len = 0;

		r = ctl_read_secret_file(key_file, PSK_KEY_FILE_MAX, &text, &len);
		if (r < 0) {
			log_error_errno(r, "cannot read the key from '%s': %m", key_file);
			return CTL_EXIT_FAILED;
		}
		r = keyd_psk_interchange_parse(text, &k);
		erase_and_free(text, len);
		if (r < 0) {
			log_error("the key in '%s' is invalid: %s", key_file, interchange_problem(r));
			return CTL_EXIT_FAILED;
		}
	} else {
		uint32_t l = 0;

		k.hmac = hmac_str ? keyd_psk_hmac_from_string(hmac_str) : KEYD_PSK_HMAC_SHA256;
		if ((int)k.hmac < 0)
			return ctl_usage_error(psk_usage, "unknown --hmac '%s': use none, sha256 or "
					       "sha384", hmac_str);
		k.len = k.hmac == KEYD_PSK_HMAC_SHA384 ? 48 : 32;
		if (length_str) {
			if (keyd_parse_u32(length_str, 10, &l) < 0 || (l != 32 && l != 48) ||
			    (k.hmac != KEYD_PSK_HMAC_NONE && l != k.len))
				return ctl_usage_error(psk_usage, "invalid --length '%s': 32 or 48 "
						       "with --hmac none; sha256 is 32 and sha384 48",
						       length_str);
			k.len = l;
		}
	}

	r = psk_entry_init(&k, &p, &e);
	if (r == -ENAMETOOLONG) {
		log_error("the v0 identity of '%s' and '%s' is longer than 255 bytes and cannot be "
			  "used with RFC 8446 labels; use --identity v1 (or --compat)", p.hostnqn,
			  p.subnqn);
		return CTL_EXIT_USAGE;
	}
	if (r < 0) {
		log_error_errno(r, "cannot derive the identity for '%s' and '%s': %m", p.hostnqn,
				p.subnqn);
		return CTL_EXIT_FAILED;
	}
	e.policy = policy;

	r = ctl_store(c, true, &s);
	if (r != CTL_EXIT_OK)
		return r;
	r = psk_exists(s, e.id);
	if (r < 0)
		return CTL_EXIT_FAILED;
	if (r > 0 && !so.replace) {
		log_error("a PSK for '%s' and '%s' (identity v%d) is already in the store as '%s'; "
			  "remove it first with 'keyd-ctl psk remove %s', or add --replace",
			  p.hostnqn, p.subnqn, (int)p.version, e.id, e.id);
		return CTL_EXIT_FAILED;
	}
	r = ctl_tpm(c, true, &t);
	if (r != CTL_EXIT_OK)
		return r;
	if (generate) {
		r = psk_generate(c, t, k.len, k.key);
		if (r != CTL_EXIT_OK)
			return r;
		/* The identity of a v1 PSK depends on the key. */
		r = keyd_psk_identity(&k, &p, e.identity, sizeof(e.identity));
		if (r < 0) {
			log_error_errno(r, "cannot derive the identity: %m");
			return CTL_EXIT_FAILED;
		}
	}
	r = pin_get(so.pin, &pin);
	if (r != CTL_EXIT_OK)
		return r;
	r = psk_seal(c, t, &k, pin, &e, &pem);
	keyd_psk_key_wipe(&k);
	if (r != CTL_EXIT_OK)
		return r;

	r = keyd_store_txn_begin(s, &txn);
	if (r < 0) {
		log_error("cannot change the store: %s", keyd_store_last_error(s));
		return CTL_EXIT_FAILED;
	}
	r = psk_stage(s, txn, &e, pem);
	if (r != CTL_EXIT_OK) {
		keyd_store_txn_abort(txn);
		return r;
	}
	if (keyd_store_txn_commit(txn) < 0) {
		log_error("cannot store the PSK '%s': %s; the store is unchanged", e.identity,
			  keyd_store_last_error(s));
		return CTL_EXIT_FAILED;
	}
	print_added(c, &e, generate ? "generated" : "added");
	return CTL_EXIT_OK;
}

/* ---- psk import ----------------------------------------------------------------- */

static int psk_import(struct ctl_ctx *c, int argc, char **argv)
{
	static const struct option options[] = {
		{ "compat", no_argument, NULL, 'c' },
		{ "pcrs", required_argument, NULL, 'p' },
		{ "pin", no_argument, NULL, 'P' },
		{ "replace", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct psk_seal_opts so = { .pcrs = "none" };
	struct keyd_pcr_policy policy;
	_cleanup_(pin_free) char *pin = NULL;
	char *text = NULL, *line, *next;
	char (*ids)[PSK_ID_LEN + 1] = NULL;
	size_t len = 0, n_ok = 0, n_bad = 0, n_entries = 0;
	unsigned lineno = 0;
	keyd_store_txn *txn = NULL;
	struct keyd_json j;
	const char *path;
	keyd_store *s;
	keyd_tpm *t;
	int opt, r, ret = CTL_EXIT_FAILED;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (opt) {
		case 'c':
			so.compat = true;
			break;
		case 'p':
			so.pcrs = optarg;
			break;
		case 'P':
			so.pin = true;
			break;
		case 'R':
			so.replace = true;
			break;
		case 'h':
			fputs(psk_usage, stdout);
			return CTL_EXIT_OK;
		default:
			return ctl_usage_error(psk_usage, "psk import: bad option");
		}
	}
	if (argc - optind != 1)
		return ctl_usage_error(psk_usage, "psk import takes one FILE (nvme-cli's "
				       "/etc/nvme/tls-keys format)");
	path = argv[optind];
	if (keyd_pcr_policy_parse(so.pcrs, &policy) < 0)
		return ctl_usage_error(psk_usage, "invalid --pcrs '%s': use e.g. sha256:7,14 or none",
				       so.pcrs);

	r = ctl_store(c, true, &s);
	if (r == CTL_EXIT_OK)
		r = ctl_tpm(c, true, &t);
	if (r == CTL_EXIT_OK)
		r = pin_get(so.pin, &pin);
	if (r != CTL_EXIT_OK)
		return r;

	r = keyd_read_file(path, PSK_IMPORT_FILE_MAX, &text, &len);
	if (r == -EFBIG) {
		log_error("'%s' is larger than %d bytes; this is not an nvme-cli tls-keys file",
			  path, PSK_IMPORT_FILE_MAX);
		return CTL_EXIT_FAILED;
	}
	if (r < 0) {
		log_error_errno(r, "cannot read '%s': %m", path);
		return CTL_EXIT_FAILED;
	}
	if (memchr(text, '\0', len)) {
		log_error("'%s' holds NUL bytes; this is not an nvme-cli tls-keys file", path);
		goto out;
	}
	ids = calloc(PSK_IMPORT_ENTRIES_MAX, sizeof(*ids));
	if (!ids) {
		log_error("out of memory");
		goto out;
	}
	r = keyd_store_txn_begin(s, &txn);
	if (r < 0) {
		log_error("cannot change the store: %s", keyd_store_last_error(s));
		goto out;
	}
	if (c->json) {
		keyd_json_init(&j, stdout);
		keyd_json_begin_array(&j);
	}

	for (line = text; line && *line; line = next) {
		_cleanup_(keyd_psk_key_wipe) struct keyd_psk_key k = {};
		struct keyd_psk_identity_parts parts;
		struct keyd_psk_params p = { .compat = so.compat };
		char file_identity[KEYD_PSK_IDENTITY_MAX + 8], other[KEYD_PSK_IDENTITY_MAX];
		_cleanup_free_ char *pem = NULL;
		struct keyd_psk_entry e;
		bool entry, dup = false;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		r = keyd_psk_tls_keys_line_parse(line, &parts, &k, &entry);
		if (r < 0) {
			/* The line holds a secret: name it by number, never print it. */
			log_error("'%s' line %u: %s", path, lineno,
				  r == -EKEYREJECTED || r == -EPROTO || r == -EMSGSIZE
					  ? interchange_problem(r)
					  : "not '<identity> <interchange string>' with an NVMe "
					    "identity and an NVMeTLSkey-1 string; skipped");
			n_bad++;
			continue;
		}
		if (!entry)
			continue;
		if (++n_entries > PSK_IMPORT_ENTRIES_MAX) {
			log_error("'%s' has more than %d entries; import it in parts", path,
				  PSK_IMPORT_ENTRIES_MAX);
			goto out;
		}
		if (parts.kind != 'R') {
			log_error("'%s' line %u: '%c' identities are PSKs the kernel generated "
				  "(secure concatenation), not configured keys; skipped", path, lineno,
				  parts.kind);
			n_bad++;
			continue;
		}
		snprintf(file_identity, sizeof(file_identity), "NVMe%d%c%02d %s %s%s%s",
			 (int)parts.version, parts.kind, (int)parts.hmac, parts.hostnqn,
			 parts.subnqn, parts.digest[0] ? " " : "", parts.digest);
		p.hostnqn = parts.hostnqn;
		p.subnqn = parts.subnqn;
		p.version = parts.version;
		r = psk_entry_init(&k, &p, &e);
		if (r < 0) {
			log_error_errno(r, "'%s' line %u: cannot derive the identity for '%s' and "
					"'%s': %m; skipped", path, lineno, p.hostnqn, p.subnqn);
			n_bad++;
			continue;
		}
		e.policy = policy;
		if (!streq(e.identity, file_identity)) {
			p.compat = !p.compat;
			r = keyd_psk_identity(&k, &p, other, sizeof(other));
			p.compat = !p.compat;
			log_error("'%s' line %u: the identity '%s' does not match the key, which gives "
				  "'%s'%s; skipped", path, lineno, file_identity, e.identity,
				  r >= 0 && streq(other, file_identity)
					  ? (so.compat ? "; the line matches without --compat"
						       : "; the line matches libnvme's compat "
							 "derivation: import it with --compat")
					  : "");
			n_bad++;
			continue;
		}
		for (size_t i = 0; i + 1 < n_entries; i++)
			if (streq(ids[i], e.id))
				dup = true;
		memcpy(ids[n_entries - 1], e.id, sizeof(ids[0]));
		if (dup) {
			log_error("'%s' line %u: a second key for '%s'; skipped", path, lineno,
				  e.identity);
			n_bad++;
			continue;
		}
		r = psk_exists(s, e.id);
		if (r < 0)
			goto out;
		if (r > 0 && !so.replace) {
			log_error("'%s' line %u: a PSK for '%s' and '%s' is already in the store as "
				  "'%s'; skipped (use --replace to overwrite it)", path, lineno,
				  p.hostnqn, p.subnqn, e.id);
			n_bad++;
			continue;
		}
		r = psk_seal(c, t, &k, pin, &e, &pem);
		keyd_psk_key_wipe(&k);
		if (r != CTL_EXIT_OK) {
			ret = r;
			goto out;
		}
		r = psk_stage(s, txn, &e, pem);
		if (r != CTL_EXIT_OK)
			goto out;
		n_ok++;
		if (c->json) {
			keyd_json_begin_object(&j);
			keyd_json_kv_string(&j, "id", e.id);
			keyd_json_kv_string(&j, "identity", e.identity);
			keyd_json_end_object(&j);
		} else
			printf("%s\n", e.identity);
	}

	if (n_ok == 0) {
		log_error("nothing imported from '%s'%s; the store is unchanged", path,
			  n_bad ? " (every entry was refused, see above)" : ": it has no entries");
		goto out;
	}
	r = keyd_store_txn_commit(TAKE_PTR(txn));
	if (r < 0) {
		log_error("cannot store the imported PSKs: %s; the store is unchanged",
			  keyd_store_last_error(s));
		goto out;
	}
	if (c->json) {
		keyd_json_end_array(&j);
		(void)keyd_json_finish(&j);
	}
	log_info("imported %zu PSK%s from '%s', sealed (PCRs %s%s)%s", n_ok, n_ok == 1 ? "" : "s",
		 path, so.pcrs, so.pin ? ", PIN" : "",
		 n_bad ? "; some lines were refused, see above" : "");
	log_notice("'%s' still holds the keys in plaintext and was left untouched; once you have "
		   "checked 'keyd-ctl psk list', remove it with: shred -u '%s'", path, path);
	ret = n_bad ? CTL_EXIT_PARTIAL : CTL_EXIT_OK;
out:
	keyd_store_txn_abort(txn);
	free(ids);
	erase_and_free(text, len);
	return ret;
}

/* ---- selecting an entry --------------------------------------------------------- */

struct psk_select {
	const char *hostnqn, *subnqn;
	bool version_set;
	enum keyd_psk_identity_version version;
	bool unseal_check;
	bool secret_ok;
};

/* Parse "ID | --hostnqn H --subnqn S [--identity v]" plus the verb's flags; find the id.
 * Returns an exit code. */
static int psk_select(struct ctl_ctx *c, const char *verb, int argc, char **argv,
		      struct psk_select *sel, keyd_store **ret_store, char id[PSK_ID_LEN + 1])
{
	static const struct option options[] = {
		{ "hostnqn", required_argument, NULL, 'H' },
		{ "subnqn", required_argument, NULL, 'S' },
		{ "identity", required_argument, NULL, 'i' },
		{ "unseal-check", no_argument, NULL, 'u' },
		{ PSK_SECRET_FLAG, no_argument, NULL, 'X' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	keyd_store *s;
	int opt, r;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (opt) {
		case 'H':
			sel->hostnqn = optarg;
			break;
		case 'S':
			sel->subnqn = optarg;
			break;
		case 'i':
			r = version_parse(optarg, &sel->version);
			if (r != CTL_EXIT_OK)
				return r;
			sel->version_set = true;
			break;
		case 'u':
			if (!streq(verb, "show"))
				return ctl_usage_error(psk_usage, "--unseal-check goes with psk show");
			sel->unseal_check = true;
			break;
		case 'X':
			sel->secret_ok = true;
			break;
		case 'h':
			fputs(psk_usage, stdout);
			return CTL_EXIT_OK;
		default:
			return ctl_usage_error(psk_usage, "psk %s: bad option", verb);
		}
	}
	if (argc - optind == 1 && !sel->hostnqn && !sel->subnqn && !sel->version_set) {
		if (!keyd_psk_entry_id_is_valid(argv[optind]))
			return ctl_usage_error(psk_usage, "'%s' is not a PSK id (16 hex digits, see "
					       "keyd-ctl psk list)", argv[optind]);
		memcpy(id, argv[optind], PSK_ID_LEN + 1);
	} else if (argc == optind && sel->hostnqn && sel->subnqn) {
		r = nqn_check("--hostnqn", sel->hostnqn);
		if (r == CTL_EXIT_OK)
			r = nqn_check("--subnqn", sel->subnqn);
		if (r != CTL_EXIT_OK)
			return r;
		id[0] = '\0';
	} else
		return ctl_usage_error(psk_usage, "psk %s takes an ID, or --hostnqn and --subnqn",
				       verb);

	r = ctl_store(c, streq(verb, "remove"), &s);
	if (r != CTL_EXIT_OK)
		return r;
	if (!id[0]) {
		/* By NQN pair: the version given, or v1 then v0. */
		r = keyd_psk_entry_find(s, sel->hostnqn, sel->subnqn, sel->version_set,
					sel->version, id);
		if (r < 0) {
			log_error("cannot look for the PSK of '%s' and '%s' in '%s/psk': %s",
				  sel->hostnqn, sel->subnqn, keyd_store_root(s),
				  keyd_store_last_error(s));
			return CTL_EXIT_FAILED;
		}
		if (r == 0) {
			log_error("no PSK for '%s' and '%s' in the store '%s'; see keyd-ctl psk list",
				  sel->hostnqn, sel->subnqn, keyd_store_root(s));
			return CTL_EXIT_FAILED;
		}
	}
	*ret_store = s;
	return CTL_EXIT_OK;
}

/* Unseal the configured key of e. Logs; returns an exit code. */
static int psk_unseal(struct ctl_ctx *c, keyd_store *s, const struct keyd_psk_entry *e,
		      struct keyd_psk_key *ret)
{
	_cleanup_(pin_free) char *pin = NULL;
	char reason[512] = "";
	struct keyd_tss2key f;
	uint32_t changed = 0;
	keyd_tpm *t;
	int r;

	r = keyd_psk_entry_read_sealed(s, e, &f, reason, sizeof(reason));
	if (r < 0) {
		log_error("cannot use '%s/%s': %s; restore it from a backup, or remove the PSK and "
			  "add it again", keyd_store_root(s), r == -EBADMSG ? reason : "psk",
			  r == -EBADMSG ? "damaged or not keyd's" : reason);
		return CTL_EXIT_FAILED;
	}
	r = ctl_tpm(c, false, &t);
	if (r != CTL_EXIT_OK)
		return r;
	r = pin_get(e->policy.pin, &pin);
	if (r != CTL_EXIT_OK)
		return r;
	r = keyd_psk_entry_unseal(t, e, &f, pin, ret, &changed);
	if (r == -ESTALE) {
		char names[160];

		keyd_psk_entry_pcr_names(changed, names, sizeof(names));
		log_error("PSK %s ('%s'): the boot state does not match the sealing policy: PCR %s "
			  "(%s) changed since the key was sealed; if the change is expected, remove "
			  "the PSK and add it again", e->id, e->identity, names,
			  keyd_hash_alg_to_string(e->policy.bank));
		return CTL_EXIT_PCR_MISMATCH;
	}
	if (r == -EACCES)
		return ctl_tpm_error(c, r, "PSK %s ('%s'): wrong PIN", e->id, e->identity);
	if (r == -EKEYREJECTED) {
		log_error("PSK %s: the sealed key does not give the recorded identity '%s' (or its "
			  "length differs from the metadata); the files do not belong together, "
			  "restore them from a backup", e->id, e->identity);
		return CTL_EXIT_FAILED;
	}
	if (r < 0)
		return ctl_tpm_error(c, r, "cannot unseal PSK %s ('%s')", e->id, e->identity);
	return CTL_EXIT_OK;
}

/* ---- list, show ----------------------------------------------------------------- */

static void entry_json(struct keyd_json *j, const struct keyd_psk_entry *e)
{
	keyd_json_kv_string(j, "id", e->id);
	keyd_json_kv_string(j, "identity", e->identity);
	keyd_json_kv_string(j, "hostnqn", e->hostnqn);
	keyd_json_kv_string(j, "subnqn", e->subnqn);
	keyd_json_kv_string(j, "hmac", keyd_psk_hmac_to_string(e->hmac));
	keyd_json_kv_uint(j, "key_length", e->key_len);
	keyd_json_kv_uint(j, "identity_version", (uint64_t)e->version);
	keyd_json_kv_bool(j, "compat", e->compat);
	keyd_json_kv_string(j, "pcrs", e->pcrs);
	keyd_json_kv_bool(j, "pin", e->policy.pin);
	keyd_json_kv_string(j, "created", e->created);
}

static int psk_list(struct ctl_ctx *c, int argc, char **argv)
{
	_cleanup_strv_free_ char **names = NULL, **sealed = NULL;
	size_t skipped = 0;
	struct keyd_json j;
	keyd_store *s;
	int r;

	if (argc > 1)
		return ctl_usage_error(psk_usage, "psk list takes no argument ('%s')", argv[1]);
	r = ctl_store(c, false, &s);
	if (r != CTL_EXIT_OK)
		return r;
	r = keyd_store_list(s, "psk", "meta", &names, &skipped);
	if (r >= 0)
		r = keyd_store_list(s, "psk", "sealed", &sealed, NULL);
	if (r < 0) {
		log_error("cannot list '%s/psk': %s", keyd_store_root(s), keyd_store_last_error(s));
		return CTL_EXIT_FAILED;
	}
	if (skipped)
		log_warning("'%s/psk' holds %zu file%s that are not keyd's; they were left alone",
			    keyd_store_root(s), skipped, skipped == 1 ? "" : "s");
	for (char **n = sealed; n && *n; n++) {
		bool has_meta = false;

		for (char **m = names; m && *m; m++)
			has_meta = has_meta || streq(*m, *n);
		if (!has_meta)
			log_warning("'%s/psk/%s.sealed' has no metadata file; restore '%s.meta' from a "
				    "backup, or remove the PSK with keyd-ctl psk remove %s",
				    keyd_store_root(s), *n, *n, *n);
	}

	if (c->json) {
		keyd_json_init(&j, stdout);
		keyd_json_begin_array(&j);
	}
	for (char **n = names; n && *n; n++) {
		struct keyd_psk_entry e;

		if (!keyd_psk_entry_id_is_valid(*n)) {
			log_warning("'%s/psk/%s.meta' is not a keyd PSK (bad name); skipped",
				    keyd_store_root(s), *n);
			continue;
		}
		if (psk_entry_load(s, *n, &e) != CTL_EXIT_OK)
			continue; /* reported by name */
		if (c->json) {
			keyd_json_begin_object(&j);
			entry_json(&j, &e);
			keyd_json_end_object(&j);
		} else
			printf("%s  %s\n      hostnqn %s  subnqn %s  hmac %s  pcrs %s  pin %s\n",
			       e.id, e.identity, e.hostnqn, e.subnqn, keyd_psk_hmac_to_string(e.hmac),
			       e.pcrs, e.policy.pin ? "yes" : "no");
	}
	if (c->json) {
		keyd_json_end_array(&j);
		if (keyd_json_finish(&j) < 0)
			return CTL_EXIT_FAILED;
	}
	return CTL_EXIT_OK;
}

static int psk_show(struct ctl_ctx *c, int argc, char **argv)
{
	struct psk_select sel = {};
	char id[PSK_ID_LEN + 1], identity[KEYD_PSK_IDENTITY_MAX];
	_cleanup_(keyd_psk_key_wipe) struct keyd_psk_key k = {};
	struct keyd_psk_params p;
	struct keyd_psk_entry e;
	const char *check = NULL;
	keyd_store *s;
	int r;

	r = psk_select(c, "show", argc, argv, &sel, &s, id);
	if (r == CTL_EXIT_OK)
		r = psk_entry_load(s, id, &e);
	if (r != CTL_EXIT_OK)
		return r;
	if (sel.unseal_check) {
		r = psk_unseal(c, s, &e, &k);
		if (r != CTL_EXIT_OK)
			return r;
		/* The identity (for v1 its digest) is derived from the key: comparing it with
		 * the recorded one checks the unsealed key without showing anything secret. */
		p = keyd_psk_entry_params(&e);
		r = keyd_psk_identity(&k, &p, identity, sizeof(identity));
		keyd_psk_key_wipe(&k);
		if (r < 0 || !streq(identity, e.identity)) {
			log_error("PSK %s: the unsealed key does not give the recorded identity '%s'; "
				  "the files do not belong together, restore them from a backup",
				  e.id, e.identity);
			return CTL_EXIT_FAILED;
		}
		check = "ok";
	}
	if (c->json) {
		struct keyd_json j;

		keyd_json_init(&j, stdout);
		keyd_json_begin_object(&j);
		entry_json(&j, &e);
		if (check)
			keyd_json_kv_string(&j, "unseal_check", check);
		keyd_json_end_object(&j);
		return keyd_json_finish(&j) < 0 ? CTL_EXIT_FAILED : CTL_EXIT_OK;
	}
	printf("id:               %s\n"
	       "identity:         %s\n"
	       "hostnqn:          %s\n"
	       "subnqn:           %s\n"
	       "hmac:             %s (%zu-byte key)\n"
	       "identity version: %d%s\n"
	       "sealed to PCRs:   %s\n"
	       "PIN:              %s\n"
	       "created:          %s\n",
	       e.id, e.identity, e.hostnqn, e.subnqn, keyd_psk_hmac_to_string(e.hmac), e.key_len,
	       (int)e.version, e.compat ? " (libnvme compat labels)" : "", e.pcrs,
	       e.policy.pin ? "yes" : "no", e.created);
	if (check)
		printf("unseal check:     %s\n", check);
	return CTL_EXIT_OK;
}

/* ---- remove, export, derive ----------------------------------------------------- */

static int psk_remove(struct ctl_ctx *c, int argc, char **argv)
{
	struct psk_select sel = {};
	char id[PSK_ID_LEN + 1], file[PSK_FILE_MAX];
	keyd_store_txn *txn = NULL;
	keyd_store *s;
	int r;

	r = psk_select(c, "remove", argc, argv, &sel, &s, id);
	if (r != CTL_EXIT_OK)
		return r;
	r = psk_exists(s, id);
	if (r < 0)
		return CTL_EXIT_FAILED;
	if (r == 0) {
		log_error("no PSK '%s' in the store '%s'; see keyd-ctl psk list", id,
			  keyd_store_root(s));
		return CTL_EXIT_FAILED;
	}
	r = keyd_store_txn_begin(s, &txn);
	if (r >= 0) {
		keyd_psk_entry_file(file, id, "sealed");
		r = keyd_store_txn_remove(txn, "psk", file);
	}
	if (r >= 0) {
		keyd_psk_entry_file(file, id, "meta");
		r = keyd_store_txn_remove(txn, "psk", file);
	}
	if (r >= 0)
		r = keyd_store_txn_commit(TAKE_PTR(txn));
	keyd_store_txn_abort(txn);
	if (r < 0) {
		log_error("cannot remove PSK '%s': %s; the store is unchanged", id,
			  keyd_store_last_error(s));
		return CTL_EXIT_FAILED;
	}
	log_info("removed PSK %s", id);
	return CTL_EXIT_OK;
}

static int psk_secret_verb(struct ctl_ctx *c, const char *verb, int argc, char **argv)
{
	struct psk_select sel = {};
	char id[PSK_ID_LEN + 1];
	_cleanup_(keyd_psk_key_wipe) struct keyd_psk_key k = {};
	struct keyd_psk_params p;
	struct keyd_psk_entry e;
	keyd_store *s;
	int r;

	r = psk_select(c, verb, argc, argv, &sel, &s, id);
	if (r != CTL_EXIT_OK)
		return r;
	if (!sel.secret_ok)
		return ctl_usage_error(psk_usage,
				       "psk %s prints %s in plaintext; it does so only when asked "
				       "with --" PSK_SECRET_FLAG " (mind your terminal scrollback, "
				       "logs and shell pipes)", verb,
				       streq(verb, "export") ? "the configured key"
							     : "the derived TLS PSK");
	r = psk_entry_load(s, id, &e);
	if (r == CTL_EXIT_OK)
		r = psk_unseal(c, s, &e, &k);
	if (r != CTL_EXIT_OK)
		return r;

	if (streq(verb, "export")) {
		char out[KEYD_PSK_INTERCHANGE_MAX];

		r = keyd_psk_interchange_format(&k, out, sizeof(out));
		if (r >= 0)
			printf("%s\n", out);
		explicit_bzero(out, sizeof(out));
		if (r < 0) {
			log_error_errno(r, "cannot format PSK %s: %m", id);
			return CTL_EXIT_FAILED;
		}
	} else {
		uint8_t psk[KEYD_PSK_KEY_MAX];
		char hex[2 * KEYD_PSK_KEY_MAX + 1];

		p = keyd_psk_entry_params(&e);
		r = keyd_psk_tls_psk(&k, &p, psk);
		if (r >= 0) {
			keyd_hex_encode(psk, k.len, hex);
			printf("%s\n", hex);
		}
		explicit_bzero(psk, sizeof(psk));
		explicit_bzero(hex, sizeof(hex));
		if (r < 0) {
			log_error_errno(r, "cannot derive the TLS PSK of %s: %m", id);
			return CTL_EXIT_FAILED;
		}
	}
	/* stdio keeps a copy of what it printed in its buffer until the process exits. */
	return fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_FAILED;
}

static int psk_export(struct ctl_ctx *c, int argc, char **argv)
{
	return psk_secret_verb(c, "export", argc, argv);
}

static int psk_derive(struct ctl_ctx *c, int argc, char **argv)
{
	return psk_secret_verb(c, "derive", argc, argv);
}

int ctl_verb_psk(struct ctl_ctx *c, int argc, char **argv)
{
	static const struct ctl_subverb verbs[] = {
		{ "add", psk_add },
		{ "import", psk_import },
		{ "list", psk_list },
		{ "show", psk_show },
		{ "remove", psk_remove },
		{ "export", psk_export },
		{ "derive", psk_derive },
		{ NULL, NULL },
	};

	return ctl_run_subverb(c, "psk", psk_usage, verbs, argc, argv);
}
