/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for keyd/core/config.c. A text that parses must format to a
 * text that parses to the same configuration; a text that does not must leave
 * the configuration untouched and explain itself in bounded, printable lines.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct keyd_config c, d;
	char **errors = NULL, *out = NULL, *again = NULL;
	int r;

	if (keyd_config_init(&c) < 0)
		return 0;
	r = keyd_config_parse(&c, "keyd.conf", (const char *)data, size, &errors);
	if (r == -EBADMSG) {
		size_t count = 0;
		if (!errors || !errors[0])
			abort();
		for (char **e = errors; *e; e++, count++)
			for (const char *ch = *e; *ch; ch++)
				if ((unsigned char)*ch < 0x20 || (unsigned char)*ch >= 0x7f)
					abort();
		if (count > KEYD_CONFIG_ERRORS_MAX || !streq(c.store, KEYD_CONFIG_DEFAULT_STORE) ||
		    c.tpm_wait != KEYD_CONFIG_DEFAULT_TPM_WAIT)
			abort();
	} else if (r == 0) {
		if (errors)
			abort();
		if (keyd_config_format(&c, &out) == 0 && keyd_config_init(&d) == 0) {
			if (keyd_config_parse(&d, "again", out, strlen(out), NULL) != 0)
				abort();
			if (keyd_config_format(&d, &again) == 0 && !streq(out, again))
				abort();
			keyd_config_done(&d);
		}
	} else if (r != -ENOMEM) {
		abort();
	}
	free(out);
	free(again);
	strv_free(errors);
	keyd_config_done(&c);
	return 0;
}
