/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * keyd-ctl csr: a PKCS#10 certificate request for a TPM-resident key. The
 * request is built here and its digest signed inside the TPM; the private key
 * never leaves it. ECDSA keys sign with SHA-256 (P-256) or SHA-384 (P-384), RSA
 * keys with RSASSA-PKCS1-v1_5 and SHA-256, the pairs CAs accept everywhere.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cert-store.h"
#include "ctl.h"
#include "fileio.h"
#include "macro.h"
#include "parse.h"
#include "x509.h"

#define CSR_SANS_MAX 64

static const char csr_usage[] =
	"Usage: keyd-ctl csr NAME --subject SUBJECT [--san NAME]... [--out FILE]\n"
	"SUBJECT is \"/CN=host/O=org\" or \"CN=host,O=org\"; a --san is DNS:name, IP:address,\n"
	"URI:uri or a bare DNS name. The request (PEM) goes to stdout unless --out is given.\n";

struct csr_signer {
	keyd_tpm *tpm;
	const struct keyd_tpm_blob *key;
	int error; /* the TPM's failure, for the message */
};

static int csr_sign(void *userdata, enum keyd_sig_scheme scheme, enum keyd_hash_alg hash,
		    const uint8_t *digest, size_t digest_len, uint8_t **ret_sig,
		    size_t *ret_sig_len)
{
	struct csr_signer *sg = userdata;
	int r;

	r = keyd_tpm_sign(sg->tpm, sg->key, scheme, hash, digest, digest_len, ret_sig, ret_sig_len);
	if (r < 0)
		sg->error = r;
	return r;
}

int ctl_verb_csr(struct ctl_ctx *c, int argc, char **argv)
{
	static const struct option options[] = {
		{ "subject", required_argument, NULL, 's' },
		{ "san", required_argument, NULL, 'a' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	char *sans[CSR_SANS_MAX + 1] = {};
	_cleanup_free_ char *pem = NULL;
	const char *name, *subject = NULL, *out = NULL;
	struct keyd_tss2key key;
	struct keyd_pubkey pk;
	struct csr_signer sg = {};
	char reason[256] = "";
	size_t n_sans = 0;
	keyd_store *s;
	keyd_tpm *t;
	int opt, r;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (opt) {
		case 's':
			subject = optarg;
			break;
		case 'a':
			if (n_sans >= CSR_SANS_MAX)
				return ctl_usage_error(csr_usage, "at most %d --san options",
						       CSR_SANS_MAX);
			sans[n_sans++] = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			fputs(csr_usage, stdout);
			return CTL_EXIT_OK;
		default:
			return ctl_usage_error(csr_usage, "csr: bad option");
		}
	}
	if (argc - optind != 1)
		return ctl_usage_error(csr_usage, "csr takes one key NAME");
	name = argv[optind];
	if (!keyd_name_is_valid(name))
		return ctl_usage_error(csr_usage, "invalid key name '%s'", name);
	if (!subject)
		return ctl_usage_error(csr_usage, "csr needs --subject, e.g. --subject /CN=%s",
				       name);

	r = ctl_store(c, false, &s);
	if (r == CTL_EXIT_OK)
		r = ctl_cert_key_load(s, name, &key, &pk);
	if (r == CTL_EXIT_OK)
		r = ctl_tpm(c, false, &t);
	if (r != CTL_EXIT_OK)
		return r;

	sg = (struct csr_signer){ .tpm = t, .key = &key.blob };
	r = keyd_x509_csr_build(&pk, subject, sans, csr_sign, &sg, &pem, reason, sizeof(reason));
	if (r < 0 && sg.error < 0)
		return ctl_tpm_error(c, sg.error, "cannot sign the request with TPM key '%s'",
				     name);
	if (r == -EINVAL)
		return ctl_usage_error(csr_usage, "cannot build the request: %s", reason);
	if (r < 0) {
		log_error_errno(r, "cannot build the request for key '%s': %s", name,
				reason[0] ? reason : strerror(-r));
		return CTL_EXIT_FAILED;
	}

	if (!out || streq(out, "-")) {
		if (fputs(pem, stdout) < 0 || fflush(stdout) != 0) {
			log_error("cannot write the request to stdout");
			return CTL_EXIT_FAILED;
		}
		return CTL_EXIT_OK;
	}
	/* A request is public: readable by the tools that send it to a CA. */
	r = keyd_write_file_atomic(out, pem, strlen(pem), 0644);
	if (r < 0) {
		log_error_errno(r, "cannot write the request to '%s': %m", out);
		return CTL_EXIT_FAILED;
	}
	if (!c->json)
		fprintf(stderr, "wrote the request for key '%s' to '%s'\n", name, out);
	return CTL_EXIT_OK;
}
