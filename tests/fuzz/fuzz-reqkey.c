/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz the request-key parsers: the input is split at NUL bytes into the nine
 * callout arguments (%k %t %d %c %u %g %T %P %S); whatever parses as arguments
 * goes on to the description and callout parser. A classified request must be
 * self-consistent.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reqkey.h"
#include "reqkey-args.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct keyd_reqkey_request req;
	struct keyd_reqkey_args a;
	char *argv[KEYD_REQKEY_ARGS + 1], reason[256], quoted[1024];
	char *s, *p;
	int argc = 0, r;

	if (size > 3 * 4096)
		return 0;
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	for (p = s; argc <= KEYD_REQKEY_ARGS;) {
		argv[argc++] = p;
		p = memchr(p, '\0', (size_t)(s + size - p) + 1);
		if (!p || p >= s + size)
			break;
		p++;
	}

	r = keyd_reqkey_args_parse(argc, argv, &a, reason, sizeof(reason));
	if (r == 0) {
		if (a.key <= 0)
			abort();
		r = keyd_reqkey_parse(a.type, a.description, a.callout, &req, reason,
				      sizeof(reason));
	} else
		/* The whole input as one description, to reach the grammar more often. */
		r = keyd_reqkey_parse(size && data[0] == 'p' ? "psk" : "user", s, NULL, &req,
				      reason, sizeof(reason));
	if (r == 0) {
		if (req.kind >= _KEYD_REQKEY_KIND_MAX)
			abort();
		if (strlen(req.description) > KEYD_REQKEY_DESC_MAX)
			abort();
		if ((req.kind == KEYD_REQKEY_CERT || req.kind == KEYD_REQKEY_CA) &&
		    (!req.name[0] || strchr(req.name, '/')))
			abort();
		if ((req.kind == KEYD_REQKEY_PSK || req.kind == KEYD_REQKEY_USER_PSK) &&
		    !req.identity[0])
			abort();
		for (const char *c = req.description; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				abort();
	}
	keyd_reqkey_quote(s, 300, quoted, sizeof(quoted));
	if (strlen(quoted) >= sizeof(quoted))
		abort();
	free(s);
	return 0;
}
