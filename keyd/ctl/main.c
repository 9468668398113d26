/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * keyd-ctl: enrollment and inspection. Works on a store directory (--root DIR,
 * default /var/lib/keyd); the daemon's socket is used once the daemon exists.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "macro.h"

static const struct {
	const char *name;
	int (*run)(struct ctl_ctx *c, int argc, char **argv);
	const char *summary;
} verbs[] = {
	{ "tpm", ctl_verb_tpm, "tpm info                      what the TPM offers; SRK state" },
	{ "key", ctl_verb_key, "key create|import|list|show|sign|to-kernel|...  TPM-resident keys" },
	{ "csr", ctl_verb_csr, "csr NAME --subject S [--san X]...  a PKCS#10 request signed in the TPM" },
	{ "psk", ctl_verb_psk, "psk add|import|list|show|remove|export   NVMe/TCP TLS PSKs, sealed" },
	{ "ca", ctl_verb_ca, "ca add|list|remove            CA sets" },
	{ "cert", ctl_verb_cert, "cert add|list|show|remove     certificates for TPM keys" },
	{ "list", ctl_verb_list, "list                          everything in the store" },
	{ "status", ctl_verb_status, "status [--socket PATH] [--offline]  what the running keyd provisioned" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: keyd-ctl [--root DIR] [--tcti TCTI] [--json] VERB ...\n\n");
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		fprintf(f, "  %s\n", verbs[i].summary);
	fprintf(f, "\nOptions:\n"
		   "  --root DIR    the store (default " KEYD_STORE_DEFAULT_ROOT ", or $KEYD_ROOT)\n"
		   "  --tcti TCTI   the TPM (default $KEYD_TCTI, else " KEYD_TPM_DEFAULT_TCTI ")\n"
		   "  --json        machine-readable output for list, show and info\n"
		   "  --offline     do not ask the daemon (status); implied by --root\n"
		   "  -h, --help    this text; VERB --help for a verb\n"
		   "\nExit status: 0 ok, 1 failed, 2 usage, 3 PCR policy mismatch, 4 auth/lockout,\n"
		   "5 no TPM, 6 SRK mismatch, 7 partial. See keyd-ctl(8).\n");
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "tcti", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "offline", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{},
	};
	struct ctl_ctx c = {
		.root = getenv("KEYD_ROOT") ? getenv("KEYD_ROOT") : KEYD_STORE_DEFAULT_ROOT,
	};
	int opt, r;

	keyd_log_open("keyd-ctl", KEYD_LOG_STDERR);
	keyd_log_parse_env();

	/* Global options stop at the verb: '+' keeps getopt from permuting. */
	while ((opt = getopt_long(argc, argv, "+h", options, NULL)) >= 0) {
		switch (opt) {
		case 'r':
			c.root = optarg;
			c.offline = true; /* an explicit store: not the daemon's */
			break;
		case 'o':
			c.offline = true;
			break;
		case 't':
			c.tcti = optarg;
			break;
		case 'j':
			c.json = true;
			break;
		case 'h':
			usage(stdout);
			return CTL_EXIT_OK;
		case 'V':
			printf("keyd-ctl %s\n", KEYD_VERSION);
			return CTL_EXIT_OK;
		default:
			usage(stderr);
			return CTL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CTL_EXIT_USAGE;
	}

	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		if (streq(argv[optind], verbs[i].name)) {
			int vargc = argc - optind;
			char **vargv = argv + optind;

			ctl_take_json(&c, &vargc, vargv);
			optind = 0; /* verbs run getopt again on their own arguments */
			r = verbs[i].run(&c, vargc, vargv);
			c.tpm = keyd_tpm_close(c.tpm);
			c.store = keyd_store_close(c.store);
			return r;
		}

	log_error("unknown verb '%s'; see keyd-ctl --help", argv[optind]);
	return CTL_EXIT_USAGE;
}
