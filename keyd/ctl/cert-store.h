/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * keyd-ctl: the certificate files of the store, shared by "ca", "cert" and "csr":
 *
 *   ca/<set>.pem      a CA set: PEM bundle, one CERTIFICATE block per CA
 *   ca/<set>.meta     count = N, updated = time, earliest_expiry = time (meta.h)
 *   keys/<name>.crt   the certificate of TPM key <name> (PEM)
 *   keys/<name>.chain its intermediates, leaf side first (PEM bundle, optional)
 *
 * Every function logs its failures (naming the file and the remedy) and returns
 * an exit code (ctl.h), except where it says otherwise.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "ctl.h"
#include "tss2key.h"
#include "x509.h"

#define CTL_CERT_FILE_MAX  80	      /* "<name>.<ext>" with a name of at most 64 characters */
#define CTL_CERT_INPUT_MAX (8u << 20) /* a certificate file given on the command line */
#define CTL_CERT_WARN_DAYS 30	      /* expiry warnings this many days ahead */

/* What went wrong in the last store call on s: the store's own one-line account
 * (path, cause, remedy) when it has one, strerror(-r) otherwise. */
const char *ctl_cert_store_why(keyd_store *s, int r);

/* Read keys/<name>.tss2 and decode the key's public part (no TPM command). */
int ctl_cert_key_load(keyd_store *s, const char *name, struct keyd_tss2key *ret_key,
		      struct keyd_pubkey *ret_pk);

/* Certificates of a PEM bundle in the store. Returns 0, -ENOENT when the file does
 * not exist (not logged), or another -errno after logging that the file is damaged. */
int ctl_cert_store_read(keyd_store *s, const char *section, const char *file,
			struct keyd_x509_cert **ret, size_t *ret_n);

/* Every certificate of every CA set (the trust anchors for "cert add"). */
int ctl_cert_ca_all(keyd_store *s, struct keyd_x509_cert **ret, size_t *ret_n);

/* One PEM bundle for a list of certificates (certs[i] for i in 0..n). -errno. */
int ctl_cert_bundle_pem(const struct keyd_x509_cert *certs, size_t n, char **ret, size_t *ret_len);

/* "2026-11-25 18:41:12 UTC" and "2026-11-25T18:41:12Z". */
void ctl_cert_date(int64_t t, char buf[32]);
void ctl_cert_date_iso(int64_t t, char buf[32]);

/* Read a certificate file given by the user ("-" for stdin) and parse it. Problems
 * are returned to the caller (which decides whether they are fatal); *ret_n is 0
 * when every block was bad. Logs and returns an exit code when the file cannot be
 * read or holds neither a certificate nor a bad block. */
int ctl_cert_file_parse(const char *path, struct keyd_x509_cert **ret, size_t *ret_n,
			struct keyd_x509_problem **ret_problems, size_t *ret_n_problems);

/* Members of a certificate object in JSON (inside an object opened by the caller). */
void ctl_cert_json(struct keyd_json *j, const struct keyd_x509_cert *c, int64_t now);
