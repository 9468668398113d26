/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for keyd/core/policy.c. The input is one or more policy
 * files separated by a line "%%" (so references across files, duplicate
 * keyrings and once-only settings get exercised). A parse that succeeds must
 * give a policy whose accessors, provisioning order and checks are consistent;
 * a parse that fails must say why in FILE:LINE lines with no control bytes.
 * Names resolve through a fixed table, never NSS.
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SOURCES_MAX 4

static int fake_user(const char *name, uint32_t *ret, void *userdata)
{
	(void)userdata;
	if (!streq(name, "root") && !streq(name, "alice"))
		return -ENOENT;
	*ret = name[0] == 'r' ? 0 : 1000;
	return 0;
}

static int fake_group(const char *name, uint32_t *ret, void *userdata)
{
	(void)userdata;
	if (!streq(name, "keyd") && !streq(name, "nfs"))
		return -ENOENT;
	*ret = name[0] == 'k' ? 990 : 991;
	return 0;
}

static void check_policy(const keyd_policy *p)
{
	static const uint32_t groups[] = { 990, 991 };
	struct keyd_policy_subject who[] = {
		{ 0, 0, NULL, 0 },
		{ 1000, 1000, groups, 2 },
		{ 4242, 4242, NULL, 0 },
	};
	size_t n = keyd_policy_ring_count(p);
	bool seen[64] = { false };

	if (n > KEYD_POLICY_RINGS_MAX || keyd_policy_ring(p, n))
		abort();
	for (size_t i = 0; i < n; i++) {
		const struct keyd_policy_ring *r = keyd_policy_ring(p, i);
		size_t o = keyd_policy_ring_order(p, i);

		/* the order is a permutation */
		if (o >= n || seen[o])
			abort();
		seen[o] = true;
		if (!r || keyd_policy_ring_by_name(p, r->name) != r || !r->description)
			abort();
		if (r->perm & ~KEYD_POLICY_PERM_VALID_MASK ||
		    r->item_perm & ~KEYD_POLICY_PERM_VALID_MASK)
			abort();
		if (r->n_items > KEYD_POLICY_ITEMS_MAX || r->n_links > KEYD_POLICY_LINKS_MAX)
			abort();
		for (size_t k = 0; k < r->n_links; k++)
			if (r->links[k].kind == KEYD_POLICY_LINK_KEYRING &&
			    (r->links[k].ring_index >= n || r->links[k].ring_index == i))
				abort();
		if (r->seal == KEYD_POLICY_SEAL_CHAIN &&
		    (r->chain_index >= n || r->chain_index == i))
			abort();
		if (!keyd_policy_seal_to_string(r->seal))
			abort();
	}
	for (size_t i = 0; i < keyd_policy_rule_count(p); i++) {
		const struct keyd_policy_rule *rule = keyd_policy_rule(p, i), *got = NULL;

		for (size_t w = 0; w < ELEMENTSOF(who); w++) {
			int r = keyd_policy_check_request(p, rule->type, rule->description, &who[w],
							  rule->keyring, &got);
			if (r < 0 || r > 1 || (r == 1 && (!got || !got->allow)))
				abort();
		}
	}
	for (size_t i = 0; i < keyd_policy_grant_count(p); i++) {
		const struct keyd_policy_grant *g = keyd_policy_grant(p, i), *got = NULL;
		int r = keyd_policy_check_sign(p, g->key, &who[0], &got);

		if (r < 0 || (r == 1 && !got))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct keyd_policy_resolver resolver = { fake_user, fake_group, NULL };
	static const char *const names[SOURCES_MAX] = { "a.policy", "b.policy", "c.policy",
							"d.policy" };
	struct keyd_policy_source src[SOURCES_MAX];
	const char *text = (const char *)data, *end = text + size;
	keyd_policy *p = NULL;
	char **errors = NULL;
	size_t n = 0;
	int r;

	while (n < SOURCES_MAX) {
		const char *sep = memmem(text, (size_t)(end - text), "\n%%\n", 4);
		const char *stop = sep && n + 1 < SOURCES_MAX ? sep + 1 : end;

		src[n] = (struct keyd_policy_source){ names[n], text, (size_t)(stop - text) };
		n++;
		if (stop == end)
			break;
		text = stop + 3;
	}
	r = keyd_policy_parse(src, n, &resolver, &p, &errors);
	if (r == 0) {
		if (errors)
			abort();
		check_policy(p);
	} else if (r == -EBADMSG) {
		size_t count = 0;
		if (!errors || !errors[0])
			abort();
		for (char **e = errors; *e; e++, count++)
			for (const char *c = *e; *c; c++)
				if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
					abort();
		if (count > KEYD_POLICY_ERRORS_MAX)
			abort();
	} else if (r != -ENOMEM) {
		abort();
	}
	strv_free(errors);
	keyd_policy_free(p);

	/* The glob matcher on its own: the first line is the pattern, the rest the text. */
	if (size < 8192) {
		char *copy = malloc(size + 1), *nl;
		if (!copy)
			return 0;
		memcpy(copy, data, size);
		copy[size] = '\0';
		nl = strchr(copy, '\n');
		if (nl) {
			*nl = '\0';
			(void)keyd_policy_glob_match(copy, nl + 1);
			if (keyd_policy_glob_validate(copy) == 0 && !strpbrk(copy, "*?[") &&
			    !keyd_policy_glob_match(copy, copy))
				abort(); /* a pattern without specials matches itself */
		}
		free(copy);
	}
	return 0;
}
