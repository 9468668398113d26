/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The three ways an upcall ends. The kernel keeps the key "under construction"
 * until one of them happens, and whoever asked waits; so each is tried even
 * after earlier failures, and the watchdog covers a process that hangs.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "keyring.h"
#include "policy.h"
#include "log.h"
#include "request-key.h"

int rk_answer_instantiate(const struct rk_options *o, const struct rk_upcall *u,
			  const struct keyd_secret *payload, uint32_t timeout, const char *via)
{
	int r;

	if (o->debug) {
		fprintf(stderr, "debug: would instantiate key %d (%s '%s') with %zu bytes from %s%s\n",
			(int)u->args.key, u->args.type, u->args.description, payload->len, via,
			timeout ? ", with an expiry" : "");
		return RK_EXIT_OK;
	}
	/* The expiry first: the authority to change a key's attributes ends with its
	 * instantiation. */
	if (timeout) {
		r = keyd_keyring_set_timeout(u->args.key, timeout);
		if (r < 0)
			log_warning("key %d: cannot set its expiry of %u s: %s", (int)u->args.key,
				    timeout, strerror(-r));
	}
	/* The kernel linked the key into the destination keyring when it made it. */
	r = keyd_keyring_instantiate(u->args.key, payload->data, payload->len, 0);
	if (r < 0) {
		log_error_errno(r, "key %d: the kernel refused the payload: %s; the requester sees "
				"ENOKEY", (int)u->args.key, strerror(-r));
		(void)keyd_keyring_negate(u->args.key, KEYD_POLICY_DEFAULT_TRANSIENT_TIMEOUT, 0);
		return RK_EXIT_FAILED;
	}
	return RK_EXIT_OK;
}

int rk_answer_negate(const struct rk_options *o, keyd_serial_t key, uint32_t timeout)
{
	int r;

	if (o->debug) {
		fprintf(stderr, "debug: would negate key %d for %u s\n", (int)key, timeout);
		return RK_EXIT_FAILED;
	}
	r = keyd_keyring_negate(key, timeout, 0);
	if (r < 0)
		log_error("key %d: cannot negate it: %s", (int)key, strerror(-r));
	return RK_EXIT_FAILED;
}

int rk_answer_reject(const struct rk_options *o, keyd_serial_t key, uint32_t timeout, int error)
{
	int r;

	if (o->debug) {
		fprintf(stderr, "debug: would reject key %d with %s for %u s\n", (int)key,
			strerror(error < 0 ? -error : error), timeout);
		return RK_EXIT_FAILED;
	}
	r = keyd_keyring_reject(key, timeout, error, 0);
	if (r < 0)
		log_error("key %d: cannot reject it: %s", (int)key, strerror(-r));
	return RK_EXIT_FAILED;
}

static keyd_serial_t watchdog_key;
static uint32_t watchdog_timeout;

/* Async-signal-safe: one keyctl system call and _exit. */
static void watchdog_fire(int sig)
{
	static const char msg[] = "keyd-request-key: deadline passed; key negated\n";

	(void)sig;
	(void)keyd_keyring_negate(watchdog_key, watchdog_timeout, 0);
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(RK_EXIT_FAILED);
}

void rk_answer_arm_watchdog(keyd_serial_t key, uint32_t timeout, unsigned seconds)
{
	struct sigaction sa = { .sa_handler = watchdog_fire };

	watchdog_key = key;
	watchdog_timeout = timeout;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) == 0)
		alarm(seconds);
}
