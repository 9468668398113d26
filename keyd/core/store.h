/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The on-disk store (docs/store.md). Layout under a root directory
 * (default /var/lib/keyd, or --root DIR):
 *
 *   format            "keyd-store <version>\n"
 *   tpm/srk.meta      the pinned SRK (handle, name)
 *   keys/<name>.tss2  TPM-resident key, TSS2 PRIVATE KEY PEM (readable by tpm2-openssl)
 *   keys/<name>.meta  its metadata
 *   keys/<name>.crt   its certificate (PEM), keys/<name>.chain (PEM bundle)
 *   psk/<id>.sealed   sealed configured PSK, TSS2 sealed-data PEM
 *   psk/<id>.meta     host/subsystem NQNs, hash, identity, sealing policy
 *   ca/<set>.pem      a CA set (PEM bundle), ca/<set>.meta
 *
 * Directories 0700, files 0600, owned by root (or by the invoking user when the
 * store belongs to them, for tests); modes and owners are checked on read.
 *
 * Every change goes through a transaction: files are written to temporaries
 * and fsynced, a manifest is written atomically, then renames and removals are
 * applied and the manifest removed. Opening a writable store rolls a committed
 * manifest forward, so a crash at any point leaves the old or the new state.
 * Concurrent writers are serialised with a lock file.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define KEYD_STORE_DEFAULT_ROOT "/var/lib/keyd"
#define KEYD_STORE_FORMAT_VERSION 1
#define KEYD_STORE_FILE_MAX (1024 * 1024) /* a CA set of a few hundred certificates fits */

typedef struct keyd_store keyd_store;
typedef struct keyd_store_txn keyd_store_txn;

enum {
	KEYD_STORE_CREATE = 1 << 0,   /* create root and layout when missing */
	KEYD_STORE_READONLY = 1 << 1, /* shared lock, no roll-forward, no writes */
};

/* Open (and lock) a store. -ENOENT no store there (without CREATE), -EPROTO
 * unknown format version, -EPERM bad owner or mode (ret_reason says which path),
 * -EBUSY another writer holds the lock for longer than a few seconds. */
int keyd_store_open(const char *root, unsigned flags, keyd_store **ret, char *ret_reason,
		    size_t reason_size);
keyd_store *keyd_store_close(keyd_store *s); /* accepts NULL, returns NULL */
const char *keyd_store_root(const keyd_store *s);
/* One line on the last failure of any keyd_store_* call on s (or its transaction):
 * the path, the cause and the remedy, e.g. "/var/lib/keyd/psk/x.meta: mode 0644
 * grants more than 0600; run chmod 600 '...'". Valid until the next call. */
const char *keyd_store_last_error(const keyd_store *s);

/* Sections are "tpm", "keys", "psk", "ca". file is "<name>.<ext>" with a valid name. */
int keyd_store_read(keyd_store *s, const char *section, const char *file, char **ret,
		    size_t *ret_len);
int keyd_store_exists(keyd_store *s, const char *section, const char *file); /* 1/0/-errno */

/* Names (without extension) of the files in section ending in ".<ext>", sorted,
 * as a NULL-terminated array (free with strv_free()). Entries of the section that
 * are not keyd's (bad names, temporaries, anything but a regular file), whatever
 * their extension, are skipped and counted in *ret_skipped (may be NULL); nothing
 * is deleted. */
int keyd_store_list(keyd_store *s, const char *section, const char *ext, char ***ret_names,
		    size_t *ret_skipped);

int keyd_store_txn_begin(keyd_store *s, keyd_store_txn **ret);
/* Stage a file: written and fsynced to a temporary now, visible after commit. */
int keyd_store_txn_put(keyd_store_txn *t, const char *section, const char *file,
		       const void *data, size_t len);
/* Removing a file that does not exist is not an error. The last put or remove of
 * a file in a transaction wins. */
int keyd_store_txn_remove(keyd_store_txn *t, const char *section, const char *file);
/* Apply atomically. The transaction is freed whatever the result. */
int keyd_store_txn_commit(keyd_store_txn *t);
/* Discard staged files; accepts NULL, returns NULL. */
keyd_store_txn *keyd_store_txn_abort(keyd_store_txn *t);
