/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * keyd_psk_entry_meta_parse (psk/<id>.meta from the store) over arbitrary bytes.
 * Whatever parses must format and parse back to the same entry.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "psk-entry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct keyd_psk_entry e, e2;
	char reason[256], *text = NULL;
	size_t len;

	if (keyd_psk_entry_meta_parse((const char *)data, size, &e, reason, sizeof(reason)) < 0) {
		if (!memchr(reason, '\0', sizeof(reason)))
			abort();
		return 0;
	}
	if (keyd_psk_entry_meta_format(&e, &text, &len) < 0)
		abort();
	if (keyd_psk_entry_meta_parse(text, len, &e2, reason, sizeof(reason)) < 0)
		abort();
	if (strcmp(e.id, e2.id) || strcmp(e.identity, e2.identity) || e.key_len != e2.key_len ||
	    e.policy.mask != e2.policy.mask || e.policy.pin != e2.policy.pin ||
	    memcmp(e.policy.values, e2.policy.values, sizeof(e.policy.values)))
		abort();
	free(text);
	return 0;
}
