/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A TPM-resident key of the store, as keyd-ctl, provisioning and the signing
 * service see it: keys/<name>.tss2 (TSS2 PRIVATE KEY, a loadable key), its
 * metadata keys/<name>.meta (read by keyd/ctl/key-info.c), and, when enrolled,
 * its certificate keys/<name>.crt and chain keys/<name>.chain (PEM).
 * No TPM command is sent here. Failures return -errno with a one-line reason
 * naming the file.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "cert-bundle.h"
#include "keyalg.h"
#include "store.h"
#include "tss2key.h"

#define KEYD_KEY_ENTRY_FILE_MAX 80 /* "<name>.<ext>" with a name of at most 64 characters */

/* Read keys/<name>.tss2: -ENOENT no such key, -EBADMSG damaged or sealed data
 * instead of a key. ret_pk (may be NULL) receives the public key: -EOPNOTSUPP
 * when the public area is not a signing key keyd can use. */
int keyd_key_entry_load(keyd_store *s, const char *name, struct keyd_tss2key *ret_key,
			struct keyd_pubkey *ret_pk, char *reason, size_t reason_size);

/* Which of the key's files exist. -errno from the store. */
struct keyd_key_entry_files {
	bool key, meta, cert, chain;
};
int keyd_key_entry_files(keyd_store *s, const char *name, struct keyd_key_entry_files *ret);

/* The certificate (DER, exactly one certificate in keys/<name>.crt) and the chain
 * (DER each, possibly none). -ENOENT no certificate enrolled; -EBADMSG damaged. */
int keyd_key_entry_cert(keyd_store *s, const char *name, struct keyd_cert_der *ret_cert,
			struct keyd_cert_der **ret_chain, size_t *ret_n_chain, char *reason,
			size_t reason_size);
