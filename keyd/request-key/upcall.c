/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The upcall as the kernel describes it. The command line comes from
 * /sbin/request-key's substitution of %k %t %d ..., so it is only as good as
 * that; the kernel's own account (the key under construction and the callout
 * data on the authorisation key) is what counts, and the two must agree.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "keyring.h"
#include "log.h"
#include "request-key.h"

/* The destination keyring of the request (where the kernel links the key), by
 * description; unknown when the kernel names none we may look at. */
static void read_dest(struct rk_upcall *u)
{
	struct keyd_keyring_info info;
	keyd_serial_t id;

	if (keyd_keyring_resolve(KEYD_KEYRING_REQUESTOR, false, &id) < 0)
		return;
	u->dest_id = id;
	if (keyd_keyring_describe(id, &info) < 0 || !streq(info.type, "keyring"))
		return;
	memcpy(u->dest, info.description, sizeof(u->dest));
}

int rk_upcall_read(bool debug, const char *debug_dest, const struct keyd_reqkey_args *args,
		   struct rk_upcall *ret, char *reason, size_t reason_size)
{
	_cleanup_secret_ struct keyd_secret callout = {};
	struct keyd_keyring_info info;
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->args = *args;
	if (debug) {
		snprintf(ret->callout, sizeof(ret->callout), "%s", args->callout);
		if (debug_dest)
			snprintf(ret->dest, sizeof(ret->dest), "%s", debug_dest);
		return 0;
	}

	r = keyd_keyring_assume_authority(args->key);
	if (r < 0) {
		snprintf(reason, reason_size,
			 "cannot assume the authority to instantiate key %d: %s (keyd-request-key "
			 "is run by /sbin/request-key for a key under construction, not by hand; "
			 "use --debug to try a request)",
			 (int)args->key, strerror(-r));
		return r;
	}

	r = keyd_keyring_describe(args->key, &info);
	if (r < 0) {
		snprintf(reason, reason_size, "cannot describe key %d: %s", (int)args->key,
			 strerror(-r));
		return r;
	}
	if (!streq(info.type, args->type) || !streq(info.description, args->description) ||
	    info.uid != args->uid || info.gid != args->gid) {
		snprintf(reason, reason_size,
			 "the command line does not match key %d as the kernel describes it "
			 "(type, description or owner differ); check /etc/request-key.d/keyd.conf "
			 "passes %%k %%t %%d %%c %%u %%g %%T %%P %%S",
			 (int)args->key);
		return -EKEYREJECTED;
	}

	/* Kernel callers may pass binary callout data; ours is text without NULs. */
	r = keyd_keyring_read(KEYD_KEYRING_REQKEY_AUTH, KEYD_REQKEY_CALLOUT_MAX, &callout);
	if (r == -EFBIG) {
		snprintf(reason, reason_size, "callout data longer than %u bytes",
			 KEYD_REQKEY_CALLOUT_MAX);
		return -EKEYREJECTED;
	}
	if (r < 0) {
		snprintf(reason, reason_size, "cannot read the callout data: %s", strerror(-r));
		return r;
	}
	if (memchr(callout.data, '\0', callout.len) || callout.len >= sizeof(ret->callout)) {
		snprintf(reason, reason_size, "the callout data is not text");
		return -EKEYREJECTED;
	}
	if (callout.len)
		memcpy(ret->callout, callout.data, callout.len);
	ret->callout[callout.len] = '\0';
	if (!streq(ret->callout, args->callout)) {
		snprintf(reason, reason_size,
			 "the callout data on the command line differs from the kernel's");
		return -EKEYREJECTED;
	}
	read_dest(ret);
	return 0;
}
