/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz the NVMe PSK parsers: interchange strings, identities and tls-keys lines.
 * Whatever parses must format back to a string that parses to the same value.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_key_round_trip(const struct keyd_psk_key *k)
{
	char s[KEYD_PSK_INTERCHANGE_MAX];
	struct keyd_psk_key again;

	if (keyd_psk_interchange_format(k, s, sizeof(s)) < 0)
		abort();
	if (keyd_psk_interchange_parse(s, &again) < 0)
		abort();
	if (again.hmac != k->hmac || again.len != k->len || memcmp(again.key, k->key, k->len))
		abort();
}

static void check_identity_round_trip(const struct keyd_psk_identity_parts *id)
{
	char s[KEYD_PSK_IDENTITY_MAX + 8];
	struct keyd_psk_identity_parts again;
	int n;

	n = snprintf(s, sizeof(s), "NVMe%d%c%02d %s %s%s%s", (int)id->version, id->kind,
		     (int)id->hmac, id->hostnqn, id->subnqn, id->digest[0] ? " " : "", id->digest);
	if (n < 0 || (size_t)n >= sizeof(s))
		abort();
	if (keyd_psk_identity_parse(s, &again) < 0)
		abort();
	if (memcmp(&again, id, sizeof(again)) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct keyd_psk_identity_parts id;
	struct keyd_psk_key k;
	bool entry;
	char *s;

	if (size > 4096)
		return 0;
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	if (keyd_psk_interchange_parse(s, &k) >= 0)
		check_key_round_trip(&k);
	if (keyd_psk_identity_parse(s, &id) >= 0)
		check_identity_round_trip(&id);
	if (keyd_psk_tls_keys_line_parse(s, &id, &k, &entry) >= 0 && entry) {
		check_identity_round_trip(&id);
		check_key_round_trip(&k);
	}
	keyd_psk_key_wipe(&k);
	free(s);
	return 0;
}
