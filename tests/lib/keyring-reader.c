/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * keyring-reader: a TEST-ONLY consumer that looks a key up in a tight loop, as
 * a handshake agent would, to show that replacing keyring generations never
 * leaves a gap. Never installed.
 *
 *   keyring-reader TYPE DESCRIPTION STOPFILE
 *
 * Searches the session keyring (recursively, so through the rings keyd linked
 * there) for a key of TYPE with DESCRIPTION until STOPFILE exists. Prints
 * "lookups N failures N first-error E"; exit 0 when every lookup found the key,
 * 1 otherwise, 2 on usage errors.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "keyring.h"
#include "macro.h"

int main(int argc, char **argv)
{
	unsigned long lookups = 0, failures = 0;
	int first_error = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: keyring-reader TYPE DESCRIPTION STOPFILE\n");
		return 2;
	}
	for (;;) {
		keyd_serial_t key;
		int r;

		/* Look at the stop file only now and then: the loop is the point. */
		if (lookups % 64 == 0 && access(argv[3], F_OK) >= 0)
			break;
		r = keyd_keyring_search(KEYD_KEYRING_SESSION, argv[1], argv[2], &key);
		lookups++;
		if (r < 0) {
			failures++;
			if (!first_error)
				first_error = -r;
		}
	}
	printf("lookups %lu failures %lu first-error %s\n", lookups, failures,
	       first_error ? strerror(first_error) : "none");
	return failures ? 1 : 0;
}
