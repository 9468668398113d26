/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * keyd-ctl tpm info [--json]: what the TPM offers and the state of the storage
 * root key. A report only: it never creates the SRK and never writes the store.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "macro.h"
#include "meta.h"
#include "parse.h"

static const char tpm_usage[] =
	"Usage: keyd-ctl [--root DIR] [--tcti TCTI] tpm info [--json]\n"
	"\n"
	"  info    the TPM's manufacturer, firmware, specification, algorithms, curves,\n"
	"          PCR banks, dictionary-attack lockout, and the storage root key at\n"
	"          0x81000001: present or not, its name, and whether it is the one the\n"
	"          store was enrolled with. Creates nothing.\n";

enum store_state {
	STORE_NONE,        /* no store at --root */
	STORE_NOT_ENROLLED, /* a store, but no SRK pinned yet */
	STORE_PINNED,
	STORE_UNREADABLE,
};

/* The SRK name the store pinned (tpm/srk.meta), read without logging: a missing
 * store is a normal answer for a report. */
static enum store_state store_pin(struct ctl_ctx *c, char *hex, size_t hex_size, char *why,
				  size_t why_size)
{
	_cleanup_free_ char *text = NULL;
	keyd_store *s = NULL;
	keyd_meta *m = NULL;
	const char *name;
	uint8_t raw[KEYD_TPM_NAME_MAX];
	size_t len;
	int r;

	r = keyd_store_open(c->root, KEYD_STORE_READONLY, &s, why, why_size);
	if (r == -ENOENT)
		return STORE_NONE;
	if (r < 0) {
		if (!why[0])
			snprintf(why, why_size, "%s", strerror(-r));
		return STORE_UNREADABLE;
	}
	r = keyd_store_read(s, "tpm", "srk.meta", &text, &len);
	s = keyd_store_close(s);
	if (r == -ENOENT)
		return STORE_NOT_ENROLLED;
	if (r < 0) {
		snprintf(why, why_size, "tpm/srk.meta: %s", strerror(-r));
		return STORE_UNREADABLE;
	}
	r = keyd_meta_parse(text, len, &m, why, why_size);
	if (r < 0)
		return STORE_UNREADABLE;
	name = keyd_meta_get(m, "name");
	if (!name || keyd_hex_decode(name, raw, sizeof(raw), &len) < 0 || len == 0 ||
	    strlen(name) >= hex_size) {
		snprintf(why, why_size, "tpm/srk.meta has no valid 'name'");
		keyd_meta_free(m);
		return STORE_UNREADABLE;
	}
	/* normalise to lower case */
	keyd_hex_encode(raw, len, hex);
	keyd_meta_free(m);
	return STORE_PINNED;
}

static const char *const hash_names[] = { "sha256", "sha384", "sha512", "sha1" };

static void pcr_list(uint32_t mask, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < KEYD_TPM_PCR_MAX; i++) {
		unsigned j = i;
		int n;

		if (!(mask & (1u << i)))
			continue;
		while (j + 1 < KEYD_TPM_PCR_MAX && (mask & (1u << (j + 1))))
			j++;
		n = j > i ? snprintf(buf + len, size - len, "%s%u-%u", len ? "," : "", i, j) :
			    snprintf(buf + len, size - len, "%s%u", len ? "," : "", i);
		if (n < 0 || (size_t)n >= size - len)
			return;
		len += (size_t)n;
		i = j;
	}
}

static int tpm_info(struct ctl_ctx *c, int argc, char **argv)
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct keyd_tpm_info info;
	char pinned[2 * KEYD_TPM_NAME_MAX + 1] = "", why[256] = "", firmware[64];
	char banks[4][96] = {};
	const char *tcti = c->tcti;
	enum store_state st;
	bool match;
	int opt, r;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (opt) {
		case 'h':
			fputs(tpm_usage, stdout);
			return CTL_EXIT_OK;
		default:
			return ctl_usage_error(tpm_usage, "tpm info: bad option");
		}
	}
	if (optind != argc)
		return ctl_usage_error(tpm_usage, "tpm info takes no arguments");

	if (!tcti || !*tcti)
		tcti = getenv("KEYD_TCTI");
	if (!tcti || !*tcti)
		tcti = KEYD_TPM_DEFAULT_TCTI;
	/* Not ctl_tpm(): it would pin (and refuse) a different SRK; a report shows it. */
	r = keyd_tpm_open(tcti, &c->tpm);
	if (r < 0)
		return ctl_tpm_error(c, r, "cannot connect to the TPM");
	r = keyd_tpm_get_info(c->tpm, &info);
	if (r < 0)
		return ctl_tpm_error(c, r, "cannot read the TPM's capabilities");
	for (unsigned b = 0; b < 4; b++)
		pcr_list(info.pcr_allocated[b], banks[b], sizeof(banks[b]));
	/* Vendors number firmware as four 16-bit fields over the two properties. */
	snprintf(firmware, sizeof(firmware), "%u.%u.%u.%u (0x%08x 0x%08x)",
		 (unsigned)(info.firmware_version >> 48),
		 (unsigned)(info.firmware_version >> 32) & 0xffff,
		 (unsigned)(info.firmware_version >> 16) & 0xffff,
		 (unsigned)info.firmware_version & 0xffff, (unsigned)(info.firmware_version >> 32),
		 (unsigned)info.firmware_version);
	st = store_pin(c, pinned, sizeof(pinned), why, sizeof(why));
	match = st == STORE_PINNED && info.srk_present && streq(pinned, info.srk_name_hex);

	if (c->json) {
		struct keyd_json j;

		keyd_json_init(&j, stdout);
		keyd_json_begin_object(&j);
		keyd_json_kv_string(&j, "tcti", tcti);
		keyd_json_kv_string(&j, "manufacturer", info.manufacturer);
		keyd_json_kv_string(&j, "vendor", info.vendor);
		keyd_json_kv_string(&j, "firmware", firmware);
		keyd_json_kv_uint(&j, "spec_level", info.spec_level);
		keyd_json_kv_uint(&j, "spec_revision", info.spec_revision);
		keyd_json_kv_uint(&j, "spec_year", info.spec_year);
		keyd_json_key(&j, "algorithms");
		keyd_json_begin_array(&j);
		{
			const struct {
				bool on;
				const char *name;
			} algs[] = {
				{ info.alg_rsa, "rsa" },       { info.alg_ecc, "ecc" },
				{ info.alg_aes, "aes" },       { info.alg_sha1, "sha1" },
				{ info.alg_sha256, "sha256" }, { info.alg_sha384, "sha384" },
				{ info.alg_sha512, "sha512" },
			};

			for (size_t i = 0; i < ELEMENTSOF(algs); i++)
				if (algs[i].on)
					keyd_json_string(&j, algs[i].name);
		}
		keyd_json_end_array(&j);
		keyd_json_key(&j, "curves");
		keyd_json_begin_array(&j);
		if (info.curve_p256)
			keyd_json_string(&j, "nist-p256");
		if (info.curve_p384)
			keyd_json_string(&j, "nist-p384");
		if (info.curve_p521)
			keyd_json_string(&j, "nist-p521");
		keyd_json_end_array(&j);
		keyd_json_key(&j, "rsa_key_sizes");
		keyd_json_begin_array(&j);
		if (info.rsa2048)
			keyd_json_uint(&j, 2048);
		if (info.rsa3072)
			keyd_json_uint(&j, 3072);
		keyd_json_end_array(&j);
		keyd_json_key(&j, "pcr_banks");
		keyd_json_begin_object(&j);
		for (unsigned b = 0; b < 4; b++)
			if (info.pcr_banks_mask & (1u << b))
				keyd_json_kv_string(&j, hash_names[b], banks[b]);
		keyd_json_end_object(&j);
		keyd_json_kv_bool(&j, "lockout", info.lockout);
		keyd_json_key(&j, "srk");
		keyd_json_begin_object(&j);
		keyd_json_kv_string(&j, "handle", "0x81000001");
		keyd_json_kv_bool(&j, "present", info.srk_present);
		keyd_json_key(&j, "name");
		if (info.srk_present)
			keyd_json_string(&j, info.srk_name_hex);
		else
			keyd_json_null(&j);
		keyd_json_end_object(&j);
		keyd_json_key(&j, "store");
		keyd_json_begin_object(&j);
		keyd_json_kv_string(&j, "root", c->root);
		keyd_json_kv_string(&j, "state", st == STORE_NONE	  ? "none" :
						 st == STORE_NOT_ENROLLED ? "not-enrolled" :
						 st == STORE_PINNED	  ? "pinned" :
									    "unreadable");
		keyd_json_key(&j, "pinned_srk_name");
		if (st == STORE_PINNED)
			keyd_json_string(&j, pinned);
		else
			keyd_json_null(&j);
		keyd_json_key(&j, "srk_matches");
		if (st == STORE_PINNED)
			keyd_json_bool(&j, match);
		else
			keyd_json_null(&j);
		keyd_json_end_object(&j);
		keyd_json_end_object(&j);
		return keyd_json_finish(&j) < 0 ? CTL_EXIT_FAILED : CTL_EXIT_OK;
	}

	printf("%-16s %s\n", "tcti:", tcti);
	printf("%-16s %s\n", "manufacturer:", info.manufacturer);
	printf("%-16s %s\n", "vendor:", info.vendor);
	printf("%-16s %s\n", "firmware:", firmware);
	printf("%-16s TPM 2.0, level %u, revision %u.%02u, %u\n", "specification:",
	       info.spec_level, info.spec_revision / 100, info.spec_revision % 100, info.spec_year);
	printf("%-16s%s%s%s%s%s%s%s\n", "algorithms:", info.alg_rsa ? " rsa" : "",
	       info.alg_ecc ? " ecc" : "", info.alg_aes ? " aes" : "", info.alg_sha1 ? " sha1" : "",
	       info.alg_sha256 ? " sha256" : "", info.alg_sha384 ? " sha384" : "",
	       info.alg_sha512 ? " sha512" : "");
	printf("%-16s%s%s%s\n", "curves:", info.curve_p256 ? " nist-p256" : "",
	       info.curve_p384 ? " nist-p384" : "", info.curve_p521 ? " nist-p521" : "");
	printf("%-16s%s%s\n", "rsa key sizes:", info.rsa2048 ? " 2048" : "",
	       info.rsa3072 ? " 3072" : "");
	for (unsigned b = 0; b < 4; b++)
		if (info.pcr_banks_mask & (1u << b))
			printf("%-16s %s (PCR %s)\n",
			       !(info.pcr_banks_mask & ((1u << b) - 1)) ? "pcr banks:" : "",
			       hash_names[b], banks[b]);
	printf("%-16s %s\n", "lockout:",
	       info.lockout ? "yes: dictionary-attack lockout in force; wait, or run "
			      "'tpm2_dictionarylockout --clear-lockout'" : "no");
	if (info.srk_present)
		printf("%-16s present at 0x81000001, name %s\n", "srk:", info.srk_name_hex);
	else
		printf("%-16s absent at 0x81000001 (created at the first enrollment)\n", "srk:");
	switch (st) {
	case STORE_NONE:
		printf("%-16s no store at '%s'\n", "store:", c->root);
		break;
	case STORE_NOT_ENROLLED:
		printf("%-16s '%s', no SRK pinned yet\n", "store:", c->root);
		break;
	case STORE_PINNED:
		printf("%-16s '%s', %s\n", "store:", c->root,
		       match ? "enrolled with this SRK" :
			       "enrolled with ANOTHER SRK: the TPM was cleared or this is another "
			       "machine's store; re-enroll");
		break;
	case STORE_UNREADABLE:
		printf("%-16s '%s' cannot be read: %s\n", "store:", c->root, why);
		break;
	}
	return CTL_EXIT_OK;
}

int ctl_verb_tpm(struct ctl_ctx *c, int argc, char **argv)
{
	static const struct ctl_subverb verbs[] = {
		{ "info", tpm_info },
		{ NULL, NULL },
	};

	return ctl_run_subverb(c, "tpm", tpm_usage, verbs, argc, argv);
}
