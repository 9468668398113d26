/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * keyd-request-key, the /sbin/request-key callout (keyd-request-key(8)). One
 * upcall per process, in this order, so the kernel is never left waiting:
 *   main.c     fds 0-2, options, logging, the watchdog, the flow
 *   upcall.c   assume authority; what the kernel says about the key under
 *              construction, checked against the command line
 *   decide.c   configuration and policy: may this requester have this key here?
 *   fetch-daemon.c  the payload from keyd over its socket
 *   direct-exec.c   keyd-request-key: without keyd, run keyd-request-key-direct
 *   direct-store.c  keyd-request-key-direct: the payload from the store and TPM
 * keyd-request-key links no cryptographic or TPM library, so the common case
 * (keyd running) starts as fast as keyctl; keyd-request-key-direct has them.
 *   answer.c   instantiate, or negate/reject with a deliberate timeout
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "keyring.h"
#include "macro.h"
#include "reqkey-args.h"

/* Exit status: 0 instantiated, 1 negated, rejected or failed, 2 usage. */
#define RK_EXIT_OK 0
#define RK_EXIT_FAILED 1
#define RK_EXIT_USAGE 2

/* A whole upcall must end within this (the watchdog then negates the key with
 * the transient timeout): longer than a slow TPM, shorter than anyone's patience. */
#define RK_DEADLINE_SEC 60
/* How long to wait for keyd to accept and answer one REQUEST-KEY. */
#define RK_DAEMON_TIMEOUT_MS 20000

struct rk_options {
	const char *config_path; /* NULL: KEYD_CONFIG_DEFAULT_PATH */
	const char *socket;      /* NULL: the configuration's */
	const char *log_file;
	bool no_daemon;
	bool debug;              /* never touch the kernel */
	const char *debug_dest;  /* debug: the destination keyring's description */
};

/* What the kernel says about the upcall. */
struct rk_upcall {
	struct keyd_reqkey_args args;
	/* The callout data as the authorisation key holds it. */
	char callout[KEYD_REQKEY_CALLOUT_MAX + 1];
	/* The destination keyring's description, "" when unknown (it is then only
	 * matched by rules without keyring=). */
	char dest[KEYD_KEYRING_DESC_MAX + 1];
	keyd_serial_t dest_id;
};

/* upcall.c: assume authority for args->key and read the kernel's account of the
 * key (type, description, owner) and the callout data; anything that differs
 * from the command line is -EKEYREJECTED. With debug, nothing is asked of the
 * kernel: the command line is taken as is. -EPERM/-ENOKEY when authority cannot
 * be assumed (not an upcall, or a forged key id): then nothing can be answered. */
int rk_upcall_read(bool debug, const char *debug_dest, const struct keyd_reqkey_args *args,
		   struct rk_upcall *ret, char *reason, size_t reason_size);

/* decide.c */
struct rk_decision {
	bool allow;
	uint32_t negative_timeout;
	uint32_t transient_timeout;
	char rule[300]; /* "FILE:LINE" of the deciding rule, or "no rule" */
};
/* Load the configuration (o->config_path, then the environment) into *config and
 * the policy it names, and decide on u's type, description, uid and destination.
 * Errors (-EBADMSG a bad configuration or policy) come with reason; *ret keeps
 * the default timeouts then. */
int rk_decide(const struct rk_options *o, const struct rk_upcall *u, struct keyd_config *config,
	      struct rk_decision *ret, char *reason, size_t reason_size);

/* fetch-daemon.c: ask keyd. 1 when keyd answered: *ret_error 0 with the payload
 * in *ret (and *ret_timeout, seconds until the key expires, if keyd says), or the
 * -errno keyd answered with and reason; 0 when keyd is not there. */
int rk_fetch_daemon(const struct rk_options *o, const struct keyd_config *config,
		    const struct rk_upcall *u, struct keyd_secret *ret, uint32_t *ret_timeout,
		    int *ret_error, char *reason, size_t reason_size);

/* Without keyd. keyd-request-key (direct-exec.c) executes
 * keyd-request-key-direct, installed next to it, with --no-daemon and its own
 * arguments (argv as main() got it), and returns only when that fails (-errno).
 * keyd-request-key-direct (direct-store.c) parses the request (reqkey.h) and
 * reads the store and the TPM: 0 and the payload, or -errno with reason
 * (-EKEYREJECTED: not a description keyd answers). *ret_via names the source. */
int rk_direct(const struct rk_options *o, char **argv, const struct keyd_config *config,
	      const struct rk_upcall *u, struct keyd_secret *ret, uint32_t *ret_timeout,
	      const char **ret_via, char *reason, size_t reason_size);

/* answer.c: the three endings. Each logs its outcome once and returns the exit status. */
int rk_answer_instantiate(const struct rk_options *o, const struct rk_upcall *u,
			  const struct keyd_secret *payload, uint32_t timeout, const char *via);
int rk_answer_negate(const struct rk_options *o, keyd_serial_t key, uint32_t timeout);
int rk_answer_reject(const struct rk_options *o, keyd_serial_t key, uint32_t timeout, int error);
/* The watchdog: negate key with timeout when the deadline passes. */
void rk_answer_arm_watchdog(keyd_serial_t key, uint32_t timeout, unsigned seconds);
