/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * keyd-ctl: shared state and helpers for the verb files (verb-*.c).
 *
 * Each verb group ("tpm", "key", "psk", ...) lives in its own file and is
 * listed in the table in main.c. A verb returns one of the exit codes below;
 * it logs its own errors (once, with cause and remedy) before returning.
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "json.h"
#include "log.h"
#include "store.h"
#include "tpm.h"

/* Exit codes: fixed and documented in keyd-ctl(8). */
enum {
	CTL_EXIT_OK = 0,
	CTL_EXIT_FAILED = 1,
	CTL_EXIT_USAGE = 2,
	CTL_EXIT_PCR_MISMATCH = 3, /* the boot state does not match a sealing policy */
	CTL_EXIT_AUTH = 4,         /* wrong PIN, or the TPM is in dictionary-attack lockout */
	CTL_EXIT_NO_TPM = 5,       /* no TPM reachable at the TCTI */
	CTL_EXIT_SRK_MISMATCH = 6, /* the SRK is not the one the store was enrolled with */
	CTL_EXIT_PARTIAL = 7,      /* some items were done, others refused (each reported) */
};

struct ctl_ctx {
	const char *root;  /* store directory */
	const char *tcti;  /* NULL: $KEYD_TCTI or the default */
	bool json;
	keyd_store *store; /* opened on demand */
	bool store_writable;
	keyd_tpm *tpm;     /* opened on demand */
	bool offline;      /* --offline or --root: do not ask the daemon */
};

/* Open the store (writable creates it when missing). Logs and returns an exit code. */
int ctl_store(struct ctl_ctx *c, bool writable, keyd_store **ret);
/* Connect to the TPM and pin the store's SRK. enroll: create and pin the SRK when
 * the store has none yet (needs a writable store). Logs and returns an exit code. */
int ctl_tpm(struct ctl_ctx *c, bool enroll, keyd_tpm **ret);
/* Map a -errno from a TPM operation to an exit code, logging what (which names the
 * object) failed together with the TPM's message. */
int ctl_tpm_error(struct ctl_ctx *c, int r, const char *what_fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Print usage for a verb group and return CTL_EXIT_USAGE. */
int ctl_usage_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Check a store name (a key, a CA set: what keyd_name_is_valid accepts); on a bad one
 * print usage with the rule and return CTL_EXIT_USAGE. what: "key", "set". */
int ctl_check_name(const char *usage, const char *what, const char *name);

/* One sub-verb of a verb group ("ca add", "cert show"...): name and handler. The
 * handler gets argv starting at the sub-verb. */
struct ctl_subverb {
	const char *name;
	int (*run)(struct ctl_ctx *c, int argc, char **argv);
};
/* Run the sub-verb argv[1] of group `group` from a table ending in {NULL, NULL}; handles
 * a missing or unknown sub-verb (usage error naming the choices) and -h/--help/help. */
int ctl_run_subverb(struct ctl_ctx *c, const char *group, const char *usage,
		    const struct ctl_subverb *table, int argc, char **argv);

/* Parse "--json" anywhere in argv (removing it) - the verbs all accept it. */
void ctl_take_json(struct ctl_ctx *c, int *argc, char **argv);

/* Read a secret from a file, "-" for stdin, with a bound; trailing newline stripped. */
int ctl_read_secret_file(const char *path, size_t max, char **ret, size_t *ret_len);
/* Read a PIN: $KEYD_PIN if set, else from the terminal without echo. */
int ctl_read_pin(const char *prompt, char **ret);

/* Verb groups. */
int ctl_verb_tpm(struct ctl_ctx *c, int argc, char **argv);
int ctl_verb_key(struct ctl_ctx *c, int argc, char **argv);
/* key to-kernel (key-to-kernel.c). */
int ctl_key_to_kernel(struct ctl_ctx *c, int argc, char **argv);
int ctl_verb_csr(struct ctl_ctx *c, int argc, char **argv);
int ctl_verb_psk(struct ctl_ctx *c, int argc, char **argv);
int ctl_verb_ca(struct ctl_ctx *c, int argc, char **argv);
int ctl_verb_cert(struct ctl_ctx *c, int argc, char **argv);
int ctl_verb_list(struct ctl_ctx *c, int argc, char **argv);
int ctl_verb_status(struct ctl_ctx *c, int argc, char **argv);
