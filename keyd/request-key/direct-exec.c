/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * keyd-request-key without keyd: hand the upcall to keyd-request-key-direct,
 * which has the TPM and cryptographic libraries this program does without. It
 * is the same program with the store path compiled in, installed next to this
 * one; it assumes the same authority again (the authorisation key is in the
 * session keyring request-key gave us) and ends the upcall itself.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "request-key.h"

#define DIRECT_NAME "keyd-request-key-direct"
#define ARGV_MAX 64

int rk_direct(const struct rk_options *o, char **argv, const struct keyd_config *config,
	      const struct rk_upcall *u, struct keyd_secret *ret, uint32_t *ret_timeout,
	      const char **ret_via, char *reason, size_t reason_size)
{
	char self[PATH_MAX], path[PATH_MAX], *slash, *args[ARGV_MAX + 2];
	ssize_t n;
	size_t argc = 0;

	(void)config;
	(void)u;
	(void)ret;
	(void)ret_timeout;
	*ret_via = "store";
	/* Our own directory, not $PATH: the environment of an upcall is not ours to trust. */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		snprintf(reason, reason_size, "cannot find %s: /proc/self/exe: %m", DIRECT_NAME);
		return -ENOENT;
	}
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash || snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - self), self,
			       DIRECT_NAME) >= (int)sizeof(path)) {
		snprintf(reason, reason_size, "cannot find %s next to '%s'", DIRECT_NAME, self);
		return -ENAMETOOLONG;
	}

	args[argc++] = path;
	if (!o->no_daemon)
		args[argc++] = "--no-daemon";
	for (char **a = argv + 1; *a; a++) {
		if (argc >= ARGV_MAX) {
			snprintf(reason, reason_size, "too many arguments");
			return -E2BIG;
		}
		args[argc++] = *a;
	}
	args[argc] = NULL;
	log_debug("keyd is not running: handing the upcall to '%s'", path);
	/* The watchdog's alarm stays armed across exec; the new program sets its own. */
	execv(path, args);
	snprintf(reason, reason_size,
		 "keyd is not running and %s cannot be run: %m; start keyd, or install %s "
		 "next to keyd-request-key", path, DIRECT_NAME);
	return -errno;
}
