/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * keyd_meta_parse over arbitrary bytes. Whatever parses must format to text that
 * parses again to the same entries and formats to the same bytes (the store
 * rewrites metadata files people may have edited).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "meta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	keyd_meta *m = NULL, *m2 = NULL;
	char *text = NULL, *text2 = NULL;
	size_t len, len2;
	char reason[128];

	if (keyd_meta_parse((const char *)data, size, &m, reason, sizeof(reason)) < 0) {
		if (!memchr(reason, '\0', sizeof(reason)))
			abort();
		return 0;
	}
	if (keyd_meta_format(m, &text, &len) < 0)
		abort();
	if (keyd_meta_parse(text, len, &m2, reason, sizeof(reason)) < 0)
		abort();
	if (keyd_meta_count(m) != keyd_meta_count(m2))
		abort();
	for (size_t i = 0; i < keyd_meta_count(m); i++) {
		const char *k, *v, *k2, *v2;

		if (keyd_meta_entry(m, i, &k, &v) < 0 || keyd_meta_entry(m2, i, &k2, &v2) < 0)
			abort();
		if (strcmp(k, k2) || strcmp(v, v2) || strcmp(keyd_meta_get(m2, k), v))
			abort();
		/* Every parsed entry is one keyd_meta_set accepts. */
		if (keyd_meta_set(m2, k, v) < 0)
			abort();
	}
	if (keyd_meta_format(m2, &text2, &len2) < 0 || len != len2 || memcmp(text, text2, len))
		abort();
	free(text);
	free(text2);
	keyd_meta_free(m);
	keyd_meta_free(m2);
	return 0;
}
